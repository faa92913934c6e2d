"""The earlier lectures (drift's reference), and the PDF: artifact, copy under reports/, and the
record that marks the lecture done."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

import materializers.lecture_summary  # noqa: F401  (registers its materializers)
from stackpipes.lecture_summary.intake import LectureInput
from stackpipes.lecture_summary.pdf import LecturePdf
from stackpipes.lecture_summary.summary import LectureSummary
from stackpipes.speech.whisper import Transcript

logger = get_logger(__name__)
MAX_REFERENCE_LECTURES = 200


@step(enable_cache=False)  # other lectures finish between runs
def earlier_lectures(
    lecture: LectureInput, raw_root: Optional[str] = None, raw_secret_name: Optional[str] = None,
) -> Annotated[pd.DataFrame, "earlier_segments"]:
    """Per-segment statistics of the lectures summarised before this one (up to 200, newest)."""
    from stackpipes.lecture_summary.ledger import Ledger
    from stackpipes.lecture_summary.stats import SEGMENT_COLUMNS

    if lecture.skip:
        return pd.DataFrame(columns=SEGMENT_COLUMNS)
    earlier = Ledger(raw_root, raw_secret_name).earlier_segments(exclude=lecture.sha256, limit=MAX_REFERENCE_LECTURES)
    log_metadata({"reference_segments": len(earlier)})
    return earlier if not earlier.empty else pd.DataFrame(columns=SEGMENT_COLUMNS)


@step
def write_lecture_pdf(
    lecture: LectureInput, transcript: Transcript, summary: LectureSummary, segments: pd.DataFrame,
    raw_root: Optional[str] = None, raw_secret_name: Optional[str] = None,
) -> Annotated[LecturePdf, "lecture_pdf"]:
    """The PDF, its copy with the .txt and .srt in reports/lecture_summary/<lecture>/, and the
    lecture's record in the ledger (from then on the same file is not done again)."""
    from datetime import datetime, timezone

    from stackpipes.lecture_summary import SYSTEM
    from stackpipes.lecture_summary.ledger import Ledger
    from stackpipes.lecture_summary.pdf import render_pdf
    from stackpipes.platform.env import reports_dir

    if lecture.skip:
        return LecturePdf(data=b"", title="", copy_path=(lecture.done_record or {}).get("pdf", ""))
    made = datetime.now(timezone.utc)
    title = lecture.name.rsplit(".", 1)[0].replace("_", " ")
    data, pages = render_pdf(title, transcript, summary, made)
    folder = reports_dir() / SYSTEM / lecture.slug
    folder.mkdir(parents=True, exist_ok=True)
    pdf_path = folder / "summary.pdf"
    pdf_path.write_bytes(data)
    (folder / "transcript.txt").write_text(transcript.to_txt(), encoding="utf-8")
    (folder / "transcript.srt").write_text(transcript.to_srt(), encoding="utf-8")
    (folder / "summary.md").write_text(summary.to_markdown(title), encoding="utf-8")
    context = get_step_context()
    record = {"sha256": lecture.sha256, "name": lecture.name, "pdf": str(pdf_path), "raw_uri": lecture.raw_uri,
              "run": context.pipeline_run.name, "made": made.isoformat(), "language": transcript.language,
              "duration_s": transcript.duration_s, "words": transcript.words}
    first = Ledger(raw_root, raw_secret_name).record_done(lecture.sha256, record, segments)
    logger.info("Lecture PDF: %s%s", pdf_path, "" if first else " (another run recorded this lecture first)")
    log_metadata({"pdf": str(pdf_path), "pages": pages, "bytes": len(data)})
    return LecturePdf(data=data, title=title, copy_path=str(pdf_path), pages=pages)

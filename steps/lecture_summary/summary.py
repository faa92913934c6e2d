"""The lecture's summary and key points."""

from __future__ import annotations

from typing import Annotated, Optional

from zenml import log_metadata, step

import materializers.lecture_summary  # noqa: F401  (registers its materializers)
from stackpipes.lecture_summary.config import SummaryConfig
from stackpipes.lecture_summary.summary import LectureSummary
from stackpipes.speech.whisper import Transcript


@step
def summarise_transcript(
    transcript: Transcript, summary: Optional[SummaryConfig] = None,
) -> Annotated[LectureSummary, "lecture_summary"]:
    """TextRank's best sentences (or a language model's map-reduce summary), and the key points
    with the time each is said."""
    from stackpipes.lecture_summary.summary import summarise

    result = summarise(transcript, summary or SummaryConfig())
    log_metadata({"method": result.method, "summary_sentences": len(result.sentences),
                  "summary_words": len(result.text.split()), "key_points": len(result.key_points)})
    return result

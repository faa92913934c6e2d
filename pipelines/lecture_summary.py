"""lecture_summary: one lecture (video or audio) -> 16 kHz audio -> transcript -> summary -> PDF.

take the file (or the oldest new one of an inbox), hash it and keep it as it arrived -> decode its
audio (PyAV) -> check it (long enough, not silent, 16 kHz) -> transcribe it in one stream
(faster-whisper; the stack's step operator may put this step on a GPU) -> the transcript's
statistics -> check them (words, speaking rate, confidence; the failure names the cause) -> drift
of its segments against the earlier lectures -> summary and key points -> PDF, its copy under
reports/lecture_summary/<lecture>/ and the record that marks it done -> the review page.

    python run.py --stack local --pipeline lecture_summary --input LECTURE.mp4
    python run.py watch --pipeline lecture_summary --inbox DIR             # one run per new file
    python run.py --stack airflow --pipeline lecture_summary --schedule "*/5 * * * *"   # inbox: from the config
"""

from __future__ import annotations

from typing import Any, Optional

from zenml import pipeline
from zenml.enums import ExecutionMode

from stackpipes.lecture_summary.config import AudioConfig, SummaryConfig, TranscriptBounds
from stackpipes.lecture_summary.stats import SEGMENT_COLUMNS, audio_suite, transcript_suite
from stackpipes.speech.whisper import SpeechConfig
from steps.core import detect_drift, validate_dataset, write_review_page
from steps.lecture_summary import (
    earlier_lectures,
    extract_audio,
    on_lecture_failure,
    summarise_transcript,
    take_lecture,
    transcribe_audio,
    transcript_stats,
    write_lecture_pdf,
)


@pipeline(execution_mode=ExecutionMode.FAIL_FAST, on_failure=on_lecture_failure)
def lecture_summary(
    input_file: Optional[str] = None,
    inbox: Optional[str] = None,
    audio: Optional[AudioConfig] = None,
    speech: Optional[SpeechConfig] = None,
    summary: Optional[SummaryConfig] = None,
    transcript_bounds: Optional[TranscriptBounds] = None,
    drift_threshold: Optional[float] = None,
    raw_root: Optional[str] = None,
    raw_secret_name: Optional[str] = None,
) -> None:
    if bool(input_file) == bool(inbox):
        raise ValueError("lecture_summary: give exactly one of input_file (--input FILE) and inbox (a folder)")
    audio_config, bounds = AudioConfig.model_validate(audio or {}), TranscriptBounds.model_validate(transcript_bounds or {})
    lecture = take_lecture(input_file=input_file, inbox=inbox, raw_root=raw_root, raw_secret_name=raw_secret_name)
    clip, audio_stats = extract_audio(lecture, audio=audio)
    validate_dataset(audio_stats, suite=audio_suite(audio_config.min_duration_s, audio_config.silence_dbfs),
                     dataset_name="lecture_audio", id="check_audio")
    transcript = transcribe_audio(clip, speech=speech, after="check_audio")
    stats, segments = transcript_stats(transcript, lecture, speech=speech, bounds=bounds)
    validate_dataset(stats, suite=transcript_suite(bounds), dataset_name="lecture_transcript", id="check_transcript")
    earlier = earlier_lectures(lecture, raw_root=raw_root, raw_secret_name=raw_secret_name)
    detect_drift(earlier, segments, report_name="lecture_transcript_drift",
                 numerical=[c for c in SEGMENT_COLUMNS if c != "language"], categorical=["language"],
                 threshold=drift_threshold, time_column=None, after="check_transcript")
    result = summarise_transcript(transcript, summary=summary, after="check_transcript")
    write_lecture_pdf(lecture, transcript, result, segments, raw_root=raw_root, raw_secret_name=raw_secret_name,
                      after="detect_drift")
    write_review_page(None, products=["lecture_summary", "transcript"], after="write_lecture_pdf")  # no model to promote


def report(run: Any) -> str:
    """Where a finished run's results are, for run.py to print."""
    from stackpipes.core.summary import dashboard_line

    lines = [f"Run '{run.name}': {run.status}"]
    steps = run.steps
    meta = steps["take_lecture"].run_metadata if "take_lecture" in steps else {}
    if meta.get("skip"):
        lines.append(f"  nothing to do:  {meta.get('note')}")
        lines.append(dashboard_line(run))
        return "\n".join(lines)
    lines.append(f"  lecture:        {meta.get('lecture')} (sha256 {str(meta.get('sha256'))[:12]}; kept at "
                 f"{meta.get('raw_uri')})")
    if "transcribe_audio" in steps:
        t = steps["transcribe_audio"].run_metadata
        lines.append(f"  transcript:     {t.get('words')} words, language {t.get('language')}, "
                     f"{t.get('duration_s', 0):.1f} s of audio in {t.get('transcribe_seconds', 0):.1f} s "
                     f"(real-time factor {t.get('real_time_factor', 0):.3f}, {t.get('device')} {t.get('compute_type')})")
    if "detect_drift" in steps:
        d = steps["detect_drift"].run_metadata
        lines.append(f"  drift:          {'yes' if d.get('dataset_drift') else 'no'} "
                     f"({d.get('note') or 'drifted: ' + str(d.get('drifted_columns', 'none'))}) against earlier lectures")
    if "write_lecture_pdf" in steps:
        lines.append(f"  PDF:            {steps['write_lecture_pdf'].run_metadata.get('pdf')}")
    if "write_review_page" in steps:
        lines.append(f"  review page:    {steps['write_review_page'].run_metadata.get('review_page')}")
    lines.append(dashboard_line(run))
    return "\n".join(lines)

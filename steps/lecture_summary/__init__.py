"""The lecture_summary steps: take a file, its audio, its transcript and checks' table, the
earlier lectures for drift, the summary, the PDF."""

from steps.lecture_summary.audio import extract_audio
from steps.lecture_summary.intake import on_lecture_failure, take_lecture
from steps.lecture_summary.report import earlier_lectures, write_lecture_pdf
from steps.lecture_summary.speech import transcribe_audio, transcript_stats
from steps.lecture_summary.summary import summarise_transcript

__all__ = ["earlier_lectures", "extract_audio", "on_lecture_failure", "summarise_transcript", "take_lecture",
           "transcribe_audio", "transcript_stats", "write_lecture_pdf"]

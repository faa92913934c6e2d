"""Speech to text (the step a stack may send to its GPU step operator) and the transcript's
statistics: one row per lecture for the checks, one row per segment for drift."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.lecture_summary  # noqa: F401  (registers its materializers)
from stackpipes.lecture_summary.config import TranscriptBounds
from stackpipes.lecture_summary.intake import LectureInput
from stackpipes.speech.audio import AudioClip
from stackpipes.speech.whisper import SpeechConfig, Transcript

logger = get_logger(__name__)


@step
def transcribe_audio(audio: AudioClip, speech: Optional[SpeechConfig] = None) -> Annotated[Transcript, "transcript"]:
    """The whole recording transcribed in one stream by faster-whisper (int8 on the CPU, float16
    on CUDA when the step sees a GPU): segments with times and confidences, .txt and .srt."""
    from stackpipes.speech.whisper import transcribe

    config = speech or SpeechConfig()
    if audio.samples.size == 0:
        return Transcript(model=config.model)
    transcript = transcribe(audio.samples, config)
    logger.info("Transcribed %.1f s in %.1f s (real-time factor %.3f, %s %s): %d segments, %d words, language %s",
                transcript.duration_s, transcript.seconds, transcript.real_time_factor, transcript.device,
                transcript.compute_type, len(transcript.segments), transcript.words, transcript.language)
    log_metadata({"duration_s": transcript.duration_s, "speech_s": transcript.speech_s,
                  "transcribe_seconds": transcript.seconds, "load_seconds": transcript.load_seconds,
                  "real_time_factor": transcript.real_time_factor, "device": transcript.device,
                  "compute_type": transcript.compute_type, "language": transcript.language,
                  "detected_language": transcript.detected_language, "segments": len(transcript.segments),
                  "words": transcript.words})
    return transcript


@step
def transcript_stats(
    transcript: Transcript, lecture: LectureInput, speech: Optional[SpeechConfig] = None,
    bounds: Optional[TranscriptBounds] = None,
) -> tuple[Annotated[pd.DataFrame, "transcript_stats"], Annotated[pd.DataFrame, "segment_stats"]]:
    """The lecture's row (words, speaking rate, confidence, the diagnosis) and its segments' rows."""
    from stackpipes.lecture_summary.stats import (
        LECTURE_COLUMNS,
        SEGMENT_COLUMNS,
        lecture_row,
        segment_rows,
    )

    if lecture.skip:
        return pd.DataFrame(columns=LECTURE_COLUMNS), pd.DataFrame(columns=SEGMENT_COLUMNS)
    row = lecture_row(lecture.slug, transcript, bounds or TranscriptBounds(), (speech or SpeechConfig()).language)
    log_metadata({k: v for k, v in row.iloc[0].to_dict().items() if k != "lecture"})
    return row, segment_rows(transcript)

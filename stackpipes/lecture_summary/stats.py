"""A transcript's statistics: one row per lecture for the checks, one row per segment for drift,
and the diagnosis that names what is wrong with a transcript that fails them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from stackpipes.lecture_summary.config import TranscriptBounds
from stackpipes.speech.audio import format_duration
from stackpipes.speech.whisper import Transcript

LECTURE_COLUMNS = ["lecture", "language", "duration_s", "speech_s", "words", "words_per_minute",
                   "mean_confidence", "low_confidence_share", "diagnosis"]
SEGMENT_COLUMNS = ["confidence", "words_per_minute", "no_speech_prob", "avg_logprob", "language"]


def words_per_minute(transcript: Transcript) -> float:
    """Words per minute of speech (after the voice-activity filter; the whole recording without one)."""
    minutes = (transcript.speech_s or transcript.duration_s) / 60
    return transcript.words / minutes if minutes > 0 else 0.0


def low_confidence_share(transcript: Transcript, bounds: TranscriptBounds) -> float:
    segments = [s for s in transcript.segments if s.text.strip()]
    if not segments:
        return 1.0
    return sum(s.confidence < bounds.low_confidence for s in segments) / len(segments)


def diagnose(transcript: Transcript, bounds: TranscriptBounds, configured_language: str) -> str:
    """"ok", or what is wrong in words a user can act on."""
    length = format_duration(transcript.duration_s)
    if transcript.words == 0:
        return f"silence: no speech was found in {length} of audio"
    if transcript.speech_s < 0.05 * transcript.duration_s:
        return (f"silence: only {transcript.speech_s:.1f} s of {length} sounds like speech "
                f"({transcript.words} words)")
    if (configured_language != "auto" and transcript.detected_language
            and transcript.detected_language != configured_language and transcript.detected_probability >= 0.8):
        return (f"wrong language: configured {configured_language}, but the audio sounds like "
                f"{transcript.detected_language} (p={transcript.detected_probability:.2f}); set speech.language")
    share = low_confidence_share(transcript, bounds)
    if share > bounds.max_low_confidence_share:
        return (f"low confidence: {share:.0%} of segments below {bounds.low_confidence} (music, noise, "
                f"or speech in another language than {transcript.language})")
    rate = words_per_minute(transcript)
    if not bounds.min_words_per_minute <= rate <= bounds.max_words_per_minute:
        return (f"implausible speaking rate: {rate:.0f} words per minute, outside "
                f"[{bounds.min_words_per_minute:.0f}, {bounds.max_words_per_minute:.0f}] (music or noise "
                "transcribed as words, or a few words in a long silence)")
    return "ok"


def lecture_row(lecture: str, transcript: Transcript, bounds: TranscriptBounds, configured_language: str) -> pd.DataFrame:
    segments = [s for s in transcript.segments if s.text.strip()]
    mean_confidence = sum(s.confidence for s in segments) / len(segments) if segments else 0.0
    row: dict[str, Any] = {
        "lecture": lecture, "language": transcript.language, "duration_s": round(transcript.duration_s, 3),
        "speech_s": round(transcript.speech_s, 3), "words": transcript.words,
        "words_per_minute": round(words_per_minute(transcript), 2), "mean_confidence": round(mean_confidence, 4),
        "low_confidence_share": round(low_confidence_share(transcript, bounds), 4),
        "diagnosis": diagnose(transcript, bounds, configured_language),
    }
    return pd.DataFrame([row], columns=LECTURE_COLUMNS)


def segment_rows(transcript: Transcript) -> pd.DataFrame:
    rows = []
    for s in transcript.segments:
        seconds = max(s.end - s.start, 0.1)
        rows.append({"confidence": round(s.confidence, 4), "words_per_minute": round(s.word_count / seconds * 60, 2),
                     "no_speech_prob": round(s.no_speech_prob, 4), "avg_logprob": round(s.avg_logprob, 4),
                     "language": transcript.language})
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def transcript_suite(bounds: TranscriptBounds) -> dict[str, Any]:
    """The GX suite a lecture's row must pass (built from `bounds`, so config and checks agree)."""
    return {
        "name": "lecture_transcript",
        "expectations": [
            {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": LECTURE_COLUMNS}},
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "diagnosis", "value_set": ["ok"]}},
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "words", "min_value": 1}},
            {"type": "expect_column_values_to_be_between",
             "kwargs": {"column": "words_per_minute", "min_value": bounds.min_words_per_minute,
                        "max_value": bounds.max_words_per_minute}},
            {"type": "expect_column_values_to_be_between",
             "kwargs": {"column": "low_confidence_share", "min_value": 0,
                        "max_value": bounds.max_low_confidence_share}},
        ],
    }


AUDIO_COLUMNS = ["lecture", "container", "audio_codec", "source_sample_rate", "sample_rate", "duration_s",
                 "rms_dbfs", "active_share"]


def audio_suite(min_duration_s: float, silence_dbfs: float) -> dict[str, Any]:
    """The GX suite of the extracted audio: long enough, not silent, at the models' sample rate."""
    return {
        "name": "lecture_audio",
        "expectations": [
            {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": AUDIO_COLUMNS}},
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "duration_s", "min_value": max(min_duration_s, 0.01)}},
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "rms_dbfs", "min_value": silence_dbfs}},
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sample_rate", "value_set": [16000]}},
        ],
    }

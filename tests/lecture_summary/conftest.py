"""The two lectures (tests/speech_fixtures.py) transcribed once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def english_transcript(english_lecture, whisper_model):
    from stackpipes.speech.audio import load_audio
    from stackpipes.speech.whisper import SpeechConfig, transcribe

    return transcribe(load_audio(english_lecture, 600)[0], SpeechConfig(cpu_threads=2, language="en"), model=whisper_model)


@pytest.fixture(scope="session")
def russian_transcript(russian_lecture, whisper_model):
    from stackpipes.speech.audio import load_audio
    from stackpipes.speech.whisper import SpeechConfig, transcribe

    return transcribe(load_audio(russian_lecture, 600)[0], SpeechConfig(cpu_threads=2, language="ru"), model=whisper_model)

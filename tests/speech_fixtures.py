"""Speech fixtures (a pytest plugin of tests/conftest.py) made at test time: espeak-ng lectures in every container (scripts/make_lecture.py)
and real speech with reference transcripts from PyPI source archives (scripts/speech_samples.py)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EN_SCRIPT = (
    "Good morning, everyone. Today we will talk about the history of computing machines. "
    "The first electronic computers were built during the nineteen forties. They filled whole rooms "
    "and used thousands of vacuum tubes. Programming them meant changing cables and switches by hand. "
    "In the nineteen fifties, the transistor replaced the vacuum tube. Computers became smaller, faster "
    "and much more reliable. Later, the integrated circuit put many transistors on a single chip of silicon. "
    "This made personal computers possible in the nineteen seventies. Next week, we will look at how "
    "operating systems grew up alongside the hardware."
)
RU_SCRIPT = (
    "Добрый день. Сегодня мы поговорим о погоде и о климате. Погода меняется каждый день. "
    "Климат меняется медленно, за многие годы. Летом в городе жарко, а зимой холодно и идёт снег. "
    "Весной тает снег и начинаются дожди. Осенью листья становятся жёлтыми и падают на землю. "
    "Зимой дни короткие, а ночи длинные. Летом солнце встаёт рано и садится поздно. "
    "Ветер приносит тучи с моря. После дождя на небе бывает радуга. "
    "На следующей неделе мы поговорим о реках и озёрах."
)


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="session")
def lecture_maker():
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: `make test` installs it (scripts/ensure_media_tools.sh)")
    return _script("make_lecture")


@pytest.fixture(scope="session")
def speech_samples():
    return _script("speech_samples")


@pytest.fixture(scope="session")
def english_lecture(tmp_path_factory, lecture_maker) -> Path:
    return lecture_maker.make_lecture(EN_SCRIPT, "en-us", tmp_path_factory.mktemp("en") / "History of computing.mp4",
                                      speed=150)


@pytest.fixture(scope="session")
def russian_lecture(tmp_path_factory, lecture_maker) -> Path:
    return lecture_maker.make_lecture(RU_SCRIPT, "ru", tmp_path_factory.mktemp("ru") / "Лекция о погоде.webm",
                                      speed=120)


@pytest.fixture(scope="session")
def whisper_model():
    """The packaged Whisper base, loaded once for the session (2 CPU threads, as on CI)."""
    from stackpipes.speech.whisper import SpeechConfig, load_model

    config = SpeechConfig(cpu_threads=2)
    model, _, _ = load_model(config)
    return model

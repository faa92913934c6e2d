"""Audio out of any container PyAV reads (mp4, mkv, webm, mp3, ogg/opus, wav, ...), resampled to
mono float32 at the rate speech models want (16 kHz), with PyAV's bundled ffmpeg libraries: no
system ffmpeg, no container.

Every way a file can be unusable is a `MediaError` that says what was found: not media at all, no
audio track, nothing decodable (zero length), cut off before its stated end (truncated), or longer
than the caller allows (checked from the header before decoding, and again while decoding, so a
lying header cannot make it read ten hours).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

SAMPLE_RATE = 16_000
SILENCE_DBFS = -60.0   # below this RMS level a recording is taken as silent
# A file whose decoded audio ends before this share of its stated duration is truncated.
TRUNCATED_SHARE = 0.9


class MediaError(ValueError):
    """A media file that cannot give audio: names the file and what was wrong."""


@dataclass(frozen=True)
class MediaInfo:
    """What the container says about itself, before decoding."""

    path: str
    container: str
    duration_s: Optional[float]   # None when the container does not say
    audio_codec: str
    sample_rate: int
    channels: int
    video_streams: int


def _open(path: Path):
    import av

    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path.name}: the file is empty (0 bytes)")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"{path.name}: not a media file that can be read, or one cut off before its "
                         f"index ({exc})") from exc


def probe(path: str | Path) -> MediaInfo:
    """The container's own account of `path`; a MediaError when it is not media or has no audio."""
    path = Path(path)
    with _open(path) as container:
        return _info(path, container)


def _info(path: Path, container) -> MediaInfo:
    import av

    audio = container.streams.audio
    videos = len(container.streams.video)
    if not audio:
        what = f"{videos} video stream(s) and no audio track" if videos else "no audio track"
        raise MediaError(f"{path.name}: {what}: there is nothing to transcribe")
    stream = audio[0]
    duration = None
    if container.duration:
        duration = container.duration / av.time_base
    elif stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    return MediaInfo(
        path=str(path), container=container.format.name, duration_s=duration,
        audio_codec=stream.codec_context.name, sample_rate=int(stream.codec_context.sample_rate or 0),
        channels=int(stream.codec_context.channels or 0), video_streams=videos,
    )


def load_audio(path: str | Path, max_duration_s: float, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, MediaInfo]:
    """The first audio track of `path` as mono float32 in [-1, 1] at `sample_rate`, and its info.

    Refuses (MediaError) a file longer than `max_duration_s`, one whose audio cannot be decoded
    or ends early (truncated), and one with no audio at all.
    """
    import av

    path = Path(path)
    if not math.isfinite(max_duration_s) or max_duration_s <= 0:
        raise ValueError(f"max_duration_s must be a positive number of seconds, got {max_duration_s!r}")
    with _open(path) as container:
        info = _info(path, container)
        if info.duration_s is not None and info.duration_s > max_duration_s:
            raise MediaError(f"{path.name}: {format_duration(info.duration_s)} long, more than the "
                             f"{format_duration(max_duration_s)} allowed (audio.max_duration_s)")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        limit = int(max_duration_s * sample_rate) + sample_rate
        chunks: list[np.ndarray] = []
        decoded = 0
        error: Optional[Exception] = None
        try:
            for frame in container.decode(container.streams.audio[0]):
                frame.pts = None  # let the resampler count time: broken timestamps do not matter
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    decoded += chunk.size
                if decoded > limit:
                    raise MediaError(f"{path.name}: more than the {format_duration(max_duration_s)} allowed "
                                     "(audio.max_duration_s) once decoded")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            error = exc
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    seconds = samples.size / sample_rate
    if samples.size == 0:
        reason = f" ({error})" if error else ""
        raise MediaError(f"{path.name}: no audio could be decoded{reason}: the file is empty or truncated")
    stated = _wav_stated_duration(path) if info.container == "wav" else None
    if stated is not None:  # ffmpeg reckons a WAV's length from the file's size: the header knows better
        info = MediaInfo(**{**info.__dict__, "duration_s": stated})
    if error is not None or (info.duration_s and seconds < TRUNCATED_SHARE * info.duration_s - 0.5):
        stated = f" of the {format_duration(info.duration_s)} its header states" if info.duration_s else ""
        raise MediaError(f"{path.name}: truncated: only {format_duration(seconds)}{stated} could be decoded"
                         + (f" ({error})" if error else ""))
    return np.clip(samples, -1.0, 1.0), info


def _wav_stated_duration(path: Path) -> Optional[float]:
    """The length a PCM WAV file's header states (None when it is not one `wave` reads)."""
    import wave

    try:
        with wave.open(str(path), "rb") as handle:
            return handle.getnframes() / handle.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError, OSError):
        return None


def rms_dbfs(samples: np.ndarray) -> float:
    """Loudness of `samples` as RMS in dB relative to full scale (-inf for digital silence)."""
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * math.log10(rms) if rms > 0 else float("-inf")


def active_share(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, frame_s: float = 0.03,
                 floor_dbfs: float = -45.0) -> float:
    """Share of 30 ms frames louder than `floor_dbfs`: a cheap measure of how much is not silence."""
    size = max(1, int(frame_s * sample_rate))
    frames = samples[: samples.size // size * size].reshape(-1, size)
    if frames.size == 0:
        return 0.0
    energy = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return float(np.mean(energy > 10 ** (floor_dbfs / 20)))


def format_duration(seconds: float) -> str:
    """`1:02:03` / `4:05` / `12.3 s`: a duration for messages and pages."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class AudioClip:
    """Decoded audio ready for a speech model: mono float32 samples and where they came from."""

    samples: np.ndarray
    sample_rate: int
    info: Optional[MediaInfo] = None

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate if self.sample_rate else 0.0

"""A synthetic lecture for tests and benches: espeak-ng speaks a script, PyAV makes a media file
of it (audio only, or a colour frame plus the audio). The script is the reference transcript.

    python scripts/make_lecture.py --voice en-us --text "..." --out lecture.mp4
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

# container suffix -> (audio codec, video codec or None for audio only)
FORMATS = {
    ".mp4": ("aac", "libx264"), ".mkv": ("aac", "mpeg4"), ".webm": ("libopus", "libvpx"),
    ".mp3": ("libmp3lame", None), ".ogg": ("libopus", None), ".opus": ("libopus", None),
    ".wav": ("pcm_s16le", None),
}


def speak(text: str, voice: str, wav: Path, speed: int = 150, gap_ms: int = 0) -> Path:
    """`text` spoken by espeak-ng `voice` into the WAV file `wav`."""
    wav.parent.mkdir(parents=True, exist_ok=True)
    command = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav)]
    if gap_ms:
        command += ["-g", str(max(1, gap_ms // 10))]
    subprocess.run([*command, text], check=True, capture_output=True)
    return wav


def write_media(samples: np.ndarray, rate: int, out: Path, video: bool = True, colour=(40, 70, 120)) -> Path:
    """Mono float32 `samples` at `rate` into `out` (format by suffix, see FORMATS)."""
    import av

    audio_codec, video_codec = FORMATS[out.suffix.lower()]
    out.parent.mkdir(parents=True, exist_ok=True)
    codec_rate = 48000 if "opus" in audio_codec else rate
    with av.open(str(out), "w") as container:
        vstream = None
        if video and video_codec:
            vstream = container.add_stream(video_codec, rate=2)
            vstream.width, vstream.height, vstream.pix_fmt = 160, 120, "yuv420p"
        astream = container.add_stream(audio_codec, rate=codec_rate)
        astream.layout = "mono"
        resampler = av.AudioResampler(format=astream.codec_context.codec.audio_formats[0].name,
                                      layout="mono", rate=codec_rate)
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for chunk in resampler.resample(frame) + resampler.resample(None):
            for packet in astream.encode(chunk):
                container.mux(packet)
        for packet in astream.encode(None):
            container.mux(packet)
        if vstream is not None:
            seconds = samples.size / rate
            image = np.zeros((120, 160, 3), np.uint8)
            image[:] = colour
            for index in range(max(1, int(seconds * 2))):
                picture = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
                picture.pts, picture.time_base = index, Fraction(1, 2)
                for packet in vstream.encode(picture):
                    container.mux(packet)
            for packet in vstream.encode(None):
                container.mux(packet)
    return out


def read_wav(wav: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(wav)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        chunks = [f.to_ndarray().astype(np.float32).reshape(-1) / 32768.0 for f in container.decode(stream)]
    return np.concatenate(chunks), rate


def make_lecture(text: str, voice: str, out: Path, speed: int = 150, video: bool = True) -> Path:
    """`text` spoken by `voice`, as the media file `out`."""
    with tempfile.TemporaryDirectory() as tmp:
        samples, rate = read_wav(speak(text, voice, Path(tmp) / "speech.wav", speed))
    return write_media(samples, rate, out, video=video)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="en-us")
    parser.add_argument("--text", required=True)
    parser.add_argument("--speed", type=int, default=150)
    parser.add_argument("--out", required=True)
    parser.add_argument("--audio-only", action="store_true")
    args = parser.parse_args()
    print(make_lecture(args.text, args.voice, Path(args.out), args.speed, video=not args.audio_only))

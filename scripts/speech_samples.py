"""Real speech with reference transcripts, for the speech tests and bench/lecture.py.

Fetched from PyPI's simple index at test or bench time (never at run time, never committed):
`jfk.wav` (11 s) from the source distribution of pywhispercpp 1.5.1, and five LibriVox clips with
their `transcription` file from pocketsphinx 5.1.1's `test/data/librivox/`. Each archive is
checked against the SHA-256 the index publishes, and only those files are unpacked, once, into
the cache folder (default `.stackpipes/cache/speech_samples`).

    python scripts/speech_samples.py [DIR]    # prints the clips and their references
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import tarfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

INDEX = "https://pypi.org/simple"
ARCHIVES = {
    "pywhispercpp": ("1.5.1", "5df897e5dd9d9f16804fc937bd85b9f5880a0b29a55f8843585e0e03d76195e5",
                     ["whisper.cpp/samples/jfk.wav"]),
    "pocketsphinx": ("5.1.1", "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355",
                     ["test/data/librivox/"]),
}
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".stackpipes" / "cache" / "speech_samples"


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    reference: str


def _fetch(name: str, version: str, sha256: str) -> bytes:
    page_url = f"{INDEX}/{name}/"
    page = urllib.request.urlopen(page_url, timeout=120).read().decode("utf-8")
    wanted = f"{name}-{version}.tar.gz"
    for link in re.findall(r'href="([^"]+)"', page):
        url = urllib.parse.urljoin(page_url, link.split("#")[0])
        if urllib.parse.unquote(url).endswith("/" + wanted):
            data = urllib.request.urlopen(url, timeout=600).read()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise RuntimeError(f"{wanted}: its SHA-256 is not {sha256}")
            return data
    raise RuntimeError(f"{wanted} is not on {page_url}")


def ensure_samples(cache: Path = DEFAULT_CACHE) -> Path:
    """The cache folder holding jfk.wav and librivox/ (fetched and unpacked on first use)."""
    cache.mkdir(parents=True, exist_ok=True)
    for name, (version, sha256, members) in ARCHIVES.items():
        marker = cache / f".{name}-{version}.done"
        if marker.exists():
            continue
        with tarfile.open(fileobj=io.BytesIO(_fetch(name, version, sha256)), mode="r:gz") as archive:
            prefix = f"{name}-{version}/"
            for member in archive.getmembers():
                inner = member.name[len(prefix):]
                if member.isfile() and any(inner == m or (m.endswith("/") and inner.startswith(m)) for m in members):
                    target = cache / Path(inner).name if inner.endswith("jfk.wav") else cache / "librivox" / Path(inner).name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.extractfile(member).read())  # type: ignore[union-attr]
        marker.touch()
    return cache


def jfk(cache: Path = DEFAULT_CACHE) -> Clip:
    return Clip("jfk", ensure_samples(cache) / "jfk.wav", JFK_TEXT)


def librivox(cache: Path = DEFAULT_CACHE) -> list[Clip]:
    folder = ensure_samples(cache) / "librivox"
    clips = []
    for line in (folder / "transcription").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"<s>\s*(.*?)\s*</s>\s*\((\S+)\)", line.strip())
        if match:
            clips.append(Clip(match[2], folder / f"{match[2]}.wav", match[1]))
    return clips


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE
    for clip in [jfk(root), *librivox(root)]:
        print(f"{clip.path}  {clip.reference}")

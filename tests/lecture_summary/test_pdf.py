"""The PDF holds the Cyrillic text (read back with pypdf) and its first page is not blank."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from stackpipes.lecture_summary.config import SummaryConfig
from stackpipes.lecture_summary.pdf import render_pdf
from stackpipes.lecture_summary.summary import summarise


@pytest.fixture(scope="module")
def russian_pdf(russian_transcript, tmp_path_factory):
    summary = summarise(russian_transcript, SummaryConfig(key_points=3))
    data, pages = render_pdf("Лекция о погоде", russian_transcript, summary)
    path = tmp_path_factory.mktemp("pdf") / "lecture.pdf"
    path.write_bytes(data)
    return path, pages, summary


def test_the_pdf_holds_the_cyrillic_title_summary_key_points_and_transcript(russian_pdf, russian_transcript):
    from pypdf import PdfReader

    path, pages, summary = russian_pdf
    reader = PdfReader(str(path))
    assert len(reader.pages) == pages >= 2  # summary first, the transcript from a new page
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Лекция о погоде" in text and "Russian / русский" in text
    for sentence in summary.sentences:
        assert " ".join(sentence.split()) in text
    assert "Key points" in text and "Transcript" in text
    for segment in russian_transcript.segments:
        assert " ".join(segment.text.split()) in text
    assert reader.metadata.title == "Лекция о погоде"


def test_the_first_page_renders_with_ink_on_it(russian_pdf, tmp_path):
    import numpy as np
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: `make test` installs poppler-utils (scripts/ensure_media_tools.sh)")
    path, _, _ = russian_pdf
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True)
    image = np.asarray(Image.open(next(tmp_path.glob("page*.png"))).convert("L"))
    dark = (image < 128).mean()
    assert 0.005 < dark < 0.5, f"share of dark pixels on page 1: {dark:.4f}"

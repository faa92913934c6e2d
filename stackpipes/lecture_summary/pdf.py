"""The lecture's PDF (fpdf2, DejaVu Sans so Cyrillic renders): title, date, duration, language,
the summary, the key points with their time codes, and the full transcript with segment times."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from stackpipes.lecture_summary.summary import LectureSummary, timecode
from stackpipes.speech.audio import format_duration
from stackpipes.speech.whisper import Transcript

LANGUAGE_NAMES = {"en": "English", "ru": "Russian / русский"}


def font_files() -> dict[str, Path]:
    """DejaVu Sans regular and bold, as matplotlib ships them (a dependency already)."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    files = {"": folder / "DejaVuSans.ttf", "B": folder / "DejaVuSans-Bold.ttf"}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"the PDF font is missing: {', '.join(missing)}")
    return files


def render_pdf(title: str, transcript: Transcript, summary: LectureSummary, made: datetime | None = None) -> tuple[bytes, int]:
    """The PDF's bytes and its number of pages."""
    from fpdf import FPDF

    made = made or datetime.now(timezone.utc)
    pdf = FPDF(format="A4")
    pdf.set_creation_date(made)
    pdf.set_title(title)
    pdf.set_creator("stackpipes lecture_summary")
    for style, path in font_files().items():
        pdf.add_font("DejaVu", style, str(path))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def heading(text: str, size: int = 14) -> None:
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    def body(text: str, size: int = 11) -> None:
        pdf.set_font("DejaVu", "", size)
        pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    heading(title, 18)
    body(f"Summarised {made.strftime('%Y-%m-%d %H:%M UTC')} · duration {format_duration(transcript.duration_s)}"
         f" · language {LANGUAGE_NAMES.get(transcript.language, transcript.language or 'unknown')}"
         f" · {transcript.words} words", 10)
    body(f"Speech to text: {transcript.model} on {transcript.device} ({transcript.compute_type}); "
         f"summary: {summary.method}" + (f" by {summary.model}" if summary.model else "") + ".", 9)
    pdf.ln(3)
    heading("Summary")
    body(summary.text or "(nothing was said that could be summarised)")
    if summary.key_points:
        heading("Key points")
        for point in summary.key_points:
            pdf.set_font("DejaVu", "B", 11)
            pdf.cell(18, 5.5, timecode(point.start))
            pdf.set_font("DejaVu", "", 11)
            pdf.multi_cell(0, 5.5, point.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
    pdf.add_page()
    heading("Transcript")
    for segment in transcript.segments:
        if not segment.text.strip():
            continue
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(18, 5, timecode(segment.start))
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 5, segment.text.strip(), new_x="LMARGIN", new_y="NEXT")
    # fpdf2 subsets the fonts with fontTools, which narrates every table it touches at INFO.
    subset_log = logging.getLogger("fontTools")
    level = subset_log.level
    subset_log.setLevel(logging.WARNING)
    try:
        data = bytes(pdf.output())
    finally:
        subset_log.setLevel(level)
    return data, pdf.page_no()


@dataclass
class LecturePdf:
    """The PDF's bytes and where its copy under reports/ is."""

    data: bytes
    title: str
    copy_path: str = ""
    pages: int = 0

"""Script-free HTML for the dashboard: pages, tables and inline SVG charts.

ZenML's open-source dashboard shows an artifact's HTML in an iframe with `sandbox=""`: scripts do
not run there, and nothing outside the page may be fetched (the review pages open offline too).
Everything here is plain HTML with inline CSS and inline SVG, escaped where it shows data.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Optional

OUTCOME_COLOURS = {"retrain": "#fde2c8", "hold": "#fde8e8", "pass": "#e7f6e7", "n/a": "#f0f0f0",
                   "fail": "#fde8e8", "yes": "#fde2c8", "no": "#e7f6e7"}
REFERENCE_COLOUR, CURRENT_COLOUR, THRESHOLD_COLOUR = "#8da0cb", "#fc8d62", "#444"

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:16px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;"
    "text-align:left;vertical-align:top}th{background:#f4f4f4}h2,h3{margin:8px 0}"
    ".verdict{font-size:1.2em;font-weight:600}.muted{color:#666}.figure{margin:8px 0}"
)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def fmt(value: Optional[float], digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def page(title: str, body: str) -> str:
    """A whole document: a title, inline style, no script, no external reference."""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], shade: Optional[Sequence[Optional[str]]] = None) -> str:
    """A table of escaped cells; `shade[i]` names a row's outcome (its background colour)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        colour = OUTCOME_COLOURS.get(shade[i] or "", "") if shade else ""
        style = f" style='background:{colour}'" if colour else ""
        body.append(f"<tr{style}>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def score_bars(items: Sequence[tuple[str, float, float, bool]], caption: str) -> str:
    """Horizontal bars of per-column scores with each column's threshold as a tick.

    `items`: (label, score, threshold, flagged); flagged bars are drawn in the current colour.
    """
    if not items:
        return ""
    width, label_w, bar_w, row_h = 560, 150, 330, 22
    top = max(max(s, t) for _, s, t, _ in items) or 1.0
    height = row_h * len(items) + 24
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img'>"
             f"<title>{esc(caption)}</title>"]
    for i, (label, score, threshold, flagged) in enumerate(items):
        y = 4 + i * row_h
        w = max(1.0, bar_w * score / top)
        x_t = label_w + bar_w * threshold / top
        colour = CURRENT_COLOUR if flagged else REFERENCE_COLOUR
        parts.append(
            f"<text x='{label_w - 6}' y='{y + 14}' text-anchor='end' font-size='12'>{esc(label)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{w:.1f}' height='14' fill='{colour}'/>"
            f"<line x1='{x_t:.1f}' x2='{x_t:.1f}' y1='{y}' y2='{y + 20}' stroke='{THRESHOLD_COLOUR}' stroke-width='2'/>"
            f"<text x='{label_w + bar_w + 8}' y='{y + 14}' font-size='12'>{score:.3g} / {threshold:.3g}</text>"
        )
    parts.append(f"<text x='{label_w}' y='{height - 4}' font-size='11' fill='#666'>bar: score, tick: threshold"
                 "</text></svg>")
    return f"<div class='figure'>{''.join(parts)}</div>"


def histogram(edges: Sequence[float], reference: Sequence[float], current: Sequence[float], caption: str) -> str:
    """Reference and current shares per bin, side by side, as an inline SVG."""
    if not edges or len(reference) != len(edges) - 1 or len(current) != len(edges) - 1:
        return ""
    width, height, pad = 360, 140, 24
    bins = len(reference)
    top = max([*reference, *current, 1e-9])
    step = (width - 2 * pad) / bins
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 30}' role='img'>"
             f"<title>{esc(caption)}</title>"]
    for i in range(bins):
        for j, (share, colour) in enumerate(((reference[i], REFERENCE_COLOUR), (current[i], CURRENT_COLOUR))):
            h = (height - pad) * share / top
            x = pad + i * step + j * step / 2
            parts.append(f"<rect x='{x:.1f}' y='{height - h:.1f}' width='{max(step / 2 - 1, 1):.1f}' "
                         f"height='{h:.1f}' fill='{colour}'/>")
    parts.append(
        f"<line x1='{pad}' x2='{width - pad}' y1='{height}' y2='{height}' stroke='#999'/>"
        f"<text x='{pad}' y='{height + 14}' font-size='11'>{edges[0]:.3g}</text>"
        f"<text x='{width - pad}' y='{height + 14}' font-size='11' text-anchor='end'>{edges[-1]:.3g}</text>"
        f"<rect x='{pad}' y='{height + 18}' width='10' height='10' fill='{REFERENCE_COLOUR}'/>"
        f"<text x='{pad + 14}' y='{height + 27}' font-size='11'>reference</text>"
        f"<rect x='{pad + 90}' y='{height + 18}' width='10' height='10' fill='{CURRENT_COLOUR}'/>"
        f"<text x='{pad + 104}' y='{height + 27}' font-size='11'>current</text></svg>"
    )
    return f"<div class='figure'><div class='muted'>{esc(caption)}</div>{''.join(parts)}</div>"


def compare_bars(metric: str, challenger: Optional[float], production: Optional[float]) -> str:
    """Challenger against production on one metric, as two bars."""
    values = [(label, v) for label, v in (("challenger", challenger), ("production", production)) if v is not None]
    if not values:
        return ""
    top = max(abs(v) for _, v in values) or 1.0
    rows = []
    for i, (label, value) in enumerate(values):
        w = max(1.0, 300 * abs(value) / top)
        colour = CURRENT_COLOUR if label == "challenger" else REFERENCE_COLOUR
        rows.append(
            f"<text x='96' y='{18 + i * 24}' text-anchor='end' font-size='12'>{label}</text>"
            f"<rect x='100' y='{6 + i * 24}' width='{w:.1f}' height='16' fill='{colour}'/>"
            f"<text x='{106 + w:.1f}' y='{18 + i * 24}' font-size='12'>{value:.4g}</text>"
        )
    return (f"<div class='figure'><svg xmlns='http://www.w3.org/2000/svg' width='480' height='{12 + 24 * len(values)}'"
            f" role='img'><title>{esc(metric)}: challenger vs production</title>{''.join(rows)}</svg></div>")

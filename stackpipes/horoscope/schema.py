"""The one schema every horoscope source is mapped to, and the twelve signs."""

from __future__ import annotations

SIGNS: tuple[str, ...] = (
    "aries", "taurus", "gemini", "cancer", "leo", "virgo",
    "libra", "scorpio", "sagittarius", "capricorn", "aquarius", "pisces",
)

# Russian names (nominative) as Russian sites write them, for sources that label signs in Russian.
SIGNS_RU: dict[str, str] = {
    "овен": "aries", "телец": "taurus", "близнецы": "gemini", "рак": "cancer",
    "лев": "leo", "дева": "virgo", "весы": "libra", "скорпион": "scorpio",
    "стрелец": "sagittarius", "козерог": "capricorn", "водолей": "aquarius", "рыбы": "pisces",
}

RAW_COLUMNS: tuple[str, ...] = ("date", "sign", "source", "text", "url", "fetched_at")
# Columns whose values differ between fetches of the same content (a re-landing ignores them).
VOLATILE_COLUMNS: tuple[str, ...] = ("fetched_at",)

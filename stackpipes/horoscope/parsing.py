"""Reading horoscopes off a fetched page (HTML by CSS selectors, JSON by dotted paths) into raw rows.

A page that loads but no longer matches the configured selectors raises `LayoutChanged`; empty
texts, unknown or missing signs and stale dates are per-page problems, recorded and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Optional, Union

import requests
from bs4 import BeautifulSoup, Tag

from stackpipes.horoscope.sources import SIGN_NAMES, Locator, SourceSpec

# Tags after which rendered text breaks a line: paragraphs must not run into each other.
BLOCK_TAGS = tuple(
    "p div section article header footer aside li ul ol table tr td th blockquote br".split()
    + [f"h{level}" for level in range(1, 7)]
)
_MISSING = object()


class LayoutChanged(Exception):
    """A page loaded but does not match the configured selectors or paths."""


def _visible_text(node: Tag) -> str:
    """Text as a reader sees it: block elements separate words, whitespace runs collapse."""
    for tag in node.find_all(BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return " ".join(node.get_text().split())


class _HtmlPage:
    def __init__(self, response: requests.Response, drop: Sequence[str]):
        declared = "charset=" in response.headers.get("Content-Type", "").lower()
        # with no declared charset, the parser reads <meta charset>; requests would guess latin-1
        self.root = BeautifulSoup(
            response.content, "lxml", from_encoding=response.encoding if declared else None
        )
        self.drop = drop

    def items(self, selector: str) -> list[Tag]:
        found = self.root.select(selector)
        for item in found:
            for noise in self.drop:
                for element in item.select(noise):
                    element.decompose()
        return found

    def read(self, locator: Locator, item: Tag) -> Optional[str]:
        scope = item if locator.scope == "item" else self.root
        node = scope.select_one(locator.path) if locator.path else scope
        if node is None:
            return None
        if locator.attribute:
            value = node.get(locator.attribute)
            if value is None:
                return None
            return " ".join(value) if isinstance(value, list) else str(value).strip()
        return _visible_text(node)


def _json_at(node: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


class _JsonPage:
    def __init__(self, response: requests.Response, url: str):
        try:
            self.root = json.loads(response.content)
        except ValueError as exc:
            raise LayoutChanged(f"{url}: not a JSON document ({exc})") from None

    def items(self, path: str) -> list[Any]:
        found = _json_at(self.root, path)
        if isinstance(found, dict):
            return [found]
        return found if isinstance(found, list) else []

    def read(self, locator: Locator, item: Any) -> Optional[str]:
        value = _json_at(item if locator.scope == "item" else self.root, locator.path)
        if value is _MISSING:
            return None
        if value is None:
            return ""  # present but null: an empty value, not a changed layout
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value).strip()
        raise LayoutChanged(f"'{locator.path}' holds a {type(value).__name__}, expected text")


_Page = Union[_HtmlPage, _JsonPage]


def _describe(locator: Locator) -> str:
    where = repr(locator.path) if locator.path else "the item itself"
    return where + (f" attribute {locator.attribute!r}" if locator.attribute else "")


def _required(page: _Page, locator: Locator, item: Any, what: str, url: str) -> str:
    try:
        value = page.read(locator, item)
    except LayoutChanged as exc:
        raise LayoutChanged(f"{url}: {what}: {exc}") from None
    if value is None:
        raise LayoutChanged(
            f"{url}: {what} not found at {_describe(locator)} ({locator.scope} scope)"
        )
    return value


def _page_date(spec: SourceSpec, page: _Page, item: Any, url: str) -> Optional[date]:
    locator = spec.extract.date
    if locator is None:
        return None
    raw = _required(page, locator, item, "date", url)
    try:
        return datetime.strptime(raw, locator.format).date()
    except ValueError:
        raise LayoutChanged(
            f"{url}: date {raw!r} does not match format {locator.format!r}"
        ) from None


@dataclass
class PageRequest:
    """What was asked of one page: its URL, day, sign (per-sign pages) and the signs wanted."""

    url: str
    day: date
    sign: Optional[str]
    wanted: Sequence[str]
    fetched_at: str


def _item_sign(
    spec: SourceSpec, page: _Page, item: Any, asked: PageRequest, problems: list[str]
) -> Optional[str]:
    locator = spec.extract.sign
    if locator is None:
        return asked.sign
    raw = _required(page, locator, item, "sign", asked.url)
    sign = SIGN_NAMES[locator.names].get(raw.strip().lower())
    if sign is None:
        problems.append(f"{asked.url}: unknown sign name {raw!r}, item skipped")
    return sign


def page_rows(
    spec: SourceSpec, page: _Page, asked: PageRequest, problems: list[str]
) -> list[dict[str, str]]:
    items = page.items(spec.extract.items)
    if not items:
        raise LayoutChanged(f"{asked.url}: no horoscope block at items {spec.extract.items!r}")
    page_scope_date = spec.extract.date is not None and spec.extract.date.scope == "page"
    if page_scope_date:
        shown = _page_date(spec, page, None, asked.url)
        if shown != asked.day:
            problems.append(f"{asked.url}: page shows {shown}, not {asked.day} (stale), skipped")
            return []
    rows: dict[str, dict[str, str]] = {}
    for item in items:
        sign = _item_sign(spec, page, item, asked, problems)
        if sign is None or sign not in asked.wanted or (asked.sign and sign != asked.sign):
            continue
        if sign in rows:
            problems.append(f"{asked.url}: {sign} appears more than once; the first is kept")
            continue
        if not page_scope_date:
            shown = _page_date(spec, page, item, asked.url)
            if shown is not None and shown != asked.day:
                problems.append(
                    f"{asked.url}: {sign} shows {shown}, not {asked.day} (stale), skipped"
                )
                continue
        text = _required(page, spec.extract.text, item, "text", asked.url)
        if not text:
            problems.append(f"{asked.url}: empty text for {sign}")
        rows[sign] = {
            "date": asked.day.isoformat(),
            "sign": sign,
            "source": spec.name,
            "text": text,
            "url": asked.url,
            "fetched_at": asked.fetched_at,
        }
    missing = [sign for sign in ([asked.sign] if asked.sign else asked.wanted) if sign not in rows]
    if missing:
        problems.append(f"{asked.url}: no horoscope for {', '.join(missing)}")
    return list(rows.values())


def open_page(spec: SourceSpec, response: requests.Response, url: str) -> _Page:
    return _HtmlPage(response, spec.extract.drop) if spec.is_html else _JsonPage(response, url)

"""Horoscope collection over HTTP: source specs from YAML, and a polite, retrying scraper.

Each source is described by a YAML file (`configs/horoscope/sources/*.yaml`): where its pages are
(`url` with `{base_url}`, `{date}` and `{sign}` placeholders), what kind of page it serves
(`html_per_sign`, `html_per_day`, `json_per_sign`, `json_per_day`), and where the horoscope
blocks, their text, sign and date sit (CSS selectors for HTML, dotted paths for JSON). Every
source lands in the raw schema `stackpipes.horoscope.schema.RAW_COLUMNS`.

A source whose pages cannot be fetched (connection errors, timeouts, 5xx after the configured
retries, or its time budget used up) is reported as `failed`; one whose page loads but no longer
matches the configured selectors is reported as `layout_changed`. Either way its rows are left
out and the other sources still land. Missing pages (404), empty texts and missing signs are
per-page problems: the source still lands, and the problems are listed in its report.
"""

from __future__ import annotations

import json
import logging
import re
import string
import time
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal, Optional, Union

import pandas as pd
import requests
import soupsieve
import yaml
from bs4 import BeautifulSoup, Tag
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from stackpipes.env import PROJECT_ROOT
from stackpipes.horoscope.schema import RAW_COLUMNS, SIGNS, SIGNS_RU

logger = logging.getLogger(__name__)

SOURCES_DIR = PROJECT_ROOT / "configs" / "horoscope" / "sources"
# How a source labels signs, lower-cased, mapped to the schema's English names.
SIGN_NAMES: dict[str, dict[str, str]] = {"en": {sign: sign for sign in SIGNS}, "ru": SIGNS_RU}
URL_PLACEHOLDERS = ("base_url", "date", "sign")
# Tags after which rendered text breaks a line: paragraphs must not run into each other.
BLOCK_TAGS = tuple(
    "p div section article header footer aside li ul ol table tr td th blockquote br".split()
    + [f"h{level}" for level in range(1, 7)]
)
# A date whose day, month and year differ, to check that a format round-trips all three.
_PROBE_DAY = date(2026, 12, 31)
_MISSING = object()

Status = Literal["ok", "failed", "layout_changed"]


class SourceSpecError(ValueError):
    """A source file that cannot be used: names the file, the key and what was expected."""

    def __init__(self, origin: Union[str, Path], key: str, expected: str):
        self.origin, self.key, self.expected = str(origin), key, expected
        super().__init__(f"{origin}: {key}: {expected}")


class _KeyProblem(ValueError):
    """Raised inside validators to name the offending key below the validated object."""

    def __init__(self, key: str, expected: str):
        self.key, self.expected = key, expected
        super().__init__(expected)


# ---- source specs ----------------------------------------------------------------------------


def _check_date_format(fmt: str) -> str:
    try:
        round_trip = datetime.strptime(_PROBE_DAY.strftime(fmt), fmt).date()
    except ValueError:
        round_trip = None
    if round_trip != _PROBE_DAY:
        raise ValueError(
            f"a strftime format that writes year, month and day (e.g. %Y-%m-%d), got {fmt!r}"
        )
    return fmt


def _check_css(selector: str) -> str:
    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as exc:
        raise ValueError(
            f"a valid CSS selector, got {selector!r} ({str(exc).splitlines()[0]})"
        ) from None
    return selector


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Locator(_Strict):
    """Where one value sits: a CSS selector (HTML) or a dotted path (JSON), in the item or the page.

    An empty `path` means the item (or page) itself; `attribute` (HTML only) reads an attribute
    instead of the rendered text.
    """

    path: str = ""
    attribute: Optional[str] = Field(default=None, min_length=1)
    scope: Literal["item", "page"] = "item"


class SignLocator(Locator):
    names: Literal["en", "ru"] = "en"  # the language the source names signs in


class DateLocator(Locator):
    format: str = "%Y-%m-%d"

    @field_validator("format")
    @classmethod
    def _date_format(cls, value: str) -> str:
        return _check_date_format(value)


class ExtractSpec(_Strict):
    """Where the horoscopes are on a page."""

    # the horoscope blocks: a CSS selector (HTML), or a dotted path to a list or object (JSON;
    # "" is the whole document)
    items: str
    drop: list[str] = Field(default_factory=list)  # HTML noise removed from each item first
    text: Locator
    sign: Optional[SignLocator] = None  # optional on per-sign pages: the requested sign is used
    date: Optional[DateLocator] = None  # optional: the requested date is used


class HttpSpec(_Strict):
    """How to talk to a source: timeouts, retries with exponential backoff, politeness, budget."""

    timeout_s: float = Field(default=10.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0)
    backoff_factor: float = Field(default=2.0, ge=1)
    max_backoff_s: float = Field(default=30.0, ge=0)
    retry_statuses: list[int] = Field(default_factory=lambda: [429, 500, 502, 503, 504])
    delay_s: float = Field(default=1.0, ge=0)  # between two requests to the same source
    budget_s: float = Field(default=300.0, gt=0)  # the whole source, retries and pauses included
    user_agent: str = Field(default="stackpipes-horoscope/0.1 (research collection)", min_length=1)

    @field_validator("retry_statuses")
    @classmethod
    def _http_errors(cls, statuses: list[int]) -> list[int]:
        wrong = [s for s in statuses if not 400 <= s <= 599]
        if wrong:
            raise ValueError(f"HTTP error statuses between 400 and 599, got {wrong}")
        if 404 in statuses:
            raise ValueError("statuses worth retrying; 404 means the page does not exist")
        return statuses


class SourceSpec(_Strict):
    """One horoscope source, as described by its YAML file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    language: str = Field(pattern=r"^[a-z]{2}$")  # ISO 639-1
    kind: Literal["html_per_sign", "html_per_day", "json_per_sign", "json_per_day"]
    base_url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    url: str
    url_date_format: str = "%Y-%m-%d"
    extract: ExtractSpec
    http: HttpSpec = Field(default_factory=HttpSpec)
    _origin: str = PrivateAttr(default="<code>")  # the file it came from, for messages

    @property
    def origin(self) -> str:
        return self._origin

    @field_validator("url_date_format")
    @classmethod
    def _date_format(cls, value: str) -> str:
        return _check_date_format(value)

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("url")
    @classmethod
    def _known_placeholders(cls, url: str) -> str:
        try:
            fields = [
                (name, spec, conv)
                for _, name, spec, conv in string.Formatter().parse(url)
                if name is not None
            ]
        except ValueError as exc:
            raise ValueError(f"a URL pattern with {{placeholders}}, got {url!r} ({exc})") from None
        unknown = sorted(
            {name for name, spec, conv in fields if name not in URL_PLACEHOLDERS or spec or conv}
        )
        if unknown:
            raise ValueError(
                f"placeholders among {{{'}, {'.join(URL_PLACEHOLDERS)}}}, got {unknown} in {url!r}"
            )
        if not url.startswith("{base_url}"):
            raise ValueError(
                f"a pattern starting with {{base_url}} (callers move the host), got {url!r}"
            )
        if "{date}" not in url:
            raise ValueError(f"a pattern with {{date}} (pages are daily), got {url!r}")
        return url

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        if self.per_sign != ("{sign}" in self.url):
            need = "needs" if self.per_sign else "must not have"
            raise _KeyProblem(
                "url", f"a {self.kind} source {need} a {{sign}} placeholder, got {self.url!r}"
            )
        if not self.per_sign and self.extract.sign is None:
            raise _KeyProblem(
                "extract.sign", f"required for {self.kind}: a page holds several signs"
            )
        locators = {"text": self.extract.text, "sign": self.extract.sign, "date": self.extract.date}
        if self.is_html:
            _check_html_selectors(self.extract, locators)
        else:
            _check_json_paths(self.extract, locators)
        return self

    @property
    def per_sign(self) -> bool:
        return self.kind.endswith("_per_sign")

    @property
    def is_html(self) -> bool:
        return self.kind.startswith("html_")

    def page_url(self, base_url: str, day: date, sign: Optional[str] = None) -> str:
        return self.url.format(
            base_url=base_url.rstrip("/"), date=day.strftime(self.url_date_format), sign=sign or ""
        )

    def with_http(self, **changes: Any) -> SourceSpec:
        """A copy with some HTTP settings changed (validated like the file), e.g. `delay_s=0`."""
        data = self.model_dump()
        data["http"] = {**data["http"], **changes}
        return _validated(data, self.origin)


def _check_html_selectors(extract: ExtractSpec, locators: Mapping[str, Optional[Locator]]) -> None:
    for key, selector in [("items", extract.items)] + [
        (f"drop[{i}]", s) for i, s in enumerate(extract.drop)
    ]:
        try:
            _check_css(selector)
        except ValueError as exc:
            raise _KeyProblem(f"extract.{key}", str(exc)) from None
    for key, locator in locators.items():
        if locator is not None and locator.path:
            try:
                _check_css(locator.path)
            except ValueError as exc:
                raise _KeyProblem(f"extract.{key}.path", str(exc)) from None


def _check_json_paths(extract: ExtractSpec, locators: Mapping[str, Optional[Locator]]) -> None:
    if extract.drop:
        raise _KeyProblem("extract.drop", "only for HTML sources; leave it out for JSON")
    paths = {"items": extract.items} | {
        f"{k}.path": v.path for k, v in locators.items() if v is not None
    }
    for key, path in paths.items():
        if path and not all(path.split(".")):
            raise _KeyProblem(f"extract.{key}", f"a dotted JSON path like data.items, got {path!r}")
    for key, locator in locators.items():
        if locator is not None and locator.attribute is not None:
            raise _KeyProblem(
                f"extract.{key}.attribute", "only for HTML sources; JSON values are read at path"
            )


def _allowed_keys(location: Sequence[str]) -> list[str]:
    """The keys a mapping at `location` in a source file may hold (for unknown-key messages)."""
    model: Optional[type[BaseModel]] = SourceSpec
    for part in location:
        spec_field = model.model_fields.get(part) if model else None
        if spec_field is None:
            return []
        candidates = [spec_field.annotation, *typing.get_args(spec_field.annotation)]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    return sorted(model.model_fields) if model else []


def _spec_error(origin: str, exc: ValidationError) -> SourceSpecError:
    errors = exc.errors()
    first = errors[0]
    location = [str(part) for part in first["loc"]]
    problem = (first.get("ctx") or {}).get("error")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if isinstance(problem, _KeyProblem):
        return SourceSpecError(origin, ".".join(location + [problem.key]), problem.expected + more)
    key = ".".join(location) or "<file>"
    if first["type"] == "extra_forbidden":
        expected = f"unknown key; expected one of {_allowed_keys(location[:-1])}"
    elif first["type"] == "missing":
        expected = "required key is missing"
    elif isinstance(problem, ValueError):
        expected = str(problem)
    else:
        expected = f"{first['msg']}, got {first.get('input')!r}"
    return SourceSpecError(origin, key, expected + more)


def _validated(data: Any, origin: str) -> SourceSpec:
    if not isinstance(data, dict):
        raise SourceSpecError(
            origin, "<file>", f"a mapping of source settings, got {type(data).__name__}"
        )
    try:
        spec = SourceSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(origin, exc) from None
    spec._origin = origin
    return spec


def load_source(path: Union[str, Path]) -> SourceSpec:
    """One source spec from a YAML file; every key is checked."""
    path = Path(path)
    if not path.is_file():
        raise SourceSpecError(path, "<file>", "an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourceSpecError(path, "<file>", f"valid YAML ({str(exc).splitlines()[0]})") from None
    return _validated(data, str(path))


def load_sources(
    paths_or_dir: Union[str, Path, Iterable[Union[str, Path]]] = SOURCES_DIR,
) -> list[SourceSpec]:
    """Source specs from a folder of `*.yaml` files (sorted) or from a list of files."""
    if isinstance(paths_or_dir, (str, Path)) and Path(paths_or_dir).is_dir():
        paths = sorted(Path(paths_or_dir).glob("*.yaml")) + sorted(Path(paths_or_dir).glob("*.yml"))
        if not paths:
            raise SourceSpecError(
                paths_or_dir, "<folder>", "at least one source YAML file (*.yaml)"
            )
    elif isinstance(paths_or_dir, (str, Path)):
        paths = [Path(paths_or_dir)]
    else:
        paths = [Path(p) for p in paths_or_dir]
    specs = [load_source(path) for path in paths]
    _unique_names(specs)
    return specs


def _unique_names(specs: Sequence[SourceSpec]) -> None:
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            raise SourceSpecError(
                spec.origin,
                "name",
                f"a name no other source uses; {spec.name!r} is also in {seen[spec.name]}",
            )
        seen[spec.name] = spec.origin


# ---- results ---------------------------------------------------------------------------------


class SourceReport(BaseModel):
    """What happened to one source: its status, how much landed, and every problem seen."""

    source: str
    status: Status
    rows: int
    pages: int  # pages fetched and parsed
    requests: int  # HTTP requests sent, retries included
    seconds: float
    error: Optional[str] = None  # why the source was skipped (failed / layout_changed)
    problems: list[str] = Field(default_factory=list)  # per-page issues (404, empty text, ...)

    def describe(self) -> str:
        line = (
            f"{self.source}: {self.status}, {self.rows} rows from {self.pages} pages"
            f" ({self.requests} requests, {self.seconds:.1f} s)"
        )
        if self.error:
            line += f"; {self.error}"
        if self.problems:
            line += f"; {len(self.problems)} problem(s)"
        return line


@dataclass
class SourceResult:
    """One source's rows (exactly RAW_COLUMNS; empty unless the status is ok) and its report."""

    source: str
    status: Status
    rows: pd.DataFrame
    problems: list[str]
    error: Optional[str] = None
    pages: int = 0
    requests: int = 0
    seconds: float = 0.0

    def report(self) -> SourceReport:
        return SourceReport(
            source=self.source,
            status=self.status,
            rows=len(self.rows),
            pages=self.pages,
            requests=self.requests,
            seconds=round(self.seconds, 3),
            error=self.error,
            problems=list(self.problems),
        )


@dataclass
class CollectionResult:
    """Rows of every source that landed, concatenated, and one report per source."""

    rows: pd.DataFrame
    reports: list[SourceReport]

    def report(self, source: str) -> SourceReport:
        for report in self.reports:
            if report.source == source:
                return report
        raise KeyError(f"no source named {source!r}; sources: {[r.source for r in self.reports]}")

    @property
    def landed(self) -> list[str]:
        return [r.source for r in self.reports if r.status == "ok"]

    @property
    def skipped(self) -> list[str]:
        return [r.source for r in self.reports if r.status != "ok"]

    def summary(self) -> str:
        return "\n".join(
            [f"{len(self.rows)} rows from {len(self.landed)}/{len(self.reports)} sources"]
            + [report.describe() for report in self.reports]
        )


def empty_rows() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in RAW_COLUMNS})


# ---- fetching --------------------------------------------------------------------------------


class _SourceFailed(Exception):
    """The source cannot be fetched: retries or the time budget are used up."""


class _LayoutChanged(Exception):
    """A page loaded but does not match the configured selectors or paths."""


@dataclass
class _Run:
    """The state of scraping one source."""

    spec: SourceSpec
    session: requests.Session
    deadline: float
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    pages: int = 0
    last_request_at: Optional[float] = None


def _polite_pause(run: _Run) -> None:
    if run.last_request_at is None:
        return
    wait = run.spec.http.delay_s - (time.monotonic() - run.last_request_at)
    if wait > 0:
        time.sleep(wait)


def _retry_after(response: requests.Response) -> float:
    """Seconds the server asked us to wait (numeric Retry-After only), else 0."""
    value = response.headers.get("Retry-After", "")
    return float(value) if re.fullmatch(r"\d+(\.\d+)?", value.strip()) else 0.0


def _budget_used_up(run: _Run, url: str, last_error: str) -> _SourceFailed:
    return _SourceFailed(
        f"{url}: time budget of {run.spec.http.budget_s:g} s used up"
        f" ({last_error or 'no answer yet'})"
    )


def _attempt(run: _Run, url: str, timeout: float) -> tuple[Optional[requests.Response], str, float]:
    """One request: (response or None, error text when worth retrying, seconds the server asked)."""
    http = run.spec.http
    run.requests += 1
    run.last_request_at = time.monotonic()
    try:
        response = run.session.get(url, timeout=timeout, headers={"User-Agent": http.user_agent})
    except requests.Timeout:
        return None, f"no answer within {timeout:g} s", 0.0
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        return None, f"connection failed ({type(exc).__name__})", 0.0
    if response.status_code in http.retry_statuses:
        return None, f"HTTP {response.status_code} {response.reason}", _retry_after(response)
    return response, "", 0.0


def _fetch(run: _Run, url: str) -> Optional[requests.Response]:
    """The page at `url`, None when it is missing (4xx not worth retrying); raises _SourceFailed."""
    http = run.spec.http
    attempts = http.retries + 1
    last_error = ""
    for attempt in range(1, attempts + 1):
        _polite_pause(run)
        remaining = run.deadline - time.monotonic()
        if remaining <= 0:
            raise _budget_used_up(run, url, last_error)
        response, last_error, asked_wait = _attempt(run, url, min(http.timeout_s, remaining))
        if response is not None:
            if response.status_code >= 400:
                run.problems.append(
                    f"{url}: HTTP {response.status_code} {response.reason}, page skipped"
                )
                return None
            return response
        if attempt < attempts:
            pause = min(
                max(http.backoff_s * http.backoff_factor ** (attempt - 1), asked_wait),
                http.max_backoff_s,
            )
            if time.monotonic() + pause >= run.deadline:
                raise _budget_used_up(run, url, last_error)
            logger.debug(
                "%s: %s, retry %d/%d in %.2f s", url, last_error, attempt, http.retries, pause
            )
            time.sleep(pause)
    raise _SourceFailed(f"{url}: {last_error} after {attempts} attempt(s)")


# ---- parsing ---------------------------------------------------------------------------------


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
            raise _LayoutChanged(f"{url}: not a JSON document ({exc})") from None

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
        raise _LayoutChanged(f"'{locator.path}' holds a {type(value).__name__}, expected text")


_Page = Union[_HtmlPage, _JsonPage]


def _describe(locator: Locator) -> str:
    where = repr(locator.path) if locator.path else "the item itself"
    return where + (f" attribute {locator.attribute!r}" if locator.attribute else "")


def _required(page: _Page, locator: Locator, item: Any, what: str, url: str) -> str:
    try:
        value = page.read(locator, item)
    except _LayoutChanged as exc:
        raise _LayoutChanged(f"{url}: {what}: {exc}") from None
    if value is None:
        raise _LayoutChanged(
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
        raise _LayoutChanged(
            f"{url}: date {raw!r} does not match format {locator.format!r}"
        ) from None


@dataclass
class _PageRequest:
    """What was asked of one page: its URL, day, sign (per-sign pages) and the signs wanted."""

    url: str
    day: date
    sign: Optional[str]
    wanted: Sequence[str]
    fetched_at: str


def _item_sign(
    spec: SourceSpec, page: _Page, item: Any, asked: _PageRequest, problems: list[str]
) -> Optional[str]:
    locator = spec.extract.sign
    if locator is None:
        return asked.sign
    raw = _required(page, locator, item, "sign", asked.url)
    sign = SIGN_NAMES[locator.names].get(raw.strip().lower())
    if sign is None:
        problems.append(f"{asked.url}: unknown sign name {raw!r}, item skipped")
    return sign


def _page_rows(
    spec: SourceSpec, page: _Page, asked: _PageRequest, problems: list[str]
) -> list[dict[str, str]]:
    items = page.items(spec.extract.items)
    if not items:
        raise _LayoutChanged(f"{asked.url}: no horoscope block at items {spec.extract.items!r}")
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


def _open_page(spec: SourceSpec, response: requests.Response, url: str) -> _Page:
    return _HtmlPage(response, spec.extract.drop) if spec.is_html else _JsonPage(response, url)


# ---- scraping --------------------------------------------------------------------------------


def as_days(dates: Iterable[Union[date, str]]) -> list[date]:
    """Dates from `date` objects or YYYY-MM-DD strings, in order, without repeats."""
    days: list[date] = []
    for value in dates:
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, str):
            try:
                value = datetime.strptime(value, "%Y-%m-%d").date()
            except ValueError:
                raise ValueError(f"dates: {value!r} is not a date; expected YYYY-MM-DD") from None
        if not isinstance(value, date):
            raise ValueError(f"dates: {value!r} is not a date; expected a date or YYYY-MM-DD")
        if value not in days:
            days.append(value)
    if not days:
        raise ValueError("dates: expected at least one date")
    return days


def _as_signs(signs: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(signs))
    unknown = [s for s in chosen if s not in SIGNS]
    if unknown or not chosen:
        raise ValueError(f"signs: expected some of {list(SIGNS)}, got {unknown or 'none'}")
    return chosen


def _base(base_url: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", base_url):
        raise ValueError(f"base_url: expected http(s)://host[:port][/path], got {base_url!r}")
    return base_url.rstrip("/")


def _pages(
    spec: SourceSpec, days: Sequence[date], signs: Sequence[str]
) -> Iterable[tuple[date, Optional[str]]]:
    for day in days:
        for sign in signs if spec.per_sign else [None]:
            yield day, sign


def _collect(
    run: _Run, base_url: str, days: Sequence[date], signs: Sequence[str]
) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for day, sign in _pages(run.spec, days, signs):
        url = run.spec.page_url(base_url, day, sign)
        response = _fetch(run, url)
        if response is None:
            continue
        fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        page = _open_page(run.spec, response, url)
        rows.extend(
            _page_rows(
                run.spec, page, _PageRequest(url, day, sign, signs, fetched_at), run.problems
            )
        )
        run.pages += 1
    if run.pages == 0:
        raise _SourceFailed(
            "no page could be fetched" + (f" ({run.problems[0]}, ...)" if run.problems else "")
        )
    return rows


def scrape_source(
    spec: SourceSpec,
    dates: Iterable[Union[date, str]],
    signs: Iterable[str] = SIGNS,
    base_url: Optional[str] = None,
    session: Optional[requests.Session] = None,
) -> SourceResult:
    """Scrape one source for `dates` and `signs`; failures are reported in the result, not raised.

    `base_url` replaces the spec's default host (tests and the demo serve the sites on a random
    port). Raises ValueError only for bad arguments.
    """
    days, wanted = as_days(dates), _as_signs(signs)
    base = _base(base_url or spec.base_url)
    own_session = session is None
    started = time.monotonic()
    run = _Run(spec, session or requests.Session(), deadline=started + spec.http.budget_s)
    status: Status = "ok"
    error = None
    try:
        rows = pd.DataFrame(_collect(run, base, days, wanted), columns=list(RAW_COLUMNS))
    except _SourceFailed as exc:
        status, error, rows = "failed", str(exc), empty_rows()
    except _LayoutChanged as exc:
        status, error, rows = "layout_changed", str(exc), empty_rows()
    finally:
        if own_session:
            run.session.close()
    if rows.empty and status == "ok":
        rows = empty_rows()
    result = SourceResult(
        spec.name,
        status,
        rows,
        run.problems,
        error,
        run.pages,
        run.requests,
        time.monotonic() - started,
    )
    logger.info(result.report().describe())
    return result


def scrape_all(
    specs: Sequence[SourceSpec],
    dates: Iterable[Union[date, str]],
    base_urls: Optional[Mapping[str, str]] = None,
    signs: Iterable[str] = SIGNS,
) -> CollectionResult:
    """Scrape every source in turn over one HTTP session; failing sources are reported, skipped."""
    _unique_names(specs)
    base_urls = dict(base_urls or {})
    unknown = sorted(set(base_urls) - {spec.name for spec in specs})
    if unknown:
        raise ValueError(
            f"base_urls: no source named {unknown}; sources: {[s.name for s in specs]}"
        )
    days, wanted = as_days(dates), _as_signs(signs)
    results = []
    with requests.Session() as session:
        for spec in specs:
            results.append(scrape_source(spec, days, wanted, base_urls.get(spec.name), session))
    landed = [r.rows for r in results if r.status == "ok" and not r.rows.empty]
    rows = pd.concat(landed, ignore_index=True) if landed else empty_rows()
    return CollectionResult(rows=rows, reports=[r.report() for r in results])

"""The scrape loop: every source (see `sources`) fetched (`fetching`) and parsed (`parsing`) for the
days and signs asked, each landing in the raw schema `stackpipes.horoscope.schema.RAW_COLUMNS`.

A source whose pages cannot be fetched (connection errors, timeouts, 5xx after the configured
retries, or its time budget used up) is reported as `failed`; one whose page loads but no longer
matches the configured selectors is reported as `layout_changed`. Either way its rows are left
out and the other sources still land. Missing pages (404), empty texts and missing signs are
per-page problems: the source still lands, and the problems are listed in its report.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Literal, Optional, Union

import pandas as pd
import requests
from pydantic import BaseModel, Field

from stackpipes.core.fetching import FetchRun, SourceFailed, fetch_page
from stackpipes.horoscope.parsing import LayoutChanged, PageRequest, open_page, page_rows
from stackpipes.horoscope.schema import RAW_COLUMNS, SIGNS
from stackpipes.horoscope.sources import SourceSpec, unique_names

logger = logging.getLogger(__name__)

Status = Literal["ok", "failed", "layout_changed"]


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
    run: FetchRun, spec: SourceSpec, base_url: str, days: Sequence[date], signs: Sequence[str]
) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for day, sign in _pages(spec, days, signs):
        url = spec.page_url(base_url, day, sign)
        response = fetch_page(run, url)
        if response is None:
            continue
        fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        page = open_page(spec, response, url)
        rows.extend(
            page_rows(
                spec, page, PageRequest(url, day, sign, signs, fetched_at), run.problems
            )
        )
        run.pages += 1
    if run.pages == 0:
        raise SourceFailed(
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
    run = FetchRun(spec.http, session or requests.Session(), deadline=started + spec.http.budget_s)
    status: Status = "ok"
    error = None
    try:
        rows = pd.DataFrame(_collect(run, spec, base, days, wanted), columns=list(RAW_COLUMNS))
    except SourceFailed as exc:
        status, error, rows = "failed", str(exc), empty_rows()
    except LayoutChanged as exc:
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
    report = result.report()
    (logger.info if report.status == "ok" else logger.warning)(report.describe())
    return result


def scrape_all(
    specs: Sequence[SourceSpec],
    dates: Iterable[Union[date, str]],
    base_urls: Optional[Mapping[str, str]] = None,
    signs: Iterable[str] = SIGNS,
) -> CollectionResult:
    """Scrape every source in turn over one HTTP session; failing sources are reported, skipped."""
    unique_names(specs)
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

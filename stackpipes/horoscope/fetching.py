"""Fetching a source's pages politely: a pause between requests, retries with backoff, a time budget.

A source whose pages cannot be fetched (connection errors, timeouts, 5xx after the configured
retries, or its time budget used up) raises `SourceFailed`; a missing page (4xx not worth
retrying) is a per-page problem, recorded and skipped.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Optional

import requests

from stackpipes.horoscope.sources import SourceSpec

logger = logging.getLogger(__name__)


class SourceFailed(Exception):
    """The source cannot be fetched: retries or the time budget are used up."""


@dataclass
class FetchRun:
    """The state of scraping one source."""

    spec: SourceSpec
    session: requests.Session
    deadline: float
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    pages: int = 0
    last_request_at: Optional[float] = None


def _polite_pause(run: FetchRun) -> None:
    if run.last_request_at is None:
        return
    wait = run.spec.http.delay_s - (time.monotonic() - run.last_request_at)
    if wait > 0:
        time.sleep(wait)


def _retry_after(response: requests.Response) -> float:
    """Seconds the server asked us to wait (numeric Retry-After only), else 0."""
    value = response.headers.get("Retry-After", "")
    return float(value) if re.fullmatch(r"\d+(\.\d+)?", value.strip()) else 0.0


def _budget_used_up(run: FetchRun, url: str, last_error: str) -> SourceFailed:
    return SourceFailed(
        f"{url}: time budget of {run.spec.http.budget_s:g} s used up"
        f" ({last_error or 'no answer yet'})"
    )


def _attempt(run: FetchRun, url: str, timeout: float) -> tuple[Optional[requests.Response], str, float]:
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


def fetch_page(run: FetchRun, url: str) -> Optional[requests.Response]:
    """The page at `url`, None when it is missing (4xx not worth retrying); raises SourceFailed."""
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
    raise SourceFailed(f"{url}: {last_error} after {attempts} attempt(s)")

"""Fetching a source politely over HTTP: a pause between requests, retries with backoff, a time budget.

Any system's collection uses it (horoscope's sites, ratings' API). How persistently a source is
asked is an `HttpSpec` (part of the source's YAML file). A source whose pages cannot be fetched
(connection errors, timeouts, a retried status after the configured retries, or its time budget
used up) raises `SourceFailed`; a missing page (4xx not worth retrying) is a per-page problem,
recorded and skipped. Query parameters are passed apart from the URL (`params`) and never appear
in a problem or a log line: an API key travels there.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

import requests
from pydantic import BaseModel, ConfigDict, Field, field_validator

logger = logging.getLogger(__name__)


class HttpSpec(BaseModel):
    """How to talk to a source: timeouts, retries with exponential backoff, politeness, budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=10.0, gt=0, le=300)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0, le=60)
    backoff_factor: float = Field(default=2.0, ge=1, le=10)
    max_backoff_s: float = Field(default=30.0, ge=0, le=600)
    retry_statuses: list[int] = Field(default_factory=lambda: [429, 500, 502, 503, 504], max_length=200)
    delay_s: float = Field(default=1.0, ge=0, le=60)  # between two requests to the same source
    budget_s: float = Field(default=300.0, gt=0, le=6 * 3600)  # the whole source, retries and pauses included
    user_agent: str = Field(default="stackpipes/0.1 (research collection)", min_length=1)

    @field_validator("retry_statuses")
    @classmethod
    def _http_errors(cls, statuses: list[int]) -> list[int]:
        wrong = [s for s in statuses if not 400 <= s <= 599]
        if wrong:
            raise ValueError(f"HTTP error statuses between 400 and 599, got {wrong}")
        if 404 in statuses:
            raise ValueError("statuses worth retrying; 404 means the page does not exist")
        return statuses


class SourceFailed(Exception):
    """The source cannot be fetched: retries or the time budget are used up."""


@dataclass
class FetchRun:
    """The state of fetching one source."""

    http: HttpSpec
    session: requests.Session
    deadline: float
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    pages: int = 0
    last_request_at: Optional[float] = None


def _polite_pause(run: FetchRun) -> None:
    if run.last_request_at is None:
        return
    wait = run.http.delay_s - (time.monotonic() - run.last_request_at)
    if wait > 0:
        time.sleep(wait)


def _retry_after(response: requests.Response) -> float:
    """Seconds the server asked us to wait (numeric Retry-After only), else 0."""
    value = response.headers.get("Retry-After", "")
    return float(value) if re.fullmatch(r"\d+(\.\d+)?", value.strip()) else 0.0


def _budget_used_up(run: FetchRun, url: str, last_error: str) -> SourceFailed:
    return SourceFailed(
        f"{url}: time budget of {run.http.budget_s:g} s used up"
        f" ({last_error or 'no answer yet'})"
    )


def error_reason(response: requests.Response) -> str:
    """`HTTP 403 Forbidden`, with the reason a JSON API gives for it (`{"error": {"errors":
    [{"reason": ...}], "message": ...}}`, the shape Google's APIs answer with) when there is one."""
    text = f"HTTP {response.status_code} {response.reason}"
    try:
        body = response.json()
    except ValueError:
        return text
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return text
    details = error.get("errors") or [{}]
    reason = details[0].get("reason") if isinstance(details[0], dict) else None
    return f"{text} ({reason})" if reason else text


# Decides for an answer that is not a success whether it is worth retrying: the reason to show,
# or None (not worth it: the page is skipped). The default retries `HttpSpec.retry_statuses`.
RetryRule = Callable[[requests.Response], Optional[str]]


def _attempt(run: FetchRun, url: str, timeout: float, params: Optional[Mapping[str, Any]],
             retry: Optional[RetryRule]) -> tuple[Optional[requests.Response], str, float]:
    """One request: (response or None, error text when worth retrying, seconds the server asked)."""
    http = run.http
    run.requests += 1
    run.last_request_at = time.monotonic()
    try:
        response = run.session.get(url, params=params, timeout=timeout, headers={"User-Agent": http.user_agent})
    except requests.Timeout:
        return None, f"no answer within {timeout:g} s", 0.0
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        return None, f"connection failed ({type(exc).__name__})", 0.0
    if response.status_code >= 400:
        reason = retry(response) if retry is not None else (
            error_reason(response) if response.status_code in http.retry_statuses else None)
        if reason:
            return None, reason, _retry_after(response)
    return response, "", 0.0


def fetch_page(run: FetchRun, url: str, params: Optional[Mapping[str, Any]] = None,
               retry: Optional[RetryRule] = None) -> Optional[requests.Response]:
    """The page at `url` (with query `params`), None when it is missing (4xx not worth retrying);
    raises SourceFailed. Problems and errors name `url`, never the parameters."""
    http = run.http
    attempts = http.retries + 1
    last_error = ""
    for attempt in range(1, attempts + 1):
        _polite_pause(run)
        remaining = run.deadline - time.monotonic()
        if remaining <= 0:
            raise _budget_used_up(run, url, last_error)
        response, last_error, asked_wait = _attempt(run, url, min(http.timeout_s, remaining), params, retry)
        if response is not None:
            if response.status_code >= 400:
                run.problems.append(f"{url}: {error_reason(response)}, page skipped")
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

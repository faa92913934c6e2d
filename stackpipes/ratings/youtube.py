"""The YouTube Data API v3 client: `search` for each query's videos, `commentThreads` for their comments.

Both lists are paged (`nextPageToken`) and read until the source's counts are reached. Every request
goes through the shared polite fetcher (`stackpipes.core.fetching`): quota and rate errors (403
quotaExceeded / rateLimitExceeded), 5xx and timeouts are retried with backoff within the source's
time budget; a video whose comments are disabled is skipped; a source whose budget runs out keeps
the queries it finished (each landed object is a whole query) and says where it stopped.

The API key travels in the `X-Goog-Api-Key` header, never in a URL, so no log line, problem,
report or artifact can show it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Optional

import pandas as pd
import requests
from pydantic import BaseModel, Field

from stackpipes.core.fetching import FetchRun, SourceFailed, error_reason, fetch_page
from stackpipes.ratings.schema import RAW_COLUMNS
from stackpipes.ratings.sources import CommentSource, query_slug

logger = logging.getLogger(__name__)

KEY_HEADER = "X-Goog-Api-Key"
SEARCH_PAGE_MAX = 50  # the API's maxResults ceiling for search.list
RETRIED_REASONS = frozenset({"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded", "backendError"})
Status = Literal["ok", "partial", "failed"]


class SourceReport(BaseModel):
    """What happened to one source: how far it got, and every problem seen."""

    source: str
    status: Status
    queries: int
    queries_done: int
    videos: int
    rows: int
    requests: int
    seconds: float
    problems: list[str] = Field(default_factory=list)
    error: Optional[str] = None
    live: bool = False

    def describe(self) -> str:
        head = (f"{self.source}: {self.status}, {self.rows} comments from {self.videos} videos, "
                f"{self.queries_done}/{self.queries} queries, {self.requests} requests in {self.seconds:.1f} s")
        tail = f"; stopped: {self.error}" if self.error else ""
        problems = f"; {len(self.problems)} problem(s), e.g. {self.problems[0]}" if self.problems else ""
        return head + tail + problems


@dataclass
class SourceResult:
    rows: pd.DataFrame
    report: SourceReport


@dataclass
class _Collection:
    source: CommentSource
    run: FetchRun
    day: str
    rows: list[dict[str, str]] = field(default_factory=list)
    videos: int = 0


def api_key(source: CommentSource) -> Optional[str]:
    """The source's key: its environment variable, else its ZenML secret (key `api_key`), else None."""
    key = os.environ.get(source.key_variable)
    if key:
        return key
    if source.secret_name:
        from stackpipes.platform.secrets import secret_values

        try:
            values = secret_values(source.secret_name)
        except Exception as exc:  # no store reachable: the same as no secret, said once
            logger.debug("secret %s not readable: %s", source.secret_name, type(exc).__name__)
            values = None
        if values and values.get("api_key"):
            return str(values["api_key"])
    return None


def _retry_rule(response: requests.Response) -> Optional[str]:
    """Quota, rate and backend errors are worth retrying; other 403s (comments disabled) are not."""
    reason = error_reason(response)
    if response.status_code == 403:
        return reason if any(r in reason for r in RETRIED_REASONS) else None
    return reason if response.status_code in (429, 500, 502, 503, 504) else None


def _get(collection: _Collection, endpoint: str, params: dict[str, Any]) -> Optional[dict[str, Any]]:
    url = f"{collection.source.base_url}/{endpoint}"
    response = fetch_page(collection.run, url, params=params, retry=_retry_rule)
    if response is None:
        return None
    try:
        body = response.json()
    except ValueError:
        raise SourceFailed(f"{url}: the answer is not JSON (HTTP {response.status_code})") from None
    if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
        raise SourceFailed(f"{url}: the answer is not a YouTube list response (no 'items' list)")
    return body


def _videos(collection: _Collection, query: str) -> Optional[list[tuple[str, str]]]:
    """(video id, title) of the query's first `videos_per_query` results; None when the search failed."""
    wanted = collection.source.videos_per_query
    found: list[tuple[str, str]] = []
    token = None
    while len(found) < wanted:
        params = {"part": "snippet", "q": query, "type": "video", "order": collection.source.order,
                  "maxResults": min(collection.source.page_size, SEARCH_PAGE_MAX, wanted - len(found))}
        if token:
            params["pageToken"] = token
        body = _get(collection, "search", params)
        if body is None:
            return None
        for item in body.get("items", []):
            video_id = (item.get("id") or {}).get("videoId")
            if video_id and len(found) < wanted:
                found.append((str(video_id), str((item.get("snippet") or {}).get("title", ""))))
        token = body.get("nextPageToken")
        if not token or not body.get("items"):
            break
    return found


def _comments(collection: _Collection, query: str, video_id: str, title: str) -> list[dict[str, str]]:
    wanted = collection.source.comments_per_video
    rows: list[dict[str, str]] = []
    token = None
    while len(rows) < wanted:
        params = {"part": "snippet", "videoId": video_id, "textFormat": "plainText", "order": collection.source.order,
                  "maxResults": min(collection.source.page_size, wanted - len(rows))}
        if token:
            params["pageToken"] = token
        body = _get(collection, "commentThreads", params)
        if body is None:  # comments disabled, video gone: recorded as a problem, the video is skipped
            break
        fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for item in body.get("items", []):
            comment = ((item.get("snippet") or {}).get("topLevelComment") or {})
            snippet = comment.get("snippet") or {}
            if not comment.get("id") or len(rows) >= wanted:
                continue
            rows.append({
                "source": collection.source.name, "query": query_slug(query), "date": collection.day,
                "query_text": query, "video_id": video_id, "video_title": title, "comment_id": str(comment["id"]),
                "author": str(snippet.get("authorDisplayName", "")),
                "text": str(snippet.get("textOriginal", snippet.get("textDisplay", ""))),
                "like_count": str(snippet.get("likeCount", "")), "published_at": str(snippet.get("publishedAt", "")),
                "fetched_at": fetched_at,
            })
        token = body.get("nextPageToken")
        if not token or not body.get("items"):
            break
    return rows


def collect_source(source: CommentSource, day: str, key: Optional[str] = None, base_url: Optional[str] = None,
                   session: Optional[requests.Session] = None) -> SourceResult:
    """Every query of `source` for the collection day `day`; failures are reported, not raised.

    `base_url` replaces the file's (the bundled sample API on 127.0.0.1); `key` goes in a header.
    """
    if base_url:
        source = source.model_copy(update={"base_url": base_url.rstrip("/")})
    own = session is None
    session = session or requests.Session()
    if key:
        session.headers[KEY_HEADER] = key
    started = time.monotonic()
    collection = _Collection(source, FetchRun(source.http, session, deadline=started + source.http.budget_s), day)
    done, error = 0, None
    try:
        for query in source.queries:
            videos = _videos(collection, query)
            if videos is None:
                continue
            query_rows: list[dict[str, str]] = []
            for video_id, title in videos:
                query_rows.extend(_comments(collection, query, video_id, title))
            collection.rows.extend(query_rows)  # a query lands whole or not at all
            collection.videos += len(videos)
            done += 1
    except SourceFailed as exc:
        error = str(exc)
    finally:
        session.headers.pop(KEY_HEADER, None)
        if own:
            session.close()
    if error is None and done == 0:
        problems = collection.run.problems
        error = "no query could be collected" + (f" ({problems[0]}, ...)" if problems else "")
    status: Status = "ok" if error is None else "partial" if collection.rows else "failed"
    report = SourceReport(
        source=source.name, status=status, queries=len(source.queries), queries_done=done,
        videos=collection.videos, rows=len(collection.rows), requests=collection.run.requests,
        seconds=time.monotonic() - started, problems=collection.run.problems[:50], error=error, live=key is not None,
    )
    (logger.info if status == "ok" else logger.warning)(report.describe())
    return SourceResult(pd.DataFrame(collection.rows, columns=list(RAW_COLUMNS)), report)

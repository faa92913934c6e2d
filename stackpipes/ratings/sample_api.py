"""The bundled sample of the YouTube Data API v3, served on 127.0.0.1 with the live API's JSON and paging.

`data/ratings_youtube/` (made by scripts/make_youtube_sample.py from real review text) holds
`search.json` (query -> videos) and `comments/<videoId>.json` (the video's comment threads, newest
first). The handler answers `GET /youtube/v3/search` and `GET /youtube/v3/commentThreads` as the
live API does: `items`, `pageInfo`, `nextPageToken` while more remain, `maxResults` bounds, and
errors in Google's JSON shape (400 for bad parameters, 404 `videoNotFound`, 403
`commentsDisabled`). The collector scrapes it over real HTTP exactly as it would the live API.

Tests give it a required key (`require_key`) and scripted faults (`faults`: the first N requests
to an endpoint answer a status and reason), to see quota errors, retries and key handling.
"""

from __future__ import annotations

import argparse
import functools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from stackpipes.platform.env import PROJECT_ROOT
from stackpipes.platform.loopback import SiteServer, serve_until_interrupted

BUNDLED_SAMPLE = PROJECT_ROOT / "data" / "ratings_youtube"
API_PREFIX = "/youtube/v3"
DEFAULT_CLI_PORT = 8298
LIMITS = {"search": 50, "commentThreads": 100}


@dataclass
class Fault:
    """The next `count` requests to `endpoint` answer `status` with Google's error `reason`."""

    endpoint: str
    status: int
    reason: str
    count: int = 1_000_000


class SampleData:
    """The sample's files, read once."""

    def __init__(self, folder: Path):
        folder = Path(folder)
        index = folder / "search.json"
        if not index.is_file():
            raise ValueError(f"{folder}: not a YouTube sample (no search.json); make one with "
                             "scripts/make_youtube_sample.py")
        self.search: dict[str, list[dict[str, Any]]] = {
            q.lower(): videos for q, videos in json.loads(index.read_text(encoding="utf-8"))["queries"].items()}
        self.folder = folder
        self._comments: dict[str, Optional[list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def comments(self, video_id: str) -> Optional[list[dict[str, Any]]]:
        with self._lock:
            if video_id not in self._comments:
                path = self.folder / "comments" / f"{video_id}.json"
                self._comments[video_id] = (json.loads(path.read_text(encoding="utf-8"))["items"]
                                            if path.is_file() and path.parent == self.folder / "comments" else None)
            return self._comments[video_id]

    def queries(self) -> list[str]:
        return sorted(self.search)


class SampleAPIHandler(BaseHTTPRequestHandler):
    """YouTube Data API v3 `search` and `commentThreads` over the sample (see the module doc)."""

    data: SampleData
    require_key: Optional[str] = None
    faults: list[Fault] = []
    disabled_videos: frozenset[str] = frozenset()
    seen_requests: list[str] = []  # paths (with query strings) in arrival order, for tests

    def log_message(self, format: str, *args: Any) -> None:  # no access log on stderr
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, reason: str, message: str) -> None:
        self._send(status, {"error": {"code": status, "message": message,
                                      "errors": [{"message": message, "domain": "youtube", "reason": reason}]}})

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.seen_requests.append(self.path)
        endpoint = parts.path[len(API_PREFIX) + 1:] if parts.path.startswith(API_PREFIX + "/") else ""
        if endpoint not in LIMITS:
            return self._error(404, "notFound", f"no such API method: {parts.path}")
        for fault in self.faults:
            if fault.endpoint == endpoint and fault.count > 0:
                fault.count -= 1
                return self._error(fault.status, fault.reason, f"scripted fault: {fault.reason}")
        key = self.headers.get("X-Goog-Api-Key") or params.get("key")
        if self.require_key is not None and key != self.require_key:
            return self._error(400, "keyInvalid", "API key not valid. Please pass a valid API key.")
        try:
            size = int(params.get("maxResults", "5"))
            offset = int(params.get("pageToken", "p0")[1:]) if params.get("pageToken") else 0
        except ValueError:
            return self._error(400, "invalidParameter", "maxResults and pageToken must be valid")
        if not 0 <= size <= LIMITS[endpoint] or offset < 0:
            return self._error(400, "invalidParameter", f"maxResults must be between 0 and {LIMITS[endpoint]}")
        if endpoint == "search":
            items = [{"kind": "youtube#searchResult", "id": {"kind": "youtube#video", "videoId": v["videoId"]},
                      "snippet": {k: v[k] for k in ("publishedAt", "title", "description", "channelTitle")}}
                     for v in self.data.search.get(params.get("q", "").lower(), [])]
            kind = "youtube#searchListResponse"
        else:
            video = params.get("videoId", "")
            if video in self.disabled_videos:
                return self._error(403, "commentsDisabled", "The video has disabled comments.")
            items = self.data.comments(video)
            if items is None:
                return self._error(404, "videoNotFound", "The video identified by the videoId parameter could not be found.")
            kind = "youtube#commentThreadListResponse"
        page = items[offset:offset + size]
        body: dict[str, Any] = {"kind": kind, "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
                                "items": page}
        if offset + size < len(items) and size > 0:
            body["nextPageToken"] = f"p{offset + size}"
        self._send(200, body)


def serve_sample(folder: Path = BUNDLED_SAMPLE, port: int = 0, require_key: Optional[str] = None,
                 faults: Optional[list[Fault]] = None, disabled_videos: frozenset[str] = frozenset(),
                 port_variable: Optional[str] = None) -> SiteServer:
    """A server (not yet started: use `with`) answering like the API at `server.url + API_PREFIX`."""
    handler = type("BoundSampleAPIHandler", (SampleAPIHandler,), {
        "data": SampleData(folder), "require_key": require_key, "faults": list(faults or []),
        "disabled_videos": frozenset(disabled_videos), "seen_requests": []})
    server = SiteServer(functools.partial(handler), port=port, port_variable=port_variable)
    server.api = handler  # type: ignore[attr-defined]  (tests read seen_requests, change faults)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the bundled YouTube sample API until Ctrl-C.")
    parser.add_argument("--folder", default=str(BUNDLED_SAMPLE))
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT)
    args = parser.parse_args()
    serve_until_interrupted(serve_sample(Path(args.folder), args.port), "YouTube sample API on {url}" + API_PREFIX
                            + " (Ctrl-C stops)")


if __name__ == "__main__":
    main()

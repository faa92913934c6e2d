"""A loopback HTTP server on a background thread: bundled sample sites and APIs served for real.

    with SiteServer(handler) as server:      # 127.0.0.1, a free port unless one is given
        requests.get(server.url + "/...")

`QuietFileHandler` serves a folder's files (UTF-8 charsets, no listings, no access log); a system
brings its own handler for an API (paging, errors), and tests bring misbehaving ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Optional, Union

from stackpipes.platform.processes import require_free_port

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"


class QuietFileHandler(SimpleHTTPRequestHandler):
    """Static files with explicit UTF-8 charsets, no directory listings, no access log on stderr."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".json": "application/json; charset=utf-8",
    }

    def list_directory(self, path: Union[str, Path]) -> None:
        # a real site answers 404 for a folder, not a listing the scraper might parse
        self.send_error(404, "Not Found")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up early (a scraper timing out) is normal here, not a traceback."""

    daemon_threads = True  # a hung client must not keep the process alive

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("request from %s failed", client_address, exc_info=True)


class SiteServer:
    """A ThreadingHTTPServer on a background thread; a context manager giving the base URL."""

    def __init__(
        self,
        handler: Callable[..., BaseHTTPRequestHandler],
        host: str = DEFAULT_HOST,
        port: int = 0,
        port_variable: Optional[str] = None,
    ):
        self._handler, self._host, self._port = handler, host, port
        self._port_variable = port_variable  # names what moves a fixed port, for the error
        self._server: Optional[_QuietServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(
                "the server is not running; use it as a context manager or call start()"
            )
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def base_urls(self, names: Iterable[str]) -> dict[str, str]:
        """Each site's base URL when the served folder holds one subfolder per site."""
        return {name: f"{self.url}/{name}" for name in names}

    def start(self) -> SiteServer:
        if self._port and self._port_variable:
            require_free_port(self._port, self._port_variable, "bundled sample sites' server", self._host)
        self._server = _QuietServer((self._host, self._port), self._handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"site-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("serving on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()


def serve_until_interrupted(server: SiteServer, banner: str) -> None:
    """Run `server` in the foreground (a command's `main`) until Ctrl-C; `banner` is printed once it
    listens and may name `{url}`."""
    with server:
        print(banner.format(url=server.url))
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass

"""Serve a folder (the bundled horoscope sites) over real HTTP on 127.0.0.1 from a thread.

    with serve_folder() as server:          # data/horoscope_sites on a free port
        base_urls = server.base_urls(["starlight", "zvezdy", "astroapi"])

`python -m stackpipes.horoscope.sites` serves the bundled sites on port 8299, the port the source
files under configs/horoscope/sources name by default.
"""

from __future__ import annotations

import argparse
import functools
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Optional, Union

from stackpipes.platform.env import PROJECT_ROOT
from stackpipes.platform.loopback import (
    DEFAULT_HOST,
    QuietFileHandler,
    SiteServer,
    serve_until_interrupted,
)

BUNDLED_SITES = PROJECT_ROOT / "data" / "horoscope_sites"
DEFAULT_CLI_PORT = 8299


def serve_folder(
    folder: Union[str, Path] = BUNDLED_SITES,
    host: str = DEFAULT_HOST,
    port: int = 0,
    handler: type[SimpleHTTPRequestHandler] = QuietFileHandler,
    port_variable: Optional[str] = None,
) -> SiteServer:
    """A server (not yet started: use `with`) for the files under `folder`; port 0 picks a free one.

    `handler` lets tests serve the same files with a misbehaving handler (failures, delays).
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"folder: expected an existing folder to serve, got {str(root)!r}")
    return SiteServer(functools.partial(handler, directory=str(root)), host, port, port_variable)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the bundled horoscope sites until Ctrl-C.")
    parser.add_argument("--folder", default=str(BUNDLED_SITES))
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT)
    args = parser.parse_args()
    serve_until_interrupted(serve_folder(args.folder, args.host, args.port),
                            f"serving {args.folder} on {{url}} (Ctrl-C stops)")


if __name__ == "__main__":
    main()

"""Print pyproject.toml's runtime dependencies as a requirements file (for the project image)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def main(pyproject: str) -> None:
    project = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))["project"]
    for requirement in project["dependencies"]:
        print(requirement)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")

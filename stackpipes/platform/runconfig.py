"""Run configurations (`configs/PIPELINE.yaml`, `--config FILE`): read and checked before ZenML sees them.

ZenML stores a run's configuration with the run, in plain text, so none may hold a credential: a
value under a key that looks sensitive anywhere in the file (parameters, settings, per-step
parameters) is refused with the key named. Credentials come from ZenML secrets or the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stackpipes.platform.stackfile import StackFileError, inline_credentials


def load_run_config(path: Path | str) -> dict[str, Any]:
    """The run configuration at `path`, checked; errors name the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(path, "<file>", f"valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise StackFileError(path, "<top level>", "a mapping (parameters, steps, settings, ...)")
    found = inline_credentials(data, "")
    if found:
        raise StackFileError(
            path, found[0],
            "no credential in a run configuration (ZenML stores it with every run): keep it in a "
            "ZenML secret or an environment variable the step reads",
        )
    return data

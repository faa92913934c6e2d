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


def with_parameters(path: Path | str, parameters: dict[str, Any], folder: Path) -> Path:
    """A copy of the run configuration at `path` with `parameters` set, written under `folder`
    (named by its content: the same inputs give the same file); `path` itself is left as it is."""
    import hashlib

    import yaml

    config = load_run_config(path)
    config.setdefault("parameters", {}).update(parameters)
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{Path(path).stem}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    if not target.exists():
        target.write_text(text, encoding="utf-8")
    return target

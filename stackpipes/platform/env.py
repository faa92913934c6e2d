"""Process environment for stackpipes: where state lives and how ZenML is started.

Everything here runs before ZenML is imported, because ZenML reads its configuration path and
analytics settings at import time. Nothing in this module imports a heavy library.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Integrations whose activation we allow. ZenML activates every installed integration on each
# pipeline call and in each step entrypoint; with torch and sklearn installed that alone costs
# ~5 s of imports and registers materializers we never use. Our materializers are imported
# explicitly, and flavors are resolved from the store, so activation is not needed for them.
DEFAULT_INTEGRATIONS = ("mlflow", "s3", "kubernetes", "airflow")


def state_dir() -> Path:
    """Root of the project's runtime state (ZenML config and store, MLflow, outputs)."""
    return Path(os.environ.get("STACKPIPES_HOME", PROJECT_ROOT / ".stackpipes")).resolve()


# Databases the project's state folder holds: ZenML's store (secrets included, base64-encoded)
# and MLflow's. Paths below the state folder.
STATE_DATABASES = ("zenml/local_stores/*/*.db", "*/*.db")


def secure_state() -> Path:
    """The state folder, created private (700) or made private if it is not, and the databases in
    it readable by their owner only (600). Called before ZenML opens its store and after."""
    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    if root.stat().st_mode & 0o077 and root.stat().st_uid == os.getuid():
        root.chmod(0o700)
    for pattern in STATE_DATABASES:
        for database in root.glob(pattern):
            if database.stat().st_mode & 0o077 and database.stat().st_uid == os.getuid():
                database.chmod(0o600)
    return root


def reports_dir() -> Path:
    """Where human-facing copies of reports (drift HTML, forecasts) are written."""
    path = Path(os.environ.get("STACKPIPES_REPORTS", PROJECT_ROOT / "reports")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_reports_dir(pipeline: str, run: str) -> Path:
    """reports/<pipeline>/<run name>/: one run's files, never overwritten by another run."""
    safe = [re.sub(r"[^A-Za-z0-9_.-]", "_", part) for part in (pipeline, run)]
    path = reports_dir() / safe[0] / safe[1]
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_environment() -> None:
    """Set the environment ZenML, MLflow and GX read, unless the user already set it.

    A user with their own ZenML server keeps it: an explicit ZENML_CONFIG_PATH or ZENML_STORE_URL
    wins over the project-local default.
    """
    secure_state()
    if "ZENML_CONFIG_PATH" not in os.environ and "ZENML_STORE_URL" not in os.environ:
        os.environ["ZENML_CONFIG_PATH"] = str(state_dir() / "zenml")
    defaults = {
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_AUTO_OPEN_DASHBOARD": "false",
        "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
        "ZENML_ENABLE_RICH_TRACEBACK": "false",
        "ZENML_LOGGING_COLORS_DISABLED": "true",
        "GX_ANALYTICS_ENABLED": "false",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # Progress bars (GGUF conversion, weight loading, shard writing) flood step logs.
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TQDM_DISABLE": "1",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("STACKPIPES_PROJECT_ROOT", str(PROJECT_ROOT))


def boot_zenml() -> None:
    """Prepare ZenML for this project: environment, source root, limited integration activation.

    Idempotent and cheap after the first call. Called by run.py, by step entrypoints and by tests.
    """
    configure_environment()
    from stackpipes.platform.chatter import quiet_library_chatter

    quiet_library_chatter()
    from zenml.integrations.registry import IntegrationRegistry
    from zenml.utils import source_utils

    # Steps and materializers are resolved relative to the project root, whatever the cwd.
    source_utils.set_custom_source_root(str(PROJECT_ROOT))

    if getattr(IntegrationRegistry, "_stackpipes_limited", False):
        return
    _cache_package_lookup()
    allowed = set(
        filter(None, os.environ.get("STACKPIPES_INTEGRATIONS", ",".join(DEFAULT_INTEGRATIONS)).split(","))
    )
    original = IntegrationRegistry.activate_integrations

    def activate_allowed(self: IntegrationRegistry) -> None:
        self._initialize()
        for name, integration in self._integrations.items():
            if name in allowed and integration.check_installation():
                try:
                    integration.activate()
                except Exception:  # same best-effort contract as ZenML's own loop
                    continue
        if "mlflow" in allowed:  # importing the tracker imports MLflow (~2 s)
            lean_mlflow_cleanup()

    activate_allowed.__doc__ = original.__doc__
    IntegrationRegistry.activate_integrations = activate_allowed  # type: ignore[method-assign]
    IntegrationRegistry._stackpipes_limited = True  # type: ignore[attr-defined]


def _cache_package_lookup() -> None:
    """Cache `importlib.metadata.packages_distributions` and ZenML's list of installed packages.

    ZenML calls it to resolve the source of every type from an installed package (a DataFrame
    output, say); each call scans all installed distributions (~2.7 s here). The installed set
    does not change while a process runs.
    """
    import functools
    import importlib.metadata

    if not hasattr(importlib.metadata.packages_distributions, "cache_info"):
        importlib.metadata.packages_distributions = functools.lru_cache(maxsize=1)(
            importlib.metadata.packages_distributions
        )
    # The `pip freeze` ZenML records with a run (a subprocess, ~0.3 s) is asked for twice per run.
    from zenml.environment import Environment

    if not getattr(Environment.get_python_packages, "_stackpipes_cached", False):
        original = Environment.get_python_packages
        freeze = functools.lru_cache(maxsize=1)(lambda: tuple(original()))

        def installed_packages() -> list[str]:
            return list(freeze())

        installed_packages._stackpipes_cached = True  # type: ignore[attr-defined]
        Environment.get_python_packages = staticmethod(installed_packages)  # type: ignore[method-assign]


def lean_mlflow_cleanup() -> None:
    """Disable MLflow autologging only for frameworks whose autolog module was ever imported.

    After every tracked step ZenML's MLflow tracker calls `mlflow.<framework>.autolog(disable=True)`
    for eight frameworks, importing torch, scikit-learn, pyspark, TensorFlow... (~4 s, and in
    every step process on Airflow). Autologging for a framework can only be on if its MLflow
    module was imported, so the others are skipped.
    """
    import sys

    try:
        from zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker import (
            MLFlowExperimentTracker,
        )
    except ImportError:
        return
    if getattr(MLFlowExperimentTracker, "_stackpipes_lean", False):
        return
    frameworks = ("tensorflow", "xgboost", "lightgbm", "statsmodels", "spark", "sklearn", "fastai", "pytorch")

    def disable_loaded_autologging(self: MLFlowExperimentTracker) -> None:
        for framework in frameworks:
            module = sys.modules.get(f"mlflow.{framework}")
            if module is not None and hasattr(module, "autolog"):
                try:
                    module.autolog(disable=True)
                except Exception:  # matches ZenML: a framework that cannot be reset is skipped
                    continue

    MLFlowExperimentTracker.disable_autologging = disable_loaded_autologging  # type: ignore[method-assign]
    MLFlowExperimentTracker._stackpipes_lean = True  # type: ignore[attr-defined]


def quiet_console_tracebacks(expected: tuple[type[BaseException], ...]) -> None:
    """On the console, a step that fails with one of the `expected` errors (a user can fix: bad
    input, a failed data check) shows its one-line message, not ZenML's traceback. The traceback
    still goes to the step's log in the store (ZenML's log handler gets the record unchanged); an
    unexpected error keeps its traceback on the console too. For the CLI process only."""
    import copy

    from zenml.logger import ZenMLConsoleHandler

    if getattr(ZenMLConsoleHandler, "_stackpipes_quiet", None) == expected:
        return
    original = getattr(ZenMLConsoleHandler, "_stackpipes_format", ZenMLConsoleHandler.format)

    def format_without_expected_traceback(self: ZenMLConsoleHandler, record: Any) -> str:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, expected):
            record = copy.copy(record)  # the step log's handler still sees the traceback
            record.exc_info, record.exc_text = None, None
        return original(self, record)

    ZenMLConsoleHandler._stackpipes_format = original  # type: ignore[attr-defined]
    ZenMLConsoleHandler.format = format_without_expected_traceback  # type: ignore[method-assign]
    ZenMLConsoleHandler._stackpipes_quiet = expected  # type: ignore[attr-defined]

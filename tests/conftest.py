"""Test isolation: a private ZenML store, MLflow store and reports folder for the whole session.

The environment is set at import time, before anything imports ZenML, because ZenML reads its
configuration path when it is first imported. Pipeline tests each get a fresh ZenML project, so
stored history, forecasts and model versions never leak from one test into another.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

_STATE = Path(tempfile.mkdtemp(prefix="stackpipes-tests-"))
for key in [k for k in os.environ if k.startswith("ZENML_STORE_") or k.startswith("TELEGRAM_")]:
    del os.environ[key]
os.environ["STACKPIPES_HOME"] = str(_STATE)
os.environ["STACKPIPES_REPORTS"] = str(_STATE / "reports")
os.environ["ZENML_CONFIG_PATH"] = str(_STATE / "zenml")
os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
os.environ["ZENML_AUTO_OPEN_DASHBOARD"] = "false"

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = ["tests.speech_fixtures"]  # lectures and real speech for tests/speech and tests/lecture_summary


def pytest_sessionfinish(session, exitstatus):
    """Remove the session's private state (ZenML store, artifacts, MLflow, models) afterwards;
    STACKPIPES_KEEP_TEST_STATE=1 keeps it for a post-mortem."""
    if os.environ.get("STACKPIPES_KEEP_TEST_STATE") == "1":
        print(f"\ntest state kept in {_STATE}")
    else:
        shutil.rmtree(_STATE, ignore_errors=True)


@pytest.fixture(scope="session")
def state_dir() -> Path:
    return _STATE


@pytest.fixture(scope="session")
def zenml_local_stack():
    """The `local` stack from stacks/local.yaml, registered once in the private store; ZenML booted
    as run.py boots it (MLflow components built on first use, MLflow runs opened on first log)."""
    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components

    boot_with_lazy_components()
    from stackpipes.platform.registration import stack_up
    from stackpipes.platform.stackfile import load_stack_file

    stack_up(load_stack_file(ROOT / "stacks" / "local.yaml"))
    return "local"


@pytest.fixture()
def fresh_project(zenml_local_stack):
    """A new, empty ZenML project for one test: no history, forecasts or models yet."""
    from zenml.client import Client

    client = Client()
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.create_project(name=name, description="test project")
    client.set_active_project(name)
    yield name
    client.set_active_project("default")


@pytest.fixture(scope="module")
def project_servers(tmp_path_factory):
    """The project's MLflow tracking server and S3 server for one test module, on free ports."""
    from tests.support import private_servers

    with private_servers(tmp_path_factory.mktemp("servers-state")) as uri:
        yield uri


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A tiny causal LM saved as a Hugging Face folder (tests/support.py)."""
    from tests.support import save_tiny_causal_lm

    return save_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama"))

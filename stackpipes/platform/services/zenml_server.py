"""The local ZenML server (the dashboard) on 127.0.0.1, and the client's login to it.

Nothing here imports ZenML: the ZenML client must read its configuration after the server login.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Optional

import yaml

from stackpipes.platform.env import PROJECT_ROOT, configure_environment
from stackpipes.platform.processes import require_free_port


def zenml_port() -> int:
    return int(os.environ.get("STACKPIPES_ZENML_PORT", "8237"))


def zenml_url() -> str:
    return f"http://127.0.0.1:{zenml_port()}"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def dashboard_run_url(project: str, run_id: Any) -> Optional[str]:
    """The dashboard page of a run when the project's ZenML server is up, else None."""
    url = zenml_url()
    return f"{url}/projects/{project}/runs/{run_id}" if _answers(url) else None


def zenml_client_uses_server() -> bool:
    """Whether this project's ZenML client is logged in to the running local server."""
    configure_environment()
    config = Path(os.environ["ZENML_CONFIG_PATH"]) / "config.yaml"
    if not config.exists():
        return False
    store = (yaml.safe_load(config.read_text()) or {}).get("store") or {}
    return store.get("type") == "rest" and str(store.get("url", "")).rstrip("/") == zenml_url() and _answers(zenml_url())


def _zenml_cli() -> str:
    return str(Path(sys.executable).parent / "zenml")


def up() -> str:
    """Start the local ZenML server (dashboard) on 127.0.0.1 and log the client in to it."""
    if zenml_client_uses_server():
        return zenml_url()
    configure_environment()
    require_free_port(zenml_port(), "STACKPIPES_ZENML_PORT", "ZenML server")
    # In the local store itself, which the server then serves; in a child process, so that this
    # one never loads (and later writes back) ZenML's configuration from before the login.
    answered = subprocess.run([sys.executable, "-c", "from stackpipes.platform.services.zenml_server import "
                               "skip_onboarding; skip_onboarding()"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if answered.returncode != 0:
        raise RuntimeError(f"could not prepare the local ZenML user: {answered.stderr[-1500:]}")
    command = [_zenml_cli(), "login", "--local", "--ip-address", "127.0.0.1", "--port", str(zenml_port())]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"could not start the local ZenML server: {(result.stderr or result.stdout)[-1500:]}")
    return zenml_url()


def skip_onboarding() -> None:
    """Answer the dashboard's first-visit survey for the local server's user (it has no login and
    no one to e-mail): no newsletter, survey done, so the first page is the dashboard itself.
    Written through the local store before the server starts: the server's user endpoint does
    not let a client change the e-mail opt-in of the default user."""
    from zenml.client import Client

    client = Client()
    user = client.active_user
    metadata = dict(user.user_metadata or {})
    if user.email_opted_in is False and metadata.get("finished_onboarding_survey"):
        return
    metadata["finished_onboarding_survey"] = True
    client.update_user(user.id, updated_email_opt_in=False, updated_metadata=metadata)


def runs_url(project: str = "default") -> str:
    """The dashboard's list of runs (a new user's first page), not its welcome page."""
    return f"{zenml_url()}/projects/{project}/runs"


def down() -> int:
    configure_environment()
    return subprocess.call([_zenml_cli(), "logout", "--local"], stdout=subprocess.DEVNULL)

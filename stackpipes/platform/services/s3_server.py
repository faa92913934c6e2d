"""The project's S3-compatible server on 127.0.0.1 (moto): start, stop, status, credentials, buckets.

The `local-s3` stack points ZenML's artifact store and the raw horoscope bucket at this server.
moto accepts any key pair, but the project ships none: the first `up()` of a state folder makes a
random pair in `<state_dir>/s3/credentials.json` (mode 600), unless STACKPIPES_S3_ACCESS_KEY_ID and
STACKPIPES_S3_SECRET_ACCESS_KEY are set. `up()` exports them, and STACKPIPES_S3_ENDPOINT, so stack
files can reference them in their `secrets:`.

moto keeps objects in memory: everything stored is gone once the server stops. It stands in for a
real object store on one machine; it is not durable storage.

Settings (environment): STACKPIPES_S3_PORT (default 9020), STACKPIPES_S3_BUCKETS (comma-separated,
default stackpipes-artifacts,stackpipes-raw), STACKPIPES_S3_START_TIMEOUT (seconds, default 60).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from stackpipes.platform.env import state_dir
from stackpipes.platform.processes import pid_alive, port_from_env, require_free_port

DEFAULT_PORT = 9020
DEFAULT_BUCKETS = ("stackpipes-artifacts", "stackpipes-raw")
ACCESS_KEY_ENV = "STACKPIPES_S3_ACCESS_KEY_ID"
SECRET_KEY_ENV = "STACKPIPES_S3_SECRET_ACCESS_KEY"
ENDPOINT_ENV = "STACKPIPES_S3_ENDPOINT"
# moto answers every region; S3 in us-east-1 takes CreateBucket without a location constraint.
REGION = "us-east-1"


# Servers this process started, kept so they are reaped on `down()` rather than reported as leaked.
_started: dict[int, subprocess.Popen] = {}


class S3ServiceError(RuntimeError):
    """The S3 server could not be started or reached."""


def home() -> Path:
    return state_dir() / "s3"


def port() -> int:
    return port_from_env("STACKPIPES_S3_PORT", DEFAULT_PORT)


def endpoint() -> str:
    return f"http://127.0.0.1:{port()}"


def buckets() -> list[str]:
    """The buckets the project needs; STACKPIPES_S3_BUCKETS overrides the default pair."""
    configured = os.environ.get("STACKPIPES_S3_BUCKETS")
    if not configured:
        return list(DEFAULT_BUCKETS)
    return [name.strip() for name in configured.split(",") if name.strip()]


def log_path() -> Path:
    return home() / "server.log"


def _pid_file() -> Path:
    return home() / "server.pid"


def _credentials_file() -> Path:
    return home() / "credentials.json"


def _new_credentials() -> dict[str, str]:
    # Shaped like AWS keys (20 upper-case characters, 40-character secret) so every client accepts them.
    alphabet = string.ascii_uppercase + string.digits
    key_id = "SP" + "".join(secrets.choice(alphabet) for _ in range(18))
    return {"aws_access_key_id": key_id, "aws_secret_access_key": secrets.token_urlsafe(30)[:40]}


def credentials() -> dict[str, str]:
    """The key pair clients use: from the environment when both are set, else the state file.

    The state file is created on first use, readable only by its owner.
    """
    key_id, secret_key = os.environ.get(ACCESS_KEY_ENV), os.environ.get(SECRET_KEY_ENV)
    if key_id and secret_key:
        return {"aws_access_key_id": key_id, "aws_secret_access_key": secret_key}
    path = _credentials_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once never overwrite each other's pair.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_credentials(path)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(_new_credentials(), handle)
    return _read_credentials(path)


def _read_credentials(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text())
        return {"aws_access_key_id": stored["aws_access_key_id"],
                "aws_secret_access_key": stored["aws_secret_access_key"]}
    except (ValueError, KeyError, TypeError):
        raise S3ServiceError(
            f"{path} must hold JSON with aws_access_key_id and aws_secret_access_key; "
            "delete it to generate a new pair"
        ) from None


def export_environment() -> None:
    """Put the credentials and endpoint into os.environ for stack-file secrets and clients."""
    pair = credentials()
    os.environ[ACCESS_KEY_ENV] = pair["aws_access_key_id"]
    os.environ[SECRET_KEY_ENV] = pair["aws_secret_access_key"]
    os.environ[ENDPOINT_ENV] = endpoint()


def running() -> bool:
    """Whether an S3 server answers on the configured port."""
    try:
        with urllib.request.urlopen(f"{endpoint()}/", timeout=2) as response:
            return b"ListAllMyBucketsResult" in response.read()
    except urllib.error.HTTPError as error:
        # A real S3 refuses the unsigned request, but still speaks S3.
        return error.code == 403 and b"<Error>" in error.read()
    except OSError:
        return False


def _server_binary() -> Path:
    return Path(sys.executable).parent / "moto_server"


def _start_process() -> subprocess.Popen:
    binary = _server_binary()
    if not binary.exists():
        raise S3ServiceError(f"{binary} not found: install `moto[server]` into the project's environment")
    require_free_port(port(), "STACKPIPES_S3_PORT", "S3 server")
    home().mkdir(parents=True, exist_ok=True)
    with open(log_path(), "ab") as log:
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port())],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=str(home()),
        )
    _pid_file().write_text(str(process.pid))
    _started[process.pid] = process
    return process


def _wait_until_answering(process: subprocess.Popen) -> None:
    timeout = float(os.environ.get("STACKPIPES_S3_START_TIMEOUT", "60"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running():
            return
        if process.poll() is not None:
            _pid_file().unlink(missing_ok=True)
            raise S3ServiceError(
                f"the S3 server exited at start (exit {process.returncode}); see {log_path()} "
                f"(is port {port()} taken? set STACKPIPES_S3_PORT)"
            )
        time.sleep(0.2)
    down()
    raise S3ServiceError(f"the S3 server did not answer on {endpoint()} within {timeout:.0f} s; see {log_path()}")


def client():
    """A boto3 S3 client for the project's server, with the project's credentials."""
    import boto3

    pair = credentials()
    return boto3.client("s3", endpoint_url=endpoint(), region_name=REGION, **pair)


def ensure_buckets(names: Optional[list[str]] = None) -> list[str]:
    """Create the buckets that do not exist yet; return the names created."""
    s3 = client()
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    created = []
    for name in names if names is not None else buckets():
        if name not in existing:
            s3.create_bucket(Bucket=name)
            created.append(name)
    return created


def up() -> str:
    """Start the server unless one answers; export credentials; create the buckets. Returns the endpoint."""
    export_environment()
    if not running():
        _wait_until_answering(_start_process())
    ensure_buckets()
    return endpoint()


def _is_our_server(pid: int) -> bool:
    """Whether `pid` still runs moto_server (the pid file may outlive it and the pid be reused)."""
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"moto_server" in command_line


def _alive(pid: int) -> bool:
    return pid_alive(pid, _started.get(pid))


def _recorded_pid() -> Optional[int]:
    try:
        return int(_pid_file().read_text().strip())
    except (OSError, ValueError):
        return None


def down(timeout: float = 10) -> bool:
    """Stop the server this state folder started (its whole process group). True if one was stopped."""
    pid = _recorded_pid()
    _pid_file().unlink(missing_ok=True)
    if pid is None or not _is_our_server(pid):
        return False
    try:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return True
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not _alive(pid):
                    return True
                time.sleep(0.1)
        return not _alive(pid)
    finally:
        if pid in _started and _started[pid].poll() is not None:
            del _started[pid]


def status() -> dict[str, object]:
    """Endpoint, whether it answers, the pid this state folder started, buckets and log (no secrets)."""
    pid = _recorded_pid()
    return {
        "endpoint": endpoint(),
        "running": running(),
        "pid": pid if pid is not None and _is_our_server(pid) else None,
        "buckets": buckets(),
        "log": str(log_path()),
        "credentials": str(_credentials_file()) if _credentials_file().exists() else "from environment",
    }

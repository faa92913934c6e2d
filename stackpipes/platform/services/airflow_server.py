"""The project's own Airflow: installed in `.venv-airflow`, run on 127.0.0.1, stopped completely.

`up` installs Airflow (requirements/airflow.txt) in its own virtual environment, creates its
metadata database in the local PostgreSQL, migrates it and starts the API server, the scheduler
(LocalExecutor: tasks run in parallel) and the DAG processor, each in its own process group, and
the warm step worker (the step_worker package: tasks fork their step from it instead of importing ZenML
each). `down` stops every process that runs with this Airflow home, children included.

Settings (environment): STACKPIPES_AIRFLOW_PORT (API server, default 8280), STACKPIPES_AIRFLOW_DB
(SQLAlchemy URL, default postgresql+psycopg2://postgres@127.0.0.1:5432/stackpipes_airflow),
STACKPIPES_AIRFLOW_PARALLELISM (default 4), STACKPIPES_STEP_SERVER=0 (no warm step worker: each
task imports ZenML itself). State lives in $STACKPIPES_HOME/airflow.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from stackpipes.platform.env import PROJECT_ROOT, configure_environment
from stackpipes.platform.flavors.airflow.locations import api_url, dags_dir, home, port, venv_dir
from stackpipes.platform.flavors.step_worker import client as step_worker
from stackpipes.platform.flavors.step_worker.protocol import ENV_SOCKET
from stackpipes.platform.processes import pid_alive, processes_with_env, require_free_port

PROCESSES = ("api-server", "scheduler", "dag-processor")
STEP_SERVER = "step-server"
REQUIREMENTS = PROJECT_ROOT / "requirements" / "airflow.txt"
DEFAULT_DB = "postgresql+psycopg2://postgres@127.0.0.1:5432/stackpipes_airflow"


def database_url() -> str:
    return os.environ.get("STACKPIPES_AIRFLOW_DB", DEFAULT_DB)


def step_worker_enabled() -> bool:
    return os.environ.get(ENV_SOCKET, "1") != "0"


def step_socket() -> Path:
    """The warm step worker's socket: in a folder of the Airflow home only its owner can enter."""
    return home() / "step-server" / "step.sock"


def _bin(name: str) -> str:
    return str(venv_dir() / "bin" / name)


def _run(command: list[str], what: str, **kwargs: object) -> None:
    """Run a setup command; a failure becomes one readable error with the command's last output."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(tail))


def install() -> None:
    """Create .venv-airflow and install the pinned Airflow, unless it is already up to date."""
    stamp = venv_dir() / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= REQUIREMENTS.stat().st_mtime:
        return
    print(f"installing Airflow into {venv_dir()} (once) ...", flush=True)
    _run([sys.executable, "-m", "venv", "--clear", str(venv_dir())], "creating .venv-airflow")
    _run([_bin("python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], "upgrading pip in .venv-airflow")
    _run([_bin("python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
         f"installing Airflow from {REQUIREMENTS.relative_to(PROJECT_ROOT)}")
    stamp.touch()


def _jwt_secret() -> str:
    # Signs the tokens the API server hands to tasks; every Airflow process must share it. Made
    # once per state folder, readable only by its owner, never in the repository.
    path = home() / "jwt_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def environment() -> dict[str, str]:
    """The environment of every Airflow process (and so of every task)."""
    configure_environment()
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("AIRFLOW__") or k == "AIRFLOW_HOME"]:
        del env[key]
    env.update({
        "AIRFLOW_HOME": str(home()),
        "PATH": f"{venv_dir() / 'bin'}{os.pathsep}{env.get('PATH', '')}",  # the scheduler runs `airflow`
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url(),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("STACKPIPES_AIRFLOW_PARALLELISM", "4"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url()}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # loopback only
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port()),
        "AIRFLOW__API__BASE_URL": api_url(),
        "AIRFLOW__API_AUTH__JWT_SECRET": _jwt_secret(),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "3",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        # Heartbeats run late on two loaded cores; the default 30 s called a busy scheduler dead.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "120",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "NO_PROXY": "127.0.0.1,localhost",
        # Tasks (step_task.py) hand their step to the warm step worker at this socket.
        ENV_SOCKET: str(step_socket()) if step_worker_enabled() else "0",
    })
    return env


# Runs with the Airflow venv's psycopg2 (the project's own environment has no PostgreSQL driver).
_DATABASE_ADMIN = """\
import sys, psycopg2
from sqlalchemy.engine import make_url
url, action = make_url(sys.argv[1]), sys.argv[2]
connection = psycopg2.connect(host=url.host or "127.0.0.1", port=url.port or 5432,
                              user=url.username or "postgres", password=url.password, dbname="postgres")
connection.autocommit = True
cursor = connection.cursor()
cursor.execute("select 1 from pg_database where datname = %s", (url.database,))
exists = cursor.fetchone() is not None
if action == "create" and not exists:
    cursor.execute('create database "%s"' % url.database)
elif action == "drop" and exists:
    cursor.execute('drop database "%s" with (force)' % url.database)
"""


def _database_admin(url: str, action: str) -> None:
    if url.startswith("postgresql"):
        where = url.split("@")[-1]  # never print a password
        _run([_bin("python"), "-c", _DATABASE_ADMIN, url, action],
             f"{action} of Airflow's database at {where} (is PostgreSQL running?)")


def ensure_database() -> None:
    """Create the metadata database in PostgreSQL if it does not exist."""
    _database_admin(database_url(), "create")


def drop_database(url: str) -> None:
    """Drop a metadata database (tests and benchmarks make their own)."""
    _database_admin(url, "drop")


def _pid_file() -> Path:
    return home() / "pids.json"


def processes_with_home(airflow_home: Path) -> list[int]:
    """Every process on this machine that runs with `airflow_home` (children included).

    Airflow renames its processes, so they are found by the AIRFLOW_HOME in their environment.
    """
    return processes_with_env(f"AIRFLOW_HOME={airflow_home}")


def running() -> bool:
    from stackpipes.platform.flavors.airflow.api_client import AirflowAPI

    return AirflowAPI(api_url(), timeout=5).healthy()


def _start(name: str, command: list[str], env: dict[str, str], cwd: Path) -> int:
    logs = home() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(cwd))
    return process.pid


def _pids() -> dict[str, int]:
    return json.loads(_pid_file().read_text()) if _pid_file().exists() else {}


def step_worker_running() -> bool:
    return step_worker.ping(str(step_socket())) is not None


def ensure_step_worker(env: Optional[dict[str, str]] = None) -> tuple[Optional[int], bool]:
    """Start the warm step worker unless it runs or is switched off. Returns (its pid, started now).

    It runs the project's Python in the project folder with the environment of the Airflow
    processes, so the tasks that connect to it have the environment it imported ZenML with.
    """
    if not step_worker_enabled():
        return None, False
    answer = step_worker.ping(str(step_socket()))
    if answer is not None:
        return int(answer["pid"]), False
    if len(os.fsencode(str(step_socket()))) > 107:
        print(f"warning: no warm step worker: its socket path is too long ({step_socket()}); "
              "each Airflow task imports ZenML itself", file=sys.stderr)
        return None, False
    pid = _start(STEP_SERVER, [sys.executable, "-m", "stackpipes.platform.flavors.step_worker.server",
                               "--socket", str(step_socket())], env or environment(), PROJECT_ROOT)
    return pid, True


def _wait_for_step_worker(pid: Optional[int], started: bool, timeout: float = 120) -> None:
    """Wait until the step worker answers (it imports ZenML first); tasks fall back meanwhile."""
    if pid is None or not started:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if step_worker_running():
            return
        if not pid_alive(pid):
            break
        time.sleep(0.5)
    print(f"warning: the warm step worker did not start (see {home() / 'logs' / (STEP_SERVER + '.log')}); "
          "Airflow tasks import ZenML themselves", file=sys.stderr)


def _wait_while_own_processes_start(timeout: float) -> bool:
    """True once this home's Airflow, whose processes are alive but which did not answer healthy
    (busy, or its scheduler's heartbeat late on a loaded machine), answers healthy; False when none
    of its processes runs (then it is started). A busy Airflow of our own is waited for, not
    mistaken for a stranger on the port."""
    alive = [name for name, pid in _pids().items() if name in PROCESSES and pid_alive(pid)]
    if not alive:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running():
            return True
        time.sleep(2)
    raise RuntimeError(f"the project's Airflow ({', '.join(alive)}) runs but did not answer healthy within "
                       f"{timeout:.0f} s; see {home() / 'logs'}, or restart it: python run.py airflow down")


def up(timeout: float = 240) -> str:
    """Start Airflow (installing it first if needed); a no-op when it already runs. Returns the UI URL."""
    if running() or _wait_while_own_processes_start(timeout):
        server, started = ensure_step_worker()
        if started:
            _pid_file().write_text(json.dumps({**_pids(), STEP_SERVER: server}))
        _wait_for_step_worker(server, started)
        return api_url()
    require_free_port(port(), "STACKPIPES_AIRFLOW_PORT", "Airflow API server")
    install()
    ensure_database()
    env = environment()
    logs = home() / "logs"
    _run([_bin("airflow"), "db", "migrate"], "airflow db migrate", env=env)
    server, started = ensure_step_worker(env)
    pids = {name: _start(name, [_bin("airflow"), name], env, home()) for name in PROCESSES}
    _pid_file().write_text(json.dumps({**pids, **({STEP_SERVER: server} if server else {})}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running():
            _wait_for_step_worker(server, started)
            return api_url()
        dead = [name for name, pid in pids.items() if not pid_alive(pid)]
        if dead:
            down()
            raise RuntimeError(f"Airflow {', '.join(dead)} exited at start; see {logs}/{dead[0]}.log")
        time.sleep(2)
    down()
    raise RuntimeError(f"Airflow did not become healthy within {timeout:.0f} s; see the logs in {logs}")


def down(timeout: float = 30) -> int:
    """Stop every Airflow process of this home. Returns how many processes were signalled."""
    pids = _pids()
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    targets = set(pids.values()) | set(processes_with_home(home()))
    for pid in targets:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in targets):
        time.sleep(0.5)
    for pid in set(processes_with_home(home())) | {p for p in targets if pid_alive(p)}:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _pid_file().unlink(missing_ok=True)
    return len(targets)


def status() -> dict[str, Optional[object]]:
    return {"url": api_url(), "healthy": running(), "processes": len(processes_with_home(home())),
            "step_worker": str(step_socket()) if step_worker_running() else None,
            "venv": str(venv_dir()), "home": str(home()), "database": database_url().split("@")[-1]}

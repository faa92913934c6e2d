"""Pipelines served over HTTP by the active stack's ZenML deployer: deploy (or update in place),
say where one runs, take it down. Knows no system; a system's command names the pipeline.

On a stack whose deployer is ZenML's `local` flavor the service is a process on this machine,
bound to 127.0.0.1 (a port asked for is used or refused, never silently moved); other flavors
(e.g. `kubernetes`) take their settings from the stack file.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel

MAX_DEPLOY_SECONDS = 1800


class DeploymentError(RuntimeError):
    """A deployment that cannot be made or found: says what to do."""


class DeploymentState(BaseModel):
    name: str
    status: str
    url: Optional[str] = None
    pid: Optional[int] = None
    log_file: Optional[str] = None
    snapshot: Optional[str] = None
    deployer: Optional[str] = None


def _state(deployment: Any) -> DeploymentState:
    metadata = deployment.deployment_metadata or {}
    deployer = getattr(deployment, "deployer", None)
    return DeploymentState(
        name=deployment.name, status=str(getattr(deployment.status, "value", deployment.status)),
        url=deployment.url or None, pid=metadata.get("pid"), log_file=metadata.get("log_file"),
        snapshot=str(deployment.snapshot.id) if getattr(deployment, "snapshot", None) else None,
        deployer=getattr(deployer, "name", None))


def deployer_flavor() -> str:
    from zenml.client import Client

    deployer = Client().active_stack.deployer
    if deployer is None:
        raise DeploymentError(f"stack '{Client().active_stack.name}' has no deployer: add `deployer: {{flavor: local}}` "
                              "to its stack file")
    return deployer.flavor


def deploy(pipeline: Any, name: str, port: Optional[int] = None, timeout: int = 300) -> DeploymentState:
    """Deploy `pipeline` as `name` on the active stack, replacing (updating) a deployment of that
    name; blocks until it answers its health check or `timeout` seconds pass."""
    if not 1 <= timeout <= MAX_DEPLOY_SECONDS:
        raise DeploymentError(f"timeout={timeout}: expected 1 to {MAX_DEPLOY_SECONDS} seconds")
    options: dict[str, Any] = {}
    if deployer_flavor() == "local":
        from zenml.deployers.local.local_deployer import LocalDeployerSettings

        options["settings"] = {"deployer": LocalDeployerSettings(
            address="127.0.0.1", port=port, allocate_port_if_busy=port is None, port_range=(8470, 8570))}
        if port is not None and _port_busy(port) and not _serves(name, port):
            raise DeploymentError(f"port {port} is in use by another program: choose another --port")
    elif port is not None:
        raise DeploymentError(f"--port applies to the local deployer only; the '{deployer_flavor()}' deployer "
                              "takes its ports from the stack file")
    from zenml.deployers.exceptions import DeployerError

    try:
        deployment = pipeline.with_options(**options).deploy(deployment_name=name, timeout=timeout)
    except DeployerError as exc:
        current = status(name, refresh=False)
        where = f" (its log: {current.log_file})" if current and current.log_file else ""
        raise DeploymentError(f"deploying '{name}' failed: {exc}{where}") from None
    state = _state(deployment)
    if state.status != "running":
        raise DeploymentError(f"deployment '{name}' is {state.status}" + (f": see {state.log_file}" if state.log_file
                                                                         else ""))
    return state


def _port_busy(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _serves(name: str, port: int) -> bool:
    current = status(name)
    return current is not None and bool(current.url) and current.url.rstrip("/").endswith(f":{port}")


def status(name: str, refresh: bool = True) -> Optional[DeploymentState]:
    """Where deployment `name` runs, re-checked now (as stored, when the deployer cannot be asked);
    None when there is no such deployment."""
    from zenml.client import Client
    from zenml.deployers.exceptions import DeployerError

    client = Client()
    try:
        stored = client.get_deployment(name)
    except KeyError:
        return None
    if not refresh:
        return _state(stored)
    try:
        return _state(client.refresh_deployment(name))
    except (DeployerError, NotImplementedError, RuntimeError):
        return _state(stored).model_copy(update={"status": f"{stored.status.value} (could not be re-checked)"})


def stop(name: str) -> bool:
    """Take deployment `name` down and forget it; False when there was none."""
    from zenml.client import Client
    from zenml.deployers.exceptions import DeployerError

    client = Client()
    try:
        client.get_deployment(name)
    except KeyError:
        return False
    try:
        client.delete_deployment(name, force=True)
    except DeployerError as exc:
        raise DeploymentError(f"taking '{name}' down failed: {exc}") from None
    return True

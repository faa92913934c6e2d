"""Every server the project starts refuses a busy port in one line naming the port and its variable,
and leaves nothing running behind it."""

from __future__ import annotations

import socket

import pytest

from stackpipes.platform.processes import PortInUseError, free_port
from stackpipes.platform.services import s3_server
from tests.support import VARIABLES, isolated_environment


@pytest.fixture()
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("service, variable", [
    ("s3_server", "STACKPIPES_S3_PORT"),
    ("mlflow_server", "STACKPIPES_MLFLOW_PORT"),
    ("zenml_server", "STACKPIPES_ZENML_PORT"),
    ("airflow_server", "STACKPIPES_AIRFLOW_PORT"),
])
def test_a_busy_port_is_refused_in_one_line(service, variable, busy_port, tmp_path):
    import importlib

    module = importlib.import_module(f"stackpipes.platform.services.{service}")
    names = (*VARIABLES, "STACKPIPES_ZENML_PORT", "STACKPIPES_AIRFLOW_PORT", "ZENML_CONFIG_PATH")
    ports = {"STACKPIPES_S3_PORT": str(free_port()), variable: str(busy_port)}
    with isolated_environment(names, STACKPIPES_HOME=str(tmp_path), ZENML_CONFIG_PATH=str(tmp_path / "zenml"), **ports):
        with pytest.raises(PortInUseError) as err:
            module.up()
        # Refused before anything started: no S3 server was left behind for it.
        assert not s3_server.running()
    message = str(err.value)
    assert "\n" not in message
    assert f"port {busy_port} on 127.0.0.1 is already in use" in message and f"set {variable}" in message

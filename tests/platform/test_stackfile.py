"""Stack files: the bundled ones are valid; malformed ones name the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackpipes.platform.stackfile import (
    COMPONENT_TYPES,
    StackFileError,
    load_stack_file,
    parse_stack,
)

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def minimal(name: str = "demo", **extra):
    return {"name": name, "components": {"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"}}, **extra}


@pytest.mark.parametrize("path", sorted((ROOT / "stacks").glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_stack_files_are_valid(path):
    spec = load_stack_file(path)
    assert spec.name == path.stem
    assert {"orchestrator", "artifact_store"} <= set(spec.components)


def test_local_stack_tracks_with_mlflow():
    spec = load_stack_file(ROOT / "stacks" / "local.yaml")
    assert spec.components["experiment_tracker"].flavor == "mlflow"
    assert spec.components["model_registry"].flavor == "mlflow"
    assert spec.component_name("experiment_tracker") == "local-experiment-tracker"


def test_component_types_match_zenml():
    from zenml.enums import StackComponentType

    assert set(COMPONENT_TYPES) == {t.value for t in StackComponentType}


def test_describes_every_component_kind_later_stacks_need(tmp_path):
    data = minimal(
        "k8s",
        components={
            "orchestrator": {"flavor": "kubernetes", "config": {"kubernetes_context": "ctx"}},
            "artifact_store": {"flavor": "s3", "config": {"path": "s3://bucket"}},
            "container_registry": {"flavor": "default", "config": {"uri": "localhost:5000"}},
            "image_builder": {"flavor": "local"},
            "step_operator": {"flavor": "kubernetes", "name": "gpu"},
            "experiment_tracker": {"flavor": "mlflow", "config": {"tracking_password": "{{mlflow.password}}"}},
            "model_registry": {"flavor": "mlflow"},
        },
        secrets=[{"name": "mlflow", "values": {"password": "${MLFLOW_PASSWORD}"}}],
        flavors=["flavors.local_gpu.LocalGPUStepOperatorFlavor"],
        settings={"docker": {"skip_build": True}},
    )
    spec = load_stack_file(write(tmp_path, "k8s", data))
    assert spec.component_name("step_operator") == "gpu"
    assert spec.secrets[0].values == {"password": "${MLFLOW_PASSWORD}"}


@pytest.mark.parametrize(
    "data, key, expected",
    [
        ({"name": "demo"}, "components", "Field required"),
        (minimal(components={"orchestrator": {"flavor": "local"}}), "components.artifact_store", "required"),
        (minimal(components={"orchestrator": {}, "artifact_store": {"flavor": "local"}}), "components.orchestrator.flavor", "Field required"),
        (minimal(components={"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"}, "orchestra": {"flavor": "x"}}), "components.orchestra", "one of the component types"),
        (minimal(colour="blue"), "colour", "Extra inputs are not permitted"),
        (minimal(components={"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "s3", "config": {"secret_access_key": "AKIA123"}}}), "components.artifact_store.config.secret_access_key", "secret reference"),
        (minimal(secrets=[{"name": "s3", "values": {"key": "plain-text"}}]), "secrets.0.values", "environment reference"),
        (minimal(flavors=["not a path"]), "flavors[0]", "import path"),
        (minimal(name="other"), "name", "must match the file name"),
    ],
)
def test_malformed_files_name_file_key_and_expectation(tmp_path, data, key, expected):
    path = write(tmp_path, "demo", data)
    with pytest.raises(StackFileError) as err:
        load_stack_file(path)
    message = str(err.value)
    assert str(path) in message
    assert err.value.key == key
    assert expected in message


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(StackFileError, match="valid YAML"):
        load_stack_file(write(tmp_path, "demo", "name: [unclosed"))
    with pytest.raises(StackFileError, match="an existing stack file"):
        load_stack_file(tmp_path / "absent.yaml")
    with pytest.raises(StackFileError, match="a mapping"):
        parse_stack(["a", "list"], tmp_path / "x.yaml")


def test_component_config_reads_machine_values_from_the_environment(tmp_path):
    from stackpipes.platform.stackfile import resolve_config

    config = {
        "kubernetes_context": "${KUBE_CONTEXT:-kind-stackpipes}",
        "synchronous": "${SYNC}",
        "pod_settings": {"node_selectors": {"pool": "${POOL}"}, "tolerations": [{"key": "${TAINT:-gpu}"}]},
        "literal": "stays",
    }
    env = {"SYNC": "true", "POOL": "gpu-a100"}
    resolved = resolve_config(config, tmp_path / "k.yaml", "components.orchestrator.config", env)
    assert resolved == {
        "kubernetes_context": "kind-stackpipes",
        "synchronous": True,  # typed as YAML would type it, so re-registration changes nothing
        "pod_settings": {"node_selectors": {"pool": "gpu-a100"}, "tolerations": [{"key": "gpu"}]},
        "literal": "stays",
    }
    with pytest.raises(StackFileError) as err:
        resolve_config({"uri": "${REGISTRY}"}, tmp_path / "k.yaml", "components.container_registry.config", {})
    assert err.value.key == "components.container_registry.config.uri" and "REGISTRY" in str(err.value)


def test_names_of_secrets_and_switches_are_not_credentials(tmp_path):
    components = {
        "orchestrator": {"flavor": "kubernetes", "config": {"pass_zenml_token_as_secret": True}},
        "artifact_store": {"flavor": "s3", "config": {"authentication_secret": "s3_creds"}},
    }
    spec = parse_stack({"name": "k", "components": components}, tmp_path / "k.yaml")
    assert spec.components["artifact_store"].config["authentication_secret"] == "s3_creds"
    # an environment reference is no way around the rule: credentials are secret references
    components["artifact_store"]["config"] = {"secret": "${AWS_SECRET}"}
    with pytest.raises(StackFileError, match="secret reference"):
        parse_stack({"name": "k", "components": components}, tmp_path / "k.yaml")


def test_a_reference_inside_a_longer_value_is_resolved_with_the_same_errors(tmp_path):
    from stackpipes.platform.stackfile import resolve_config

    where = tmp_path / "k.yaml"
    config = {"tracking_uri": "sqlite:///${DIR}/mlflow.db", "url": "http://${HOST:-127.0.0.1}:${PORT}/api",
              "plain": "no references", "number": 3}
    resolved = resolve_config(config, where, "components.experiment_tracker.config", {"DIR": "/data", "PORT": "8080"})
    assert resolved == {"tracking_uri": "sqlite:////data/mlflow.db", "url": "http://127.0.0.1:8080/api",
                        "plain": "no references", "number": 3}
    assert resolve_config({"id": "run-${N}"}, where, "environment", {"N": "7"}) == {"id": "run-7"}  # stays text
    with pytest.raises(StackFileError) as err:
        resolve_config({"tracking_uri": "sqlite:///${DIR}/mlflow.db"}, where, "components.experiment_tracker.config", {})
    assert err.value.key == "components.experiment_tracker.config.tracking_uri" and "DIR" in str(err.value)


def test_no_credential_anywhere_in_a_stack_file_or_a_run_config(tmp_path):
    from stackpipes.platform.runconfig import load_run_config

    base = {"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"}}
    leaks = {
        "settings.docker.environment.DB_PASSWORD": {"settings": {"docker": {"environment": {"DB_PASSWORD": "hunter2"}}}},
        "components.orchestrator.config.pod_settings.env[0].api_token": {
            "components": {**base, "orchestrator": {"flavor": "local", "config": {
                "pod_settings": {"env": [{"api_token": "abc"}]}}}}},
        "components.artifact_store.config.credentials.user": {
            "components": {**base, "artifact_store": {"flavor": "local", "config": {"credentials": {"user": "me"}}}}},
    }
    for key, extra in leaks.items():
        data = {"name": "leak", "components": base, **extra}
        with pytest.raises(StackFileError) as err:
            parse_stack(data, tmp_path / "leak.yaml")
        assert err.value.key == key and "never written inline" in str(err.value)
    # References are not credentials: a ZenML secret, a Kubernetes secretKeyRef, a secret's name.
    fine = {"name": "ok", "components": {**base, "orchestrator": {"flavor": "local", "config": {
        "password": "{{db.password}}", "authentication_secret": "s3",
        "pod_settings": {"env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "t", "key": "token"}}}]}}}},
        "settings": {"docker": {"environment": {"API_TOKEN": "{{api.token}}", "max_tokens": 5}}}}
    parse_stack(fine, tmp_path / "ok.yaml")

    config = tmp_path / "run.yaml"
    config.write_text("parameters:\n  source: live\nsteps:\n  ingest_telegram:\n    settings:\n"
                      "      docker:\n        environment: {TELEGRAM_API_HASH: 0123abcd}\n", encoding="utf-8")
    with pytest.raises(StackFileError) as err:
        load_run_config(config)
    assert err.value.key == "steps.ingest_telegram.settings.docker.environment.TELEGRAM_API_HASH"
    config.write_text("parameters:\n  raw_secret_name: local_s3\n  grid: {max_new_tokens: 48}\n", encoding="utf-8")
    assert load_run_config(config)["parameters"]["raw_secret_name"] == "local_s3"
    for shipped in (ROOT / "configs").glob("*.yaml"):
        load_run_config(shipped)

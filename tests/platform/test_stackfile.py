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

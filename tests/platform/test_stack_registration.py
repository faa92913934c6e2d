"""stack_up against a real (private) ZenML store: create, no-op, update, remove, bad flavor."""

from __future__ import annotations

import pytest
import yaml

from stackpipes.platform.stackfile import StackFileError, load_stack_file


def spec_file(tmp_path, name, components):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "components": components}))
    return load_stack_file(path)


def test_changed_file_updates_components_and_rerun_changes_nothing(tmp_path, zenml_local_stack):
    from zenml.client import Client
    from zenml.enums import StackComponentType

    from stackpipes.platform.registration import stack_up

    base = {"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"}}
    first = stack_up(spec_file(tmp_path, "demo", base), activate=False)
    assert "stack demo: created" in first.actions

    again = stack_up(spec_file(tmp_path, "demo", base), activate=False)
    assert not again.changed

    tracked = {**base, "experiment_tracker": {"flavor": "mlflow", "config": {"experiment_name": "x"}}}
    added = stack_up(spec_file(tmp_path, "demo", tracked), activate=False)
    assert "experiment_tracker demo-experiment-tracker: created" in added.actions
    assert "stack demo: updated" in added.actions

    renamed = {**base, "experiment_tracker": {"flavor": "mlflow", "config": {"experiment_name": "y"}}}
    changed = stack_up(spec_file(tmp_path, "demo", renamed), activate=False)
    assert "experiment_tracker demo-experiment-tracker: updated" in changed.actions
    component = Client().get_stack_component(StackComponentType.EXPERIMENT_TRACKER, "demo-experiment-tracker")
    assert component.configuration["experiment_name"] == "y"

    dropped = {**base, "experiment_tracker": {"flavor": "mlflow", "config": {}}}
    stack_up(spec_file(tmp_path, "demo", dropped), activate=False)
    component = Client().get_stack_component(StackComponentType.EXPERIMENT_TRACKER, "demo-experiment-tracker")
    assert "experiment_name" not in component.configuration

    removed = stack_up(spec_file(tmp_path, "demo", base), activate=False)
    assert "stack demo: updated" in removed.actions
    stack = Client().get_stack("demo")
    assert StackComponentType.EXPERIMENT_TRACKER not in stack.components


def test_unknown_flavor_names_file_and_key(tmp_path, zenml_local_stack):
    from stackpipes.platform.registration import stack_up

    spec = spec_file(tmp_path, "broken", {"orchestrator": {"flavor": "warp-drive"}, "artifact_store": {"flavor": "local"}})
    with pytest.raises(StackFileError) as err:
        stack_up(spec, activate=False)
    assert err.value.key == "components.orchestrator" and "broken.yaml" in str(err.value)


def test_secrets_come_from_the_environment(tmp_path, zenml_local_stack, monkeypatch):
    from zenml.client import Client

    from stackpipes.platform.registration import stack_up

    path = tmp_path / "withsecret.yaml"
    path.write_text(yaml.safe_dump({
        "name": "withsecret",
        "components": {"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"}},
        "secrets": [{"name": "demo-creds", "values": {"token": "${DEMO_TOKEN}"}}],
    }))
    spec = load_stack_file(path)
    monkeypatch.delenv("DEMO_TOKEN", raising=False)
    with pytest.raises(StackFileError, match=r"DEMO_TOKEN"):
        stack_up(spec, activate=False)
    monkeypatch.setenv("DEMO_TOKEN", "s3cr3t")
    assert "secret demo-creds: created" in stack_up(spec, activate=False).actions
    assert Client().get_secret("demo-creds").secret_values == {"token": "s3cr3t"}
    assert "secret demo-creds: unchanged" in stack_up(spec, activate=False).actions


def test_stack_environment_reaches_steps_and_follows_the_file(tmp_path, zenml_local_stack, monkeypatch):
    from zenml.client import Client

    from stackpipes.platform.registration import stack_up

    components = {"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"}}

    def spec(environment):
        path = tmp_path / "withenv.yaml"
        path.write_text(yaml.safe_dump({"name": "withenv", "components": components, "environment": environment}))
        return load_stack_file(path)

    monkeypatch.setenv("DEMO_BUCKET", "s3://demo-raw")
    wanted = {"RAW_ROOT": "${DEMO_BUCKET}", "RAW_SECRET_NAME": "${DEMO_SECRET:-local_s3}"}
    assert "stack withenv: environment updated" in stack_up(spec(wanted), activate=False).actions
    assert Client().get_stack("withenv").environment == {"RAW_ROOT": "s3://demo-raw", "RAW_SECRET_NAME": "local_s3"}
    assert not stack_up(spec(wanted), activate=False).changed

    stack_up(spec({"RAW_ROOT": "/data/raw"}), activate=False)
    assert Client().get_stack("withenv").environment == {"RAW_ROOT": "/data/raw"}


def test_stack_environment_refuses_credentials(tmp_path):
    path = tmp_path / "leaky.yaml"
    path.write_text(yaml.safe_dump({
        "name": "leaky",
        "components": {"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"}},
        "environment": {"AWS_SECRET_ACCESS_KEY": "${AWS_SECRET_ACCESS_KEY}"},
    }))
    with pytest.raises(StackFileError) as err:
        load_stack_file(path)
    assert err.value.key == "environment.AWS_SECRET_ACCESS_KEY"


def test_an_unchanged_stack_is_one_read_and_a_hand_edit_is_put_back(tmp_path, zenml_local_stack, monkeypatch):
    from zenml.client import Client
    from zenml.enums import StackComponentType

    from stackpipes.platform import registration

    components = {"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"},
                  "experiment_tracker": {"flavor": "mlflow", "config": {"experiment_name": "${DEMO_EXPERIMENT:-a}"}}}
    registration.stack_up(spec_file(tmp_path, "quick", components), activate=False)

    synced = []
    monkeypatch.setattr(registration, "_register_flavors", lambda *a: synced.append("full sync"))
    assert registration.stack_up(spec_file(tmp_path, "quick", components), activate=False).actions == [
        "stack quick: unchanged"
    ]
    assert synced == []  # the fingerprint matched: no component was compared
    monkeypatch.undo()

    # A component edited by hand since the last sync is put back as the file says.
    Client().update_stack_component("quick-experiment-tracker", StackComponentType.EXPERIMENT_TRACKER,
                                    configuration={"experiment_name": "edited"})
    result = registration.stack_up(spec_file(tmp_path, "quick", components), activate=False)
    assert "experiment_tracker quick-experiment-tracker: updated" in result.actions
    tracker = Client().get_stack_component(StackComponentType.EXPERIMENT_TRACKER, "quick-experiment-tracker")
    assert tracker.configuration["experiment_name"] == "a"

    # An environment value the file reads is part of what was registered too.
    monkeypatch.setenv("DEMO_EXPERIMENT", "b")
    result = registration.stack_up(spec_file(tmp_path, "quick", components), activate=False)
    assert "experiment_tracker quick-experiment-tracker: updated" in result.actions
    assert registration.stack_up(spec_file(tmp_path, "quick", components), activate=False).actions == [
        "stack quick: unchanged"
    ]


def test_a_stack_zenml_would_refuse_to_run_is_refused_by_stack_up(tmp_path, zenml_local_stack):
    """MLflow's tracker and registry are built only when used, so runs do not validate them:
    `stack up` does, with the real components, and applies nothing when they do not pass."""
    from zenml.client import Client

    from stackpipes.platform.registration import stack_up

    lonely = {"orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"},
              "model_registry": {"flavor": "mlflow"}}  # the MLflow registry needs the MLflow tracker
    with pytest.raises(StackFileError) as err:
        stack_up(spec_file(tmp_path, "lonely", lonely), activate=False)
    assert err.value.key == "components" and "experiment_tracker" in str(err.value).lower().replace(" ", "_")
    with pytest.raises(KeyError):
        Client().get_stack("lonely", allow_name_prefix_match=False)


def test_a_stack_file_that_fails_half_way_applies_nothing(tmp_path, zenml_local_stack, monkeypatch):
    from zenml.client import Client
    from zenml.enums import StackComponentType

    from stackpipes.platform.registration import stack_up

    client = Client()
    monkeypatch.setenv("HALF_TOKEN", "t0ken")
    path = tmp_path / "half.yaml"
    good = {"artifact_store": {"flavor": "local"},
            "experiment_tracker": {"flavor": "mlflow", "config": {"experiment_name": "kept"}},
            "orchestrator": {"flavor": "local"}}
    path.write_text(yaml.safe_dump({"name": "half", "components": good}))
    stack_up(load_stack_file(path), activate=False)
    before = client.get_stack_component(StackComponentType.EXPERIMENT_TRACKER, "half-experiment-tracker").configuration

    # A new secret, a changed tracker, a new model registry, then a component that cannot be made.
    broken = {"artifact_store": {"flavor": "local"},
              "experiment_tracker": {"flavor": "mlflow", "config": {"experiment_name": "changed"}},
              "model_registry": {"flavor": "mlflow"},
              "orchestrator": {"flavor": "warp-drive"}}
    path.write_text(yaml.safe_dump({"name": "half", "components": broken,
                                    "secrets": [{"name": "half-secret", "values": {"token": "${HALF_TOKEN}"}}]}))
    with pytest.raises(StackFileError):
        stack_up(load_stack_file(path), activate=False)
    tracker = client.get_stack_component(StackComponentType.EXPERIMENT_TRACKER, "half-experiment-tracker")
    assert tracker.configuration == before and tracker.configuration["experiment_name"] == "kept"
    with pytest.raises(KeyError):
        client.get_stack_component(StackComponentType.MODEL_REGISTRY, "half-model-registry")
    with pytest.raises(KeyError):
        client.get_secret("half-secret", allow_partial_name_match=False)
    assert StackComponentType.MODEL_REGISTRY not in client.get_stack("half").components

    # A new stack whose file fails leaves no stack and no component behind.
    path = tmp_path / "fresh.yaml"
    path.write_text(yaml.safe_dump({"name": "fresh", "components": {
        "artifact_store": {"flavor": "local"}, "orchestrator": {"flavor": "warp-drive"}}}))
    with pytest.raises(StackFileError):
        stack_up(load_stack_file(path), activate=False)
    with pytest.raises(KeyError):
        client.get_stack_component(StackComponentType.ARTIFACT_STORE, "fresh-artifact-store")
    with pytest.raises(KeyError):
        client.get_stack("fresh", allow_name_prefix_match=False)

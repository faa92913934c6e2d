"""The kubernetes stack without a cluster: what ZenML would submit for chat_forecast, checked.

stacks/kubernetes.yaml is registered in the private store with a kubeconfig whose context points
at a server nobody contacts. chat_forecast is compiled on it and ZenML's own orchestrator and step
operator produce the Job / CronJob / step manifests through a recording Kubernetes client; they
are validated against the Kubernetes OpenAPI schema and compared with golden files in
tests/platform/golden/kubernetes/ (regenerate with STACKPIPES_UPDATE_GOLDEN=1 after a deliberate change).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from stackpipes.platform.stackfile import load_stack_file

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden" / "kubernetes"
IMAGE = "registry.example.com/stackpipes:1.0"
CONTEXT = "kind-stackpipes"
# Values set only for this test: none of them may appear in any manifest.
SECRET_VALUES = {
    "STACKPIPES_K8S_S3_ACCESS_KEY_ID": "AKIA-test-key-id",
    "STACKPIPES_K8S_S3_SECRET_ACCESS_KEY": "s3-secret-value-never-in-a-manifest",
    "STACKPIPES_K8S_MLFLOW_USERNAME": "mlflow-user",
    "STACKPIPES_K8S_MLFLOW_PASSWORD": "mlflow-password-never-in-a-manifest",
}
KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
    "clusters": [{"name": "never-contacted", "cluster": {"server": "https://127.0.0.1:1"}}],
    "contexts": [{"name": CONTEXT, "context": {"cluster": "never-contacted", "user": "nobody"}}],
    "users": [{"name": "nobody", "user": {}}],
}


@pytest.fixture(scope="module")
def kubernetes_stack(tmp_path_factory, zenml_local_stack):
    from zenml.client import Client

    from stackpipes.platform.registration import stack_up

    kubeconfig = tmp_path_factory.mktemp("kube") / "config"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    wanted = {**SECRET_VALUES, "KUBECONFIG": str(kubeconfig), "STACKPIPES_K8S_REGISTRY": "registry.example.com/stackpipes"}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    spec = load_stack_file(ROOT / "stacks" / "kubernetes.yaml")
    stack_up(spec)
    try:
        yield spec
    finally:
        Client().activate_stack(zenml_local_stack)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def rendered(kubernetes_stack):
    from pipelines.chat_forecast import chat_forecast
    from stackpipes.platform.k8s_render import render

    config = str(ROOT / "configs" / "chat_forecast.yaml")
    run = render(chat_forecast, image=IMAGE, config_path=config, settings=kubernetes_stack.settings)
    scheduled = render(chat_forecast, image=IMAGE, config_path=config, schedule="1 0 * * *",
                       settings=kubernetes_stack.settings)
    return run, scheduled


def _containers(manifest: dict) -> list[dict]:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]["containers"]


def _pod_spec(manifest: dict) -> dict:
    return manifest["spec"]["template"]["spec"]


def _step_job(rendered_run, step: str) -> dict:
    jobs = [m for m in rendered_run.by_kind("Job") if m["metadata"]["labels"].get("step_name") == step]
    assert len(jobs) == 1, f"one Job for step {step}"
    return jobs[0]


def test_the_stack_validates_against_a_context_that_is_never_contacted(kubernetes_stack):
    from zenml.client import Client
    from zenml.exceptions import StackValidationError

    stack = Client().active_stack
    assert stack.name == "kubernetes"
    stack.validate()  # the context exists in the kubeconfig; nothing is contacted

    orchestrator = stack.orchestrator
    original = orchestrator._config
    orchestrator._config = original.model_copy(update={"kubernetes_context": "no-such-context"})
    try:
        with pytest.raises(StackValidationError, match="no-such-context"):
            stack.validate()
    finally:
        orchestrator._config = original


def test_every_manifest_is_valid_kubernetes(rendered):
    from stackpipes.platform.k8s_render import validate_manifests

    run, scheduled = rendered
    assert [m["kind"] for m in scheduled.manifests] == ["CronJob"]
    # the orchestrator Job, then one Job per step (15 steps and the review page)
    assert len(run.by_kind("Job")) == 17 and len(run.manifests) == 17
    assert validate_manifests(run.manifests + scheduled.manifests) == []


def test_the_validator_rejects_a_broken_manifest(rendered):
    from stackpipes.platform.k8s_render import validate_manifests

    broken = json.loads(json.dumps(rendered[0].manifests[0]))
    broken["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": ["not", "a", "quantity"]}}
    assert validate_manifests([broken]) != []


def test_orchestrator_job_runs_zenml_in_the_project_image(rendered):
    run, _ = rendered
    orchestrator = run.manifests[0]
    (container,) = _containers(orchestrator)
    assert container["image"] == IMAGE
    assert container["command"] == [
        "python", "-m", "zenml.integrations.kubernetes.orchestrators.kubernetes_orchestrator_entrypoint"
    ]
    assert "--snapshot_id" in container["args"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ZENML_VERSION"] == "0.98.0" and "ZENML_STORE_URL" in env
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert _pod_spec(orchestrator)["serviceAccountName"] == "zenml-service-account"


def test_step_pods_request_resources_and_take_secrets_by_reference(rendered):
    run, scheduled = rendered
    text = json.dumps(run.manifests + scheduled.manifests)
    for value in SECRET_VALUES.values():
        assert value not in text, "a credential reached a manifest"

    for step in ("ingest_telegram", "detect_drift", "forecast_next"):
        (container,) = _containers(_step_job(run, step))
        assert container["image"] == IMAGE
        assert container["args"][container["args"].index("--step_name") + 1] == step
        # kubernetes client 26+ silently drops this block (hence kubernetes<26 in pyproject.toml)
        assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
        assert container["resources"]["limits"] == {"memory": "4Gi"}
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
        assert refs["TELEGRAM_API_HASH"] == {"name": "stackpipes-telegram", "key": "api_hash", "optional": True}
        assert all("value" not in e for e in container["env"] if e["name"].startswith("TELEGRAM_"))


def test_training_runs_on_a_gpu_node_through_the_step_operator(rendered):
    run, _ = rendered
    job = _step_job(run, "train_forecaster")
    assert job["metadata"]["annotations"]["zenml.io/step-operator"]
    (container,) = _containers(job)
    assert container["image"] == IMAGE
    assert "--step_run_id" in container["args"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["requests"] == {"cpu": "4", "memory": "16Gi"}
    pod = _pod_spec(job)
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    # the other steps stay on CPU nodes
    assert "nvidia.com/gpu" not in json.dumps(_step_job(run, "detect_drift"))


def test_horoscope_training_renders_unchanged_with_its_fine_tuning_on_a_gpu_node(kubernetes_stack):
    """A later pipeline on the same stack file, no code or stack change: valid manifests, and the
    step its config sends to the step operator gets the GPU pod."""
    from pipelines.horoscope_train import horoscope_train
    from stackpipes.platform.k8s_render import render, validate_manifests

    run = render(horoscope_train, image=IMAGE, config_path=str(ROOT / "configs" / "horoscope_train.yaml"),
                 settings=kubernetes_stack.settings)
    assert len(run.by_kind("Job")) == 1 + 13 and validate_manifests(run.manifests) == []
    (container,) = _containers(_step_job(run, "fine_tune_horoscope_lm"))
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert _pod_spec(_step_job(run, "fine_tune_horoscope_lm"))["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    for step in ("clean_horoscopes", "evaluate_sampling_grid"):
        assert "nvidia.com/gpu" not in json.dumps(_step_job(run, step))


def test_a_schedule_becomes_a_cronjob(rendered):
    _, scheduled = rendered
    (cron,) = scheduled.manifests
    assert cron["spec"]["schedule"] == "1 0 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["successfulJobsHistoryLimit"] == 3
    (container,) = _containers(cron)
    assert container["image"] == IMAGE


def _normalised(manifests: list[dict]) -> str:
    """Stable text of manifests: ids, random job-name prefixes and this machine's paths masked."""
    from tests.conftest import _STATE

    text = yaml.safe_dump_all(manifests, sort_keys=True)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    text = re.sub(r"\b[0-9a-f]{8}-(?=[a-z])", "<random>-", text)
    return text.replace(str(_STATE), "<state>")


def _compare_with_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("STACKPIPES_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"golden file {path} missing (STACKPIPES_UPDATE_GOLDEN=1 writes it)"
    assert text == path.read_text(), f"manifests differ from {path}; review, then STACKPIPES_UPDATE_GOLDEN=1"


def test_manifests_match_the_golden_files(rendered):
    run, scheduled = rendered
    _compare_with_golden("chat_forecast.yaml", _normalised(run.manifests))
    _compare_with_golden("chat_forecast_cronjob.yaml", _normalised(scheduled.manifests))


def test_the_project_image_zenml_would_build(kubernetes_stack):
    """The Dockerfile ZenML's image builder generates from the stack file's DockerSettings."""
    from zenml.client import Client
    from zenml.config import DockerSettings
    from zenml.utils.pipeline_docker_image_builder import PipelineDockerImageBuilder

    settings = DockerSettings.model_validate(kubernetes_stack.settings["docker"])
    previous = os.getcwd()
    os.chdir(ROOT)  # ZenML resolves pyproject_path against the working directory, like run.py's
    try:
        files = PipelineDockerImageBuilder.gather_requirements_files(
            docker_settings=settings, stack=Client().active_stack, log=False
        )
    finally:
        os.chdir(previous)
    requirements = dict((name, content) for name, content, _ in files)[".zenml_pyproject_requirements"]
    assert "zenml[server]==0.98.0" in requirements and "kubernetes<26" in requirements
    dockerfile = PipelineDockerImageBuilder._generate_zenml_pipeline_dockerfile(
        parent_image=settings.parent_image, docker_settings=settings, requirements_files=files,
        apt_packages=settings.apt_packages,
    )
    assert dockerfile.startswith("FROM python:3.11-slim-bookworm")
    assert "openjdk-17-jre-headless" in dockerfile and "-r .zenml_pyproject_requirements" in dockerfile
    _compare_with_golden("Dockerfile", dockerfile + "\n")


def test_the_ratings_sweep_renders_one_job_per_sweep_step(kubernetes_stack):
    """ratings_train's `parallel: 2` sweep is two step Jobs the in-cluster orchestrator runs side by side."""
    from pipelines.ratings_train import ratings_train
    from stackpipes.platform.k8s_render import render, validate_manifests

    rendered = render(ratings_train, image=IMAGE, config_path=str(ROOT / "configs" / "ratings_train" / "titanic.yaml"),
                      settings=kubernetes_stack.settings)
    shards = [_step_job(rendered, f"sweep_trials_{index}") for index in (0, 1)]
    assert all(_containers(job)[0]["image"] == IMAGE for job in shards)
    assert _step_job(rendered, "select_best")
    assert validate_manifests(rendered.manifests) == []


def test_lecture_summary_renders_with_its_transcription_on_a_gpu_node_and_as_a_cronjob_on_an_inbox(
        kubernetes_stack, tmp_path):
    """The scheduled form of lecture_summary (an inbox instead of a file: each run takes the
    oldest new file) is a CronJob; run once, speech to text gets the step operator's GPU pod."""
    from pipelines.lecture_summary import lecture_summary
    from stackpipes.platform.k8s_render import render, validate_manifests
    from stackpipes.platform.runconfig import with_parameters

    config = with_parameters(ROOT / "configs" / "lecture_summary.yaml", {"inbox": "/data/lectures/inbox"}, tmp_path)
    run = render(lecture_summary, image=IMAGE, config_path=str(config), settings=kubernetes_stack.settings)
    assert validate_manifests(run.manifests) == []
    (container,) = _containers(_step_job(run, "transcribe_audio"))
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    for step in ("take_lecture", "extract_audio", "summarise_transcript", "write_lecture_pdf"):
        assert "nvidia.com/gpu" not in json.dumps(_step_job(run, step))
    scheduled = render(lecture_summary, image=IMAGE, config_path=str(config), schedule="*/5 * * * *",
                       settings=kubernetes_stack.settings)
    (cron,) = scheduled.manifests
    assert cron["kind"] == "CronJob" and cron["spec"]["schedule"] == "*/5 * * * *"
    assert validate_manifests(scheduled.manifests) == []


def test_text_classifier_renders_with_its_training_in_a_gpu_pod(kubernetes_stack):
    """Fine-tuning names the stack's step operator: on kubernetes a pod with a GPU limit; the
    rest of the pipeline stays on CPU pods."""
    from pipelines.text_classifier import text_classifier
    from stackpipes.platform.k8s_render import render, validate_manifests

    run = render(text_classifier, image=IMAGE, config_path=str(ROOT / "configs" / "text_classifier" / "banking77.yaml"),
                 settings=kubernetes_stack.settings)
    assert validate_manifests(run.manifests) == []
    (container,) = _containers(_step_job(run, "train_classifier"))
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    for step in ("load_texts", "check_texts", "detect_drift", "evaluate_classifier", "promote_if_better"):
        assert "nvidia.com/gpu" not in json.dumps(_step_job(run, step))


def test_the_dialogue_service_renders_as_a_deployment_and_service_with_real_health_probes(kubernetes_stack):
    """ZenML's Kubernetes deployer, through its own templates: a Deployment running the served
    pipeline in the project image with probes on /health (its default path is answered by the
    dashboard page whatever the state) and the service key by reference, and a Service."""
    from zenml.client import Client

    from pipelines.dialogue_serve import dialogue_serve
    from stackpipes.platform.k8s_render import render_deployment, validate_manifests

    rendered = render_deployment(dialogue_serve, image=IMAGE, name="dialogue-chitchat", settings=kubernetes_stack.settings)
    assert validate_manifests(rendered.manifests) == []
    kinds = sorted(m["kind"] for m in rendered.manifests)
    assert "Deployment" in kinds and "Service" in kinds
    (deployment,) = [m for m in rendered.manifests if m["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    env = {e["name"]: e for e in container["env"]}
    assert env["STACKPIPES_DIALOGUE_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "stackpipes-dialogue",
                                                                              "key": "api_key"}
    (service,) = [m for m in rendered.manifests if m["kind"] == "Service"]
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["ports"][0]["port"] == 8000
    text = json.dumps(rendered.manifests)
    assert all(value not in text for value in SECRET_VALUES.values())
    assert not Client().list_deployments(name="dialogue-chitchat").items  # the record made to render is gone

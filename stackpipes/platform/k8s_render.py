"""Render the Kubernetes manifests ZenML would submit for a pipeline, without contacting a cluster.

`python run.py render --stack kubernetes --pipeline chat_forecast --out DIR` (and the tests) use
it. The pipeline is compiled into a real ZenML snapshot on the active Kubernetes stack, then:

  - the orchestrator Job (or, with a schedule, the CronJob) comes from ZenML's own
    `KubernetesOrchestrator.submit_pipeline`, talking to a Kubernetes API client that records
    each request instead of sending it (what `kubectl --dry-run=client` would show);
  - steps run by the stack's Kubernetes step operator (GPU training) come from ZenML's own
    `KubernetesStepOperator.submit_with_allocation`, through the same recording client;
  - the other steps' Jobs are built the way ZenML's in-cluster orchestrator pod builds them
    (`kubernetes_orchestrator_entrypoint.start_step_job`), with ZenML's manifest functions.

Manifests are the JSON bodies the Kubernetes client would send, after its own serialisation, so
a regression such as the client dropping `resources` shows up here.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import urlparse

from kubernetes import client as k8s_client

logger = logging.getLogger(__name__)

DRY_RUN_HOST = "https://dry-run.invalid"


class _RecordedResponse:
    """What the client reads back from a request: the body it sent, as if the API accepted it."""

    def __init__(self, body: Any):
        self.status = 201
        self.reason = "Created (dry run)"
        self.data = json.dumps(body if body is not None else {}).encode()

    def getheaders(self) -> Dict[str, str]:
        return {}

    def getheader(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return default


class RecordingApiClient(k8s_client.ApiClient):
    """A Kubernetes API client that records every request instead of sending it."""

    def __init__(self) -> None:
        super().__init__(k8s_client.Configuration(host=DRY_RUN_HOST))
        self.requests: List[Dict[str, Any]] = []

    def request(self, method: str, url: str, query_params: Any = None, headers: Any = None,
                post_params: Any = None, body: Any = None, _preload_content: bool = True,
                _request_timeout: Any = None) -> _RecordedResponse:
        self.requests.append({"method": method, "path": urlparse(url).path, "body": body})
        return _RecordedResponse(body)

    def manifests(self) -> List[Dict[str, Any]]:
        """The objects the client would have created, in order, with the type their URL names.

        ZenML's builders leave `apiVersion` and `kind` out (the API server takes them from the
        URL); they are filled in here so each manifest stands alone (`kubectl apply -f`).
        """
        created = []
        for request in self.requests:
            if request["method"] != "POST" or not isinstance(request["body"], dict):
                continue
            api_version, kind = _type_from_path(request["path"])
            created.append({"apiVersion": api_version, "kind": kind, **request["body"]})
        return created


_KINDS = {"jobs": "Job", "cronjobs": "CronJob", "secrets": "Secret", "pods": "Pod", "services": "Service",
          "serviceaccounts": "ServiceAccount", "rolebindings": "RoleBinding", "namespaces": "Namespace"}


def _type_from_path(path: str) -> tuple[str, str]:
    """(`apiVersion`, `kind`) from a create URL: /api/v1/... or /apis/GROUP/VERSION/..."""
    parts = path.strip("/").split("/")
    api_version = parts[1] if parts[0] == "api" else f"{parts[1]}/{parts[2]}"
    return api_version, _KINDS.get(parts[-1], parts[-1])


@dataclass
class Rendered:
    """The manifests of one pipeline on one stack."""

    pipeline: str
    stack: str
    manifests: List[Dict[str, Any]] = field(default_factory=list)

    def by_kind(self, kind: str) -> List[Dict[str, Any]]:
        return [m for m in self.manifests if m.get("kind") == kind]


def render(pipeline: Any, image: str, config_path: Optional[str] = None, schedule: Optional[str] = None,
           settings: Optional[Dict[str, Any]] = None) -> Rendered:
    """Compile `pipeline` on the active (Kubernetes) stack and record what ZenML would submit.

    `image` stands for the project image ZenML would build from the stack's DockerSettings and
    push to its registry; rendering builds nothing.
    """
    from zenml.client import Client
    from zenml.config.schedule import Schedule
    from zenml.integrations.kubernetes.orchestrators import KubernetesOrchestrator

    stack = Client().active_stack
    orchestrator = stack.orchestrator
    if not isinstance(orchestrator, KubernetesOrchestrator):
        raise ValueError(
            f"stack '{stack.name}' has a '{orchestrator.flavor}' orchestrator; rendering Kubernetes "
            "manifests needs a stack whose orchestrator is 'kubernetes' (e.g. --stack kubernetes)"
        )
    # `image` is the built project image: it holds the code, as ZenML's own build would (so no
    # code archive is uploaded to the artifact store for the pods to download).
    docker = {**((settings or {}).get("docker") or {}), "skip_build": True, "parent_image": image,
              "allow_download_from_artifact_store": False}
    options: Dict[str, Any] = {"settings": {**(settings or {}), "docker": docker}}
    if config_path:
        options["config_path"] = config_path
    if schedule:
        options["schedule"] = Schedule(cron_expression=schedule)
    configured = pipeline.with_options(**options)
    configured.prepare()
    # A schedule is registered as for a real deployment (the orchestrator reads it from the
    # snapshot) and removed again once the CronJob is rendered.
    snapshot = configured._create_snapshot(**configured._run_args)
    try:
        return _submit(snapshot, stack, orchestrator, with_steps=not schedule)
    finally:
        if snapshot.schedule is not None:
            Client().delete_schedule(snapshot.schedule.id)


def _submit(snapshot: Any, stack: Any, orchestrator: Any, with_steps: bool) -> Rendered:
    from zenml.orchestrators.utils import get_config_environment_vars

    recorder = RecordingApiClient()
    environment, secrets = get_config_environment_vars()
    environment.update(secrets)  # as ZenML's own run does; the orchestrator moves the token into a Secret
    if "ZENML_STORE_API_TOKEN" not in environment and orchestrator.config.pass_zenml_token_as_secret:
        # A local store or an unauthenticated local server has no API token to pass (a real run
        # needs a deployed ZenML server, which issues one per run).
        logger.warning("The ZenML store has no API token: the manifests carry none.")
        orchestrator._config = orchestrator.config.model_copy(update={"pass_zenml_token_as_secret": False})
    orchestrator._k8s_client = recorder
    orchestrator.submit_pipeline(
        snapshot=snapshot, stack=stack, base_environment=dict(environment),
        step_environments={}, placeholder_run=None,
    )
    if with_steps:
        for step_name, step in snapshot.step_configurations.items():
            _render_step(step_name, step, snapshot, stack, recorder, dict(environment))
    return Rendered(pipeline=snapshot.pipeline_configuration.name, stack=stack.name, manifests=recorder.manifests())


def _render_step(step_name: str, step: Any, snapshot: Any, stack: Any, recorder: RecordingApiClient,
                 environment: Dict[str, str]) -> None:
    from zenml.utils.env_utils import get_runtime_environment

    environment.update(get_runtime_environment(config=step.config, stack=stack))
    operator = stack.step_operator if step.config.step_operator else None
    if operator is not None and operator.flavor == "kubernetes":
        _render_step_operator_job(step_name, step, snapshot, operator, recorder, environment)
    else:
        _render_orchestrator_step_job(step_name, step, snapshot, stack.orchestrator, recorder, environment)


def _render_step_operator_job(step_name: str, step: Any, snapshot: Any, operator: Any,
                              recorder: RecordingApiClient, environment: Dict[str, str]) -> None:
    from zenml.config.step_run_info import StepRunInfo
    from zenml.orchestrators.utils import get_step_entrypoint_command

    step_run_id = uuid.uuid4()
    command, args = get_step_entrypoint_command(
        invocation_id=step_name, config=step.config, entrypoint_config_class=operator.entrypoint_config_class,
        snapshot_id=snapshot.id, step_run_id=str(step_run_id),
    )
    # ZenML makes this in the orchestrator pod for a real step run; only these fields are read.
    info = StepRunInfo.model_construct(
        step_run_id=step_run_id, run_id=uuid.uuid4(), run_name=f"{snapshot.pipeline_configuration.name}-render",
        pipeline_step_name=step_name, config=step.config, spec=step.spec,
        pipeline=snapshot.pipeline_configuration, snapshot=snapshot, step_run=None, force_write_logs=lambda: None,
    )
    operator._k8s_client = recorder
    operator.submit_with_allocation(
        info=info, entrypoint_command=command + args, environment=environment, allocated_resource_request=None
    )


def _render_orchestrator_step_job(step_name: str, step: Any, snapshot: Any, orchestrator: Any,
                                  recorder: RecordingApiClient, environment: Dict[str, str]) -> None:
    """The Job ZenML's orchestrator pod submits for one step (see `start_step_job` there)."""
    from zenml.entrypoints.step_entrypoint_configuration import StepEntrypointConfiguration
    from zenml.integrations.kubernetes import kube_utils
    from zenml.integrations.kubernetes.constants import KUBERNETES_SECRET_TOKEN_KEY_NAME
    from zenml.integrations.kubernetes.manifest_utils import (
        build_job_manifest,
        build_pod_manifest,
        pod_template_manifest_from_pod,
    )

    settings = orchestrator.get_settings(step)
    pipeline_name = snapshot.pipeline_configuration.name
    labels = {
        "project_id": kube_utils.sanitize_label_value(str(snapshot.project_id)),
        "pipeline": kube_utils.sanitize_label_value(pipeline_name),
        "step_name": kube_utils.sanitize_label_value(step_name),
    }
    pod_settings = kube_utils.apply_default_resource_requests(memory="400Mi", pod_settings=settings.pod_settings)
    if orchestrator.config.pass_zenml_token_as_secret and environment.pop("ZENML_STORE_API_TOKEN", None):
        pod_settings.env.append({"name": "ZENML_STORE_API_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": orchestrator.get_token_secret_name(snapshot.id), "key": KUBERNETES_SECRET_TOKEN_KEY_NAME}}})
    pod = build_pod_manifest(
        pod_name=None,
        image_name=orchestrator.get_image(snapshot=snapshot, step_name=step_name),
        command=StepEntrypointConfiguration.get_entrypoint_command(),
        args=StepEntrypointConfiguration.get_entrypoint_arguments(step_name=step_name, snapshot_id=snapshot.id),
        env=environment,
        privileged=settings.privileged,
        pod_settings=pod_settings,
        service_account_name=settings.step_pod_service_account_name or settings.service_account_name,
        mount_local_stores=False,
        termination_grace_period_seconds=settings.pod_stop_grace_period,
        labels=labels,
    )
    retries = step.config.retry.max_retries if step.config.retry else 0
    job_name = kube_utils.sanitize_label(
        f"{settings.job_name_prefix or ''}-{random.randbytes(4).hex()}-{step_name}-{pipeline_name}"
    )
    job = build_job_manifest(
        job_name=job_name,
        pod_template=pod_template_manifest_from_pod(pod),
        backoff_limit=retries + settings.backoff_limit_margin,
        ttl_seconds_after_finished=settings.ttl_seconds_after_finished,
        active_deadline_seconds=settings.active_deadline_seconds,
        pod_failure_policy=settings.pod_failure_policy,
        labels=labels,
        annotations={"zenml.io/step_name": step_name},
    )
    k8s_client.BatchV1Api(recorder).create_namespaced_job(namespace=orchestrator.config.kubernetes_namespace, body=job)


def validate_manifests(manifests: List[Dict[str, Any]], kubernetes_version: str = "1.30.0") -> List[str]:
    """Validate each manifest against the Kubernetes OpenAPI schema; return the problems found."""
    import kubernetes_validate

    problems = []
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
            problems.append(f"{name}: {exc.message} at {'.'.join(str(p) for p in exc.path)}")
    return problems


class _SerializingApplier:
    """What ZenML's Kubernetes deployer asks of its applier while rendering: serialisation only."""

    def __init__(self) -> None:
        self.api_client = RecordingApiClient()


REDACTED = "cmVkYWN0ZWQ6IHNldCBhdCBkZXBsb3kgdGltZQ=="  # base64 of "redacted: set at deploy time"


def render_deployment(pipeline: Any, image: str, name: str, settings: Optional[Dict[str, Any]] = None) -> Rendered:
    """The manifests ZenML's Kubernetes deployer would apply to serve `pipeline` as deployment
    `name` on the active stack (Namespace, Secret, Deployment, Service), rendered by the deployer's
    own templates; nothing is built or applied, and the deployment record made for rendering is
    deleted again. Secret values are redacted (the real ones are set when it deploys)."""
    from zenml.client import Client
    from zenml.models import DeploymentRequest
    from zenml.orchestrators.utils import get_config_environment_vars

    client = Client()
    stack = client.active_stack
    deployer = stack.deployer
    if deployer is None or deployer.flavor != "kubernetes":
        raise ValueError(f"stack '{stack.name}' has no Kubernetes deployer (deployer: {{flavor: kubernetes}} in its "
                         "stack file)")
    docker = {**((settings or {}).get("docker") or {}), "skip_build": True, "parent_image": image,
              "allow_download_from_artifact_store": False}
    configured = pipeline.with_options(settings={**(settings or {}), "docker": docker})
    configured.prepare()
    snapshot = configured._create_snapshot(**configured._run_args)
    deployment = client.zen_store.create_deployment(DeploymentRequest(
        project=client.active_project.id, name=name, snapshot_id=snapshot.id, deployer_id=deployer.id))
    try:
        environment, secrets = get_config_environment_vars(deployment_id=deployment.id)
        deployer._applier = _SerializingApplier()
        _, resources = deployer._prepare_deployment_resources(client.zen_store.get_deployment(deployment.id),
                                                              environment, secrets)
    finally:
        deployer._applier = None
        client.zen_store.delete_deployment(deployment.id)
    manifests = [json.loads(json.dumps(resource, default=str)) for resource in resources]
    for manifest in manifests:
        if manifest.get("kind") == "Secret":
            manifest["data"] = {key: REDACTED for key in manifest.get("data") or {}}
    return Rendered(pipeline=snapshot.pipeline_configuration.name, stack=stack.name, manifests=manifests)

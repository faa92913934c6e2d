"""Human review of retraining and promotion: approve or reject, recorded where everything shows it.

A policy with `review: promotion` leaves a challenger that beats production in ZenML's `staging`
stage, tagged `awaiting-review`; `review: retrain` turns a retrain the policy would start into a
request on the run (tag `retrain-requested`). `approve` and `reject` act on a run (its request, or
the model version it made) or on `MODEL:VERSION`, and store who, when and why on the model version
or the run (metadata `review_state`, `review_by`, `review_at`, `review_note`, and a tag).

Approving a model version promotes it through the shared registry code: ZenML's `production`
stage and the MLflow `champion` alias together; when the MLflow side fails, the previous production
version is put back, so the two never disagree. Approve and reject of the same target take turns
(a lock in the state folder), and repeating either is a no-op.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

AWAITING, APPROVED, REJECTED = "awaiting-review", "approved", "rejected"
RETRAIN_REQUESTED, RETRAIN_APPROVED, RETRAIN_USED = "retrain-requested", "retrain-approved", "retrain-used"
EVALUATION_ARTIFACT = "model_evaluation"  # what every training pipeline's evaluation step returns


class ReviewError(ValueError):
    """A review command that cannot be done: names the target and why."""


@dataclass
class Target:
    label: str
    run: Any = None  # PipelineRunResponse
    version: Any = None  # ModelVersionResponse


def reviewer(explicit: Optional[str] = None) -> str:
    return explicit or getpass.getuser()


def _tags(entity: Any) -> set[str]:
    return {tag.name for tag in (entity.tags or [])}


def resolve(target: str) -> Target:
    """`MODEL:VERSION` (a version name or number) or a run's name, id or id prefix."""
    from zenml.client import Client

    client = Client()
    if ":" in target:
        model, version = target.split(":", 1)
        try:
            return Target(target, version=client.get_model_version(model, version))
        except KeyError:
            raise ReviewError(f"{target}: model '{model}' has no version '{version}'") from None
    try:
        run = client.get_pipeline_run(target)
    except KeyError:
        raise ReviewError(f"{target}: no run has this name or id (see python run.py review list)") from None
    except ValueError as exc:  # several runs match an id prefix
        raise ReviewError(f"{target}: {exc}") from None
    return Target(target, run=run, version=run.model_version)


def _stamp(state: str, by: str, note: str) -> dict[str, str]:
    return {"review_state": f"{state} by {by}", "review_by": by,
            "review_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "review_note": note}


def _record_on_version(version: Any, metadata: dict[str, str], add: list[str], remove: list[str]) -> None:
    """On the model version, and on the run(s) that made it (so run listings need no lookup)."""
    from zenml import log_metadata
    from zenml.client import Client

    log_metadata(metadata=metadata, model_version_id=version.id)
    Client().update_model_version(version.model.id, version.id, add_tags=add, remove_tags=remove or None)
    for run_id in (version.pipeline_run_ids or {}).values():
        log_metadata(metadata=metadata, run_id_name_or_prefix=run_id)


def record_on_run(run_id: Any, metadata: dict[str, Any], add: list[str], remove: Optional[list[str]] = None) -> None:
    """Metadata and tags on a pipeline run (the running one, or an older one a review acts on)."""
    from zenml import add_tags, log_metadata, remove_tags

    log_metadata(metadata=metadata, run_id_name_or_prefix=run_id)
    add_tags(tags=add, run=run_id)
    if remove:
        remove_tags(tags=remove, run=run_id)


def evaluation_of(version: Any) -> Any:
    """The ModelEvaluation the version's run stored (challenger vs production, MLflow model URI)."""
    from zenml.client import Client

    for run_id in version.pipeline_run_ids.values() if isinstance(version.pipeline_run_ids, dict) else []:
        run = Client().get_pipeline_run(run_id)
        for step in run.steps.values():
            if EVALUATION_ARTIFACT in step.outputs:
                return step.outputs[EVALUATION_ARTIFACT][0].load()
    return None


def promote_version(version: Any, evaluation: Any) -> Optional[str]:
    """ZenML stage `production` and the MLflow alias together; on an MLflow failure the previous
    production version is put back. Returns the MLflow registry version (None without a registry)."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    from stackpipes.core.registry import mirror_to_model_registry

    client = Client()
    model = version.model
    try:
        previous = client.get_model_version(model.id, ModelStages.PRODUCTION)
    except KeyError:
        previous = None
    client.update_model_version(model.id, version.id, stage=ModelStages.PRODUCTION, force=True)
    try:
        return mirror_to_model_registry(model.name, evaluation, str(version.name)) if evaluation else None
    except Exception as exc:
        if previous is not None:
            client.update_model_version(model.id, previous.id, stage=ModelStages.PRODUCTION, force=True)
        else:
            client.update_model_version(model.id, version.id, stage=ModelStages.STAGING, force=True)
        raise ReviewError(f"{model.name}:{version.name}: the MLflow registry refused it ({exc}); "
                          "production is unchanged") from exc


def _decide(target: str, who: str, note: str, approve: bool, on_version: Any) -> str:
    """Under the review lock: a run's retrain request, else `on_version(version, label)`."""
    from stackpipes.platform.locks import state_lock

    with state_lock("review"):
        found = resolve(target)
        if found.run is not None and RETRAIN_REQUESTED in _tags(found.run):
            return _decide_request(found, who, note, approve=approve)
        if found.version is None:
            raise ReviewError(f"{target}: this run made no model version and requested no retrain")
        return on_version(found.version, f"{found.version.model.name}:{found.version.name}")


def _in_production(version: Any) -> bool:
    return str(getattr(version.stage, "value", version.stage)) == "production"


def approve(target: str, by: Optional[str] = None, note: str = "") -> str:
    """Approve a run's retrain request, or promote a model version (a run's or MODEL:VERSION)."""
    who = reviewer(by)

    def promote(version: Any, label: str) -> str:
        if _in_production(version):
            return f"{label} is already in production: nothing to do"
        tags = _tags(version)
        if REJECTED in tags:
            by_whom = version.run_metadata.get("review_by", "?")
            raise ReviewError(f"{label} was rejected by {by_whom}: a rejected version is not promoted")
        evaluation = evaluation_of(version)
        if evaluation is None or not evaluation.retrained:
            raise ReviewError(f"{label}: its run trained no model, there is nothing to promote")
        registry_version = promote_version(version, evaluation)
        _record_on_version(version, _stamp("approved", who, note), [APPROVED], [AWAITING] if AWAITING in tags else [])
        mirrored = f", MLflow registry version {registry_version} is the champion" if registry_version else ""
        return f"{label} approved by {who}: now in production{mirrored}"

    return _decide(target, who, note, True, promote)


def reject(target: str, by: Optional[str] = None, note: str = "") -> str:
    """Reject a run's retrain request, or archive a challenger (production stays as it is)."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    if not note.strip():
        raise ReviewError("reject needs --note: say why, so the next reviewer knows")
    who = reviewer(by)

    def archive(version: Any, label: str) -> str:
        tags = _tags(version)
        if REJECTED in tags:
            return f"{label} was already rejected: nothing to do"
        if _in_production(version):
            raise ReviewError(f"{label} is in production: approve another version to replace it")
        Client().update_model_version(version.model.id, version.id, stage=ModelStages.ARCHIVED, force=True)
        _record_on_version(version, _stamp("rejected", who, note), [REJECTED], [AWAITING] if AWAITING in tags else [])
        return f"{label} rejected by {who}: archived, production unchanged"

    return _decide(target, who, note, False, archive)


def _decide_request(found: Target, who: str, note: str, approve: bool) -> str:
    run, tags = found.run, _tags(found.run)
    if RETRAIN_USED in tags:
        raise ReviewError(f"{run.name}: its retrain request was approved and a later run has retrained")
    decided = RETRAIN_APPROVED if RETRAIN_APPROVED in tags else REJECTED if REJECTED in tags else None
    wanted = RETRAIN_APPROVED if approve else REJECTED
    if decided == wanted:
        return f"{run.name}: the retrain request is already {'approved' if approve else 'rejected'}: nothing to do"
    if decided is not None:
        by_whom = run.run_metadata.get("review_by", "?")
        raise ReviewError(f"{run.name}: the retrain request was already {decided.split('-')[-1]} by {by_whom}")
    record_on_run(run.id, _stamp("approved" if approve else "rejected", who, note), [wanted], [AWAITING])
    if approve:
        return f"{run.name}: retrain approved by {who}; the next run of {run.pipeline.name} retrains"
    return f"{run.name}: retrain request rejected by {who}"


def pending_retrain_approval(pipeline: str, look_back: int = 50) -> Optional[tuple[Any, str]]:
    """The newest approved retrain request of `pipeline` that no run has used yet, and who approved."""
    from zenml.client import Client

    runs = Client().list_pipeline_runs(pipeline_name=pipeline, sort_by="desc:created", size=look_back, hydrate=True)
    for run in runs.items:
        tags = _tags(run)
        if RETRAIN_APPROVED in tags and RETRAIN_USED not in tags:
            meta = run.run_metadata
            return run, f"by {meta.get('review_by', '?')} at {meta.get('review_at', '?')} (run {run.name})"
    return None


def mark_request_used(request_run: Any, by_run: str) -> None:
    record_on_run(request_run.id, {"retrain_used_by": by_run}, [RETRAIN_USED], [])


def run_review_state(run: Any) -> str:
    """auto, awaiting review, approved by X or rejected by X, for a run and the version it made."""
    return review_state(run.run_metadata, _tags(run))


def review_state(metadata: dict[str, Any], tags: set[str]) -> str:
    """The review state from a run's metadata and tag names (also read without ZenML's client)."""
    if metadata.get("review_state"):
        return str(metadata["review_state"])
    return "awaiting review" if AWAITING in tags else "auto"

"""The human gate and `run.py review`, on real chat_forecast runs in a fresh ZenML project.

`review: promotion` keeps a better challenger in staging until approved (then ZenML production and
the MLflow champion alias move together); `review: retrain` turns drift into a request that the
next run honours once approved. Bad targets are clear errors; repeated commands are no-ops.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

pytestmark = pytest.mark.pipeline

POLICY = {"metric_threshold": 60.0, "drift_share_threshold": 0.5, "min_samples": 336}


@pytest.fixture(scope="module")
def export_file(tmp_path_factory):
    from make_sample_export import generate_export

    path = tmp_path_factory.mktemp("export") / "result.json"
    path.write_text(json.dumps(generate_export(weeks=6, seed=11)), encoding="utf-8")
    return path


def run_pipeline(export: Path, review: str, **policy):
    from zenml.client import Client

    from pipelines.chat_forecast import chat_forecast

    run = chat_forecast(source="export", export_path=str(export), last_n=None,
                        candidates=["seasonal_naive", "holt_winters"], drift_reference_hours=504,
                        retrain_policy={**POLICY, "review": review, **policy})
    return Client().get_pipeline_run(run.id)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    import run as cli_module

    code = cli_module.main(["review", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def champion_version():
    import mlflow
    from mlflow import MlflowClient
    from zenml.client import Client

    mlflow.set_tracking_uri(Client().active_stack.experiment_tracker.get_tracking_uri())
    try:
        return MlflowClient().get_model_version_by_alias("chat_forecast", "champion")
    except Exception:
        return None


def stage(version) -> str:
    return str(getattr(version.stage, "value", version.stage) or "none")


def test_promotion_waits_for_approval_then_both_registries_move_together(fresh_project, export_file, capsys):
    from zenml.client import Client
    from zenml.enums import ModelStages

    before = champion_version()  # the MLflow registry is shared by the session's test projects
    first = run_pipeline(export_file, "promotion")
    promotion = first.steps["promote_if_better"].outputs["promotion"][0].load()
    assert not promotion.promoted and promotion.awaiting_review
    version = Client().get_model_version("chat_forecast", promotion.model_version)
    assert stage(version) == "staging" and "awaiting-review" in {t.name for t in version.tags}
    with pytest.raises(KeyError):
        Client().get_model_version("chat_forecast", ModelStages.PRODUCTION)
    after = champion_version()
    assert (after.version if after else None) == (before.version if before else None)  # the alias did not move

    code, out, _ = cli(capsys, "list")
    assert code == 0 and first.name in out and "awaiting review" in out
    # The command reads the store's database directly (no ZenML start-up); ZenML's client agrees.
    from stackpipes.core.cli import list_text
    from stackpipes.core.run_listing import list_runs

    assert list_runs(None, 50) is not None
    assert out.strip() == list_text(None, 50, "direct") == list_text(None, 50, "client")
    assert list_text("chat_forecast", 1, "direct") == list_text("chat_forecast", 1, "client")
    code, out, _ = cli(capsys, "show", first.name)
    assert code == 0 and "drift:" in out and "stage staging" in out and "awaiting review" in out

    code, out, _ = cli(capsys, "approve", f"chat_forecast:{version.name}", "--by", "ana", "--note", "looks right")
    assert code == 0 and "approved by ana" in out
    production = Client().get_model_version("chat_forecast", ModelStages.PRODUCTION)
    assert production.id == version.id and production.run_metadata["review_state"] == "approved by ana"
    champion = champion_version()
    assert champion is not None and str(version.name) in (champion.description or "")
    code, out, _ = cli(capsys, "approve", first.name)  # the same version again: a no-op
    assert code == 0 and "already in production" in out
    code, out, _ = cli(capsys, "models")
    assert code == 0 and f"production is version {version.name}" in out and "approved by ana" in out

    # A second challenger (same data: it ties, so it waits for nobody): rejected by hand, archived;
    # production and the alias stay.
    second = run_pipeline(export_file, "promotion", force=True)
    challenger = second.steps["promote_if_better"].outputs["promotion"][0].load()
    assert not challenger.promoted
    code, out, _ = cli(capsys, "reject", second.name, "--by", "bo", "--note", "too noisy")
    assert code == 0 and "rejected by bo" in out
    assert stage(Client().get_model_version("chat_forecast", challenger.model_version)) == "archived"
    code, out, _ = cli(capsys, "reject", second.name, "--note", "again")
    assert code == 0 and "already rejected" in out
    code, _, err = cli(capsys, "approve", second.name)
    assert code == 2 and "was rejected by bo" in err
    assert Client().get_model_version("chat_forecast", ModelStages.PRODUCTION).id == version.id
    assert champion_version().version == champion.version


def test_bad_review_input_is_a_clear_error(fresh_project, capsys):
    code, _, err = cli(capsys, "approve", "no-such-run")
    assert code == 2 and "no run has this name" in err
    code, _, err = cli(capsys, "approve", "chat_forecast:999")
    assert code == 2 and "has no version '999'" in err
    code, _, err = cli(capsys, "reject", "no-such-run")
    assert code == 2 and "needs --note" in err
    code, _, err = cli(capsys, "list", "--limit", "0")
    assert code == 2 and "--limit 0" in err


def test_a_retrain_gate_requests_and_the_next_run_honours_an_approval(fresh_project, export_file, capsys):
    # The first run trains (there is no production model to protect), the second sees drift.
    run_pipeline(export_file, "retrain")
    asked = run_pipeline(export_file, "retrain")
    decision = asked.steps["decide_retrain"].outputs["retrain_decision"][0].load()
    assert not decision.retrain and decision.awaiting_review
    assert any("retrain requested, awaiting review" in reason for reason in decision.reasons)
    assert "retrain-requested" in {t.name for t in asked.tags}

    code, out, _ = cli(capsys, "approve", asked.name, "--by", "ana")
    assert code == 0 and "the next run of chat_forecast retrains" in out
    code, out, _ = cli(capsys, "approve", asked.name)
    assert code == 0 and "already approved" in out

    honoured = run_pipeline(export_file, "retrain")
    decision = honoured.steps["decide_retrain"].outputs["retrain_decision"][0].load()
    assert decision.retrain and decision.reasons[0].startswith("retrain approved by ana")
    again = run_pipeline(export_file, "retrain")  # the approval is used once
    assert not again.steps["decide_retrain"].outputs["retrain_decision"][0].load().retrain
    code, _, err = cli(capsys, "reject", asked.name, "--note", "late")
    assert code == 2 and "a later run has retrained" in err

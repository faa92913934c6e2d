"""The shared part of every pipeline's end-of-run summary: drift, the decision, production, promotion.

Read from what the run stored (step metadata and the small result artifacts), so the same lines
come out for a run on any stack, and for an older run looked up later.
"""

from __future__ import annotations

from typing import Any


def _output(run: Any, step: str, name: str) -> Any:
    if step not in run.steps or name not in run.steps[step].outputs:
        return None
    try:
        return run.steps[step].outputs[name][0].load()
    except Exception:  # a summary line never fails the command that prints it
        return None


def review_lines(run: Any) -> list[str]:
    """Drift verdict (share, drifted columns, windows, report), the retrain decision, the
    production model before the run and the promotion outcome, one labelled line each."""
    lines = []
    drift = _output(run, "detect_drift", "drift_summary")
    if drift is not None:
        lines.append(f"  drift:         {drift.verdict}")
        if drift.report_path:
            lines.append(f"  drift report:  {drift.report_path}")
    decision = _output(run, "decide_retrain", "retrain_decision")
    if decision is not None:
        verdict = "collecting history" if decision.collecting else "yes" if decision.retrain else "no"
        lines.append(f"  retrain:       {verdict}: {'; '.join(decision.reasons)}")
    production = _output(run, "fetch_production_model", "production_model")
    if production is not None:
        metric = "" if production.metric is None else f" ({production.metric_name or 'metric'} {production.metric:.4g})"
        lines.append("  production:    " + (f"version {production.version}{metric}" if production.exists
                                          else "none yet"))
    if "write_review_page" in run.steps and run.steps["write_review_page"].run_metadata.get("review_page"):
        lines.append(f"  review page:   {run.steps['write_review_page'].run_metadata['review_page']}")
    promotion = _output(run, "promote_if_better", "promotion")
    if promotion is not None:
        lines.append(f"  promotion:     {'promoted' if promotion.promoted else 'not promoted'}: {promotion.reason}"
                     + (f" (now version {promotion.model_version})" if promotion.promoted else ""))
    return lines


def mlflow_lines(run: Any, note: str = "") -> list[str]:
    """Where the run's MLflow experiment is (none when the stack tracks nothing); `note` says
    what more is there (e.g. "trials are nested runs; ")."""
    from stackpipes.platform.registration import experiment_tracking_uri

    uri = experiment_tracking_uri()
    if uri is None:
        return []
    return [f"  MLflow:        experiment '{run.pipeline.name}' at {uri} ({note}browse: python run.py mlflow-ui)"]


def dashboard_line(run: Any) -> str:
    """The run's dashboard URL when the project's ZenML server is up, else how to start it."""
    from stackpipes.platform.services.zenml_server import dashboard_run_url

    url = dashboard_run_url(run.project.name, run.id)
    return f"  dashboard:     {url}" if url else "  dashboard:     python run.py dashboard  (then open the run above)"

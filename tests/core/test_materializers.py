"""Our materializers through a real artifact store: round trip, content hash, dashboard views."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from stackpipes.chat_forecast.types import Forecast
from stackpipes.core.types import ColumnDrift, DriftSummary, EvidentlyReport, RetrainDecision


def saved(obj, name):
    from zenml import save_artifact
    from zenml.client import Client

    import materializers.chat_forecast  # noqa: F401  (registers the materializers under test)

    version = save_artifact(obj, name=name)
    return Client().get_artifact_version(version.id)


def visual_types(version) -> set[str]:
    return {str(v.type.value) for v in (version.visualizations or [])}


def test_reports_round_trip_with_html_view(fresh_project):
    drift = DriftSummary(dataset_drift=True, drifted_share=1.0, drifted_columns=1, total_columns=1,
                         columns={"count": ColumnDrift(column="count", method="K-S p_value", score=0.001,
                                                       threshold=0.05, drifted=True)},
                         reference_rows=672, current_rows=168)
    version = saved(drift, "drift_test")
    assert version.load() == drift
    assert "html" in visual_types(version)
    decision = RetrainDecision(retrain=False, reasons=["cooldown"], evaluated_at=datetime.now(timezone.utc))
    assert saved(decision, "decision_test").load() == decision


def test_dataframes_are_content_hashed(fresh_project):
    frame = pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=48, freq="h", tz="UTC"),
                          "count": np.arange(48)})
    first, second = saved(frame, "frame_test"), saved(frame.copy(), "frame_test")
    assert first.id != second.id and first.content_hash == second.content_hash
    changed = saved(frame.assign(count=frame["count"] + 1), "frame_test")
    assert changed.content_hash != first.content_hash
    pd.testing.assert_frame_equal(second.load(), frame)


def test_forecaster_and_forecast_round_trip_with_views(fresh_project):
    from stackpipes.chat_forecast.model import fit_model

    hours = pd.date_range("2026-01-05", periods=24 * 7 * 3, freq="h", tz="UTC")
    series = pd.DataFrame({"timestamp": hours, "count": (np.sin(np.arange(len(hours)) / 4) * 5 + 6).round().astype("int64")})
    model = fit_model(series, "holt_winters")
    version = saved(model, "model_test")
    pd.testing.assert_frame_equal(version.load().predict(24), model.predict(24))
    assert str(version.type.value) == "ModelArtifact" and "html" in visual_types(version)

    frame = model.predict(24)
    forecast = Forecast(frame=frame, png=b"\x89PNG fake", model="holt_winters", generated_at=datetime.now(timezone.utc))
    loaded = saved(forecast, "forecast_test")
    assert {"image", "csv"} <= visual_types(loaded)
    again = loaded.load()
    pd.testing.assert_frame_equal(again.frame, frame)
    assert again.png == forecast.png and again.model == "holt_winters"


def test_an_evidently_report_shows_its_script_free_summary_first_and_keeps_the_full_page(fresh_project):
    from zenml import save_artifact
    from zenml.client import Client

    import materializers.core  # noqa: F401

    full = "<html><head><title>t</title><script>render()</script></head><body><div id='root'></div></body></html>"
    report = EvidentlyReport(title="p run r", html=full, summary_html="<html><body><p>2/2 drifted</p></body></html>",
                             path="/reports/p/r/drift.html")
    version = Client().get_artifact_version(save_artifact(report, name="evidently_test").id)
    assert version.load() == report
    uris = [v.uri for v in version.visualizations]
    assert [Path(u).name for u in uris] == ["summary.html", "report.html"]  # the dashboard shows the first
    assert version.run_metadata["title"] == "p run r"

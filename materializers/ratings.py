"""Materializers for the ratings system: its trained model and its sweep's results.

`TabularModel` is stored as the fitted scikit-learn pipeline (joblib), a JSON summary and its
reference rows (parquet), and shown as a summary table; the sweep's shards and result are
pydantic JSON with an HTML view (the leaderboard with its chart).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer

import materializers.core  # noqa: F401  (registers the shared ones)
from materializers.core import ReportMaterializer
from stackpipes.ratings.leaderboard import SweepResult, SweepShard
from stackpipes.ratings.model import TabularModel


class TabularModelMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (TabularModel,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name)

    @staticmethod
    def summary(data: TabularModel) -> dict[str, Any]:
        return {"dataset": data.dataset, "family": data.family, "params": data.params, "metric": data.metric,
                "cv_mean": data.cv_mean, "train_rows": data.train_rows, "trained_at": data.trained_at.isoformat(),
                "tracking_model_uri": data.tracking_model_uri}

    def load(self, data_type: type[Any]) -> TabularModel:
        import joblib

        with self.artifact_store.open(self._path("summary.json"), "r") as handle:
            summary = json.load(handle)
        with self.artifact_store.open(self._path("pipeline.joblib"), "rb") as handle:
            pipeline = joblib.load(handle)
        with self.artifact_store.open(self._path("reference.parquet"), "rb") as handle:
            reference = pd.read_parquet(handle)
        summary["trained_at"] = datetime.fromisoformat(summary["trained_at"])
        return TabularModel(pipeline=pipeline, reference=reference, **summary)

    def save(self, data: TabularModel) -> None:
        import joblib

        with self.artifact_store.open(self._path("pipeline.joblib"), "wb") as handle:
            joblib.dump(data.pipeline, handle)
        with self.artifact_store.open(self._path("reference.parquet"), "wb") as handle:
            data.reference.to_parquet(handle, index=False)
        with self.artifact_store.open(self._path("summary.json"), "w") as handle:
            json.dump(self.summary(data), handle, indent=1, default=str)

    def compute_content_hash(self, data: TabularModel) -> str:
        return hashlib.sha256(json.dumps(self.summary(data), sort_keys=True, default=str).encode()).hexdigest()

    def save_visualizations(self, data: TabularModel) -> dict[str, VisualizationType]:
        from stackpipes.core import views

        rows = [("dataset", data.dataset.get("name")), ("model", data.describe()),
                ("trained at", f"{data.trained_at:%Y-%m-%d %H:%M:%S} UTC"), ("reference rows kept", len(data.reference)),
                ("MLflow model", data.tracking_model_uri or "n/a")]
        uri = self._path("model.html")
        with self.artifact_store.open(uri, "w") as handle:
            handle.write(views.page(f"Model {data.family}", f"<h3>{views.esc(data.family)}</h3>"
                                    + views.table(["", "value"], rows)))
        return {uri.replace("\\", "/"): VisualizationType.HTML}

    def extract_metadata(self, data: TabularModel) -> dict[str, Any]:
        return {"family": data.family, "cv_mean": data.cv_mean or 0.0, "train_rows": data.train_rows,
                "trained_at": data.trained_at.isoformat()}


class SweepMaterializer(ReportMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (SweepShard, SweepResult)

"""Materializers for the forecaster (a fitted statsmodels model) and its forecasts.

`ForecastModel` is stored as bytes plus a JSON summary and shown as a backtest table;
`Forecast` is stored as CSV + PNG and shown as both.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer

import materializers.core  # noqa: F401  (registers the shared ones)
from stackpipes.chat_forecast.model import ForecastModel
from stackpipes.chat_forecast.types import Forecast


class ForecastModelMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (ForecastModel,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def load(self, data_type: type[Any]) -> ForecastModel:
        with self.artifact_store.open(os.path.join(self.uri, "model.pkl"), "rb") as handle:
            model = ForecastModel.from_bytes(handle.read())
        return model

    def save(self, data: ForecastModel) -> None:
        with self.artifact_store.open(os.path.join(self.uri, "model.pkl"), "wb") as handle:
            handle.write(data.to_bytes())
        with self.artifact_store.open(os.path.join(self.uri, "summary.json"), "w") as handle:
            json.dump(data.summary(), handle, indent=1, default=str)

    def compute_content_hash(self, data: ForecastModel) -> str:
        # A trained model is identified by what it was trained on and when; pickles of the same
        # model are not guaranteed byte-identical, the summary is.
        summary = json.dumps(data.summary(), sort_keys=True, default=str)
        return hashlib.sha256(summary.encode()).hexdigest()

    def save_visualizations(self, data: ForecastModel) -> dict[str, VisualizationType]:
        summary = data.summary()
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items()
        )
        uri = os.path.join(self.uri, "model.html")
        with self.artifact_store.open(uri, "w") as handle:
            handle.write(
                f"<html><body style='font-family:sans-serif'><h3>Forecaster: {html.escape(data.candidate)}</h3>"
                f"<table border='1' cellpadding='4' style='border-collapse:collapse'>{rows}</table></body></html>"
            )
        return {uri: VisualizationType.HTML}

    def extract_metadata(self, data: ForecastModel) -> dict[str, Any]:
        return {
            "candidate": data.candidate,
            "train_end": str(data.train_end),
            "trained_at": str(data.trained_at),
            **{f"backtest_smape_{k}": float(v) for k, v in data.backtest.items() if v == v and abs(v) != float("inf")},
        }


class ForecastMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Forecast,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def load(self, data_type: type[Any]) -> Forecast:
        with self.artifact_store.open(os.path.join(self.uri, "forecast.csv"), "r") as handle:
            frame = pd.read_csv(handle)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
        with self.artifact_store.open(os.path.join(self.uri, "forecast.png"), "rb") as handle:
            png = handle.read()
        with self.artifact_store.open(os.path.join(self.uri, "meta.json"), "r") as handle:
            meta = json.load(handle)
        return Forecast(frame=frame, png=png, model=meta["model"], generated_at=datetime.fromisoformat(meta["generated_at"]))

    def save(self, data: Forecast) -> None:
        buffer = io.StringIO()
        data.frame.to_csv(buffer, index=False)
        with self.artifact_store.open(os.path.join(self.uri, "forecast.csv"), "w") as handle:
            handle.write(buffer.getvalue())
        with self.artifact_store.open(os.path.join(self.uri, "forecast.png"), "wb") as handle:
            handle.write(data.png)
        with self.artifact_store.open(os.path.join(self.uri, "meta.json"), "w") as handle:
            json.dump({"model": data.model, "generated_at": data.generated_at.isoformat()}, handle)

    def save_visualizations(self, data: Forecast) -> dict[str, VisualizationType]:
        return {
            os.path.join(self.uri, "forecast.png"): VisualizationType.IMAGE,
            os.path.join(self.uri, "forecast.csv"): VisualizationType.CSV,
        }

    def extract_metadata(self, data: Forecast) -> dict[str, Any]:
        return {"start": str(data.start), "end": str(data.end), "model": data.model, "hours": len(data.frame)}

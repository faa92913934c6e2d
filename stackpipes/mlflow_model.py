"""The forecaster as an MLflow pyfunc model, so the MLflow registry holds a loadable model.

Imported only when logging to MLflow: `mlflow.pyfunc` is slow to import.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

from stackpipes.forecasting import ForecastModel


class ForecastPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc wrapper: `predict(pd.DataFrame({"horizon": [24]}))` returns the forecast."""

    def __init__(self, model: ForecastModel):
        self._blob = model.to_bytes()

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        model = ForecastModel.from_bytes(self._blob)
        horizon = int(model_input["horizon"].iloc[0]) if "horizon" in model_input else 24
        return model.predict(horizon)

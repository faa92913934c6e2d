"""The forecaster in MLflow: a pyfunc model (what the MLflow registry holds) and the run's logging.

Imported only when logging to MLflow: `mlflow.pyfunc` is slow to import.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, Optional

import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from stackpipes.chat_forecast.model import ForecastModel
from stackpipes.chat_forecast.plot import plot_forecast
from stackpipes.core import tracking


class ForecastPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc wrapper: `predict(pd.DataFrame({"horizon": [24]}))` returns the forecast."""

    def __init__(self, model: ForecastModel):
        self._blob = model.to_bytes()

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        model = ForecastModel.from_bytes(self._blob)
        horizon = int(model_input["horizon"].iloc[0]) if "horizon" in model_input else 24
        return model.predict(horizon)


def log_trained_forecaster(model: Any, series_hours: int) -> Optional[str]:
    """Log params, backtest metrics, the model and its plot; return the MLflow model URI."""
    if tracking.active_run() is None:
        return None
    tracking.log_params({"candidate": model.candidate, "series_hours": series_hours, **model.params})
    tracking.log_metrics({f"backtest_smape_{name}": value for name, value in model.backtest.items()})
    tracking.log_bytes(
        plot_forecast(model.history_tail, model.predict(24), title=f"{model.candidate} forecast"),
        "training/forecast.png",
    )
    # The horizon is a whole number of hours and never missing: declared, not inferred from ints.
    signature = ModelSignature(
        inputs=Schema([ColSpec("long", "horizon")]),
        outputs=Schema([ColSpec("datetime", "timestamp"), ColSpec("double", "forecast")]),
    )
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=ForecastPyfunc(model),
        signature=signature,
        input_example=pd.DataFrame({"horizon": [24]}),
        pip_requirements=[f"{name}=={version(name)}" for name in ("statsmodels", "pandas")],
    )
    return info.model_uri

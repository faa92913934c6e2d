"""The horoscope model in MLflow: a pyfunc that writes a horoscope for each (sign, date) row.

Imported only when logging to MLflow: `mlflow.pyfunc` is slow to import.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from stackpipes.lm.mlflow_pyfunc import LanguageModelPyfunc, log_language_model


class HoroscopePyfunc(LanguageModelPyfunc):
    """`predict(pd.DataFrame({"sign": ["aries"], "date": ["2026-11-08"]}))` -> a `text` column."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from stackpipes.horoscope.generation import generate_horoscopes

        seed = int((params or {}).get("seed", 0))
        texts = [
            generate_horoscopes(self._lm, str(row.sign), str(row.date), 1, seed)[0]
            for row in model_input.itertuples()
        ]
        return model_input.assign(text=texts)


def log_horoscope_model(lm: Any, name: str = "model") -> str:
    """Log the horoscope model to the active MLflow run; returns its model URI."""
    example = pd.DataFrame({"sign": ["aries"], "date": ["2026-11-08"]})
    return log_language_model(lm, HoroscopePyfunc(), example, example.assign(text=["..."]), name=name)

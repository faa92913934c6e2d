"""A `LanguageModel` as an MLflow pyfunc model, so the MLflow registry holds a servable model.

The model, tokenizer and generation config are logged as one artifact folder in Hugging Face
format (the materializer's layout); `predict` generates horoscopes for rows of (sign, date).
Imported only when logging to MLflow: `mlflow.pyfunc` is slow to import.
"""

from __future__ import annotations

import tempfile
from typing import Any

import mlflow.pyfunc
import pandas as pd

ARTIFACT_KEY = "language_model"


class HoroscopePyfunc(mlflow.pyfunc.PythonModel):
    """`predict(pd.DataFrame({"sign": ["aries"], "date": ["2026-11-08"]}))` -> a `text` column."""

    def load_context(self, context: Any) -> None:
        from materializers.hf_model import read_bundle

        self._lm = read_bundle(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from stackpipes.horoscope.modeling import generate_horoscopes

        seed = int((params or {}).get("seed", 0))
        texts = [
            generate_horoscopes(self._lm, str(row.sign), str(row.date), 1, seed)[0]
            for row in model_input.itertuples()
        ]
        return model_input.assign(text=texts)


def log_language_model(lm: Any, name: str = "model") -> str:
    """Log `lm` to the active MLflow run as a pyfunc model; returns its model URI."""
    import torch
    import transformers
    from mlflow.models import infer_signature

    from materializers.hf_model import write_bundle

    example = pd.DataFrame({"sign": ["aries"], "date": ["2026-11-08"]})
    with tempfile.TemporaryDirectory(prefix="stackpipes-lm-") as folder:
        write_bundle(lm, folder)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=HoroscopePyfunc(),
            artifacts={ARTIFACT_KEY: folder},
            signature=infer_signature(example, example.assign(text=["..."])),
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"transformers=={transformers.__version__}",
                              "pandas==2.3.3"],
        )
    return info.model_uri

"""A `LanguageModel` as an MLflow pyfunc model, so the MLflow registry holds a servable model.

The model, tokenizer and generation config are logged as one artifact folder in Hugging Face
format (the materializer's layout). What `predict` does belongs to the system that uses the
model: it subclasses `LanguageModelPyfunc`. Imported only when logging to MLflow: `mlflow.pyfunc`
is slow to import.
"""

from __future__ import annotations

import tempfile
from typing import Any

import mlflow.pyfunc
import pandas as pd

ARTIFACT_KEY = "language_model"


class LanguageModelPyfunc(mlflow.pyfunc.PythonModel):
    """Loads the logged model folder as `self._lm` (a `LanguageModel`); subclasses add `predict`."""

    def load_context(self, context: Any) -> None:
        from stackpipes.lm.materializer import read_bundle

        self._lm = read_bundle(context.artifacts[ARTIFACT_KEY])


def log_language_model(
    lm: Any, python_model: LanguageModelPyfunc, input_example: pd.DataFrame, output_example: pd.DataFrame,
    name: str = "model",
) -> str:
    """Log `lm` to the active MLflow run as `python_model`; returns its model URI. The examples give
    the model's signature (the columns `predict` takes and returns)."""
    import torch
    import transformers
    from mlflow.models import infer_signature

    from stackpipes.lm.materializer import write_bundle

    with tempfile.TemporaryDirectory(prefix="stackpipes-lm-") as folder:
        write_bundle(lm, folder)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=python_model,
            artifacts={ARTIFACT_KEY: folder},
            signature=infer_signature(input_example, output_example),
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"transformers=={transformers.__version__}",
                              "pandas==2.3.3"],
        )
    return info.model_uri

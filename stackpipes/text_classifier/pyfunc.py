"""The classifier in MLflow: a pyfunc that answers a `text` column with the predicted `label`, its
`probability` and the `top` classes. Imported only when logging to MLflow (slow to import)."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import mlflow.pyfunc
import pandas as pd

ARTIFACT_KEY = "text_classifier"


class TextClassifierPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        from stackpipes.text_classifier.model import read_classifier

        self._classifier = read_classifier(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        k = int((params or {}).get("top", 3))
        ranked = self._classifier.top(model_input["text"].astype(str).tolist(), k)
        return model_input.assign(label=[r[0][0] for r in ranked], probability=[r[0][1] for r in ranked],
                                  top=[json.dumps(r, ensure_ascii=False) for r in ranked])


def log_classifier(classifier: Any, name: str = "model") -> str:
    """Log the classifier to the active MLflow run; returns its model URI."""
    import sklearn
    import torch
    import transformers
    from mlflow.models import infer_signature

    from stackpipes.text_classifier.model import write_classifier

    example = pd.DataFrame({"text": ["how do I top up my card?"]})
    output = example.assign(label=["top_up"], probability=[0.9], top=["[]"])
    with tempfile.TemporaryDirectory(prefix="stackpipes-classifier-") as folder:
        write_classifier(classifier, folder)
        info = mlflow.pyfunc.log_model(
            name=name, python_model=TextClassifierPyfunc(), artifacts={ARTIFACT_KEY: folder},
            signature=infer_signature(example, output, params={"top": 3}),
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"transformers=={transformers.__version__}",
                              f"scikit-learn=={sklearn.__version__}", "pandas==2.3.3"],
        )
    return info.model_uri

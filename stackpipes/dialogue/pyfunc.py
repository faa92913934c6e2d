"""The dialogue model in MLflow: a pyfunc that answers a `context` column (a JSON list of
{"speaker": "user"|"bot", "text"} messages, oldest first) and a `message` column with an `answer`
column, the way the service does. Imported only when logging to MLflow (slow to import)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from stackpipes.lm.mlflow_pyfunc import LanguageModelPyfunc, log_language_model


class DialoguePyfunc(LanguageModelPyfunc):
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from stackpipes.dialogue.answer import Answerer, parse_context

        answerer = Answerer(self._lm)
        contexts = [parse_context(raw) for raw in model_input["context"]]
        answers = answerer.answer_many(contexts, model_input["message"].astype(str).tolist())
        return model_input.assign(answer=answers)


def log_dialogue_model(lm: Any, name: str = "model") -> str:
    """Log the model to the active MLflow run; returns its model URI."""
    example = pd.DataFrame({"context": ['[{"speaker": "user", "text": "hi there"}, {"speaker": "bot", "text": "hello!"}]'],
                            "message": ["how are you?"]})
    return log_language_model(lm, DialoguePyfunc(), example, example.assign(answer=["fine, thanks"]), name=name)

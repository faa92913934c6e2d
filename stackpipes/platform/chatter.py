"""Library log lines (and warnings) the console does not show: each names its logger, the text that tells it
apart, and why it is noise here. Dropped only at the logger that writes it (every handler, the
step logs in the store included), so nothing else from these libraries is hidden.

Installed by `env.boot_zenml` in every process of the project (CLI, step processes, warm step
workers, Airflow tasks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass


@dataclass(frozen=True)
class Chatter:
    logger: str
    contains: str
    why: str


CHATTER: tuple[Chatter, ...] = (
    Chatter("zenml.pipelines.pipeline_definition", "zenml login --local",
            "points at a dashboard of another store; `run.py dashboard` opens this project's"),
    Chatter("zenml.orchestrators.step_run_utils", "ZenML Pro",
            "an advertisement; `run.py review models` shows the production models"),
    Chatter("great_expectations.data_context.types.base", "for ephemeral docs site",
            "the data checks build no docs site; their results are the check step's artifact"),
    Chatter("mlflow.store.db.utils", "database tables",
            "MLflow creating or migrating its own SQLite store"),
    Chatter("mlflow.pyfunc", "serialized using CloudPickle",
            "our pyfunc objects hold only their model's bytes and are loaded by this project's code"),
    Chatter("mlflow.pyfunc", "Validating input example against model signature",
            "MLflow narrating its check of the example we give it; a failure is still reported"),
    Chatter("zenml.integrations.mlflow.model_registries.mlflow_model_registry",
            "uses aliases instead of stages", "a migration note about MLflow 3's aliases, which we use"),
    Chatter("py4j.clientserver", "Closing down clientserver connection",
            "Spark's bridge saying goodbye at exit, after the run's summary (and often to a closed stream)"),
)

# Python warnings (not log records) that are chatter: (message pattern, category, why).
WARNING_CHATTER: tuple[tuple[str, type[Warning], str], ...] = (
    (r"(?s).*An input example was not provided when logging the model", UserWarning,
     "a language model's pyfunc declares its signature; validating an example would generate text "
     "while the model is logged"),
    (r"(?s).*Hint: Inferred schema contains integer column", UserWarning,
     "a classifier's labels are integers; the hint is about integer inputs with missing values, and "
     "the tabular models' numeric inputs are floats"),
)


class ChatterFilter(logging.Filter):
    """Drops the records of one logger whose message contains one of `texts`."""

    def __init__(self, texts: tuple[str, ...]):
        super().__init__()
        self.texts = texts

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the library's to report, not ours to hide
            return True
        return not any(text in message for text in self.texts)


def quiet_library_chatter(chatter: tuple[Chatter, ...] = CHATTER) -> None:
    """Install the filters (idempotent)."""
    import warnings

    for pattern, category, _why in WARNING_CHATTER:
        warnings.filterwarnings("ignore", message=pattern, category=category)
    by_logger: dict[str, tuple[str, ...]] = {}
    for item in chatter:
        by_logger[item.logger] = by_logger.get(item.logger, ()) + (item.contains,)
    for name, texts in by_logger.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, ChatterFilter) and f.texts == texts for f in logger.filters):
            logger.addFilter(ChatterFilter(texts))

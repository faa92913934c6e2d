"""Refit the sweep's winner on the whole training part, and test it against production on the held-out rows.

The training step always runs (static DAGs cannot skip one): with no retrain due it returns the
production model unchanged.
"""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

import materializers.ratings  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.registry import keep_production_model, load_production_model
from stackpipes.core.types import ModelEvaluation, ProductionInfo, RetrainDecision
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG
from stackpipes.ratings import MODEL_ARTIFACT
from stackpipes.ratings.datasets import DatasetConfig
from stackpipes.ratings.leaderboard import SweepResult
from stackpipes.ratings.model import TabularModel
from stackpipes.ratings.preprocessing import PreprocessingConfig
from stackpipes.ratings.sweep import SweepConfig

logger = get_logger(__name__)


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def train_model(
    train_rows: pd.DataFrame,
    sweep_result: SweepResult,
    decision: RetrainDecision,
    production: ProductionInfo,
    dataset: DatasetConfig,
    sweep: SweepConfig,
    preprocessing: Optional[PreprocessingConfig] = None,
    log_model_to_mlflow: bool = True,
) -> Annotated[Optional[TabularModel], ArtifactConfig(name=MODEL_ARTIFACT, artifact_type=ArtifactType.MODEL)]:
    """The winner refitted on every training row (preprocessing fitted on them alone)."""
    from stackpipes.ratings.model import fit_model

    if not decision.retrain or sweep_result.best is None:
        return keep_production_model(decision, production)
    model = fit_model(train_rows, dataset, sweep_result.best, sweep.seed, preprocessing)
    if log_model_to_mlflow and tracking.active_run() is not None:
        import mlflow.sklearn
        from skops.io import dumps, get_untrusted_types

        example = train_rows[dataset.model_columns()].head(5)
        # skops, MLflow's safe format, loads only the types it is told to trust: those of this
        # pipeline, built in this step (its estimator's trees, the project's transformers).
        trusted = get_untrusted_types(data=dumps(model.pipeline))
        info = mlflow.sklearn.log_model(model.pipeline, name="model", input_example=example,
                                        skops_trusted_types=trusted)
        model.tracking_model_uri = info.model_uri
    log_metadata({"family": model.family, "params": model.params, "trained_at": model.trained_at.isoformat(),
                  "train_rows": model.train_rows}, infer_model=True)
    logger.info("Trained %s", model.describe())
    return model


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def evaluate_model(
    model: Optional[TabularModel],
    train_rows: pd.DataFrame,
    test_rows: pd.DataFrame,
    decision: RetrainDecision,
    production: ProductionInfo,
    dataset: DatasetConfig,
    preprocessing: Optional[PreprocessingConfig] = None,
) -> Annotated[ModelEvaluation, "model_evaluation"]:
    """The new model and production scored on the same held-out rows; a default linear baseline
    trained on the same split is scored beside them (metadata `baseline_<metric>`)."""
    from stackpipes.ratings.model import baseline_model, score

    metric = f"test_{dataset.metric}"
    holdout = f"the {len(test_rows)} held-out rows of dataset {dataset.name} (split seed {dataset.split.seed})"
    if not decision.retrain or model is None:
        return ModelEvaluation(metric=metric, higher_is_better=True, retrained=False, holdout=holdout)
    challenger = score(model.pipeline, test_rows, dataset)
    baseline = score(baseline_model(train_rows, dataset, preprocessing), test_rows, dataset)
    incumbent = None
    if production.exists:
        previous = load_production_model(production)
        incumbent = score(previous.pipeline, test_rows, dataset)
    facts = {metric: challenger, f"baseline_{dataset.metric}": baseline}
    if dataset.report_group:
        from stackpipes.ratings.leaderboard import film_ratings

        films = film_ratings(test_rows, model.pipeline.predict(test_rows[dataset.model_columns()]),
                             dataset.report_group, dataset.target)
        facts[f"{dataset.report_group}_rating_correlation"] = float(films["actual"].corr(films["predicted"]))
        tracking.log_table(films, f"test/{dataset.report_group}_ratings.json")
    tracking.log_metrics({**facts, f"{metric}_production": incumbent})
    log_metadata({**facts, "trained_at": model.trained_at.isoformat()}, infer_model=True)
    log_metadata({**facts, "production": incumbent if incumbent is not None else "none"})
    logger.info("Test %s: challenger %.4f, production %s, default baseline %.4f", dataset.metric, challenger,
                f"{incumbent:.4f}" if incumbent is not None else "none", baseline)
    return ModelEvaluation(metric=metric, higher_is_better=True, retrained=True, challenger=challenger,
                           production=incumbent, holdout=holdout, tracking_model_uri=model.tracking_model_uri)

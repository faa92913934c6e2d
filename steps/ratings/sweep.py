"""The sweep's steps: `parallel` shards fixed at compile time (parallel tasks/pods on Airflow and
Kubernetes, one after another locally); `select_best` gathers them and records every trial as a
nested MLflow run under the run's MLflow run (with the times it ran), so the shards themselves
are pure computation: no tracking client, no concurrent writers to the tracking store."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger
from zenml.types import HTMLString

import materializers.ratings  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.types import RetrainDecision
from stackpipes.platform.bounds import count
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG
from stackpipes.ratings import MAX_PARALLEL
from stackpipes.ratings.datasets import DatasetConfig
from stackpipes.ratings.leaderboard import SweepResult, SweepShard
from stackpipes.ratings.preprocessing import PreprocessingConfig
from stackpipes.ratings.sweep import SweepConfig

logger = get_logger(__name__)
SHARD_STEP = "sweep_trials"  # shard i runs as step `sweep_trials_<i>`


@step
def sweep_trials(
    train_rows: pd.DataFrame,
    decision: RetrainDecision,
    dataset: DatasetConfig,
    sweep: SweepConfig,
    shard: count(0, MAX_PARALLEL - 1) = 0,
    preprocessing: Optional[PreprocessingConfig] = None,
) -> Annotated[SweepShard, "sweep_shard"]:
    """This shard's trials, each cross-validated on the training part; nothing when no retrain is due."""
    from stackpipes.ratings.splitting import cv_folds
    from stackpipes.ratings.sweep import run_shard

    if not decision.retrain:
        return SweepShard(shard=shard, skipped="no retrain: " + "; ".join(decision.reasons))
    started = time.perf_counter()
    folds = cv_folds(train_rows, dataset, sweep.folds, sweep.seed)
    results = run_shard(sweep, shard, train_rows, dataset, folds, preprocessing)
    seconds = time.perf_counter() - started
    failed = sum(r.error is not None for r in results)
    log_metadata({"trials": len(results), "failed_trials": failed, "seconds": seconds})
    logger.info("Sweep shard %d: %d trials in %.1f s (%d failed)", shard, len(results), seconds, failed)
    return SweepShard(shard=shard, results=results, seconds=seconds)


@step(enable_cache=False, experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)  # reads this run's steps
def select_best(dataset: DatasetConfig, sweep: SweepConfig) -> tuple[
        Annotated[SweepResult, "sweep_result"], Annotated[HTMLString, "sweep_leaderboard"]]:
    """Every shard's trials (the steps `sweep_trials_<i>` of this run) -> the leaderboard and the winner;
    the leaderboard and its chart go to the run's MLflow run (the trials' parent) too."""
    from zenml.client import Client

    from stackpipes.ratings.leaderboard import chart_png, gather

    run = Client().get_pipeline_run(get_step_context().pipeline_run.id)
    shards = [step_run.outputs["sweep_shard"][0].load() for name, step_run in sorted(run.steps.items())
              if name.startswith(SHARD_STEP) and "sweep_shard" in step_run.outputs]
    if len(shards) != sweep.parallel:
        raise RuntimeError(f"select_best found {len(shards)} sweep steps, the sweep has {sweep.parallel}")
    result = gather(shards, sweep.strategy, dataset.metric)
    if result.best is not None:
        for trial in result.results:
            tracking.log_child_run(
                f"trial-{trial.index:03d}", {"family": trial.family, **trial.params},
                {"cv_mean": trial.cv_mean, "cv_std": trial.cv_std, "fit_seconds": trial.fit_seconds},
                tags={"sweep_shard": str(trial.shard), **({"error": trial.error[:250]} if trial.error else {})},
                started=trial.started_at, ended=(trial.started_at or 0) + trial.fit_seconds if trial.started_at else None)
        table = result.table()
        tracking.log_table(table, "sweep/leaderboard.json")
        tracking.log_bytes(chart_png(table, dataset.metric), "sweep/leaderboard.png")
        tracking.log_metrics({f"best_cv_{dataset.metric}": result.best.cv_mean})
        tracking.log_params({"best_trial": result.best.index, "best_family": result.best.family})
        log_metadata({"trials": len(result.results), "best_trial": result.best.index, "best_family": result.best.family,
                      "best_params": result.best.params, "best_cv": result.best.cv_mean,
                      "shard_seconds": result.shard_seconds})
        logger.info("Sweep winner: trial %d %s %s (CV %s %.4f)", result.best.index, result.best.family,
                    result.best.params, dataset.metric, result.best.cv_mean)
    return result, HTMLString(result.to_html())

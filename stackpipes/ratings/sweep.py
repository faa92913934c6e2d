"""The parameter sweep: a search space over model families, trials planned by seed, k-fold cross-validation.

    sweep:
      strategy: random          # grid | random | optuna (TPE)
      trials: 24                # random / optuna: how many (grid: every combination)
      parallel: 2               # sweep steps, fixed when the pipeline compiles
      folds: 5
      seed: 42
      space:
        linear: {C: {low: 0.01, high: 100, log: true}}
        random_forest: {n_estimators: [100, 300], max_depth: [4, 8, null]}
        gradient_boosting: {learning_rate: {low: 0.02, high: 0.3, log: true}, max_depth: [2, 3]}

A parameter is a list of choices or a range (`low`, `high`, `log`, `integer`). `linear` is a
logistic regression for classification and a ridge regression for regression. Grid and random
trials are planned up front from the seed (families and parameters in name order, whatever the
file's order) and dealt to the `parallel` shards so that each gets
about the same work (the longest estimated trial to the least loaded shard; `estimated_cost`);
with optuna each shard runs its own TPE study, seeded by the sweep's seed and its index, for its
share of the trials. So the same file gives the same trials and the same winner on every stack,
however the shards are scheduled.

Each shard fits the preprocessing once per fold (on that fold's training rows only) and reuses
it for every trial: it depends on the rows, not on the model, so the scores are those of the
whole pipeline refitted per fold, for a fraction of the work.
"""

from __future__ import annotations

import difflib
import itertools
import math
import random
import time
from collections.abc import Callable
from typing import Any, Literal, Optional, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from stackpipes.ratings import MAX_FOLDS, MAX_PARALLEL, MAX_TRIALS
from stackpipes.ratings.datasets import DatasetConfig, Task
from stackpipes.ratings.preprocessing import PreprocessingConfig, build_preprocessor


class ParamRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low: float
    high: float
    log: bool = False
    integer: bool = False


ParamSpec = Union[list[Any], ParamRange]


class SweepConfig(BaseModel):
    """The search (see the module doc)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["grid", "random", "optuna"] = "random"
    trials: int = Field(default=20, ge=1, le=MAX_TRIALS)
    parallel: int = Field(default=1, ge=1, le=MAX_PARALLEL)
    folds: int = Field(default=5, ge=2, le=MAX_FOLDS)
    seed: int = 42
    space: dict[str, dict[str, ParamSpec]] = Field(min_length=1, max_length=20)


class Trial(BaseModel):
    index: int
    shard: int
    family: str
    params: dict[str, Any]


class TrialResult(Trial):
    metric: str
    cv_mean: Optional[float] = None
    cv_std: Optional[float] = None
    fit_seconds: float = 0.0
    started_at: Optional[float] = None  # epoch seconds, for the trial's MLflow run
    error: Optional[str] = None


def families(task: Task, seed: int) -> dict[str, Callable[..., Any]]:
    """Model family name -> a constructor taking the trial's parameters."""
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "classification":
        return {
            "linear": lambda **p: LogisticRegression(**{"max_iter": 5000, **p}),
            "random_forest": lambda **p: RandomForestClassifier(**{"random_state": seed, "n_jobs": 1, **p}),
            "gradient_boosting": lambda **p: GradientBoostingClassifier(**{"random_state": seed, **p}),
        }
    return {
        "linear": lambda **p: Ridge(**p),
        "random_forest": lambda **p: RandomForestRegressor(**{"random_state": seed, "n_jobs": 1, **p}),
        "gradient_boosting": lambda **p: GradientBoostingRegressor(**{"random_state": seed, **p}),
    }


def check_space(sweep: SweepConfig, task: Task) -> None:
    """Every family and parameter exists for the task, and grid sweeps name lists; raises ValueError
    naming the key (called when the pipeline compiles, before any step)."""
    known = families(task, sweep.seed)
    for family, params in sweep.space.items():
        if family not in known:
            raise ValueError(f"sweep.space.{family}: not a model family; expected one of {sorted(known)}")
        estimator = known[family]()
        allowed = set(estimator.get_params())
        for name, spec in params.items():
            if name not in allowed:
                close = difflib.get_close_matches(name, sorted(allowed), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise ValueError(f"sweep.space.{family}.{name}: not a parameter of {type(estimator).__name__}{hint}")
            if isinstance(spec, list) and not spec:
                raise ValueError(f"sweep.space.{family}.{name}: an empty list of choices")
            if isinstance(spec, ParamRange) and (spec.high < spec.low or (spec.log and spec.low <= 0)):
                raise ValueError(f"sweep.space.{family}.{name}: a range needs low <= high (and low > 0 with log)")
            if sweep.strategy == "grid" and not isinstance(spec, list):
                raise ValueError(f"sweep.space.{family}.{name}: a grid sweep needs a list of values, not a range")
    if sweep.strategy == "grid":
        size = sum(math.prod(len(v) for v in params.values()) for params in sweep.space.values())
        if size > MAX_TRIALS:
            raise ValueError(f"sweep.space: the grid has {size} combinations, more than {MAX_TRIALS}")


def _draw(rng: random.Random, spec: ParamSpec) -> Any:
    if isinstance(spec, list):
        return spec[rng.randrange(len(spec))]
    value = math.exp(rng.uniform(math.log(spec.low), math.log(spec.high))) if spec.log else rng.uniform(spec.low, spec.high)
    return int(round(value)) if spec.integer else float(f"{value:.6g}")


def plan_trials(sweep: SweepConfig) -> list[Trial]:
    """Every trial of a grid or random sweep, with the shard that runs it (optuna plans in its shards)."""
    # Families and parameters in name order: the trials do not depend on how the file orders its keys.
    planned: list[tuple[str, dict[str, Any]]] = []
    if sweep.strategy == "grid":
        for family in sorted(sweep.space):
            params = sweep.space[family]
            names = sorted(params)
            for values in itertools.product(*(params[n] for n in names)):
                planned.append((family, dict(zip(names, values, strict=True))))
    elif sweep.strategy == "random":
        rng = random.Random(sweep.seed)
        names = sorted(sweep.space)
        for index in range(sweep.trials):
            family = names[index % len(names)]  # every family gets its share of the trials
            planned.append((family, {n: _draw(rng, sweep.space[family][n]) for n in sorted(sweep.space[family])}))
    else:
        return []
    shards = deal(planned, sweep.parallel)
    return [Trial(index=i, shard=shards[i], family=f, params=p) for i, (f, p) in enumerate(planned)]


def estimated_cost(family: str, params: dict[str, Any]) -> float:
    """A rough relative cost of one trial (seconds of a 5-fold Titanic-sized sweep on one core),
    only to deal trials evenly: a linear model is cheap; forests grow with their trees (and
    fully grown trees cost more), boosting with its trees and their depth."""
    trees = float(params.get("n_estimators") or 100) / 100
    if family == "random_forest":
        grown = params.get("max_depth") is None and int(params.get("min_samples_leaf") or 1) == 1
        return trees * (1.4 if grown else 0.8)
    if family == "gradient_boosting":
        return trees * (0.25 + 0.23 * float(params.get("max_depth") or 3))
    return 0.1


def deal(planned: list[tuple[str, dict[str, Any]]], parallel: int) -> list[int]:
    """The shard of each planned trial: longest first to the least loaded shard (ties: the lower
    trial index, the lower shard), so the shards end at about the same time."""
    loads = [0.0] * parallel
    shards = [0] * len(planned)
    order = sorted(range(len(planned)), key=lambda i: (-estimated_cost(*planned[i]), i))
    for index in order:
        shard = min(range(parallel), key=lambda s: (loads[s], s))
        shards[index] = shard
        loads[shard] += estimated_cost(*planned[index])
    return shards


def prepare_folds(train: pd.DataFrame, dataset: DatasetConfig, folds: list[tuple],
                  preprocessing: Optional[PreprocessingConfig]) -> list[tuple[Any, Any, Any, Any]]:
    """Per fold: the preprocessing fitted on the fold's training rows, applied to both sides."""
    X, y = train[dataset.model_columns()], train[dataset.target]
    prepared = []
    for fit_index, valid_index in folds:
        prep = build_preprocessor(dataset, preprocessing).fit(X.iloc[fit_index], y.iloc[fit_index])
        prepared.append((prep.transform(X.iloc[fit_index]), y.iloc[fit_index].to_numpy(),
                         prep.transform(X.iloc[valid_index]), y.iloc[valid_index].to_numpy()))
    return prepared


def evaluate_trial(trial: Trial, prepared: list[tuple[Any, Any, Any, Any]], dataset: DatasetConfig,
                   seed: int) -> TrialResult:
    """Cross-validate one trial on the prepared folds; an estimator that rejects its parameters is
    a failed trial, not a crash."""
    from sklearn.metrics import get_scorer

    scorer = get_scorer(dataset.metric)
    scores: list[float] = []
    started, started_at = time.perf_counter(), time.time()
    try:
        for X_fit, y_fit, X_valid, y_valid in prepared:
            model = families(dataset.task, seed)[trial.family](**trial.params).fit(X_fit, y_fit)
            scores.append(float(scorer(model, X_valid, y_valid)))
    except (ValueError, TypeError) as exc:
        return TrialResult(**trial.model_dump(), metric=dataset.metric, fit_seconds=time.perf_counter() - started,
                           started_at=started_at, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    return TrialResult(**trial.model_dump(), metric=dataset.metric, cv_mean=float(np.mean(scores)),
                       cv_std=float(np.std(scores)), fit_seconds=time.perf_counter() - started, started_at=started_at)


def run_shard(sweep: SweepConfig, shard: int, train: pd.DataFrame, dataset: DatasetConfig, folds: list[tuple],
              preprocessing: Optional[PreprocessingConfig] = None,
              on_result: Callable[[TrialResult], None] = lambda result: None) -> list[TrialResult]:
    """The trials of one shard, in order; `on_result` sees each as it ends (MLflow logging)."""
    mine = [t for t in plan_trials(sweep) if t.shard == shard]
    if sweep.strategy != "optuna" and not mine:
        return []
    prepared = prepare_folds(train, dataset, folds, preprocessing)
    if sweep.strategy != "optuna":
        results = []
        for trial in mine:
            results.append(evaluate_trial(trial, prepared, dataset, sweep.seed))
            on_result(results[-1])
        return results
    return _optuna_shard(sweep, shard, prepared, dataset, on_result)


def _optuna_shard(sweep: SweepConfig, shard: int, prepared: list[tuple[Any, Any, Any, Any]], dataset: DatasetConfig,
                  on_result: Callable[[TrialResult], None]) -> list[TrialResult]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=sweep.seed * 1_000 + shard, n_startup_trials=min(5, sweep.trials))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    indices = list(range(shard, sweep.trials, sweep.parallel))
    results: list[TrialResult] = []

    def objective(optuna_trial: Any) -> float:
        family = optuna_trial.suggest_categorical("family", sorted(sweep.space))
        params = {}
        for name in sorted(sweep.space[family]):
            spec = sweep.space[family][name]
            key = f"{family}.{name}"
            if isinstance(spec, list):
                choice = optuna_trial.suggest_categorical(key, [repr(v) for v in spec])
                params[name] = spec[[repr(v) for v in spec].index(choice)]
            elif spec.integer:
                params[name] = optuna_trial.suggest_int(key, int(spec.low), int(spec.high), log=spec.log)
            else:
                params[name] = optuna_trial.suggest_float(key, spec.low, spec.high, log=spec.log)
        trial = Trial(index=indices[len(results)], shard=shard, family=family, params=params)
        result = evaluate_trial(trial, prepared, dataset, sweep.seed)
        results.append(result)
        on_result(result)
        return result.cv_mean if result.cv_mean is not None else float("-inf")

    study.optimize(objective, n_trials=len(indices))
    return results


def leaderboard(results: list[TrialResult]) -> pd.DataFrame:
    """Every trial, best first (scikit-learn scores: higher is better); failed trials last."""
    rows = [{"trial": r.index, "shard": r.shard, "family": r.family, "params": _params_text(r.params),
             "cv_mean": r.cv_mean, "cv_std": r.cv_std, "fit_seconds": round(r.fit_seconds, 3), "error": r.error or ""}
            for r in results]
    table = pd.DataFrame(rows, columns=["trial", "shard", "family", "params", "cv_mean", "cv_std", "fit_seconds", "error"])
    return table.sort_values(["cv_mean", "trial"], ascending=[False, True], na_position="last").reset_index(drop=True)


def best_trial(results: list[TrialResult]) -> TrialResult:
    """The highest mean CV score; a tie goes to the lower trial index (the same winner everywhere)."""
    scored = [r for r in results if r.cv_mean is not None]
    if not scored:
        errors = sorted({r.error for r in results if r.error})[:3]
        raise ValueError(f"no sweep trial could be scored ({len(results)} ran): {'; '.join(errors) or 'no trials'}")
    return min(scored, key=lambda r: (-round(r.cv_mean, 12), r.index))


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))

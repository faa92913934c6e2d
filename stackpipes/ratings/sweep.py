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
logistic regression for classification and a ridge regression for regression. Trials are dealt to
the `parallel` shards round-robin (grid, random: planned up front from the seed), or each shard runs
its own TPE study seeded by the sweep's seed and its index (optuna); so the same file gives the same
trials and the same winner on every stack, however the shards are scheduled.
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
    planned: list[tuple[str, dict[str, Any]]] = []
    if sweep.strategy == "grid":
        for family, params in sweep.space.items():
            names = list(params)
            for values in itertools.product(*(params[n] for n in names)):
                planned.append((family, dict(zip(names, values, strict=True))))
    elif sweep.strategy == "random":
        rng = random.Random(sweep.seed)
        names = list(sweep.space)
        for index in range(sweep.trials):
            family = names[index % len(names)]  # every family gets its share of the trials
            planned.append((family, {n: _draw(rng, s) for n, s in sweep.space[family].items()}))
    else:
        return []
    return [Trial(index=i, shard=i % sweep.parallel, family=f, params=p) for i, (f, p) in enumerate(planned)]


def shard_trial_count(sweep: SweepConfig, shard: int) -> int:
    """Trials an optuna shard runs: the sweep's trials dealt round-robin."""
    return len(range(shard, sweep.trials, sweep.parallel))


def evaluate_trial(trial: Trial, train: pd.DataFrame, dataset: DatasetConfig, folds: list[tuple],
                   preprocessing: Optional[PreprocessingConfig], seed: int) -> TrialResult:
    """Cross-validate one trial; an estimator that rejects its parameters is a failed trial, not a crash."""
    from sklearn.metrics import get_scorer
    from sklearn.pipeline import Pipeline

    scorer = get_scorer(dataset.metric)
    X, y = train[dataset.model_columns()], train[dataset.target]
    scores: list[float] = []
    started = time.perf_counter()
    try:
        for fit_index, valid_index in folds:
            model = Pipeline([("prep", build_preprocessor(dataset, preprocessing)),
                              ("model", families(dataset.task, seed)[trial.family](**trial.params))])
            model.fit(X.iloc[fit_index], y.iloc[fit_index])
            scores.append(float(scorer(model, X.iloc[valid_index], y.iloc[valid_index])))
    except (ValueError, TypeError) as exc:
        return TrialResult(**trial.model_dump(), metric=dataset.metric, fit_seconds=time.perf_counter() - started,
                           error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    return TrialResult(**trial.model_dump(), metric=dataset.metric, cv_mean=float(np.mean(scores)),
                       cv_std=float(np.std(scores)), fit_seconds=time.perf_counter() - started)


def run_shard(sweep: SweepConfig, shard: int, train: pd.DataFrame, dataset: DatasetConfig, folds: list[tuple],
              preprocessing: Optional[PreprocessingConfig] = None,
              on_result: Callable[[TrialResult], None] = lambda result: None) -> list[TrialResult]:
    """The trials of one shard, in order; `on_result` sees each as it ends (MLflow logging)."""
    if sweep.strategy != "optuna":
        results = []
        for trial in (t for t in plan_trials(sweep) if t.shard == shard):
            results.append(evaluate_trial(trial, train, dataset, folds, preprocessing, sweep.seed))
            on_result(results[-1])
        return results
    return _optuna_shard(sweep, shard, train, dataset, folds, preprocessing, on_result)


def _optuna_shard(sweep: SweepConfig, shard: int, train: pd.DataFrame, dataset: DatasetConfig, folds: list[tuple],
                  preprocessing: Optional[PreprocessingConfig], on_result: Callable[[TrialResult], None]) -> list[TrialResult]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=sweep.seed * 1_000 + shard, n_startup_trials=min(5, sweep.trials))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    indices = list(range(shard, sweep.trials, sweep.parallel))
    results: list[TrialResult] = []

    def objective(optuna_trial: Any) -> float:
        family = optuna_trial.suggest_categorical("family", list(sweep.space))
        params = {}
        for name, spec in sweep.space[family].items():
            key = f"{family}.{name}"
            if isinstance(spec, list):
                choice = optuna_trial.suggest_categorical(key, [repr(v) for v in spec])
                params[name] = spec[[repr(v) for v in spec].index(choice)]
            elif spec.integer:
                params[name] = optuna_trial.suggest_int(key, int(spec.low), int(spec.high), log=spec.log)
            else:
                params[name] = optuna_trial.suggest_float(key, spec.low, spec.high, log=spec.log)
        trial = Trial(index=indices[len(results)], shard=shard, family=family, params=params)
        result = evaluate_trial(trial, train, dataset, folds, preprocessing, sweep.seed)
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

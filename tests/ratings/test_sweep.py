"""The sweep: planned by seed (same config, same trials, same winner however it is sharded), its
search space checked before any step, and a failing trial recorded rather than fatal."""

from __future__ import annotations

import pytest

from stackpipes.ratings.splitting import cv_folds, split_table
from stackpipes.ratings.sweep import (
    SweepConfig,
    best_trial,
    check_space,
    estimated_cost,
    leaderboard,
    plan_trials,
    run_shard,
)
from tests.ratings.conftest import SMALL_SWEEP


def _run_all(sweep: SweepConfig, train, config):
    folds = cv_folds(train, config, sweep.folds, sweep.seed)
    return [r for shard in range(sweep.parallel) for r in run_shard(sweep, shard, train, config, folds)]


@pytest.fixture(scope="module")
def titanic_train(titanic_config, titanic_table):
    return split_table(titanic_table, titanic_config)[0]


def test_random_trials_are_the_same_for_the_same_seed_and_dealt_evenly():
    sweep = SweepConfig.model_validate({**SMALL_SWEEP, "trials": 12})
    first, again = plan_trials(sweep), plan_trials(sweep)
    assert first == again and len(first) == 12
    assert [t.family for t in first[:3]] == ["gradient_boosting", "linear", "random_forest"]  # in name order
    reordered = sweep.model_copy(update={"space": dict(reversed(list(sweep.space.items())))})
    assert plan_trials(reordered) == first  # the file's key order does not change the trials
    loads = [sum(estimated_cost(t.family, t.params) for t in first if t.shard == s) for s in (0, 1)]
    heaviest = max(estimated_cost(t.family, t.params) for t in first)
    assert abs(loads[0] - loads[1]) <= heaviest  # the longest-first deal keeps the shards within one trial
    other = plan_trials(sweep.model_copy(update={"seed": 4}))
    assert [t.params for t in other] != [t.params for t in first]


def test_the_same_config_gives_the_same_winner_on_one_shard_or_two(titanic_config, titanic_train):
    two = SweepConfig.model_validate(SMALL_SWEEP)
    one = two.model_copy(update={"parallel": 1})
    results_two, results_one = _run_all(two, titanic_train, titanic_config), _run_all(one, titanic_train, titanic_config)
    assert len(results_two) == len(results_one) == 6
    by_index = {r.index: r.cv_mean for r in results_one}
    assert all(r.cv_mean == pytest.approx(by_index[r.index]) for r in results_two)
    winner = best_trial(results_two)
    assert (winner.index, winner.params) == (best_trial(results_one).index, best_trial(results_one).params)
    board = leaderboard(results_two)
    assert board.iloc[0]["trial"] == winner.index and board["cv_mean"].is_monotonic_decreasing


def test_a_grid_runs_every_combination_and_optuna_is_seeded(titanic_config, titanic_train):
    grid = SweepConfig.model_validate({**SMALL_SWEEP, "strategy": "grid", "space": {
        "linear": {"C": [0.1, 1.0]}, "random_forest": {"n_estimators": [10], "max_depth": [2, 4]}}})
    assert [(t.family, t.params) for t in plan_trials(grid)] == [
        ("linear", {"C": 0.1}), ("linear", {"C": 1.0}),
        ("random_forest", {"max_depth": 2, "n_estimators": 10}), ("random_forest", {"max_depth": 4, "n_estimators": 10})]
    optuna = SweepConfig.model_validate({**SMALL_SWEEP, "strategy": "optuna", "trials": 4})
    first = _run_all(optuna, titanic_train, titanic_config)
    again = _run_all(optuna, titanic_train, titanic_config)
    assert sorted(r.index for r in first) == [0, 1, 2, 3]
    assert [(r.family, r.params, r.cv_mean) for r in first] == [(r.family, r.params, r.cv_mean) for r in again]


@pytest.mark.parametrize("space, message", [
    ({"svm": {"C": [1]}}, "sweep.space.svm: not a model family"),
    ({"random_forest": {"max_dept": [3]}}, "sweep.space.random_forest.max_dept: not a parameter of RandomForestClassifier; did you mean max_depth"),
    ({"linear": {"C": {"low": 10, "high": 1}}}, "sweep.space.linear.C: a range needs low <= high"),
])
def test_a_wrong_search_space_names_the_key(space, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        check_space(SweepConfig.model_validate({**SMALL_SWEEP, "space": space}), "classification")


def test_a_grid_needs_lists():
    with pytest.raises(ValueError, match="a grid sweep needs a list of values"):
        check_space(SweepConfig.model_validate({**SMALL_SWEEP, "strategy": "grid"}), "classification")


def test_a_trial_whose_parameters_the_estimator_rejects_is_recorded_not_fatal(titanic_config, titanic_train):
    sweep = SweepConfig.model_validate({**SMALL_SWEEP, "strategy": "grid", "parallel": 1, "space": {
        "random_forest": {"n_estimators": [10, -5], "max_depth": [3]}}})
    results = _run_all(sweep, titanic_train, titanic_config)
    assert results[1].error and "n_estimators" in results[1].error and results[1].cv_mean is None
    assert best_trial(results).index == 0
    with pytest.raises(ValueError, match="no sweep trial could be scored"):
        best_trial([results[1]])

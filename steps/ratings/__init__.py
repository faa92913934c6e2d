"""The ratings system's steps: collection and landing, the table, the sweep, training and testing."""

from steps.ratings.collect import collect_comments, land_raw_comments
from steps.ratings.data import load_table, prepare_table, production_reference, split_dataset
from steps.ratings.sweep import SHARD_STEP, select_best, sweep_trials
from steps.ratings.train import evaluate_model, train_model

__all__ = ["SHARD_STEP", "collect_comments", "evaluate_model", "land_raw_comments", "load_table", "prepare_table",
           "production_reference", "select_best", "split_dataset", "sweep_trials", "train_model"]

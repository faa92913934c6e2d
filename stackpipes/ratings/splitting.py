"""The held-out split and the cross-validation folds: seeded, stratified for classification,
grouped where the dataset names a group column (no film on both sides)."""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    StratifiedKFold,
    train_test_split,
)

from stackpipes.ratings.datasets import DatasetConfig, DatasetError


def split_table(table: pd.DataFrame, dataset: DatasetConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) as the dataset's `split` says; the same seed gives the same rows."""
    split = dataset.split
    if split.group:
        groups = table[split.group]
        if groups.nunique() < 2:
            raise DatasetError(f"dataset {dataset.name}: split.group {split.group!r} has a single value; "
                               "a grouped split needs at least two")
        train_index, test_index = next(GroupShuffleSplit(n_splits=1, test_size=split.test_size,
                                                         random_state=split.seed).split(table, groups=groups))
        train, test = table.iloc[train_index], table.iloc[test_index]
    else:
        stratify = table[dataset.target] if dataset.task == "classification" else None
        if stratify is not None and stratify.value_counts().min() < 2:
            raise DatasetError(f"dataset {dataset.name}: a class of {dataset.target!r} has a single row; "
                               "a stratified split needs two of each")
        train, test = train_test_split(table, test_size=split.test_size, random_state=split.seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def cv_folds(train: pd.DataFrame, dataset: DatasetConfig, folds: int, seed: int) -> list[tuple]:
    """The (train, validation) index pairs of k-fold cross-validation on the training part."""
    if dataset.split.group:
        groups = train[dataset.split.group]
        if groups.nunique() < folds:
            raise DatasetError(f"dataset {dataset.name}: {groups.nunique()} groups in the training part, "
                               f"fewer than the sweep's {folds} folds")
        return list(GroupKFold(n_splits=folds).split(train, groups=groups))
    if dataset.task == "classification":
        smallest = train[dataset.target].value_counts().min()
        if smallest < folds:
            raise DatasetError(f"dataset {dataset.name}: the rarest class has {smallest} training rows, "
                               f"fewer than the sweep's {folds} folds")
        return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(train, train[dataset.target]))
    return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(train))

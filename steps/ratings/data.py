"""The table a dataset file describes: read as it is (kept), prepared, and split."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.ratings  # noqa: F401  (registers its materializers)
from stackpipes.core import tracking
from stackpipes.core.types import ProductionInfo
from stackpipes.platform.flavors.lazy_components import MLFLOW_RUN_ON_FIRST_LOG
from stackpipes.ratings.datasets import DatasetConfig

logger = get_logger(__name__)


@step(enable_cache=False)  # the file or the landed objects may have changed
def load_table(dataset: DatasetConfig) -> Annotated[pd.DataFrame, "raw_table"]:
    """The rows as they arrived (a file read as is, or every landed object), kept as this artifact
    before anything is changed."""
    from stackpipes.core.landing import landing_root, list_raw, read_raw
    from stackpipes.ratings.datasets import read_csv_file, resolve_path

    source = dataset.source
    if source.kind == "file":
        path = resolve_path(source.path or "")
        raw = read_csv_file(path, source.na_values, dataset.name)
        origin = str(path)
    else:
        from stackpipes.ratings.schema import RAW_COLUMNS

        root, secret = landing_root(source.system, source.raw_root, source.secret_name)
        uris = list_raw(root, secret)
        if not uris:
            raise ValueError(f"dataset {dataset.name}: nothing landed under {root} yet; "
                             f"run python run.py --stack ... --pipeline {source.system}_collect first")
        raw = read_raw(uris, RAW_COLUMNS, secret)
        origin = f"{root} ({len(uris)} objects)"
    log_metadata({"origin": origin, "rows": len(raw), "columns": len(raw.columns)})
    logger.info("Read %d rows of %d columns from %s", len(raw), len(raw.columns), origin)
    return raw


@step
def prepare_table(raw_table: pd.DataFrame, dataset: DatasetConfig) -> tuple[
        Annotated[pd.DataFrame, "table"], Annotated[int, "table_rows"]]:
    """The model's columns and the target, typed; structural problems fail here, naming the column."""
    from stackpipes.ratings.datasets import prepare

    table = prepare(raw_table, dataset)
    log_metadata({"rows": len(table), "dropped_unlabelled": len(raw_table) - len(table)})
    return table, len(table)


@step(experiment_tracker=True, extra=MLFLOW_RUN_ON_FIRST_LOG)
def split_dataset(table: pd.DataFrame, dataset: DatasetConfig) -> tuple[
        Annotated[pd.DataFrame, "train_rows"], Annotated[pd.DataFrame, "test_rows"]]:
    """Seeded train/test split (stratified, or grouped by the dataset's group column)."""
    from stackpipes.ratings.splitting import split_table

    train, test = split_table(table, dataset)
    facts = {"dataset": dataset.name, "train_rows": len(train), "test_rows": len(test),
             "split_seed": dataset.split.seed, "split_group": dataset.split.group or "none"}
    tracking.log_params(facts)  # opens the run's MLflow run before the sweep fans out
    log_metadata(facts)
    return train, test


@step(enable_cache=False)  # the production version changes between runs
def production_reference(production: ProductionInfo, dataset: DatasetConfig) -> Annotated[pd.DataFrame, "previous_rows"]:
    """The training rows kept with the production model (the drift reference); empty without one."""
    from stackpipes.core.registry import load_production_model

    columns = [*dataset.model_columns(), dataset.target]
    if not production.exists:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    model = load_production_model(production)
    reference = model.reference
    kept = [c for c in columns if c in reference.columns]
    log_metadata({"rows": len(reference), "production_version": production.version})
    return reference[kept]


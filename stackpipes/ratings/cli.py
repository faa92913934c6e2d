"""ratings' command for run.py: `predict`, batch predictions of a dataset's production model.

    python run.py predict --pipeline ratings_train --dataset titanic --input FILE.csv [--output OUT.csv]

The input is checked column by column against what the model was trained on (a missing column or
text in a numeric column is an error naming it; an unseen category is a warning); the output is
the input with `prediction` (and each class's probability) added.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

MAX_INPUT_ROWS = 10_000_000


def add_commands(commands: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    predict = commands.add_parser("predict", help="batch predictions of a dataset's production model (CSV in, CSV out)")
    predict.add_argument("--pipeline", default="ratings_train", choices=["ratings_train"], help="the training pipeline")
    predict.add_argument("--dataset", required=True, help="the dataset (configs/ratings_train/DATASET.yaml)")
    predict.add_argument("--input", required=True, help="CSV file of rows to predict")
    predict.add_argument("--output", help="CSV file to write (default: INPUT.predictions.csv beside the input)")
    predict.add_argument("--stack", default=argparse.SUPPRESS, help="stack whose ZenML store holds the model")
    return {"predict": predict_command}


def predict_command(args: argparse.Namespace) -> int:
    from stackpipes.ratings.datasets import DatasetError, parse_csv

    source = Path(args.input)
    if not source.is_file():
        raise FileNotFoundError(f"--input {source}: no such file")
    rows = parse_csv(source.read_bytes(), ["?"], f"--input {source}")
    if len(rows) > MAX_INPUT_ROWS:
        raise DatasetError(f"--input {source}: {len(rows)} rows, more than {MAX_INPUT_ROWS}")
    output = Path(args.output) if args.output else source.with_suffix(".predictions.csv")

    from stackpipes.core.cli import load_production_for_command
    from stackpipes.ratings import MODEL_ARTIFACT, model_name
    from stackpipes.ratings.model import predict

    name = model_name(args.dataset)
    loaded = load_production_for_command(getattr(args, "stack", None), name, MODEL_ARTIFACT, "test_accuracy",
                                         f"--pipeline ratings_train --dataset {args.dataset}")
    if loaded is None:
        return 1
    model, production = loaded
    predictions, warnings = predict(model, rows)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    predictions.to_csv(output, index=False)
    print(f"{len(predictions)} predictions by {name} version {production.version} ({model.describe()}) -> {output}")
    return 0

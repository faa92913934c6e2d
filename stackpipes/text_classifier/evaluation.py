"""Scores on the test split: accuracy, macro-F1, per-class precision / recall / F1, the most
confused pairs of classes, and a confusion-matrix picture of the classes most often confused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel

MAX_CONFUSED_CLASSES = 30


class Scores(BaseModel):
    accuracy: float
    macro_f1: float
    rows: int


def scores(truth: Sequence[str], predicted: Sequence[str]) -> Scores:
    from sklearn.metrics import accuracy_score, f1_score

    if len(truth) != len(predicted) or not truth:
        raise ValueError(f"scores: {len(truth)} true and {len(predicted)} predicted labels")
    return Scores(accuracy=float(accuracy_score(truth, predicted)),
                  macro_f1=float(f1_score(truth, predicted, average="macro", zero_division=0)), rows=len(truth))


def per_class(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> pd.DataFrame:
    """One row per class: precision, recall, F1 and support (test rows), worst F1 first."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=list(labels), zero_division=0)
    table = pd.DataFrame({"label": list(labels), "precision": precision, "recall": recall, "f1": f1,
                          "support": support.astype(int)})
    return table.sort_values(["f1", "label"]).reset_index(drop=True)


def confused_pairs(truth: Sequence[str], predicted: Sequence[str], top: int = 20) -> pd.DataFrame:
    """The (true, predicted) pairs of different classes, most frequent first."""
    frame = pd.DataFrame({"true": list(truth), "predicted": list(predicted)})
    wrong = frame[frame["true"] != frame["predicted"]]
    counts = wrong.value_counts().rename("count").reset_index()
    return counts.sort_values(["count", "true", "predicted"], ascending=[False, True, True]).head(top).reset_index(drop=True)


def most_confused_classes(truth: Sequence[str], predicted: Sequence[str], limit: int = 12) -> list[str]:
    """Up to `limit` classes, taken from the most frequent confusions in turn."""
    chosen: list[str] = []
    for pair in confused_pairs(truth, predicted, top=10 * limit).itertuples():
        for label in (pair.true, pair.predicted):
            if label not in chosen and len(chosen) < limit:
                chosen.append(label)
    return chosen


def confusion_png(truth: Sequence[str], predicted: Sequence[str], path: str, limit: int = 12,
                  title: Optional[str] = None) -> list[str]:
    """Draw the confusion matrix restricted to the most confused classes (rows: true class,
    columns: predicted; counts in the cells) into `path`; returns the classes drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    limit = max(2, min(limit, MAX_CONFUSED_CLASSES))
    classes = most_confused_classes(truth, predicted, limit)
    figure, axes = plt.subplots(figsize=(2.2 + 0.62 * max(len(classes), 2), 1.6 + 0.55 * max(len(classes), 2)))
    if len(classes) < 2:
        axes.text(0.5, 0.5, "no confusions on the test split", ha="center", va="center")
        axes.axis("off")
    else:
        matrix = confusion_matrix(truth, predicted, labels=classes)
        image = axes.imshow(matrix, cmap="Blues")
        axes.set_xticks(range(len(classes)), [_short(c) for c in classes], rotation=60, ha="right", fontsize=8)
        axes.set_yticks(range(len(classes)), [_short(c) for c in classes], fontsize=8)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        high = matrix.max() or 1
        for (row, column), value in np.ndenumerate(matrix):
            if value:
                axes.text(column, row, str(value), ha="center", va="center", fontsize=7,
                          color="white" if value > high / 2 else "black")
        figure.colorbar(image, ax=axes, fraction=0.04)
    axes.set_title(title or "Most confused classes (test split)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return classes


def _short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"

"""The label map: class names <-> the ids a model's outputs are indexed by, saved with the model."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class UnknownLabelError(ValueError):
    """A label the map does not hold."""


@dataclass(frozen=True)
class LabelMap:
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels: each label once")
        if len(self.labels) < 2:
            raise ValueError(f"labels: a classifier needs at least 2, got {len(self.labels)}")

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> LabelMap:
        """Sorted distinct labels: the same set always gives the same ids."""
        return cls(tuple(sorted({str(label) for label in labels})))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def label2id(self) -> dict[str, int]:
        return {label: index for index, label in enumerate(self.labels)}

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.labels))

    def ids(self, labels: Sequence[str]) -> list[int]:
        mapping = self.label2id
        unknown = sorted({label for label in labels if label not in mapping})
        if unknown:
            raise UnknownLabelError(f"label(s) {unknown[:10]} are not among the model's {len(self)} classes")
        return [mapping[label] for label in labels]

    def names(self, ids: Iterable[int]) -> list[str]:
        return [self.labels[int(index)] for index in ids]

    def to_json(self) -> str:
        return json.dumps({"labels": list(self.labels)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> LabelMap:
        return cls(tuple(json.loads(text)["labels"]))

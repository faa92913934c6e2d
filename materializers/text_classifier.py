"""Materializers for the text_classifier system: the trained classifier and its test report.

`TextClassifier` is stored as the folder `stackpipes.text_classifier.model.write_classifier`
writes (the encoder in Hugging Face format or the linear head, the label map, the reference rows,
a JSON summary), copied through ZenML's fileio so any artifact store works; it is shown as a
summary table. `ClassifierTest` is pydantic JSON with an HTML view (scores next to the baseline
and production, the worst classes, the confusion picture).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.utils import io_utils

import materializers.core  # noqa: F401  (registers the shared ones)
from materializers.core import ReportMaterializer
from stackpipes.text_classifier.model import (
    TextClassifier,
    read_classifier,
    summary,
    write_classifier,
)
from stackpipes.text_classifier.report import ClassifierTest


class TextClassifierMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (TextClassifier,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def save(self, data: TextClassifier) -> None:
        with self.get_temporary_directory(delete_at_exit=True) as local_dir:
            write_classifier(data, local_dir)
            io_utils.copy_dir(local_dir, self.uri, overwrite=True)

    def load(self, data_type: type[Any]) -> TextClassifier:
        with self.get_temporary_directory(delete_at_exit=True) as local_dir:
            io_utils.copy_dir(self.uri, local_dir, overwrite=True)
            return read_classifier(local_dir)

    def compute_content_hash(self, data: TextClassifier) -> str:
        return hashlib.sha256(json.dumps(summary(data), sort_keys=True, default=str).encode()).hexdigest()

    def save_visualizations(self, data: TextClassifier) -> dict[str, VisualizationType]:
        from stackpipes.core import views

        training = data.training
        rows = [("route", data.route), ("built from", data.source), ("classes", len(data.labels)),
                ("training rows", data.train_rows), ("trained at", f"{data.trained_at:%Y-%m-%d %H:%M:%S} UTC"),
                *((key, f"{value:.4g}" if isinstance(value, float) else str(value))
                  for key, value in training.items() if isinstance(value, (int, float, str, bool))),
                ("MLflow model", data.tracking_model_uri or "n/a")]
        uri = os.path.join(self.uri, "model.html")
        with self.artifact_store.open(uri, "w") as handle:
            handle.write(views.page(f"Text classifier {data.dataset.get('name')}",
                                    f"<h3>{views.esc(data.describe())}</h3>" + views.table(["", "value"], rows)))
        return {uri.replace("\\", "/"): VisualizationType.HTML}

    def extract_metadata(self, data: TextClassifier) -> dict[str, Any]:
        return {"route": data.route, "classes": len(data.labels), "train_rows": data.train_rows,
                "trained_at": data.trained_at.isoformat()}


class ClassifierTestMaterializer(ReportMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (ClassifierTest,)

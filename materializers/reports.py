"""Materializers for our pydantic result types: JSON storage and an HTML view in the dashboard."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from zenml.enums import VisualizationType
from zenml.materializers.pydantic_materializer import PydanticMaterializer

from stackpipes.types import (
    DriftSummary,
    MetricScore,
    ModelEvaluation,
    ProductionInfo,
    PromotionResult,
    RetrainDecision,
    ValidationReport,
)


class ReportMaterializer(PydanticMaterializer):
    """Stores the model as JSON (content-hashed by ZenML) and renders `to_html()` when it has one."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (
        ValidationReport,
        DriftSummary,
        RetrainDecision,
        MetricScore,
        ModelEvaluation,
        ProductionInfo,
        PromotionResult,
    )

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        to_html = getattr(data, "to_html", None)
        if to_html is None:
            return {}
        uri = os.path.join(self.uri, "report.html")
        with self.artifact_store.open(uri, "w") as handle:
            handle.write(to_html())
        return {uri.replace("\\", "/"): VisualizationType.HTML}

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        # Scalar fields become searchable metadata in the dashboard; the schema is noise.
        return {
            key: value
            for key, value in data.model_dump(mode="json").items()
            if isinstance(value, (bool, int, float, str)) and len(str(value)) < 250
        }

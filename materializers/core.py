"""Materializers for the shared core: content-hashed DataFrames and the shared result types.

DataFrames are stored by ZenML's parquet materializer plus a content hash, so equal data hits the
cache: ZenML keys its step cache on an input's content hash when the materializer provides one,
else on the artifact id. Steps that read outside state (an export file, the stored history)
always run; with a content hash, the steps after them are still cached when what they produced
is unchanged. The shared pydantic results (validation, drift, decisions, promotion) are stored as
JSON and shown as the HTML of their `to_html()`.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, ClassVar, Optional

import pandas as pd
from zenml.enums import VisualizationType
from zenml.integrations.pandas.materializers.pandas_materializer import PandasMaterializer
from zenml.materializers.materializer_registry import materializer_registry
from zenml.materializers.pydantic_materializer import PydanticMaterializer

from stackpipes.core.types import (
    DriftSummary,
    MetricScore,
    ModelEvaluation,
    ProductionInfo,
    PromotionResult,
    RetrainDecision,
    ValidationReport,
)


def frame_fingerprint(frame: pd.DataFrame | pd.Series) -> str:
    """A stable hash of values, index, column names and dtypes."""
    digest = hashlib.sha256()
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
    return digest.hexdigest()


class HashedPandasMaterializer(PandasMaterializer):
    """Parquet-backed DataFrame/Series artifacts with a content hash."""

    def compute_content_hash(self, data: Any) -> Optional[str]:
        return frame_fingerprint(data)


for _type in HashedPandasMaterializer.ASSOCIATED_TYPES:
    materializer_registry.register_and_overwrite_type(_type, HashedPandasMaterializer)


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

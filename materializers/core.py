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
import json
import os
from typing import Any, ClassVar, Optional

import pandas as pd
from zenml.enums import ArtifactType, VisualizationType
from zenml.integrations.pandas.materializers.pandas_materializer import PandasMaterializer
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.materializers.materializer_registry import materializer_registry
from zenml.materializers.pydantic_materializer import PydanticMaterializer

from stackpipes.core.types import (
    DriftSummary,
    EvidentlyReport,
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


class EvidentlyReportMaterializer(BaseMaterializer):
    """An Evidently report as its own HTML file plus a script-free summary page.

    Two visualizations, the summary first: the dashboard shows it inside its sandboxed frame
    (where the report's scripts cannot run); the full report is the second, to download.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (EvidentlyReport,)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA_ANALYSIS

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name)

    def load(self, data_type: type[Any]) -> EvidentlyReport:
        with self.artifact_store.open(self._path("meta.json"), "r") as handle:
            meta = json.load(handle)
        texts = {}
        for name in ("report.html", "summary.html"):
            with self.artifact_store.open(self._path(name), "r") as handle:
                texts[name] = handle.read()
        return EvidentlyReport(html=texts["report.html"], summary_html=texts["summary.html"], **meta)

    def save(self, data: EvidentlyReport) -> None:
        with self.artifact_store.open(self._path("report.html"), "w") as handle:
            handle.write(data.html)
        with self.artifact_store.open(self._path("summary.html"), "w") as handle:
            handle.write(data.summary_html)
        with self.artifact_store.open(self._path("meta.json"), "w") as handle:
            json.dump({"title": data.title, "path": data.path}, handle)

    def save_visualizations(self, data: EvidentlyReport) -> dict[str, VisualizationType]:
        return {self._path(name).replace("\\", "/"): VisualizationType.HTML for name in ("summary.html", "report.html")}

    def extract_metadata(self, data: EvidentlyReport) -> dict[str, Any]:
        return {"title": data.title, "path": data.path or "", "html_bytes": len(data.html.encode())}

    def compute_content_hash(self, data: EvidentlyReport) -> Optional[str]:
        return hashlib.sha256(data.html.encode()).hexdigest()

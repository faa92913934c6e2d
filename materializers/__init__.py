"""Our materializers; importing this package registers them for their types."""

from materializers.dataframe import HashedPandasMaterializer
from materializers.forecast import ForecastMaterializer, ForecastModelMaterializer
from materializers.hf_model import LanguageModelMaterializer
from materializers.reports import ReportMaterializer

__all__ = [
    "ForecastMaterializer",
    "ForecastModelMaterializer",
    "HashedPandasMaterializer",
    "LanguageModelMaterializer",
    "ReportMaterializer",
]

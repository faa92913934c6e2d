"""DataFrame materializer: ZenML's parquet storage plus a content hash, so equal data hits the cache.

ZenML keys its step cache on an input's content hash when the materializer provides one, else on
the artifact id. Steps that read outside state (an export file, the stored history) always run;
with a content hash, the steps after them are still cached when what they produced is unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

import pandas as pd
from zenml.integrations.pandas.materializers.pandas_materializer import PandasMaterializer
from zenml.materializers.materializer_registry import materializer_registry


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

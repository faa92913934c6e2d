"""Batch prediction: a file of texts classified by the production model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.text_classifier  # noqa: F401  (registers its materializers)
from stackpipes.core.types import ProductionInfo
from stackpipes.platform.bounds import count

logger = get_logger(__name__)


@step(enable_cache=False)  # the file and the production version change between runs
def classify_file(production: ProductionInfo, input_file: str, top: count(1, 100) = 3) -> Annotated[pd.DataFrame, "predictions"]:
    """Every text of `input_file` (one per line, or a CSV/TSV/parquet `text` column) with its most
    likely class, that class's probability and the `top` classes (JSON); also written as CSV
    beside the input (`<input>.classified.csv`)."""
    import json

    from stackpipes.core.registry import load_production_model
    from stackpipes.text_classifier.datasets import read_texts

    if not production.exists:
        raise ValueError(f"there is no production '{production.model_name}' model yet: train one first "
                         "(python run.py --stack ... --pipeline text_classifier --dataset ...)")
    if not 1 <= top <= 100:
        raise ValueError(f"top: {top} is not within 1..100")
    source = Path(input_file)
    texts = read_texts(source)
    classifier = load_production_model(production)
    ranked = classifier.top(texts, top)
    predictions = pd.DataFrame({"text": texts, "label": [r[0][0] for r in ranked],
                                "probability": [r[0][1] for r in ranked],
                                "top": [json.dumps(r, ensure_ascii=False) for r in ranked]})
    output = source.with_suffix(".classified.csv")
    predictions.to_csv(output, index=False)
    log_metadata({"texts": len(texts), "model_version": production.version or "", "output": str(output),
                  "labels": predictions["label"].value_counts().head(10).to_dict()})
    logger.info("%d texts classified by %s version %s -> %s", len(texts), production.model_name, production.version, output)
    return predictions

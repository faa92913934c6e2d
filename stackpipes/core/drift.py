"""Data drift with Evidently 0.7 (the `Report` / `DataDefinition` API): a typed summary and HTML.

Evidently is imported inside the function: it takes seconds to import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Union

import pandas as pd

from stackpipes.core.types import ColumnDrift, DriftSummary

# Text columns: drift when a classifier tells reference from current texts with ROC AUC >= 0.55.
TEXT_METHOD = "abs_text_content_drift"
MIN_ROWS = 10  # fewer rows on either side say nothing about drift
TEXT_THRESHOLD = 0.55


def _drifted(method: str, score: float, threshold: float) -> bool:
    # Statistical tests report a p-value (drift when small); distances report a distance
    # (drift when large). Evidently names p-value tests "... p_value".
    if "p_value" in method:
        return score < threshold
    return score >= threshold


def summarise_snapshot(snapshot_dict: dict[str, Any], drift_share: float, reference_rows: int, current_rows: int) -> DriftSummary:
    """Read the DriftedColumnsCount and per-column ValueDrift metrics of a DataDriftPreset run."""
    columns: dict[str, ColumnDrift] = {}
    for metric in snapshot_dict.get("metrics", []):
        config = metric.get("config", {})
        if config.get("type", "").endswith(":ValueDrift"):
            score = float(metric["value"])
            method, threshold = str(config.get("method")), float(config.get("threshold"))
            columns[config["column"]] = ColumnDrift(
                column=config["column"], method=method, score=score, threshold=threshold,
                drifted=_drifted(method, score, threshold),
            )
    drifted = sum(c.drifted for c in columns.values())
    share = drifted / len(columns) if columns else 0.0
    return DriftSummary(
        dataset_drift=bool(columns) and share >= drift_share,
        drifted_share=share,
        drifted_columns=drifted,
        total_columns=len(columns),
        columns=columns,
        reference_rows=reference_rows,
        current_rows=current_rows,
    )


def distributions(reference: pd.Series, current: pd.Series, bins: int = 20) -> tuple[list[float], list[float], list[float]]:
    """Shared bin edges and each side's share of rows per bin (for the drift view's histograms)."""
    import numpy as np

    ref = pd.to_numeric(reference, errors="coerce").dropna().to_numpy(float)
    cur = pd.to_numeric(current, errors="coerce").dropna().to_numpy(float)
    both = np.concatenate([ref, cur])
    if not len(both):
        return [], [], []
    edges = np.histogram_bin_edges(both, bins=bins)
    shares = [np.histogram(side, bins=edges)[0] / max(len(side), 1) for side in (ref, cur)]
    return [float(e) for e in edges], [float(v) for v in shares[0]], [float(v) for v in shares[1]]


def window(frame: pd.DataFrame, time_column: Optional[str]) -> Optional[str]:
    """The first and last time of `frame` as text, when it has the time column."""
    if not time_column or time_column not in frame.columns or frame.empty:
        return None
    times = pd.to_datetime(frame[time_column], utc=True)
    return f"{times.min():%Y-%m-%d %H:%M} to {times.max():%Y-%m-%d %H:%M} UTC"


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numerical: Optional[list[str]] = None,
    categorical: Optional[list[str]] = None,
    drift_share: float = 0.5,
    html_path: Optional[Union[str, Path]] = None,
    method: Optional[str] = None,
    threshold: Optional[float] = None,
    min_rows: int = MIN_ROWS,
    text: Optional[list[str]] = None,
    text_method: Optional[str] = TEXT_METHOD,
    text_threshold: Optional[float] = TEXT_THRESHOLD,
    tags: Optional[list[str]] = None,
    metadata: Optional[dict[str, str]] = None,
    on_snapshot: Optional[Callable[[Any], None]] = None,
) -> DriftSummary:
    """Compare `current` with `reference` column by column; write the HTML report if asked.

    `text` columns are compared by Evidently's text content drift: a classifier is trained to
    tell reference texts from current ones, and the column drifts when its ROC AUC on held-out
    texts reaches `text_threshold` (`abs_text_content_drift`; 0.5 = indistinguishable).
    `method`/`threshold` apply to the numerical and categorical columns. `tags` and `metadata`
    go onto Evidently's snapshot, which `on_snapshot` receives (e.g. for a workspace).
    """
    for name, frame in (("reference", reference), ("current", current)):
        if len(frame) < min_rows:
            raise ValueError(f"drift needs at least {min_rows} {name} rows, got {len(frame)}")
    if numerical is None and categorical is None and text is None:
        numerical = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    numerical, categorical, text = list(numerical or []), list(categorical or []), list(text or [])
    for column in numerical + categorical + text:
        for name, frame in (("reference", reference), ("current", current)):
            if column not in frame.columns:
                raise ValueError(f"drift column '{column}' is missing from the {name} data")
    if not numerical + categorical + text:
        raise ValueError("drift needs at least one column to compare")

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=numerical or None, categorical_columns=categorical or None, text_columns=text or None
    )
    columns = numerical + categorical + text
    preset = DataDriftPreset(
        columns=columns, drift_share=drift_share, method=method, threshold=threshold,
        # `method` would otherwise apply to text columns too, where a numeric test cannot run.
        text_method=text_method if text else None, text_threshold=text_threshold if text else None,
        per_column_method={c: text_method for c in text} if text and text_method else None,
        per_column_threshold={c: text_threshold for c in text} if text and text_threshold is not None else None,
    )
    snapshot = Report([preset], tags=tags, metadata=metadata).run(
        current_data=Dataset.from_pandas(current[columns], data_definition=definition),
        reference_data=Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    if on_snapshot is not None:
        on_snapshot(snapshot)
    summary = summarise_snapshot(snapshot.dict(), drift_share, len(reference), len(current))
    for column in numerical:
        if column in summary.columns:
            edges, ref_shares, cur_shares = distributions(reference[column], current[column])
            summary.columns[column] = summary.columns[column].model_copy(
                update={"bin_edges": edges, "reference_shares": ref_shares, "current_shares": cur_shares})
    if html_path is not None:
        path = Path(html_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(path))
        summary.report_path = str(path)
    return summary


TEXT_DESCRIPTORS = ("chars", "words", "non_letter_share")


def text_descriptors(frame: pd.DataFrame, column: str = "text") -> pd.DataFrame:
    """`frame` plus numeric descriptors of its `column` that drift can compare: the length in
    characters and the share of non-letter characters (Evidently's TextLength and
    NonLetterCharacterPercentage descriptors) and the number of words of any script (Evidently's
    WordCount counts Latin words only: a Russian text would have none)."""
    if frame.empty:
        return frame.assign(**{name: pd.Series(dtype=float) for name in TEXT_DESCRIPTORS})
    from evidently import DataDefinition, Dataset
    from evidently.descriptors import NonLetterCharacterPercentage, TextLength

    texts = frame[[column]].astype(str).reset_index(drop=True)
    described = Dataset.from_pandas(
        texts, data_definition=DataDefinition(text_columns=[column]),
        descriptors=[TextLength(column, alias="chars"), NonLetterCharacterPercentage(column, alias="non_letter_share")],
    ).as_dataframe()
    out = frame.reset_index(drop=True).copy()
    out["chars"] = described["chars"].astype(float)
    out["words"] = texts[column].str.count(r"[^\W\d_]+").astype(float)
    out["non_letter_share"] = described["non_letter_share"].astype(float) / 100
    return out

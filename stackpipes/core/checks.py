"""Great Expectations 1.x validation of pandas DataFrames against suites written in YAML or code.

A suite is a name and a list of expectations in GX's snake_case names with their kwargs:

    name: telegram_messages
    expectations:
      - type: expect_column_values_to_be_unique
        kwargs: {column: id}

String values `${now}`, `${now+1h}`, `${now-7d}` are replaced by the validation time (UTC), so a
suite can bound timestamps by "now" and stay correct on scheduled runs. One ephemeral GX context
is reused per process (creating one costs about a second).
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional, Union

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stackpipes.core.types import ExpectationOutcome, ValidationReport

# GX logs every API function it registers at import (INFO); only its warnings are of interest.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

NOW_TOKEN = re.compile(r"^\$\{now(?:([+-])(\d+)([dhm]))?\}$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class SuiteError(ValueError):
    """A suite that cannot be built: names the suite, the expectation and what was expected."""


class DataValidationError(ValueError):
    """Data that breaks its contract; the message lists the failed expectations."""

    def __init__(self, report: ValidationReport, extra: str = ""):
        self.report = report
        super().__init__(report.summary() + (f"\n{extra}" if extra else ""))


class ExpectationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)


class SuiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    expectations: list[ExpectationSpec]
    source: str = Field(default="<code>", exclude=True)

    @classmethod
    def from_list(cls, name: str, expectations: list[dict[str, Any]]) -> SuiteSpec:
        return load_suite({"name": name, "expectations": expectations})


def load_suite(source: Union[str, Path, dict[str, Any]]) -> SuiteSpec:
    """A suite from a YAML file or a dict, with every expectation checked against GX."""
    origin = "<code>"
    if isinstance(source, (str, Path)):
        origin = str(source)
        path = Path(source)
        if not path.is_file():
            raise SuiteError(f"{origin}: suite file not found")
        try:
            source = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SuiteError(f"{origin}: invalid YAML ({exc})") from None
    if not isinstance(source, dict):
        raise SuiteError(f"{origin}: a suite is a mapping with 'name' and 'expectations'")
    try:
        suite = SuiteSpec.model_validate(source)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SuiteError(f"{origin}: {where}: {first['msg']}") from None
    suite.source = origin
    for index, spec in enumerate(suite.expectations):
        _expectation_class(spec.type, f"{origin}: expectations[{index}] ({spec.type})")
    return suite


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _expectation_class(snake: str, where: str) -> type:
    import great_expectations.expectations as gxe

    cls = getattr(gxe, _camel(snake), None)
    if cls is None or not isinstance(cls, type):
        known = [n for n in dir(gxe) if n.startswith("Expect")]
        close = difflib.get_close_matches(_camel(snake), known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SuiteError(f"{where}: unknown expectation type, expected a Great Expectations 1.x expectation{hint}")
    return cls


def resolve_now_tokens(value: Any, now: datetime) -> Any:
    """Replace `${now...}` strings (recursively) with ISO timestamps relative to `now`."""
    if isinstance(value, dict):
        return {k: resolve_now_tokens(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_now_tokens(v, now) for v in value]
    if isinstance(value, str):
        match = NOW_TOKEN.match(value.strip())
        if match:
            sign, amount, unit = match.groups()
            moment = now
            if sign:
                delta = timedelta(**{_UNITS[unit]: int(amount)})
                moment = now + delta if sign == "+" else now - delta
            return moment.isoformat()
    return value


_LOCK = threading.Lock()
_CONTEXT: Any = None


def _context() -> Any:
    """One ephemeral GX context per process; analytics off, nothing leaves the machine."""
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            _CONTEXT = gx.get_context(mode="ephemeral")
            _CONTEXT.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        return _CONTEXT


def _datetime_bounds(kwargs: dict[str, Any], column: Optional[pd.Series]) -> dict[str, Any]:
    """GX compares min/max with the column's values: give datetime columns Timestamps in their zone."""
    if column is None or not pd.api.types.is_datetime64_any_dtype(column):
        return kwargs
    tz = getattr(column.dtype, "tz", None)
    fixed = dict(kwargs)
    for key in ("min_value", "max_value"):
        value = fixed.get(key)
        if isinstance(value, (str, datetime, date)) and value != "":
            stamp = pd.Timestamp(value)
            if tz is not None:
                stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
                stamp = stamp.tz_convert(tz)
            elif stamp.tzinfo is not None:
                stamp = stamp.tz_convert("UTC").tz_localize(None)
            fixed[key] = stamp
    return fixed


def _json_safe(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if hasattr(value, "item"):  # numpy scalars
        try:
            return _json_safe(value.item())
        except (ValueError, TypeError):
            pass
    return str(value)


def validate_dataframe(
    df: pd.DataFrame, suite: SuiteSpec, dataset_name: str, now: Optional[datetime] = None
) -> ValidationReport:
    """Validate `df` against `suite`; an expectation that raises counts as failed."""
    import great_expectations as gx

    now = now or datetime.now(timezone.utc)
    context = _context()
    token = uuid.uuid4().hex[:12]
    gx_suite = gx.ExpectationSuite(name=f"{suite.name}-{token}")
    for index, spec in enumerate(suite.expectations):
        kwargs = resolve_now_tokens(spec.kwargs, now)
        column = df[kwargs["column"]] if isinstance(kwargs.get("column"), str) and kwargs["column"] in df else None
        kwargs = _datetime_bounds(kwargs, column)
        cls = _expectation_class(spec.type, f"{suite.source}: expectations[{index}] ({spec.type})")
        try:
            gx_suite.add_expectation(cls(**kwargs, meta={**spec.meta, "index": index}))
        except Exception as exc:  # pydantic errors from GX: bad or missing kwargs
            raise SuiteError(f"{suite.source}: expectations[{index}] ({spec.type}): invalid kwargs {spec.kwargs}: {exc}") from None
    source = context.data_sources.add_pandas(name=f"src-{token}")
    try:
        asset = source.add_dataframe_asset(name=f"{dataset_name}-{token}")
        batch = asset.add_batch_definition_whole_dataframe(f"batch-{token}").get_batch(
            batch_parameters={"dataframe": df}
        )
        result = batch.validate(gx_suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20})
    finally:
        context.data_sources.delete(name=source.name)
    outcomes = []
    for item in sorted(result.results, key=lambda r: r.expectation_config.meta.get("index", 0)):
        config = item.expectation_config
        details = item.result or {}
        exception = item.exception_info or {}
        raised = bool(exception.get("raised_exception"))
        index = config.meta.get("index", 0)
        spec = suite.expectations[index]
        outcomes.append(
            ExpectationOutcome(
                expectation=spec.type,
                column=spec.kwargs.get("column"),
                kwargs=_json_safe(resolve_now_tokens(spec.kwargs, now)),
                success=bool(item.success) and not raised,
                observed_value=_json_safe(details.get("observed_value")),
                unexpected_count=details.get("unexpected_count"),
                unexpected_percent=_json_safe(details.get("unexpected_percent")),
                unexpected_sample=_json_safe(details.get("partial_unexpected_list") or [])[:20],
                exception=(exception.get("exception_message") or "error") if raised else None,
            )
        )
    return ValidationReport(
        suite=suite.name,
        dataset=dataset_name,
        rows=len(df),
        success=all(o.success for o in outcomes),
        outcomes=outcomes,
        validated_at=now,
    )

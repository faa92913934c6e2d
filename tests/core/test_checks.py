"""Great Expectations validation: reports, failures with samples, suites from YAML and code, time bounds."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest
import yaml

from stackpipes.core.checks import (
    DataValidationError,
    SuiteError,
    SuiteSpec,
    load_suite,
    resolve_now_tokens,
    validate_dataframe,
)

EXPECTATIONS = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "min_value": 0, "max_value": 10}},
]
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def frame(ids=(1, 2, 3), values=(1, 5, 9)):
    return pd.DataFrame({"id": list(ids), "value": list(values)})


def test_clean_data_passes():
    report = validate_dataframe(frame(), SuiteSpec.from_list("demo", EXPECTATIONS), "demo")
    assert report.success and all(o.success for o in report.outcomes) and report.rows == 3
    assert "3/3 expectations passed" in report.summary()


def test_failures_report_counts_and_samples():
    bad = frame(ids=(1, 1, None), values=(1, 50, 9))
    report = validate_dataframe(bad, SuiteSpec.from_list("demo", EXPECTATIONS), "demo")
    assert not report.success
    by_type = {o.expectation: o for o in report.outcomes}
    assert by_type["expect_column_values_to_not_be_null"].unexpected_count == 1
    assert by_type["expect_column_values_to_be_unique"].unexpected_count == 2
    between = by_type["expect_column_values_to_be_between"]
    assert between.unexpected_count == 1 and between.unexpected_sample == [50]
    error = DataValidationError(report)
    assert "Failed expectations" in str(error) and "expect_column_values_to_be_between on 'value'" in str(error)
    assert "FAIL" in report.to_html()


def test_yaml_and_code_suites_agree(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"name": "demo", "expectations": EXPECTATIONS}))
    from_yaml = validate_dataframe(frame(values=(1, 2, 99)), load_suite(path), "d", now=NOW)
    from_code = validate_dataframe(frame(values=(1, 2, 99)), SuiteSpec.from_list("demo", EXPECTATIONS), "d", now=NOW)
    assert from_yaml.model_dump() == from_code.model_dump()


def test_unknown_expectation_and_bad_kwargs_name_the_problem(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "expectations": [{"type": "expect_column_values_to_be_uniqe"}]}))
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert str(path) in str(err.value) and "expectations[0]" in str(err.value)
    assert "ExpectColumnValuesToBeUnique" in str(err.value)
    suite = SuiteSpec.from_list("x", [{"type": "expect_column_values_to_be_between", "kwargs": {"colum": "id"}}])
    with pytest.raises(SuiteError, match="invalid kwargs"):
        validate_dataframe(frame(), suite, "d")


def test_timestamp_bounds_with_now_tokens_on_utc_columns():
    suite = SuiteSpec.from_list("t", [{"type": "expect_column_values_to_be_between",
                                       "kwargs": {"column": "ts", "min_value": "2013-08-01T00:00:00+00:00",
                                                  "max_value": "${now+1h}"}}])
    inside = pd.DataFrame({"ts": pd.to_datetime(["2020-01-01T00:00:00", "2026-11-22T12:30:00"], utc=True)})
    outside = pd.DataFrame({"ts": pd.to_datetime(["2010-01-01T00:00:00", "2026-11-22T14:00:00"], utc=True)})
    assert validate_dataframe(inside, suite, "d", now=NOW).success
    report = validate_dataframe(outside, suite, "d", now=NOW)
    assert not report.success and report.outcomes[0].unexpected_count == 2
    assert resolve_now_tokens({"a": ["${now-7d}"]}, NOW) == {"a": ["2026-11-15T12:00:00+00:00"]}

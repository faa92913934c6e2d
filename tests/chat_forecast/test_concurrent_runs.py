"""Two chat_forecast runs at once, each with its own new messages: the history keeps both."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


@pytest.mark.pipeline
def test_concurrent_runs_lose_no_message(tmp_path):
    from concurrency import concurrent_runs

    result = concurrent_runs(tmp_path, runs=2, new=2, weeks=4)
    assert result["crashes"] == 0, result["crash_output"]
    assert result["last_run_ok"]
    assert result["lost"] == 0 and result["history_rows"] == result["base_rows"] + result["expected_new"]

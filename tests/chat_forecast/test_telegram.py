"""Telegram export parsing, selection and history merging; the sample generator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from zenml import pipeline

from stackpipes.chat_forecast.history import merge_history, take_last
from stackpipes.telegram.export import (
    ExportError,
    parse_export,
)
from stackpipes.telegram.messages import MESSAGE_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))


def msg(i, unix, text="hi", **extra):
    return {"id": i, "type": "message", "date": "2026-01-01T00:00:00", "date_unixtime": str(unix), "from": "A",
            "text": text, **extra}


def export(tmp_path, messages, name="result.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"name": "c", "messages": messages}), encoding="utf-8")
    return path


def test_schema_text_flattening_media_and_service(tmp_path):
    path = export(tmp_path, [
        msg(1, 1767225600, [{"type": "bold", "text": "Hello"}, " world"]),
        msg(2, 1767225700, "", photo="photos/1.jpg"),
        {"id": 3, "type": "service", "date_unixtime": "1767225800", "action": "pin_message"},
    ])
    parsed = parse_export(path)
    frame = parsed.messages
    assert list(frame.columns) == MESSAGE_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]" and frame["id"].dtype == "int64"
    assert frame["text"].tolist() == ["Hello world", ""]
    assert frame["has_media"].tolist() == [False, True] and frame["has_content"].all()
    assert any("1 service message" in w for w in parsed.warnings)


def test_duplicates_keep_latest_edit_and_order_is_repaired(tmp_path):
    path = export(tmp_path, [
        msg(2, 1767229200, "second"),
        msg(1, 1767225600, "old"),
        msg(1, 1767225600, "new", edited="2026-01-01T01:00:00", edited_unixtime="1767229200"),
    ])
    parsed = parse_export(path)
    assert parsed.messages["id"].tolist() == [1, 2]
    assert parsed.messages["text"].tolist() == ["new", "second"]
    assert any("out of order" in w for w in parsed.warnings)
    assert any("duplicate" in w for w in parsed.warnings)


@pytest.mark.parametrize("content, expected", [
    ("", "empty"),
    ("{oops", "malformed JSON at line 1, column 2"),
    ("{}", "not a Telegram Desktop export"),
    ('{"messages": []}', "export contains no messages"),
    ('{"messages": [{"type": "message", "date": "2026-01-01T00:00:00"}]}', "without an integer 'id'"),
    ('{"messages": [{"id": 7, "type": "message", "date": "yesterday"}]}', "without a parseable 'date' (at #0 (id 7))"),
    ('{"messages": [{"id": 1, "type": "service"}]}', "service messages only"),
])
def test_bad_exports_raise_clear_errors(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExportError) as err:
        parse_export(path)
    assert str(path) in str(err.value) and expected in str(err.value)
    assert path.read_text(encoding="utf-8") == content  # the input is never touched


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ExportError, match="export file not found"):
        parse_export(tmp_path / "none.json")


def test_take_last():
    frame = parse_export(json.dumps({"messages": [msg(i, 1767225600 + i) for i in range(1, 11)]}).encode()).messages
    assert take_last(frame, 3)["id"].tolist() == [8, 9, 10]
    assert len(take_last(frame, None)) == 10
    with pytest.raises(ValueError):
        take_last(frame, 0)


def test_merge_is_idempotent_updates_edits_and_does_not_mutate():
    first = parse_export(json.dumps({"messages": [msg(i, 1767225600 + 60 * i) for i in range(1, 6)]}).encode()).messages
    second = parse_export(json.dumps({"messages": [msg(i, 1767225600 + 60 * i) for i in range(4, 9)]
                                      + [msg(5, 1767225900, "edited", edited_unixtime="1767300000")]}).encode()).messages
    first_copy, second_copy = first.copy(), second.copy()
    merged, stats = merge_history(None, first)
    assert (stats.added, stats.total) == (5, 5)
    merged, stats = merge_history(merged, second)
    assert (stats.added, stats.updated, stats.total) == (3, 1, 8)
    assert merged.loc[merged["id"] == 5, "text"].item() == "edited"
    again, stats = merge_history(merged, second)
    assert again.equals(merged) and (stats.added, stats.updated) == (0, 0)
    pd.testing.assert_frame_equal(first, first_copy)
    pd.testing.assert_frame_equal(second, second_copy)
    assert merged["id"].is_unique and merged["timestamp"].is_monotonic_increasing


def test_sample_generator_is_deterministic_with_a_planted_shift():
    from make_sample_export import generate_export

    one, two = generate_export(weeks=10, seed=5), generate_export(weeks=10, seed=5)
    assert one == two
    frame = parse_export(json.dumps(one).encode()).messages
    daily = frame.set_index("timestamp").resample("D")["id"].count()
    assert daily.iloc[-8:-1].mean() > 1.8 * daily.iloc[7:56].mean()
    stable = parse_export(json.dumps(generate_export(weeks=10, seed=5, shift=False)).encode()).messages
    stable_daily = stable.set_index("timestamp").resample("D")["id"].count()
    assert stable_daily.iloc[-8:-1].mean() < 1.3 * stable_daily.iloc[7:56].mean()


def test_bundled_sample_parses():
    parsed = parse_export(ROOT / "data" / "samples" / "telegram_export.json")
    span = parsed.messages["timestamp"].iloc[-1] - parsed.messages["timestamp"].iloc[0]
    assert span >= pd.Timedelta(weeks=10) - pd.Timedelta(days=1)
    assert parsed.messages["id"].is_unique


RUSSIAN = ["Привет, как дела? Всё хорошо, спасибо.", "Завтра встречаемся в семь у входа в парк.",
           "Не забудь взять документы и зонтик, обещают дождь."]


def test_an_export_in_another_encoding_is_decoded_strictly_or_refused(tmp_path):
    messages = [msg(i, 1767225600 + 60 * i, text) for i, text in enumerate(RUSSIAN * 20, start=1)]
    document = json.dumps({"name": "чат", "messages": messages}, ensure_ascii=False)
    expected = parse_export(document.encode("utf-8")).messages

    cp1251 = document.encode("cp1251")
    parsed = parse_export(cp1251, name="cp1251.json")
    pd.testing.assert_frame_equal(parsed.messages, expected)  # not one U+FFFD
    assert any("decoded as cp1251" in warning for warning in parsed.warnings)

    # UTF-8 with a few broken bytes is neither UTF-8 nor anything else for sure: refused, named.
    broken = document.encode("utf-8").replace("встречаемся".encode("utf-8"), b"\xff\xfe\xfa", 3)
    with pytest.raises(ExportError, match=r"broken.json: not UTF-8 \(invalid UTF-8 byte 0xff at offset \d+; 9 invalid byte sequence"):
        parse_export(broken, name="broken.json")


@pipeline
def ingest_only(export_path: str) -> None:
    """The chat ingestion step alone, for what it stores."""
    from steps.chat_forecast.ingest import ingest_telegram

    ingest_telegram(source="export", export_path=export_path, last_n=None)


@pytest.mark.pipeline
def test_the_raw_artifact_is_the_bytes_that_arrived(tmp_path, fresh_project):
    messages = [msg(i, 1767225600 + 60 * i, text) for i, text in enumerate(RUSSIAN * 13, start=1)]
    path = tmp_path / "result.json"
    path.write_bytes(json.dumps({"name": "c", "messages": messages}, ensure_ascii=False).encode("cp1251"))
    run = ingest_only(export_path=str(path))
    outputs = run.steps["ingest_telegram"].outputs
    assert outputs["raw_telegram_messages"][0].load() == path.read_bytes()
    assert set(outputs["incoming_messages"][0].load()["text"]) == set(RUSSIAN)

"""Property-based tests of the Telegram export reader over generated exports (Hypothesis).

Any valid export parses to the same messages whatever the order of its messages and however many
duplicates it holds; any mangled one fails with an ExportError naming the file, never anything else.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackpipes.telegram.export import ExportError, parse_export

BASE = 1_700_000_000  # 2023-11-14, seconds since the epoch

texts = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.text(max_size=10), st.fixed_dictionaries({"type": st.just("bold"), "text": st.text(max_size=10)})),
             max_size=3),
)
message = st.builds(
    lambda i, offset, text, edited: {
        "id": i, "type": "message", "date_unixtime": str(BASE + offset), "from": "A", "text": text,
        **({"edited_unixtime": str(BASE + offset + edited)} if edited else {}),
    },
    st.integers(1, 10_000), st.integers(0, 10**7), texts, st.integers(0, 3600),
)
# One version per id: duplicates are added below as exact copies, so "the latest edit" is unique.
exports = st.lists(message, min_size=1, max_size=30, unique_by=lambda m: m["id"])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def as_bytes(messages: list) -> bytes:
    return json.dumps({"name": "chat", "messages": messages}, ensure_ascii=False).encode("utf-8")


@SETTINGS
@given(exports, st.randoms(use_true_random=False), st.integers(0, 5))
def test_a_valid_export_parses_the_same_whatever_its_order_and_duplicates(messages, random, copies):
    expected = parse_export(as_bytes(messages), name="result.json").messages
    shuffled = messages + [dict(random.choice(messages)) for _ in range(copies)]
    random.shuffle(shuffled)
    parsed = parse_export(as_bytes(shuffled), name="result.json").messages
    assert parsed.equals(expected)
    assert parsed["id"].is_unique and parsed["timestamp"].is_monotonic_increasing


mangles = st.one_of(
    st.binary(max_size=200),  # anything at all
    st.builds(lambda data, cut: data[:cut], st.just(as_bytes([{"id": 1, "type": "message", "date_unixtime": str(BASE)}])),
              st.integers(0, 60)),  # a truncated file
    st.builds(as_bytes, st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                                           st.fixed_dictionaries({"id": st.one_of(st.none(), st.text(max_size=3), st.floats()),
                                                                  "type": st.just("message"),
                                                                  "date_unixtime": st.one_of(st.text(max_size=5), st.integers())})),
                                 min_size=1, max_size=5)),  # messages of the wrong shape
    st.builds(lambda v: json.dumps(v).encode(), st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers()),
                                                          st.fixed_dictionaries({"messages": st.one_of(st.integers(), st.text(max_size=3), st.none())}))),
)


@SETTINGS
@given(mangles)
def test_a_mangled_export_fails_with_an_error_naming_the_file(data):
    try:
        parsed = parse_export(data, name="mangled.json")
    except ExportError as error:
        assert str(error).startswith("mangled.json: ")
    else:  # some mangles are still valid exports: then they parse to a proper message table
        assert parsed.messages["id"].is_unique and len(parsed.messages) > 0


def test_text_parts_of_any_kind_are_text():  # found by the property test above: an int part raised
    data = as_bytes([{"id": 1, "type": "message", "date_unixtime": str(BASE), "text": ["a", 7, {"text": "b"}]}])
    assert parse_export(data, name="x.json").messages["text"].tolist() == ["a7b"]


@pytest.mark.parametrize("bad", [b"\x00\x01", b"[]", b'{"messages": [1, 2]}'])
def test_bytes_that_are_no_export_are_refused_with_the_file_named(bad):
    with pytest.raises(ExportError, match="^x.json: "):
        parse_export(bad, name="x.json")

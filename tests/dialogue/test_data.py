"""dialogue's data: the bundled export made from the packaged conversations, exports read as
Telegram writes them (one chat or a whole account), conversations and turns, examples with their
contexts, duplicates and re-exports counted once, a split by conversation that does not move as
data grows, the checks, and clear errors for what cannot be read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stackpipes.dialogue.conversations import examples, turns
from stackpipes.dialogue.data import DialogueData, DialogueDataError, prepare, read_raw, side, suite
from stackpipes.telegram.export import ExportError, parse_chats

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "dialogue" / "chitchat_sample.json"


def _chat(name: str, messages: list[tuple[int, str, str, int]]) -> dict:
    """A personal chat of a Telegram export: (id, sender, text, unix time) per message."""
    return {"name": name, "type": "personal_chat", "id": abs(hash(name)) % 1000, "messages": [
        {"id": i, "type": "message", "date": "2026-01-01T00:00:00", "date_unixtime": str(t), "from": s,
         "from_id": f"user{abs(hash(s)) % 10**6}", "text": text} for i, s, text, t in messages]}


def _account(*chats: dict) -> dict:
    return {"chats": {"list": list(chats)}}


def _config(tmp_path: Path, *exports: str, **extra) -> DialogueData:
    checks = {"min_examples": 1, "min_held_out": 1, "min_conversations": 2}
    return DialogueData(name="t", exports=list(exports), checks=checks, **extra)


def test_the_bundled_sample_is_what_the_script_makes_from_the_packaged_conversations(tmp_path):
    out = tmp_path / "sample.json"
    result = subprocess.run([sys.executable, "scripts/make_dialogue_export.py", "--conversations", "120", "--out",
                             str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == SAMPLE.read_bytes()
    chats = parse_chats(SAMPLE)
    assert len(chats) == 120 and all(len(set(m.messages["sender"])) == 2 for _, m in chats)
    bad = subprocess.run([sys.executable, "scripts/make_dialogue_export.py", "--conversations", "0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "expected 'all' or 1 to 10000" in bad.stderr


def test_single_chat_and_account_exports_are_read_and_bad_ones_named(tmp_path):
    single = {"name": "Alice", "messages": _chat("Alice", [(1, "alice", "hi", 100)])["messages"]}
    assert [name for name, _ in parse_chats(json.dumps(single).encode())] == ["Alice"]
    account = _account(_chat("a", [(1, "x", "hi", 1)]), _chat("b", [(1, "y", "yo", 2)]))
    assert [name for name, _ in parse_chats(json.dumps(account).encode())] == ["a", "b"]
    with pytest.raises(ExportError, match=r"chats.list\[1\]: expected a chat object"):
        parse_chats(json.dumps({"chats": {"list": [account["chats"]["list"][0], {"name": "broken"}]}}).encode(), "f.json")
    with pytest.raises(ExportError, match="not a Telegram Desktop export"):
        parse_chats(b'{"hello": 1}', "f.json")
    with pytest.raises(ExportError, match="holds no chats"):
        parse_chats(b'{"chats": {"list": []}}', "f.json")


def test_turns_merge_a_senders_messages_and_silences_split_conversations():
    chat = parse_chats(json.dumps(_account(_chat("c", [
        (1, "ann", "hi", 0), (2, "ann", "are you there?", 10), (3, "bob", "yes", 20), (4, "ann", "", 25),
        (5, "bob", "new topic", 20 + 3 * 3600), (6, "ann", "ok", 20 + 3 * 3600 + 5)]))).encode())
    from datetime import timedelta

    table = turns([(name, parsed.messages) for name, parsed in chat], timedelta(hours=2))
    assert table["conversation"].tolist() == ["c#1", "c#1", "c#5", "c#5"]  # named by their first message
    assert table["text"].tolist() == ["hi are you there?", "yes", "new topic", "ok"]
    built = examples(table, 3)
    assert built["reply"].tolist() == ["yes", "ok"]
    assert built["prompt"].tolist() == ["User: hi are you there?\nBot:", "User: new topic\nBot:"]
    long = examples(pd.DataFrame({"conversation": ["k"] * 6, "turn": range(6), "sender": ["a", "b"] * 3,
                                  "text": [f"m{i}" for i in range(6)], "timestamp": range(6)}), 3)
    last = json.loads(long["context"].iloc[-1])
    assert [t["text"] for t in last] == ["m2", "m3", "m4"]  # the last three turns before the reply
    assert [t["speaker"] for t in last] == ["user", "bot", "user"]  # relative to the one who replies (b)
    assert long["prompt"].iloc[-1] == "User: m2\nBot: m3\nUser: m4\nBot:"


def _conversations(n: int, start: int = 0) -> dict:
    chats = []
    for k in range(start, start + n):
        chats.append(_chat(f"chat{k}", [(1, "ann", f"hello {k}", 0), (2, "bob", f"hi {k}", 5),
                                         (3, "ann", f"how is {k}?", 10), (4, "bob", "x" * (k % 7 + 1), 15)]))
    return _account(*chats)


def test_re_exports_count_once_and_the_split_never_moves_as_data_grows(tmp_path):
    first = tmp_path / "first.json"
    first.write_text(json.dumps(_conversations(40)))
    config = _config(tmp_path, str(first))
    table, facts = prepare(read_raw(config, tmp_path), config)
    assert (facts.conversations, facts.examples) == (40, 120)
    assert 0 < facts.held_out_conversations < 40

    again = tmp_path / "again.json"  # the same chats exported again, with 20 more
    again.write_text(json.dumps(_conversations(60)))
    grown = _config(tmp_path, str(tmp_path / "*.json"))
    bigger, more = prepare(read_raw(grown, tmp_path), grown)
    assert more.duplicate_messages == 40 * 4 and more.examples == 180  # re-exported messages count once
    before = dict(zip(table["conversation"], table["split"], strict=False))
    after = dict(zip(bigger["conversation"], bigger["split"], strict=False))
    assert all(after[c] == s for c, s in before.items())  # no conversation changed sides
    assert (bigger.groupby("conversation")["split"].nunique() == 1).all()
    assert side("chat1#1", 42, 0.15) == side("chat1#1", 42, 0.15)

    bounded = _config(tmp_path, str(first), max_examples=30)
    few, _ = prepare(read_raw(bounded, tmp_path), bounded)
    assert len(few) == 30 and few.groupby("conversation").size().eq(3).all()  # whole conversations


def test_duplicates_and_long_replies_are_dropped_and_the_checks_pass_on_the_sample(tmp_path):
    from stackpipes.core.checks import load_suite, validate_dataframe

    doubled = _conversations(20)
    doubled["chats"]["list"][0]["messages"][1]["text"] = "y" * 900  # a reply, and context of the next two
    doubled["chats"]["list"] += [{**chat, "name": chat["name"] + "-copy"} for chat in doubled["chats"]["list"]]
    path = tmp_path / "doubled.json"
    path.write_text(json.dumps(doubled))
    config = _config(tmp_path, str(path))
    table, facts = prepare(read_raw(config, tmp_path), config)
    # 40 chats x 3 replies: the long reply dropped in both copies, every copied example once
    assert facts.long_replies_dropped == 2 and facts.duplicate_examples + facts.leaked_dropped == 59
    assert len(table) == 59 and table["reply_chars"].max() <= config.max_reply_chars
    longest = max(len(t["text"]) for c in table["context"] for t in json.loads(c))
    assert longest == config.max_reply_chars  # the long message cut in the contexts that hold it

    sample = DialogueData(name="chitchat", exports=["data/dialogue/chitchat_sample.json"])
    examples_table, _ = prepare(read_raw(sample, ROOT), sample)
    checks = load_suite(suite(sample))
    assert validate_dataframe(examples_table, checks, "chitchat").success
    broken = examples_table.copy()
    broken.loc[broken.index[:3], "conversation_on_both_sides"] = True
    report = validate_dataframe(broken, checks, "chitchat")
    assert [o.column for o in report.failed] == ["conversation_on_both_sides"]


def test_what_cannot_be_read_is_named(tmp_path):
    with pytest.raises(DialogueDataError, match="'missing/\\*.json' matches no file"):
        read_raw(_config(tmp_path, "missing/*.json"), tmp_path)
    not_json = tmp_path / "notes.json"
    not_json.write_text("these are not messages")
    config = _config(tmp_path, str(not_json))
    with pytest.raises(ExportError, match="notes.json"):
        prepare(read_raw(config, tmp_path), config)
    with pytest.raises(ValueError, match="context_messages"):
        DialogueData(name="t", exports=["x"], context_messages=100)

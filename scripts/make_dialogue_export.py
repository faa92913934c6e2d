"""Turn real conversations that ship offline into a Telegram Desktop account export.

The source is the Chit Chat Challenge corpus in the PyPI package `chitchat-dataset` (7,168 English
conversations, 258,145 messages with their senders and UTC times; read as a file, the package is
never imported); the 4,018 conversations in which both people wrote are used by default. Each conversation becomes one personal chat of the export
(`chats.list`), its messages in order with their real times; a sender is named by a short stable
pseudonym of its id. The dialogue system reads the export as it would read a user's own.

    python scripts/make_dialogue_export.py --conversations 120 --out data/dialogue/chitchat_sample.json
    python scripts/make_dialogue_export.py --conversations all --out .stackpipes/data/chitchat_all.json

Deterministic: the same package and arguments give the same bytes (conversations in order of
their start time, then id).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path

MAX_CONVERSATIONS = 10_000


def corpus_path() -> Path:
    spec = importlib.util.find_spec("chitchat_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("error: the package chitchat-dataset is not installed (make install installs it)")
    return Path(list(spec.submodule_search_locations)[0]) / "dataset.json"


def _pseudonym(sender: str) -> tuple[str, str]:
    digest = hashlib.sha256(sender.encode()).hexdigest()
    return f"speaker-{digest[:6]}", f"user{int(digest[:12], 16) % 10**10}"


def _senders(conversation: dict) -> int:
    return len({message["sender"] for turn in conversation["messages"] for message in turn})


def account_export(corpus: dict, count: int | None, one_sided: bool = False) -> dict:
    """The export of the first `count` conversations (all when None) in start-time order; those
    with one sender only (no reply: 3,150 of the 7,168) are left out unless `one_sided`."""
    ordered = sorted(((key, c) for key, c in corpus.items() if one_sided or _senders(c) > 1),
                     key=lambda item: (item[1].get("start", ""), item[0]))
    chats = []
    for number, (key, conversation) in enumerate(ordered[:count], start=1):
        messages, message_id = [], 0
        for turn in conversation["messages"]:
            for message in turn:
                message_id += 1
                stamp = datetime.strptime(message["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                name, from_id = _pseudonym(message["sender"])
                messages.append({
                    "id": message_id, "type": "message", "date": stamp.strftime("%Y-%m-%dT%H:%M:%S"),
                    "date_unixtime": str(int(stamp.timestamp())), "from": name, "from_id": from_id,
                    "text": message["text"],
                })
        chats.append({"name": f"chitchat {key[:8]}", "type": "personal_chat", "id": number, "messages": messages})
    return {"about": "Chit Chat Challenge conversations (PyPI chitchat-dataset) as a Telegram Desktop export",
            "chats": {"about": "one personal chat per conversation", "list": chats}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", default="120", help=f"how many ('all', or 1 to {MAX_CONVERSATIONS})")
    parser.add_argument("--out", default="data/dialogue/chitchat_sample.json")
    parser.add_argument("--one-sided", action="store_true",
                        help="keep conversations nobody answered too (they hold no reply to learn)")
    args = parser.parse_args()
    count = None if args.conversations == "all" else int(args.conversations)
    if count is not None and not 1 <= count <= MAX_CONVERSATIONS:
        raise SystemExit(f"error: --conversations {count}: expected 'all' or 1 to {MAX_CONVERSATIONS}")
    export = account_export(json.loads(corpus_path().read_text(encoding="utf-8")), count, args.one_sided)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(export, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    chats = export["chats"]["list"]
    print(f"{len(chats)} conversations, {sum(len(c['messages']) for c in chats)} messages -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

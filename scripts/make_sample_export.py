"""Generate a realistic Telegram Desktop export for demos and tests (deterministic for a seed).

Hourly Poisson activity with a daily profile (quiet nights, peaks at lunch and in the evening), a
weekly profile (different weekends), and optionally a planted shift in the last days: more
messages, later peaks. Includes service messages, media-only messages, formatted (list) text,
edited messages and several senders writing in Russian and English.

    python scripts/make_sample_export.py --out data/samples/telegram_export.json
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

LOCAL = timezone(timedelta(hours=3))
SENDERS = [("Анна", "user1001"), ("Boris", "user1002"), ("Вика", "user1003"), ("Dmitri", "user1004"), ("Elena", "user1005")]
PHRASES = [
    "Всем привет!", "Кто идёт на созвон?", "Смотрите, что нашёл", "Согласен", "Отличная идея",
    "Good morning", "See you at the meetup", "Pushed the fix", "Can someone review?", "lol",
    "Завтра дедлайн, не забываем", "Thanks!", "Какие планы на выходные?", "Docs are updated",
]
# relative activity per local hour 0..23: quiet at night, peaks around 12-14 and 20-22
DAILY = np.array([0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.3, 0.8, 1.3, 1.6, 1.7, 1.9,
                  2.4, 2.5, 2.1, 1.7, 1.6, 1.7, 1.9, 2.2, 2.6, 2.7, 2.0, 1.0])
# a shifted profile: the chat moved later in the day
SHIFTED = np.roll(DAILY, 3)
WEEKLY = np.array([1.0, 1.05, 1.1, 1.05, 0.95, 0.6, 0.55])  # Monday .. Sunday


def generate_export(start: str = "2026-09-07", weeks: int = 10, seed: int = 7, shift: bool = True,
                    chat_name: str = "stackpipes demo chat", daily_mean: float = 120.0) -> dict:
    rng = np.random.default_rng(seed)
    begin = datetime.fromisoformat(start).replace(tzinfo=LOCAL)
    hours = weeks * 7 * 24
    shift_from = hours - 8 * 24 if shift else hours
    scale = daily_mean / DAILY.sum()
    messages, next_id = [], 1
    for hour in range(hours):
        moment = begin + timedelta(hours=hour)
        profile = SHIFTED if hour >= shift_from else DAILY
        rate = profile[moment.hour] * WEEKLY[moment.weekday()] * scale * (2.5 if hour >= shift_from else 1.0)
        for _ in range(rng.poisson(rate)):
            stamp = moment + timedelta(seconds=int(rng.integers(0, 3600)))
            messages.append(_message(rng, next_id, stamp))
            next_id += 1
    messages.sort(key=lambda m: (int(m["date_unixtime"]), m["id"]))
    return {"name": chat_name, "type": "private_supergroup", "id": 1899237741, "messages": messages}


def _message(rng: np.random.Generator, message_id: int, stamp: datetime) -> dict:
    sender, sender_id = SENDERS[int(rng.integers(len(SENDERS)))]
    base = {"id": message_id, "type": "message", "date": stamp.replace(tzinfo=None).isoformat(timespec="seconds"),
            "date_unixtime": str(int(stamp.timestamp())), "from": sender, "from_id": sender_id}
    roll = rng.random()
    if roll < 0.03:
        return {**base, "type": "service", "actor": sender, "actor_id": sender_id, "action": "pin_message", "text": ""}
    if roll < 0.11:
        if rng.random() < 0.5:
            return {**base, "photo": f"photos/photo_{message_id}.jpg", "width": 1280, "height": 960, "text": "",
                    "text_entities": []}
        return {**base, "file": "(File not included)", "media_type": "sticker", "sticker_emoji": "👍", "text": "",
                "text_entities": []}
    phrase = PHRASES[int(rng.integers(len(PHRASES)))]
    if roll < 0.2:
        text: object = [{"type": "bold", "text": phrase.split()[0]}, " " + " ".join(phrase.split()[1:])]
    else:
        text = phrase
    message = {**base, "text": text, "text_entities": [{"type": "plain", "text": phrase}]}
    if rng.random() < 0.04:
        edited = stamp + timedelta(minutes=int(rng.integers(1, 30)))
        message["edited"] = edited.replace(tzinfo=None).isoformat(timespec="seconds")
        message["edited_unixtime"] = str(int(edited.timestamp()))
    return message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/samples/telegram_export.json")
    parser.add_argument("--start", default="2026-09-07")
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-shift", action="store_true", help="no planted change at the end")
    args = parser.parse_args()
    export = generate_export(args.start, args.weeks, args.seed, shift=not args.no_shift)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(export, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"{out}: {len(export['messages'])} messages, {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

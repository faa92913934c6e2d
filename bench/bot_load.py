"""The dialogue bot under load: simulated users through the stand-in Bot API, the real bot (aiogram,
polling), each user's context in a real PostgreSQL database made for the run.

Every user sends `--messages` texts at once (all users together, interleaved); the bot answers
each through the answer service. Checked afterwards: every message got exactly one reply, no
reply is an error or "try again later", and every user's stored context is exactly their last
three messages, in order. Printed: messages/s handled (first message sent to last reply).

The answer service is, by `--service`:
  - `instant` (default): an HTTP endpoint in this process that answers at once, with the
    service's request and response format and key check, so the figure is the bot's own
    throughput (Telegram side, PostgreSQL, HTTP) and not the model's: the model's throughput is
    bench/serving.py's figure;
  - a URL: a running dialogue deployment (`python run.py serve --pipeline dialogue`; its key in
    STACKPIPES_DIALOGUE_API_KEY), the whole path with the real model (use fewer users on a CPU).
`--restart-postgres` restarts the PostgreSQL server halfway (pg_ctlcluster; root only): the bot
reconnects and loses nothing.

    python bench/bot_load.py [--users 1000] [--messages 10] [--service instant|URL] [--restart-postgres]

Writes bench/results/bot_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
TOKEN = "777000:bench-bot-token"
MAX_USERS, MAX_MESSAGES = 100_000, 1000


async def instant_service(key: str):
    """The service's /answer contract, answered at once."""
    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {key}":
            return web.json_response({"detail": "Invalid authentication token"}, status=401)
        body = await request.json()
        if not isinstance(body.get("message"), str) or not isinstance(body.get("context", []), list):
            return web.json_response({"detail": "malformed"}, status=422)
        return web.json_response({"answer": f"heard {len(body['context'])}+1: {body['message']}",
                                  "model_version": "instant", "batch_size": 1})

    app = web.Application()
    app.router.add_post("/answer", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def restart_postgres() -> float:
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        raise SystemExit("--restart-postgres: no PostgreSQL cluster under /etc/postgresql")
    started = time.perf_counter()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"], check=True,
                   capture_output=True)
    return time.perf_counter() - started


async def run(users: int, messages: int, service: str, restart: bool) -> dict:
    from stackpipes.dialogue import bot
    from stackpipes.dialogue.context_store import ContextStore, drop_database
    from stackpipes.telegram.bot_api_standin import BotApiStandIn

    key = os.environ.get("STACKPIPES_DIALOGUE_API_KEY") or "bench-key"
    database = f"postgresql+asyncpg://postgres@127.0.0.1:5432/stackpipes_bench_{uuid.uuid4().hex[:10]}"
    runner = None
    if service == "instant":
        runner, service_url = await instant_service(key)
    else:
        service_url = service
    api = BotApiStandIn(token=TOKEN)
    await api.start()
    settings = bot.BotSettings(service_url=service_url, api_key=key, api_base=api.url, database_url=database,
                               service_timeout=300, concurrency=256)
    started_event = asyncio.Event()
    polling = asyncio.create_task(bot.run_bot(settings, TOKEN, started=started_event, handle_signals=False))
    restart_seconds = None
    try:
        await asyncio.wait_for(started_event.wait(), 120)
        total = users * messages
        began = time.perf_counter()
        for index in range(messages):
            for user in range(1, users + 1):
                await api.send_text(100_000 + user, f"user {user} message {index}")
            if restart and index == messages // 2:
                restart_seconds = await asyncio.to_thread(restart_postgres)
        await api.wait_sent(total, timeout=max(600, total))
        wall = time.perf_counter() - began
    finally:
        await bot.stop()
        await asyncio.wait_for(polling, 120)
        await api.stop()
        if runner is not None:
            await runner.cleanup()
    store = ContextStore(database)
    wrong, replies = 0, {}
    for message in api.sent:
        replies.setdefault(message["chat"]["id"], []).append(message["text"])
    failures = sum(1 for texts in replies.values() for t in texts if t in (bot.TRY_LATER, bot.FAILED))
    counts_ok = sum(1 for user in range(1, users + 1) if len(replies.get(100_000 + user, [])) == messages)
    for user in range(1, users + 1):
        expected = [f"user {user} message {i}" for i in range(max(0, messages - 3), messages)]
        if await store.get(100_000 + user) != expected:
            wrong += 1
    stored_users = await store.users()
    await store.close()
    await drop_database(database)
    return {"users": users, "messages_per_user": messages, "messages": users * messages, "seconds": wall,
            "messages_per_second": users * messages / wall, "replies": len(api.sent),
            "users_with_every_reply": counts_ok, "error_replies": failures, "wrong_contexts": wrong,
            "stored_users": stored_users, "service": "instant" if service == "instant" else "deployment",
            "postgres_restart_seconds": restart_seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--service", default="instant", help="'instant' or the URL of a running deployment")
    parser.add_argument("--restart-postgres", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.users <= MAX_USERS or not 1 <= args.messages <= MAX_MESSAGES:
        parser.error(f"--users 1-{MAX_USERS}, --messages 1-{MAX_MESSAGES}")
    result = asyncio.run(run(args.users, args.messages, args.service, args.restart_postgres))
    result["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    result["cpus"] = os.cpu_count()
    print(f"\nbot under load: {result['users']} users x {result['messages_per_user']} messages through the stand-in "
          f"Bot API, {result['service']} answer service, {result['cpus']} CPUs"
          + (f", PostgreSQL restarted halfway ({result['postgres_restart_seconds']:.1f} s)"
             if result["postgres_restart_seconds"] else ""))
    print(f"  {result['messages']} messages in {result['seconds']:.1f} s = {result['messages_per_second']:.0f} messages/s")
    print(f"  replies {result['replies']}; users with every reply {result['users_with_every_reply']}/{result['users']}; "
          f"error replies {result['error_replies']}; contexts not exactly the last three {result['wrong_contexts']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "bot_load.json" if result["service"] == "instant" else "bot_load_deployment.json"
    (RESULTS / name).write_text(json.dumps(result, indent=1))
    print(f"-> {RESULTS / name}")
    ok = result["error_replies"] == 0 and result["wrong_contexts"] == 0 and result["replies"] == result["messages"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""dialogue's commands for run.py: `serve` deploys the production model behind `POST /answer`;
`bot` runs the Telegram bot that answers through it.

    python run.py serve --pipeline dialogue [--stack local] [--port 8470]   # deploy; again = update
    python run.py serve --pipeline dialogue --status                         # where it runs, which version
    python run.py serve --pipeline dialogue --stop                           # take it down

The service key comes from STACKPIPES_DIALOGUE_API_KEY or the ZenML secret `dialogue_service`
(`api_key`); calls send it as `Authorization: Bearer <key>`. A promotion reaches a running service
by itself (it follows the production stage); `serve` again (or `--update`) redeploys at once.

    python run.py bot [--service-url URL] [--api-base URL] [--database-url URL]

The bot's token comes from TELEGRAM_BOT_TOKEN or the ZenML secret `telegram_bot` (`token`); the
service is the running deployment unless --service-url (or STACKPIPES_DIALOGUE_URL) names one;
each user's context is kept in PostgreSQL (STACKPIPES_DIALOGUE_DATABASE_URL, default the local
server's database `stackpipes_dialogue`, created and migrated on start).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

SERVABLE = {"dialogue": "pipelines.dialogue_serve"}
MAX_WATCH_SECONDS = 86_400


def add_commands(commands: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    serve = commands.add_parser("serve", help="serve a system's production model over HTTP (ZenML deployment)")
    serve.add_argument("--pipeline", choices=sorted(SERVABLE), required=True, help="the system to serve")
    serve.add_argument("--dataset", default="chitchat", help="whose production model (default chitchat)")
    serve.add_argument("--stack", default="local", help="stack whose deployer runs it (default local)")
    serve.add_argument("--port", type=int, help="local deployer: the port (default: the first free of 8470-8570)")
    action = serve.add_mutually_exclusive_group()
    action.add_argument("--update", action="store_true", help="redeploy now with the current production version")
    action.add_argument("--status", action="store_true", help="say where it runs and what it serves")
    action.add_argument("--stop", action="store_true", help="take it down")
    serve.add_argument("--window-ms", type=float, default=20.0, help="how long a request waits for others to batch (0-1000)")
    serve.add_argument("--max-batch", type=int, default=16, help="requests answered by one generate call (1-64)")
    serve.add_argument("--watch-seconds", type=float, default=30.0,
                       help="how often the service checks for a new production version (0 = never)")
    serve.add_argument("--timeout", type=int, default=300, help="seconds to wait for it to answer (1-1800)")

    bot = commands.add_parser("bot", help="run the dialogue Telegram bot (text and voice; context in PostgreSQL)")
    bot.add_argument("--dataset", default="chitchat", help="whose deployed service to use (default chitchat)")
    bot.add_argument("--stack", default="local", help="stack whose store holds the deployment (default local)")
    bot.add_argument("--service-url", help="the dialogue service (default: the running deployment)")
    bot.add_argument("--api-base", help="a Bot API server other than Telegram's (e.g. a local one)")
    bot.add_argument("--database-url", help="SQLAlchemy URL of the context database")
    bot.add_argument("--service-timeout", type=float, default=30.0, help="seconds to wait for an answer (default 30)")
    return {"serve": serve_command, "bot": bot_command}


def deployment_name(pipeline: str, dataset: str) -> str:
    return f"{pipeline}-{dataset}"


def serve_command(args: argparse.Namespace) -> int:
    if args.port is not None and not 1024 <= args.port <= 65535:
        print(f"error: --port {args.port}: give 1024 to 65535", file=sys.stderr)
        return 2
    if not 0 <= args.watch_seconds <= MAX_WATCH_SECONDS:
        print(f"error: --watch-seconds {args.watch_seconds}: give 0 to {MAX_WATCH_SECONDS}", file=sys.stderr)
        return 2
    from stackpipes.platform.registration import bring_up
    from stackpipes.platform.stackfile import load_stack_file, stack_path

    bring_up(load_stack_file(stack_path(args.stack)))
    from stackpipes.platform import deployments

    name = deployment_name(args.pipeline, args.dataset)
    if args.status:
        state = deployments.status(name)
        if state is None:
            print(f"'{name}' is not deployed (python run.py serve --pipeline {args.pipeline})")
            return 1
        print(f"{name}: {state.status} at {state.url or 'no address'} (deployer {state.deployer}, pid {state.pid})")
        if state.url and state.status == "running":
            print(f"  serving:       {_served(state.url)}")
        if state.log_file:
            print(f"  log:           {state.log_file}")
        return 0 if state.status == "running" else 1
    if args.stop:
        try:
            print(f"'{name}' taken down" if deployments.stop(name) else f"'{name}' was not deployed")
        except deployments.DeploymentError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    return _deploy(args, name)


def _deploy(args: argparse.Namespace, name: str) -> int:
    import importlib

    from stackpipes.core.registry import production_info
    from stackpipes.dialogue import HELDOUT_METRIC, MODEL_ARTIFACT, model_name
    from stackpipes.dialogue.serving import KEY_ENV, KEY_SECRET, MAX_BATCH, MAX_WINDOW_MS, api_key
    from stackpipes.platform.deployments import DeploymentError, deploy

    if not 0 <= args.window_ms <= MAX_WINDOW_MS or not 1 <= args.max_batch <= MAX_BATCH:
        print(f"error: --window-ms 0-{MAX_WINDOW_MS} and --max-batch 1-{MAX_BATCH}", file=sys.stderr)
        return 2
    model = model_name(args.dataset)
    production = production_info(model, MODEL_ARTIFACT, HELDOUT_METRIC)
    if not production.exists:
        print(f"error: there is no production '{model}' model yet: run python run.py --stack {args.stack} "
              "--pipeline dialogue_train", file=sys.stderr)
        return 1
    if not api_key():
        print(f"error: no service key: set {KEY_ENV}, or create the ZenML secret '{KEY_SECRET}' with api_key",
              file=sys.stderr)
        return 1
    pipeline = importlib.import_module(SERVABLE[args.pipeline]).dialogue_serve.with_options(
        on_init_kwargs={"model_name": model, "window_ms": args.window_ms, "max_batch": args.max_batch,
                        "watch_seconds": args.watch_seconds})
    try:
        state = deploy(pipeline, name, port=args.port, timeout=args.timeout)
    except DeploymentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{name}: running at {state.url} (model {model} version {production.version}; log {state.log_file})")
    print(f"  answer:        curl -s {state.url}/answer -H \"Authorization: Bearer ${KEY_ENV}\" "
          "-H 'Content-Type: application/json' -d '{\"context\": [\"hi!\"], \"message\": \"how are you?\"}'")
    print(f"  tracked:       POST {state.url}/invoke {{\"parameters\": {{\"context\": [...], \"message\": \"...\"}}}}")
    print(f"  docs, status:  {state.url}/docs  {state.url}/status")
    print(f"  stop:          python run.py serve --pipeline {args.pipeline} --stop")
    return 0


def _served(url: str) -> str:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/status", timeout=5) as response:
            facts = json.loads(response.read())
    except OSError as exc:
        return f"no answer from {url}/status ({exc})"
    if not facts.get("ready"):
        return "starting"
    return (f"{facts['model_name']} version {facts['model_version']}, {facts['batches']} batches answered, "
            f"up {facts['uptime_seconds']} s")


def bot_command(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os

    from pydantic import ValidationError

    from stackpipes.dialogue.bot import (
        SERVICE_URL_ENV,
        TOKEN_ENV,
        TOKEN_SECRET,
        BotSettings,
        bot_token,
        run_bot,
    )
    from stackpipes.dialogue.context_store import ContextStoreError
    from stackpipes.dialogue.serving import KEY_ENV, KEY_SECRET, api_key
    from stackpipes.platform.env import boot_zenml

    boot_zenml()
    token = bot_token()
    if not token:
        print(f"error: no bot token: set {TOKEN_ENV}, or create the ZenML secret '{TOKEN_SECRET}' with token",
              file=sys.stderr)
        return 1
    key = api_key()
    if not key:
        print(f"error: no service key: set {KEY_ENV}, or create the ZenML secret '{KEY_SECRET}' with api_key",
              file=sys.stderr)
        return 1
    url = args.service_url or os.environ.get(SERVICE_URL_ENV)
    if not url:
        from stackpipes.platform import deployments
        from stackpipes.platform.registration import bring_up
        from stackpipes.platform.stackfile import load_stack_file, stack_path

        bring_up(load_stack_file(stack_path(args.stack)))
        state = deployments.status(deployment_name("dialogue", args.dataset))
        if state is None or state.status != "running" or not state.url:
            print("error: the dialogue service is not running: start it with python run.py serve --pipeline dialogue, "
                  "or give --service-url", file=sys.stderr)
            return 1
        url = state.url
    try:
        settings = BotSettings(service_url=url, api_key=key, api_base=args.api_base, database_url=args.database_url,
                               service_timeout=args.service_timeout)
    except ValidationError as exc:
        print(f"error: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"bot: answering through {url} (stop with Ctrl-C)")
    try:
        asyncio.run(run_bot(settings, token))
    except ContextStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0

"""lecture_summary's command for run.py: `watch`, one run per new file dropped into a folder.

    python run.py watch --pipeline lecture_summary --inbox DIR [--stack S] [--config F] [--settle SECONDS] [--once]

See `stackpipes/lecture_summary/watcher.py` for what happens to each file.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

MAX_RUN_TIMEOUT_S = 7 * 24 * 3600


def add_commands(commands: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    watch = commands.add_parser("watch", help="summarise each new file of a folder (one lecture_summary run per file)")
    watch.add_argument("--pipeline", default="lecture_summary", choices=["lecture_summary"])
    watch.add_argument("--inbox", required=True, help="the folder to watch (failed files go to INBOX/failed/)")
    watch.add_argument("--stack", default=argparse.SUPPRESS, help="stack the runs use (default local)")
    watch.add_argument("--config", default=argparse.SUPPRESS, help="run configuration (default configs/lecture_summary.yaml)")
    watch.add_argument("--settle", type=float, default=2.0,
                       help="seconds a file must stay unchanged before it is taken (default 2)")
    watch.add_argument("--run-timeout", type=float, default=6 * 3600, help="seconds one run may take (default 6 h)")
    watch.add_argument("--once", action="store_true", help="summarise what the inbox holds now, then stop")
    return {"watch": watch_command}


def watch_command(args: argparse.Namespace) -> int:
    from stackpipes.lecture_summary.inbox import InputFileError
    from stackpipes.lecture_summary.ledger import Ledger
    from stackpipes.lecture_summary.watcher import Watcher, subprocess_runner
    from stackpipes.platform.env import PROJECT_ROOT
    from stackpipes.platform.registration import bring_up
    from stackpipes.platform.stackfile import load_stack_file, resolve_config, stack_path

    if not 0 < args.run_timeout <= MAX_RUN_TIMEOUT_S:
        raise ValueError(f"--run-timeout must be within (0, {MAX_RUN_TIMEOUT_S}] seconds")
    inbox = Path(args.inbox).expanduser()
    if not inbox.is_dir():
        raise InputFileError(f"--inbox {inbox}: no such folder")
    stack = getattr(args, "stack", None) or "local"
    spec = load_stack_file(stack_path(stack))
    bring_up(spec)
    # The ledger lives where the stack keeps raw data: its environment says where.
    for key, value in resolve_config(spec.environment, spec.path, "environment").items():
        os.environ[key] = str(value)
    ledger = Ledger()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    watcher = Watcher(inbox, subprocess_runner(stack, getattr(args, "config", None), PROJECT_ROOT, args.run_timeout),
                      lambda sha256: ledger.done(sha256) is not None, settle_s=args.settle)

    def stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"watching {watcher.inbox} for lectures (stack {stack}; Ctrl-C stops)" if not args.once
          else f"summarising what {watcher.inbox} holds (stack {stack})")
    try:
        outcomes = watcher.run(once=args.once)
    except KeyboardInterrupt:
        watcher.stop()
        print("watcher stopped; a file being summarised stays in the inbox for the next start", file=sys.stderr)
        outcomes = watcher.outcomes
    counts = {status: sum(o.status == status for o in outcomes) for status in ("summarised", "skipped", "failed")}
    print(", ".join(f"{n} {status}" for status, n in counts.items()))
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"  failed: {Path(outcome.path).name}: {outcome.detail}")
    return 1 if counts["failed"] and args.once else 0

"""horoscope's command for run.py: `generate`, horoscopes from the production horoscope model.

run.py finds this module by its name (`stackpipes/<system>/cli.py`) and calls `add_commands`;
nothing heavy is imported until the command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

MAX_TEXTS = 200  # texts per call; generation runs in batches of GENERATION_BATCH
GENERATION_BATCH = 16


def add_commands(commands: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    generate = commands.add_parser("generate", help="generate horoscopes with the production horoscope model")
    generate.add_argument("--sign", required=True, type=str.lower, help="zodiac sign, e.g. aries")
    generate.add_argument("--date", help="day of the horoscope, YYYY-MM-DD (default: today, UTC)")
    generate.add_argument("--n", type=int, default=1, help=f"how many horoscopes (default 1, at most {MAX_TEXTS})")
    generate.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same text)")
    generate.add_argument("--stack", default=argparse.SUPPRESS, help="stack whose ZenML store holds the model")
    return {"generate": generate_command}


def generate_command(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from stackpipes.horoscope import HELDOUT_METRIC, MODEL_ARTIFACT, MODEL_NAME
    from stackpipes.horoscope.schema import SIGNS
    if args.sign not in SIGNS:
        raise ValueError(f"--sign {args.sign!r}: expected one of {', '.join(SIGNS)}")
    if not 1 <= args.n <= MAX_TEXTS:
        raise ValueError(f"--n {args.n}: expected 1 to {MAX_TEXTS}")
    from stackpipes.core.cli import load_production_for_command
    from stackpipes.horoscope.generation import generate_horoscopes

    loaded = load_production_for_command(getattr(args, "stack", None), MODEL_NAME, MODEL_ARTIFACT, HELDOUT_METRIC,
                                         "--pipeline horoscope_train")
    if loaded is None:
        return 1
    lm, production = loaded
    day = args.date or datetime.now(timezone.utc).date().isoformat()
    sampling = lm.metadata.get("generation", {})
    print(f"# {args.sign}, {day} ({MODEL_NAME} version {production.version}; "
          f"top_p={sampling.get('top_p')}, temperature={sampling.get('temperature')})")
    for start in range(0, args.n, GENERATION_BATCH):
        # A batch at a time: memory stays that of GENERATION_BATCH texts whatever --n is.
        count = min(GENERATION_BATCH, args.n - start)
        for text in generate_horoscopes(lm, args.sign, day, n=count, seed=args.seed + start):
            print(text if text else "(the model generated no text)", flush=True)
    return 0

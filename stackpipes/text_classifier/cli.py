"""text_classifier's command for run.py: `classify`, answers from a dataset's production classifier.

    python run.py classify "I still have not received my new card" [--dataset banking77] [--top 3]
    python run.py classify --input FILE [--output OUT.csv]     # one text per line, or a CSV with `text`

Each text gets its most likely classes with their probabilities. A text the encoder's vocabulary
mostly cannot read (another script) is answered with a warning.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

MAX_TEXTS = 1_000_000
MAX_CHARS = 100_000


def add_commands(commands: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    classify = commands.add_parser("classify", help="classify texts with a dataset's production text classifier")
    classify.add_argument("texts", nargs="*", help="texts to classify")
    classify.add_argument("--dataset", default="banking77", help="the dataset (configs/text_classifier/DATASET.yaml)")
    classify.add_argument("--top", type=int, default=3, help="classes shown per text (1-100, default 3)")
    classify.add_argument("--input", help="a file of texts: one per line (.txt) or a CSV/TSV with a `text` column")
    classify.add_argument("--output", help="with --input: the CSV to write (default: INPUT.classified.csv)")
    classify.add_argument("--stack", default=argparse.SUPPRESS, help="stack whose ZenML store holds the model")
    return {"classify": classify_command}


def classify_command(args: argparse.Namespace) -> int:
    if not 1 <= args.top <= 100:
        print(f"error: --top {args.top}: give 1 to 100", file=sys.stderr)
        return 2
    from stackpipes.text_classifier.datasets import read_texts

    texts = read_texts(Path(args.input), MAX_TEXTS) if args.input else list(args.texts)
    if not texts:
        print("error: give texts to classify, or --input FILE", file=sys.stderr)
        return 2
    too_long = [i for i, t in enumerate(texts) if len(t) > MAX_CHARS]
    if too_long:
        print(f"error: text {too_long[0] + 1} has {len(texts[too_long[0]])} characters, more than {MAX_CHARS}",
              file=sys.stderr)
        return 2
    if any(not t.strip() for t in texts):
        print("error: an empty text cannot be classified", file=sys.stderr)
        return 2

    from stackpipes.core.cli import load_production_for_command
    from stackpipes.text_classifier import MODEL_ARTIFACT, model_name
    from stackpipes.text_classifier.model import UNREADABLE_WARNING_SHARE

    name = model_name(args.dataset)
    loaded = load_production_for_command(getattr(args, "stack", None), name, MODEL_ARTIFACT, "test_accuracy",
                                         f"--pipeline text_classifier --dataset {args.dataset}")
    if loaded is None:
        return 1
    classifier, production = loaded
    share = classifier.unreadable_share(texts)
    if share is not None and share > UNREADABLE_WARNING_SHARE:
        print(f"warning: the model's vocabulary cannot read {100 * share:.0f}% of these words (another script?): "
              "its answers mean little", file=sys.stderr)
    ranked = classifier.top(texts, args.top)
    header = f"{name} version {production.version} ({classifier.describe()})"
    if args.input:
        import json

        import pandas as pd

        output = Path(args.output) if args.output else Path(args.input).with_suffix(".classified.csv")
        pd.DataFrame({"text": texts, "label": [r[0][0] for r in ranked], "probability": [r[0][1] for r in ranked],
                      "top": [json.dumps(r, ensure_ascii=False) for r in ranked]}).to_csv(output, index=False)
        print(f"{len(texts)} texts classified by {header} -> {output}")
        return 0
    print(f"# {header}")
    for text, classes in zip(texts, ranked, strict=True):
        print(text)
        for label, probability in classes:
            print(f"  {probability:6.1%}  {label}")
    return 0

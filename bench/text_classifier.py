"""text_classifier figures: whole-data training on the CPU and the test scores next to the baseline.

For each bundled set, on its whole training split, in this process (the library the pipeline's
steps call, so the figures are the model's, not ZenML's):
  - banking77 (77 English intents, 9,003 training rows): the default encoder route, the packaged
    all-MiniLM-L6-v2 fine-tuned with early stopping on the dev split; wall time per epoch and
    training samples/s (evaluations left out) on `--threads` cores (2, as on CI);
  - fortunes_ru (18 Russian topics): the embeddings route (frozen USE-multilingual + a linear head),
    as configs/text_classifier/fortunes_ru.yaml trains it;
and on each the TF-IDF + linear SVM baseline trained on the same split. Test accuracy and
macro-F1 are printed as ratios over the baseline (targets: banking77 accuracy >= 0.91; ahead of
the baseline on every set). GPU samples/s and MFU are measured only where CUDA is present.

    python bench/text_classifier.py [--sets banking77 fortunes_ru] [--threads 2] [--epochs 8]

Prints a table; writes bench/results/text_classifier.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

# Dense bf16 peak of the cards MFU is reported for (TFLOP/s, without sparsity).
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0}


def load(name: str):
    import yaml

    from stackpipes.text_classifier.datasets import as_config, prepare, read_raw

    parameters = yaml.safe_load((ROOT / "configs" / "text_classifier" / f"{name}.yaml").read_text())["parameters"]
    dataset = as_config(parameters["dataset"])
    table, _ = prepare(read_raw(dataset)[0], dataset)
    parts = {split: table[table["split"] == split].reset_index(drop=True) for split in ("train", "dev", "test")}
    return dataset, parameters.get("model", {}), parts


def run_set(name: str, epochs: int | None) -> dict:
    from stackpipes.text_classifier.evaluation import scores
    from stackpipes.text_classifier.labels import LabelMap
    from stackpipes.text_classifier.model import (
        Baseline,
        ModelConfig,
        train_embeddings,
        train_encoder,
    )

    dataset, model_parameters, parts = load(name)
    config = ModelConfig.model_validate(model_parameters)
    if epochs is not None:
        config.training.epochs = epochs
    train, dev, test = parts["train"], parts["dev"], parts["test"]
    labels = LabelMap.from_labels(train["label"])
    truth = test["label"].tolist()

    started = time.perf_counter()
    baseline = Baseline(config.baseline_c).fit(train["text"], train["label"])
    baseline_seconds = time.perf_counter() - started
    floor = scores(truth, baseline.predict(test["text"]))

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as output:
        if config.route == "encoder":
            model = train_encoder(train, dev, labels, config, dataset.model_dump(), output)
        else:
            model = train_embeddings(train, dev, labels, config, dataset.model_dump())
    wall = time.perf_counter() - started
    started = time.perf_counter()
    tested = scores(truth, model.predict(test["text"].tolist()))
    predict_seconds = time.perf_counter() - started
    report = model.training
    figures = {
        "set": name, "route": config.route, "source": model.source, "classes": len(labels),
        "train_rows": len(train), "dev_rows": len(dev), "test_rows": len(test),
        "test_accuracy": tested.accuracy, "test_macro_f1": tested.macro_f1,
        "baseline_accuracy": floor.accuracy, "baseline_macro_f1": floor.macro_f1,
        "accuracy_over_baseline": tested.accuracy / floor.accuracy,
        "macro_f1_over_baseline": tested.macro_f1 / floor.macro_f1,
        "training_wall_seconds": wall, "baseline_seconds": baseline_seconds,
        "test_predictions_per_second": len(test) / predict_seconds,
        "training": report,
    }
    if config.route == "encoder":
        figures["seconds_per_epoch"] = report["seconds_per_epoch"]
        figures["samples_per_second"] = report["samples_per_second"]
        peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in report["device_name"]), None)
        figures["mfu"] = report["achieved_tflops"] / peak if peak and report["device"] == "cuda" else None
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["banking77", "fortunes_ru"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None, help="override the config's epochs")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "threads": args.threads,
               "cuda": torch.cuda.is_available(), "sets": []}
    for name in args.sets:
        figures = run_set(name, args.epochs)
        results["sets"].append(figures)
        print(f"{name} ({figures['route']}, {figures['classes']} classes, {figures['train_rows']} training rows):")
        print(f"  test accuracy {figures['test_accuracy']:.4f}  macro-F1 {figures['test_macro_f1']:.4f}")
        print(f"  baseline      {figures['baseline_accuracy']:.4f}  macro-F1 {figures['baseline_macro_f1']:.4f}"
              f"  -> accuracy x{figures['accuracy_over_baseline']:.3f}, macro-F1 x{figures['macro_f1_over_baseline']:.3f}")
        if figures["route"] == "encoder":
            t = figures["training"]
            print(f"  training: {t['epochs_run']:.0f} epochs ({'stopped early' if t['stopped_early'] else 'all'}), "
                  f"{figures['seconds_per_epoch']:.0f} s/epoch, {figures['samples_per_second']:.1f} samples/s "
                  f"({t['device']}, {args.threads} threads), {figures['training_wall_seconds']:.0f} s in all")
        else:
            t = figures["training"]
            print(f"  training: embeddings {t['embed_seconds']:.0f} s + head {t['fit_seconds']:.0f} s "
                  f"({t['samples_per_second']:.1f} samples/s)")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "text_classifier.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"  -> {RESULTS / 'text_classifier.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

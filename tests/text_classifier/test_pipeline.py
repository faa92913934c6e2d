"""text_classifier end to end on the local stack: a banking77 subset checked, split, trained
(the packaged MiniLM fine-tuned), tested against the baseline and promoted; a worse model, trained
on the local-gpu stack through its step operator (a subprocess, the CPU where there is no GPU),
is not promoted; `classify` and the batch-prediction pipeline answer from production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.pipeline

SUBSET = {"name": "banking77", "source": {"kind": "banking77"}, "checks": {"min_rows": 100, "min_per_class": 3},
          "max_rows_per_split": {"train": 385, "dev": 154, "test": 231}}
QUICK = {"max_steps": 48, "eval_steps": 24, "batch_size": 16, "learning_rate": 3e-4, "early_stopping_patience": None,
         "logging_steps": 24}


def _train(**parameters):
    from zenml import Model

    from pipelines.text_classifier import text_classifier

    return text_classifier.with_options(model=Model(name="text_classifier_banking77"), enable_cache=False)(**parameters)


def test_banking77_is_trained_promoted_and_classifies_and_a_worse_model_is_not_promoted(
        tmp_path, fresh_project, tiny_encoder, capsys):
    from zenml.client import Client

    import run as cli
    from pipelines.text_classifier import report

    assert cli.main(["classify", "--dataset", "banking77", "where is my card?"]) == 1  # no model yet
    assert "no production 'text_classifier_banking77' model yet" in capsys.readouterr().err

    first = _train(dataset=SUBSET, model={"training": QUICK}, retrain_policy={"force": True})
    steps = first.steps
    prepared = steps["prepare_texts"].run_metadata
    assert (prepared["train_rows"], prepared["classes"]) == (385, 77)
    assert steps["check_texts"].outputs["validation_report"][0].load().success
    assert steps["detect_drift"].outputs["drift_summary"][0].load().note.startswith("no reference data yet")
    raw = steps["load_texts"].outputs["raw_texts"][0].load()
    assert len(raw) == 13083  # the whole set kept as it arrived, before the subset
    test = steps["evaluate_classifier"].outputs["classifier_test"][0].load()
    assert test.rows == 231 and test.accuracy > 3 / 77 and test.baseline_accuracy is not None
    assert len(test.per_class) == 77 and test.confusion_png and "data:image/png;base64," in test.to_html()
    trained = steps["train_classifier"].run_metadata
    assert trained["route"] == "encoder" and trained["dev_loss_after"] < trained["dev_loss_before"]
    promotion = steps["promote_if_better"].outputs["promotion"][0].load()
    assert promotion.promoted
    printed = report(Client().get_pipeline_run(first.id))
    assert "test:          accuracy" in printed and "TF-IDF baseline" in printed

    # A worse model (a tiny untrained encoder, one step) on the local-gpu stack: its training step
    # runs through the step operator in a subprocess, on the CPU here.
    config = yaml.safe_load((ROOT / "configs" / "text_classifier" / "banking77.yaml").read_text())
    config["parameters"]["dataset"] = SUBSET
    config["parameters"]["model"] = {"encoder": tiny_encoder, "training": {**QUICK, "max_steps": 1, "eval_steps": 1}}
    config["parameters"]["log_model_to_mlflow"] = False
    path = tmp_path / "worse.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run([sys.executable, "run.py", "--stack", "local-gpu", "--pipeline", "text_classifier",
                             "--config", str(path)], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True,
                            timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Step 'train_classifier' runs in a subprocess" in output
    second = Client().get_pipeline("text_classifier").last_run
    drift = second.steps["detect_drift"].outputs["drift_summary"][0].load()
    assert drift.reference_rows == 385 and not drift.dataset_drift  # the same texts as production's
    evaluation = second.steps["evaluate_classifier"].outputs["model_evaluation"][0].load()
    assert evaluation.production is not None and evaluation.challenger < evaluation.production
    assert not second.steps["promote_if_better"].outputs["promotion"][0].load().promoted

    Client().activate_stack("local")
    capsys.readouterr()
    assert cli.main(["classify", "--dataset", "banking77", "--top", "3", "I still have not received my new card"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"# text_classifier_banking77 version {promotion.model_version} (encoder classifier")
    assert out[1] == "I still have not received my new card" and len(out) == 5 and all("%" in line for line in out[2:])

    texts = tmp_path / "texts.txt"
    texts.write_text("how do I top up?\n\nmy card was stolen\nwhat is the exchange rate\n", encoding="utf-8")
    from pipelines.text_classifier_predict import text_classifier_predict

    run = text_classifier_predict(dataset="banking77", input_file=str(texts), top=2)
    predictions = pd.read_csv(tmp_path / "texts.classified.csv")
    assert predictions["text"].tolist() == ["how do I top up?", "my card was stolen", "what is the exchange rate"]
    assert predictions["probability"].between(0, 1).all()
    assert run.steps["classify_file"].run_metadata["model_version"] == promotion.model_version

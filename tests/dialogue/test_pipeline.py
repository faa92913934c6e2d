"""dialogue_train end to end on the local stack: the bundled conversations read (kept), prepared,
checked, a tiny causal LM fine-tuned on the replies in their contexts, evaluated on held-out
conversations (reply loss, context use against the base model, sampled replies) and promoted; a
second run on the same conversations sees no drift and keeps production; a forced, worse one is
evaluated against production and not promoted."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.pipeline

DATASET = {"name": "chitchat", "exports": ["data/dialogue/chitchat_sample.json"],
           "checks": {"min_examples": 500, "min_held_out": 50, "min_conversations": 50}}


def _model(tiny_model: str, steps: int, learning_rate: float = 3e-3) -> dict:
    return {"model_ref": tiny_model,
            "training": {"loss_on": "target", "packing": False, "seq_len": 128, "max_steps": steps, "batch_size": 8,
                         "learning_rate": learning_rate, "max_eval_examples": 32, "subset_size": None,
                         "logging_steps": 10},
            "generation": {"max_new_tokens": 12},
            "evaluation": {"max_examples": 48, "samples": 6, "batch_size": 16}}


def _train(**parameters):
    from zenml import Model

    from pipelines.dialogue_train import dialogue_train

    return dialogue_train.with_options(model=Model(name="dialogue_chitchat"), enable_cache=False)(**parameters)


def test_conversations_train_a_model_that_is_evaluated_and_promoted_then_kept(fresh_project, tiny_model):
    from zenml.client import Client

    from pipelines.dialogue_train import report

    first = _train(dataset=DATASET, model=_model(tiny_model, 40), log_model_to_mlflow=False)
    steps = first.steps
    raw = steps["load_conversations"].outputs["raw_exports"][0].load()
    assert len(raw) == 1 and raw["bytes"].iloc[0] == len(raw["content"].iloc[0])  # the file kept as it was read
    prepared = steps["prepare_dialogues"].run_metadata
    assert prepared["conversations"] > 50 and prepared["held_out_examples"] >= 50
    assert steps["check_dialogues"].outputs["validation_report"][0].load().success
    examples = steps["prepare_dialogues"].outputs["dialogue_examples"][0].load()
    sides = examples.groupby("conversation")["split"].nunique()
    assert (sides == 1).all()  # no conversation on both sides
    assert examples["prompt"].str.endswith("Bot:").all() and examples["context_turns"].between(1, 3).all()

    trained = steps["train_dialogue_model"].run_metadata
    assert trained["loss_after"] < trained["loss_before"]
    evaluation = steps["evaluate_dialogue_model"].outputs["dialogue_evaluation"][0].load()
    assert evaluation.model is not None and evaluation.base is not None and evaluation.production is None
    assert evaluation.model.reply_loss < evaluation.base.reply_loss  # fine-tuning fits the replies
    assert evaluation.sampled.replies == 6 and len(evaluation.examples) == 6
    assert "context-use gap" in evaluation.to_html()
    promotion = steps["promote_if_better"].outputs["promotion"][0].load()
    assert promotion.promoted
    model = steps["train_dialogue_model"].outputs["dialogue_model"][0].load()
    assert model.generation_config.max_new_tokens == 12 and model.metadata["context_messages"] == 3
    printed = report(Client().get_pipeline_run(first.id))
    assert "context-use gap" in printed and "held out:" in printed

    # The same conversations again: no drift against production's, so nothing to retrain.
    second = _train(dataset=DATASET, model=_model(tiny_model, 40), log_model_to_mlflow=False)
    drift = second.steps["detect_drift"].outputs["drift_summary"][0].load()
    assert drift.reference_rows == prepared["train_examples"] and not drift.dataset_drift
    decision = second.steps["decide_retrain"].outputs["retrain_decision"][0].load()
    assert not decision.retrain
    assert not second.steps["promote_if_better"].outputs["promotion"][0].load().promoted

    # A forced retrain of one step cannot fit the replies as well: compared, not promoted.
    third = _train(dataset=DATASET, model=_model(tiny_model, 1, learning_rate=1e-5),
                   retrain_policy={"metric": "heldout_reply_loss", "force": True}, log_model_to_mlflow=False)
    scored = third.steps["evaluate_dialogue_model"].outputs["model_evaluation"][0].load()
    assert scored.production == pytest.approx(evaluation.model.reply_loss, rel=1e-3)
    assert scored.challenger > scored.production
    assert not third.steps["promote_if_better"].outputs["promotion"][0].load().promoted

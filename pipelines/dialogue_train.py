"""dialogue_train: Telegram conversations -> (context, reply) examples -> checked -> drift -> retrain
decision -> a causal LM fine-tuned to use its context -> evaluated -> promoted.

read the export files as they are (kept) -> prepare (conversations split on silences, a sender's
consecutive messages one turn, every reply with up to three turns before it, duplicates dropped,
split by conversation) -> check them (GX: reply lengths, contexts, no conversation on both sides,
enough conversations and held-out replies) -> drift of the new training replies against the
production model's (Evidently: text descriptors, text content, context sizes) -> retrain decision
-> fine-tune on the stack's step operator (loss on the reply tokens) -> evaluate it, the base model
and production on the same held-out conversations (reply loss, context use, sampled replies) ->
promote if its reply loss is lower.

    python run.py --stack local --pipeline dialogue_train    # configs/dialogue_train.yaml
"""

from __future__ import annotations

from typing import Any, Optional

from zenml import pipeline
from zenml.enums import ExecutionMode

from stackpipes.core.drift import TEXT_DESCRIPTORS
from stackpipes.core.policy import RetrainPolicy, review_mode
from stackpipes.core.registry import require_run_model
from stackpipes.dialogue import HELDOUT_METRIC, MODEL_ARTIFACT, model_name
from stackpipes.dialogue.data import DRIFT_NUMERICAL, DialogueData, as_config, suite
from stackpipes.dialogue.model import DialogueModelConfig
from steps.core import (
    decide_retrain,
    detect_drift,
    fetch_production_model,
    promote_if_better,
    validate_dataset,
    write_review_page,
)
from steps.dialogue import (
    evaluate_dialogue_model,
    load_conversations,
    prepare_dialogues,
    production_dialogues,
    train_dialogue_model,
    training_dialogues,
)


@pipeline(execution_mode=ExecutionMode.FAIL_FAST)
def dialogue_train(
    dataset: DialogueData,
    model: Optional[DialogueModelConfig] = None,
    retrain_policy: Optional[RetrainPolicy] = None,
    drift_threshold: Optional[float] = None,
    log_model_to_mlflow: bool = True,
) -> None:
    dataset, model = as_config(dataset), DialogueModelConfig.model_validate(model or {})
    require_run_model(model_name(dataset.name), dataset.name)

    raw = load_conversations(dataset=dataset)
    examples, rows = prepare_dialogues(raw, dataset=dataset)
    validate_dataset(examples, suite=suite(dataset), dataset_name=dataset.name, id="check_dialogues")

    production = fetch_production_model(model_name=model_name(dataset.name), model_artifact=MODEL_ARTIFACT,
                                        metric=HELDOUT_METRIC)
    previous = production_dialogues(production)
    current = training_dialogues(examples, after="check_dialogues")
    drift, _ = detect_drift(previous, current, report_name=f"dialogue_{dataset.name}_drift",
                            numerical=[*TEXT_DESCRIPTORS, *DRIFT_NUMERICAL], text=["text"],
                            threshold=drift_threshold, time_column=None)
    decision = decide_retrain(None, drift, rows, production, policy=retrain_policy)

    trained = train_dialogue_model(examples, decision, production, dataset=dataset, model=model,
                                   log_model_to_mlflow=log_model_to_mlflow)
    evaluation, _ = evaluate_dialogue_model(trained, examples, decision, production, dataset=dataset, model=model)
    promotion = promote_if_better(evaluation, review=review_mode(retrain_policy))
    write_review_page(promotion, products=["dialogue_evaluation"])


def report(run: Any) -> str:
    """Where a finished run's results are, for run.py to print."""
    from stackpipes.core.summary import dashboard_line, mlflow_lines, review_lines

    lines = [f"Run '{run.name}': {run.status}"]
    steps = run.steps
    if "prepare_dialogues" in steps:
        meta = steps["prepare_dialogues"].run_metadata
        lines.append(f"  examples:      {meta.get('examples')} replies of {meta.get('conversations')} conversations; "
                     f"{meta.get('train_examples')} training, {meta.get('held_out_examples')} held out "
                     f"({meta.get('duplicate_examples')} duplicates, {meta.get('long_replies_dropped')} long replies "
                     "dropped)")
    if "train_dialogue_model" in steps and "loss_after" in steps["train_dialogue_model"].run_metadata:
        meta = steps["train_dialogue_model"].run_metadata
        lines.append(f"  fine-tuned:    {meta.get('base_model')} on {meta.get('train_examples')} replies, "
                     f"{meta.get('steps')} steps on {meta.get('device')} ({meta.get('tokens_per_second', 0):.0f} "
                     "tokens/s)")
    if "evaluate_dialogue_model" in steps:
        meta = steps["evaluate_dialogue_model"].run_metadata
        if HELDOUT_METRIC in meta:
            production = meta.get("production")
            base = meta.get("base_context_use_gap")
            lines.append(f"  held out:      reply loss {meta[HELDOUT_METRIC]:.4f} (production "
                         + (f"{production:.4f}" if isinstance(production, float) else "none")
                         + f"); context-use gap {meta['context_use_gap']:+.4f}"
                         + (f" (base model {base:+.4f})" if isinstance(base, float) else "")
                         + f"; distinct-2 {meta['distinct_2']:.3f} (artifact 'dialogue_evaluation')")
    lines += review_lines(run)
    lines += mlflow_lines(run)
    lines.append("  serve:         python run.py serve --pipeline dialogue   (POST /answer)")
    lines.append(dashboard_line(run))
    return "\n".join(lines)

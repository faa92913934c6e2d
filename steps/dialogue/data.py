"""The conversations a dataset config names: read as they are (kept), prepared into (context,
reply) examples split by conversation, and the drift frames of the new training replies and of
the production model's."""

from __future__ import annotations

import json
from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

import materializers.dialogue  # noqa: F401  (registers its materializers)
from stackpipes.core.types import ProductionInfo
from stackpipes.dialogue import TRAINING_ARTIFACT
from stackpipes.dialogue.data import DialogueData

logger = get_logger(__name__)


@step(enable_cache=False)  # the files may have changed
def load_conversations(dataset: DialogueData) -> Annotated[pd.DataFrame, "raw_exports"]:
    """Every export file's bytes exactly as read (and their SHA-256), kept as this artifact before
    anything is parsed."""
    from stackpipes.dialogue.data import read_raw
    from stackpipes.platform.env import PROJECT_ROOT

    raw = read_raw(dataset, PROJECT_ROOT)
    log_metadata({"files": len(raw), "bytes": int(raw["bytes"].sum()), "sha256": json.dumps(raw["sha256"].tolist())})
    logger.info("Read %d export files (%d bytes)", len(raw), int(raw["bytes"].sum()))
    return raw


@step
def prepare_dialogues(raw_exports: pd.DataFrame, dataset: DialogueData) -> tuple[
        Annotated[pd.DataFrame, "dialogue_examples"], Annotated[int, "example_rows"]]:
    """Messages -> conversations (split on silences) -> turns -> (context, reply) examples, edits
    and re-exported messages counted once, duplicate examples dropped, split by conversation."""
    from stackpipes.dialogue.data import prepare

    table, facts = prepare(raw_exports, dataset)
    for warning in facts.warnings:
        logger.warning("%s", warning)
    for name, label in (("long_replies_dropped", "replies longer than max_reply_chars"),
                        ("duplicate_examples", "duplicate (context, reply) examples"),
                        ("leaked_dropped", "held-out examples that are also training examples")):
        if getattr(facts, name):
            logger.warning("Dropped %d %s", getattr(facts, name), label)
    log_metadata({**facts.model_dump(exclude={"warnings"}), "warnings": json.dumps(facts.warnings)})
    logger.info("%d examples from %d conversations: %d training, %d held out", facts.examples, facts.conversations,
                facts.train_examples, facts.held_out_examples)
    return table, len(table)


@step
def training_dialogues(dialogue_examples: pd.DataFrame) -> Annotated[pd.DataFrame, TRAINING_ARTIFACT]:
    """The training replies with their descriptors: the current side of drift, kept with the model
    this run trains (the reference of later runs)."""
    from stackpipes.dialogue.data import drift_frame

    return drift_frame(dialogue_examples)


@step(enable_cache=False)  # the production version changes between runs
def production_dialogues(production: ProductionInfo) -> Annotated[pd.DataFrame, "previous_dialogues"]:
    """The training replies of the production model's run (the drift reference); empty without one."""
    from stackpipes.core.registry import load_production_artifact
    from stackpipes.dialogue.data import drift_frame

    if not production.exists:
        return drift_frame(pd.DataFrame({"reply": pd.Series(dtype=str), "context_turns": pd.Series(dtype=int),
                                         "context": pd.Series(dtype=str)}))
    reference = load_production_artifact(production, TRAINING_ARTIFACT)
    log_metadata({"rows": len(reference), "production_version": production.version})
    return reference

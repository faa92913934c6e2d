"""dialogue's steps: the conversations read, prepared and described, the model fine-tuned and evaluated."""

from steps.dialogue.data import (
           load_conversations,
           prepare_dialogues,
           production_dialogues,
           training_dialogues,
)
from steps.dialogue.train import evaluate_dialogue_model, train_dialogue_model

__all__ = ["evaluate_dialogue_model", "load_conversations", "prepare_dialogues", "production_dialogues",
           "train_dialogue_model", "training_dialogues"]

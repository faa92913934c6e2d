"""text_classifier's steps: the texts read, prepared and described, the classifier trained and tested."""

from steps.text_classifier.data import (
           load_texts,
           prepare_texts,
           production_texts,
           training_descriptors,
)
from steps.text_classifier.train import evaluate_classifier, train_classifier

__all__ = ["evaluate_classifier", "load_texts", "prepare_texts", "production_texts", "train_classifier",
           "training_descriptors"]

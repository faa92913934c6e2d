"""text_classifier: labelled texts -> checks -> split -> drift -> retrain decision -> fine-tuned
classifier -> test against a TF-IDF baseline and production -> promotion -> `classify`.

Any set of (text, label) rows a dataset file describes (`configs/text_classifier/<dataset>.yaml`):
banking77 (English bank-customer intents), the topics of Debian's Russian fortunes, or a user's
CSV/TSV/parquet. The library is in the modules beside this one: the `datasets` (what a set is,
how it is read, prepared, split and checked), the `labels` map, the three model routes
(`encoder`: a fine-tuned BERT-style encoder through stackpipes.lm; `embeddings`: a frozen
multilingual sentence encoder with a trained linear head; `baseline`: TF-IDF + a linear model),
the trained `model` as one artifact, its `evaluation`, and the `cli` command `classify`.
"""

SYSTEM = "text_classifier"
MODEL_PREFIX = "text_classifier_"  # the ZenML model of dataset D is text_classifier_D
MODEL_ARTIFACT = "text_classifier_model"
MAX_CLASSES = 10_000
MAX_TEXT_CHARS = 100_000  # a ceiling for checks.max_chars
MAX_REFERENCE_ROWS = 50_000  # training rows kept with a model for drift


def model_name(dataset: str) -> str:
    """The ZenML (and MLflow registry) model of a dataset's classifiers."""
    return f"{MODEL_PREFIX}{dataset}"

"""ratings: collected comments and tabular records -> checks -> split -> parameter sweep -> train -> test -> promotion.

Two pipelines: `ratings_collect` lands comments from the YouTube Data API (or its bundled sample,
served on 127.0.0.1) as raw CSV; `ratings_train` trains on any table a dataset file describes
(`configs/ratings_train/<dataset>.yaml`: Titanic, the landed comments, ...). The library is in the
modules beside this one: the raw `schema`, the API `sources` (YAML), the `youtube` client and its
bundled `sample_api`, the `datasets` (what a table is and how it is read and checked), the
`splitting`, the `preprocessing`, the `sweep` (search spaces, trials, cross-validation), the
trained `model` and its scoring, and the `cli` command `predict`.
"""

MODEL_PREFIX = "ratings_"  # the ZenML model of dataset D is ratings_D
MODEL_ARTIFACT = "ratings_model"
MAX_QUERIES = 500  # queries one source file may list
MAX_TRIALS = 1_000  # trials one sweep may run
MAX_PARALLEL = 16  # sweep steps one run may fan out to
MAX_FOLDS = 20


def model_name(dataset: str) -> str:
    """The ZenML (and MLflow registry) model of a dataset's models."""
    return f"{MODEL_PREFIX}{dataset}"

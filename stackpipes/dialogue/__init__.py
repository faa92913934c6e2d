"""dialogue: Telegram conversations -> (context, reply) examples -> a causal LM fine-tuned to use
its context -> served over HTTP by a ZenML deployment -> a Telegram bot that keeps each user's
context in PostgreSQL.
"""

SYSTEM = "dialogue"
MODEL_PREFIX = "dialogue"
MODEL_ARTIFACT = "dialogue_model"
TRAINING_ARTIFACT = "dialogue_training_replies"  # the drift reference kept with each trained version
HELDOUT_METRIC = "heldout_reply_loss"  # loss per reply token on held-out conversations; lower is better
CONTEXT_MESSAGES = 3  # messages before the reply an example (and the service) keeps


def model_name(dataset: str) -> str:
    """The ZenML (and MLflow) model a dataset's runs train."""
    return f"{MODEL_PREFIX}_{dataset}"

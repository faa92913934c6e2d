"""Shared fixtures: banking77 as the package ships it, a few of its classes, a tiny encoder."""

from __future__ import annotations

import pandas as pd
import pytest

SMALL_CLASSES = ["card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed", "transfer_timing"]


@pytest.fixture(scope="session")
def banking77() -> pd.DataFrame:
    """banking77's prepared rows (text, label, split), the whole set."""
    from stackpipes.text_classifier.datasets import DatasetConfig, prepare, read_raw

    config = DatasetConfig(name="banking77")
    return prepare(read_raw(config)[0], config)[0]


@pytest.fixture(scope="session")
def small_banking(banking77) -> dict[str, pd.DataFrame]:
    """Five banking77 classes: 40 training, 10 dev and 20 test rows of each."""
    rows = banking77[banking77["label"].isin(SMALL_CLASSES)]
    sizes = {"train": 40, "dev": 10, "test": 20}
    return {split: rows[rows["split"] == split].groupby("label").head(n).reset_index(drop=True)
            for split, n in sizes.items()}


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> str:
    """A 2-layer, 32-wide BERT (random weights) with the packaged MiniLM's tokenizer, saved as a
    Hugging Face folder: fine-tunes in seconds."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from stackpipes.text_classifier.model import DEFAULT_ENCODER, resolve_encoder

    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder(DEFAULT_ENCODER))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    folder = tmp_path_factory.mktemp("tiny-encoder")
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)

"""Materializer for `LanguageModel`: model, tokenizer and generation config in Hugging Face format.

ZenML's own HF materializer is registered only when its integration activates (and then needs
`datasets`); without one a model would be pickled. This one writes `save_pretrained` folders
into a local temporary directory and copies them with ZenML's fileio, so any artifact store
(local, S3) works. transformers is imported only when a model is saved or loaded.
"""

from __future__ import annotations

import html
import json
import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.utils import io_utils

from stackpipes.lm.bundle import LanguageModel

MODEL_DIR, TOKENIZER_DIR, GENERATION_DIR = "model", "tokenizer", "generation"
BUNDLE_FILE, CARD_FILE = "bundle.json", "card.md"


def _json_safe(metadata: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(metadata, default=str))


def write_bundle(data: LanguageModel, folder: str) -> None:
    """Model, tokenizer, generation config (HF `save_pretrained` folders) and bundle.json, which
    names the Auto class and dtype that load them and holds the model's metadata."""
    data.model.save_pretrained(os.path.join(folder, MODEL_DIR))
    data.tokenizer.save_pretrained(os.path.join(folder, TOKENIZER_DIR))
    if data.generation_config is not None:
        data.generation_config.save_pretrained(os.path.join(folder, GENERATION_DIR))
    bundle = {
        "task": data.task,
        "model_class": data.model_class,
        "dtype": str(data.model.dtype).removeprefix("torch."),
        "metadata": _json_safe(data.metadata),
    }
    with open(os.path.join(folder, BUNDLE_FILE), "w") as handle:
        json.dump(bundle, handle, indent=1)


def read_bundle(folder: str) -> LanguageModel:
    """A LanguageModel from a local folder in this materializer's layout."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        GenerationConfig,
    )

    with open(os.path.join(folder, BUNDLE_FILE)) as handle:
        bundle = json.load(handle)
    model_class = AutoModelForSeq2SeqLM if bundle["task"] == "seq2seq" else AutoModelForCausalLM
    model = model_class.from_pretrained(os.path.join(folder, MODEL_DIR), dtype=getattr(torch, bundle["dtype"]))
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(folder, TOKENIZER_DIR))
    generation_dir = os.path.join(folder, GENERATION_DIR)
    generation_config = GenerationConfig.from_pretrained(generation_dir) if os.path.isdir(generation_dir) else None
    model.eval()
    return LanguageModel(model, tokenizer, generation_config, bundle["metadata"])


class LanguageModelMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (LanguageModel,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def save(self, data: LanguageModel) -> None:
        with self.get_temporary_directory(delete_at_exit=True) as local_dir:
            write_bundle(data, local_dir)
            io_utils.copy_dir(local_dir, self.uri, overwrite=True)

    def load(self, data_type: type[Any]) -> LanguageModel:
        with self.get_temporary_directory(delete_at_exit=True) as local_dir:
            io_utils.copy_dir(self.uri, local_dir, overwrite=True)
            return read_bundle(local_dir)

    def extract_metadata(self, data: LanguageModel) -> dict[str, Any]:
        scalars = {
            f"meta_{key}": value
            for key, value in data.metadata.items()
            if isinstance(value, str | int | float | bool)
        }
        return {
            "parameters": data.parameter_count,
            "model_class": data.model_class,
            "task": data.task,
            "dtype": str(data.model.dtype).removeprefix("torch."),
            "vocab_size": len(data.tokenizer),
            **scalars,
        }

    def save_visualizations(self, data: LanguageModel) -> dict[str, VisualizationType]:
        rows = [
            ("model class", data.model_class),
            ("task", data.task),
            ("parameters", f"{data.parameter_count:,}"),
            ("dtype", str(data.model.dtype).removeprefix("torch.")),
            ("vocabulary", f"{len(data.tokenizer):,}"),
            *((str(key), str(value)) for key, value in data.metadata.items()),
        ]
        table = "\n".join(
            f"| {html.escape(name)} | {html.escape(value).replace('|', '&#124;')} |" for name, value in rows
        )
        uri = os.path.join(self.uri, CARD_FILE)
        with self.artifact_store.open(uri, "w") as handle:
            handle.write(f"### Language model: {data.model_class}\n\n| field | value |\n|---|---|\n{table}\n")
        return {uri: VisualizationType.MARKDOWN}

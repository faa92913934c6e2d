"""`LanguageModel`: a model, its tokenizer, generation settings and metadata as one artifact.

Kept free of heavy imports so a materializer can name the type without importing transformers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class LanguageModel:
    """A trained or loaded LM ready to generate: what a training step hands to evaluation."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    generation_config: GenerationConfig | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        """'seq2seq' for encoder-decoder models, else 'causal'."""
        return "seq2seq" if getattr(self.model.config, "is_encoder_decoder", False) else "causal"

    @property
    def parameter_count(self) -> int:
        return sum(parameter.numel() for parameter in self.model.parameters())

    @property
    def model_class(self) -> str:
        return type(self.model).__name__

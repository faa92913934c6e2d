"""`LanguageModel`: a model, its tokenizer, generation settings and metadata as one artifact.

Kept free of heavy imports so a materializer can name the type without importing transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase


class LanguageModel:
    """A trained or loaded LM ready to generate: what a training step hands to evaluation.

    A plain class, not a dataclass: ZenML inspects a step's annotated types with pydantic, which
    would try to resolve the transformers types named only for type checkers.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        generation_config: GenerationConfig | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.generation_config = generation_config
        self.metadata: dict[str, Any] = dict(metadata or {})

    def __repr__(self) -> str:
        return f"LanguageModel({self.model_class}, {self.task}, {self.parameter_count:,} parameters)"

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

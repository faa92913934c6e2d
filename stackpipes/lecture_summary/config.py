"""The configuration blocks of the lecture_summary pipeline (pydantic: a typo fails at once)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_DURATION_S = 24 * 3600


class AudioConfig(BaseModel):
    """How much audio is accepted and what counts as silent."""

    model_config = ConfigDict(extra="forbid")

    max_duration_s: float = Field(default=4 * 3600, gt=0, le=MAX_DURATION_S)   # longer files are refused
    min_duration_s: float = Field(default=1.0, ge=0, le=3600)
    silence_dbfs: float = Field(default=-60.0, ge=-120, le=0)   # quieter than this on average: silent


class SummaryConfig(BaseModel):
    """How the transcript is summarised (the `summary:` block)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["extractive", "abstractive"] = "extractive"
    # extractive: TextRank keeps the best sentences up to this share of the transcript's words,
    # at least `min_sentences` and at most `max_sentences`.
    ratio: float = Field(default=0.25, gt=0, le=1)
    min_sentences: int = Field(default=2, ge=1, le=100)
    max_sentences: int = Field(default=20, ge=1, le=200)
    key_points: int = Field(default=5, ge=0, le=50)   # the best sentences, with the time they are said
    # abstractive: a causal or seq2seq language model (any Hugging Face id, path or packaged GGUF)
    # summarises chunks of `chunk_words` words, then the chunks' summaries (map-reduce).
    model: Optional[str] = None
    chunk_words: int = Field(default=350, ge=50, le=4000)
    max_new_tokens: int = Field(default=120, ge=8, le=1024)
    max_chunks: int = Field(default=64, ge=1, le=1000)

    @model_validator(mode="after")
    def _consistent(self) -> "SummaryConfig":
        if self.min_sentences > self.max_sentences:
            raise ValueError(f"min_sentences ({self.min_sentences}) is above max_sentences ({self.max_sentences})")
        if self.method == "abstractive" and not self.model:
            raise ValueError("method abstractive needs `model` (a Hugging Face id, a folder or packaged:NAME)")
        return self


class TranscriptBounds(BaseModel):
    """What a usable transcript looks like; the checks (GX) and the diagnosis read these."""

    model_config = ConfigDict(extra="forbid")

    min_words_per_minute: float = Field(default=40, ge=0, le=1000)
    max_words_per_minute: float = Field(default=300, ge=1, le=1000)
    low_confidence: float = Field(default=0.4, ge=0, le=1)          # a segment below this is low-confidence
    max_low_confidence_share: float = Field(default=0.5, ge=0, le=1)

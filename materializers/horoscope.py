"""Materializers the horoscope system's types need: its language model (the lm library's)."""

from __future__ import annotations

import materializers.core  # noqa: F401  (registers the shared ones)
from stackpipes.lm.materializer import LanguageModelMaterializer

__all__ = ["LanguageModelMaterializer"]

"""Materializers for the dialogue system: its model is the lm library's `LanguageModel` (stored in
Hugging Face format with its generation config), its evaluation a report page."""

from __future__ import annotations

from typing import Any, ClassVar

import materializers.core  # noqa: F401  (registers the shared ones)
from materializers.core import ReportMaterializer
from stackpipes.dialogue.evaluation import DialogueEvaluation
from stackpipes.lm.materializer import LanguageModelMaterializer


class DialogueEvaluationMaterializer(ReportMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (DialogueEvaluation,)


__all__ = ["DialogueEvaluationMaterializer", "LanguageModelMaterializer"]

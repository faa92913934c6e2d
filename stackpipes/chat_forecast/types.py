"""The forecaster's own result type: a forecast table with its plot."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class Forecast:
    """A forecast table with its plot; stored as CSV + PNG and shown as both in the dashboard."""

    def __init__(self, frame: Any, png: bytes, model: str, generated_at: datetime):
        self.frame = frame
        self.png = png
        self.model = model
        self.generated_at = generated_at

    @property
    def start(self) -> Any:
        return self.frame["timestamp"].iloc[0]

    @property
    def end(self) -> Any:
        return self.frame["timestamp"].iloc[-1]

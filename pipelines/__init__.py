"""The pipelines run.py knows, imported only when one is run (keeps the CLI fast)."""

from __future__ import annotations

from typing import NamedTuple


class PipelineEntry(NamedTuple):
    module: str
    attribute: str
    default_config: str


PIPELINES: dict[str, PipelineEntry] = {
    "chat_forecast": PipelineEntry("pipelines.chat_forecast", "chat_forecast", "configs/chat_forecast.yaml"),
    "horoscope_collect": PipelineEntry(
        "pipelines.horoscope_collect", "horoscope_collect", "configs/horoscope_collect.yaml"
    ),
    "horoscope_train": PipelineEntry("pipelines.horoscope_train", "horoscope_train", "configs/horoscope_train.yaml"),
}

"""The pipelines run.py knows: every `pipelines/NAME.py` defines the pipeline `NAME`, configured by
`configs/NAME.yaml` by default. Found by file name, imported only when one is run (keeps the CLI
fast); a new pipeline is a new file, nothing to register."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class PipelineEntry(NamedTuple):
    module: str
    attribute: str
    default_config: str


PIPELINES: dict[str, PipelineEntry] = {
    path.stem: PipelineEntry(f"pipelines.{path.stem}", path.stem, f"configs/{path.stem}.yaml")
    for path in sorted(Path(__file__).parent.glob("*.py"))
    if not path.stem.startswith("_")
}

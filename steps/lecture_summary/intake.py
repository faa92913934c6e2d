"""The run's lecture: one file, or the oldest new file of an inbox; and what a failure does to it."""

from __future__ import annotations

from typing import Annotated, Optional

from zenml import log_metadata, step
from zenml.logger import get_logger

from stackpipes.lecture_summary.intake import LectureInput

logger = get_logger(__name__)


@step(enable_cache=False)  # what is new, and what is done, changes between runs
def take_lecture(
    input_file: Optional[str] = None, inbox: Optional[str] = None,
    raw_root: Optional[str] = None, raw_secret_name: Optional[str] = None,
) -> Annotated[LectureInput, "lecture"]:
    """The file this run summarises, hashed and kept as it arrived (raw/sha256=.../ under the
    raw root); `skip` when it was summarised before or the inbox holds nothing new."""
    from stackpipes.lecture_summary.intake import take
    from stackpipes.lecture_summary.ledger import Ledger

    lecture = take(input_file, inbox, Ledger(raw_root, raw_secret_name))
    if lecture.skip:
        logger.info("Nothing to do: %s", lecture.note)
    else:
        logger.info("Lecture %s (%s, %d bytes) kept at %s", lecture.name, lecture.sha256[:12], lecture.size,
                    lecture.raw_uri)
    log_metadata({"lecture": lecture.name or "none", "sha256": lecture.sha256, "skip": lecture.skip,
                  "note": lecture.note, "raw_uri": lecture.raw_uri, "inbox": lecture.inbox})
    return lecture


def on_lecture_failure(exception: BaseException) -> None:
    """A run on an inbox whose step fails moves its file to the inbox's failed/ folder with the
    reason beside it, so the next scheduled run takes the next file (a file given by path, as the
    watcher gives it, stays where it is: the watcher moves it)."""
    from pathlib import Path

    from zenml import get_step_context
    from zenml.client import Client

    from stackpipes.lecture_summary.inbox import move_to_failed

    context = get_step_context()
    if context.step_run.name == "take_lecture":
        return  # nothing was taken yet; a file it refused is already in failed/
    step_run = Client().get_pipeline_run(context.pipeline_run.id).steps.get("take_lecture")
    if step_run is None or "lecture" not in step_run.outputs:
        return
    lecture = step_run.outputs["lecture"][0].load()
    if lecture.inbox and lecture.entry and not lecture.skip and Path(lecture.entry).exists():
        reason = f"{context.step_run.name}: {exception}"
        logger.warning("Moved %s to %s: %s", lecture.name, move_to_failed(Path(lecture.entry), Path(lecture.inbox), reason),
                       reason)

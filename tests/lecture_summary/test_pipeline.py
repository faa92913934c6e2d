"""lecture_summary end to end on the local stack: an English and a Russian lecture summarised to
PDF with their checks, drift against the earlier lecture and the review page; the same file a
second time does nothing; an inbox run takes the oldest new file and sets a broken one aside; the
watcher summarises a file dropped into its folder and moves a broken one to failed/."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackpipes.core.drift import MIN_ROWS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.pipeline
FAST = {"cpu_threads": 2, "beam_size": 2}


def _run(**parameters):
    from pipelines.lecture_summary import lecture_summary

    return lecture_summary.with_options(enable_cache=False)(speech={**FAST, **parameters.pop("speech", {})}, **parameters)


def _pdf_text(path: str) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(path).pages)


def test_english_then_russian_lecture_to_pdf_and_the_same_file_again_does_nothing(
        english_lecture, russian_lecture, tmp_path, fresh_project, monkeypatch):
    from pipelines.lecture_summary import report

    monkeypatch.setenv("STACKPIPES_RAW_ROOT", str(tmp_path / "raw"))
    first = _run(input_file=str(english_lecture), speech={"language": "en"})
    steps = first.steps
    assert steps["check_audio"].outputs["validation_report"][0].load().success
    assert steps["check_transcript"].outputs["validation_report"][0].load().success
    transcript = steps["transcribe_audio"].outputs["transcript"][0].load()
    assert transcript.language == "en" and transcript.words > 80 and transcript.device == "cpu"
    pdf = steps["write_lecture_pdf"].outputs["lecture_pdf"][0].load()
    assert pdf.data.startswith(b"%PDF") and Path(pdf.copy_path).is_file()
    folder = Path(pdf.copy_path).parent
    assert folder.parent.name == "lecture_summary" and folder.name.startswith("History_of_computing-")
    assert {p.name for p in folder.iterdir()} == {"summary.pdf", "transcript.txt", "transcript.srt", "summary.md"}
    text = _pdf_text(pdf.copy_path)
    assert "History of computing" in text and "vacuum tube" in text
    assert steps["detect_drift"].outputs["drift_summary"][0].load().note.startswith("no reference data yet")
    raw = list((tmp_path / "raw" / "lecture_summary" / "raw").rglob("*.mp4"))
    assert [p.read_bytes() for p in raw] == [english_lecture.read_bytes()]  # kept as it arrived
    review = Path(steps["write_review_page"].run_metadata["review_page"]).read_text(encoding="utf-8")
    assert "Produced: lecture_summary" in review and "lecture_transcript" in review

    second = _run(input_file=str(russian_lecture), speech={"language": "ru"})
    russian = second.steps["transcribe_audio"].outputs["transcript"][0].load()
    assert russian.language == "ru" and russian.words > 30
    drift = second.steps["detect_drift"].outputs["drift_summary"][0].load()
    assert len(russian.segments) >= MIN_ROWS, drift.note  # enough segments for drift to compare
    assert drift.reference_rows == len(transcript.segments) and drift.columns["language"].drifted
    russian_pdf = second.steps["write_lecture_pdf"].outputs["lecture_pdf"][0].load()
    assert "Лекция о погоде" in _pdf_text(russian_pdf.copy_path)

    again = _run(input_file=str(english_lecture), speech={"language": "en"})
    assert again.steps["take_lecture"].outputs["lecture"][0].load().skip
    assert again.steps["transcribe_audio"].outputs["transcript"][0].load().segments == []
    assert not again.steps["write_lecture_pdf"].outputs["lecture_pdf"][0].load().data
    from zenml.client import Client

    assert "already summarised: " + pdf.copy_path in report(Client().get_pipeline_run(again.id))


def test_an_inbox_run_takes_the_oldest_new_file_and_sets_a_broken_one_aside(
        english_lecture, tmp_path, fresh_project, monkeypatch):
    monkeypatch.setenv("STACKPIPES_RAW_ROOT", str(tmp_path / "raw"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    broken = inbox / "a broken recording.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    os.utime(broken, (time.time() - 60, time.time() - 60))  # the oldest: taken first
    (inbox / "outside.wav").symlink_to("/etc/hostname")
    shutil.copy(english_lecture, inbox / "lecture.mp4")

    with pytest.raises(ValueError, match="a broken recording.mp4: not a media file"):
        _run(inbox=str(inbox), speech={"language": "en"})
    failed = inbox / "failed"
    assert (failed / broken.name).is_file() and not broken.exists()
    assert "extract_audio: a broken recording.mp4: not a media file" in (failed / f"{broken.name}.reason.txt").read_text()

    done = _run(inbox=str(inbox), speech={"language": "en"})  # the link is refused before it is read
    assert done.steps["take_lecture"].outputs["lecture"][0].load().name == "lecture.mp4"
    assert (failed / "outside.wav").is_symlink()
    assert "outside the inbox" in (failed / "outside.wav.reason.txt").read_text()
    assert Path(done.steps["write_lecture_pdf"].run_metadata["pdf"]).is_file()
    idle = _run(inbox=str(inbox), speech={"language": "en"})
    assert idle.steps["take_lecture"].outputs["lecture"][0].load().note == f"nothing new in {inbox}"
    assert (inbox / "lecture.mp4").is_file()  # summarised files stay; their hash marks them done


def test_the_watcher_summarises_a_dropped_file_and_moves_a_broken_one_to_failed(
        english_lecture, tmp_path, zenml_local_stack):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = tmp_path / "fast.yaml"
    config.write_text((ROOT / "configs" / "lecture_summary.yaml").read_text().replace("beam_size: 5", "beam_size: 2")
                      .replace("cpu_threads: 0 ", "cpu_threads: 2 ").replace("language: auto", "language: en"))
    env = {**os.environ, "STACKPIPES_RAW_ROOT": str(tmp_path / "raw")}
    watcher = subprocess.Popen(
        [sys.executable, "run.py", "watch", "--pipeline", "lecture_summary", "--inbox", str(inbox), "--settle", "1",
         "--config", str(config)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(3)
        name = "лекция по истории.mp4"  # Cyrillic and spaces in the name
        data = english_lecture.read_bytes()
        with (inbox / name).open("wb") as handle:  # arrives slowly: not taken while it grows
            for start in range(0, len(data), len(data) // 4 + 1):
                handle.write(data[start: start + len(data) // 4 + 1])
                handle.flush()
                time.sleep(0.4)
        (inbox / "notes.mp4").write_text("not a video at all")
        deadline = time.time() + 300
        while time.time() < deadline:
            done = list((Path(os.environ["STACKPIPES_REPORTS"]) / "lecture_summary").glob("лекция_по_истории-*/summary.pdf"))
            if done and (inbox / "failed" / "notes.mp4.reason.txt").exists():
                break
            time.sleep(1)
        else:
            pytest.fail("the watcher did not finish both files in time")
    finally:
        watcher.send_signal(signal.SIGINT)
        output, _ = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, output
    assert "1 summarised" in output and "1 failed" in output
    assert "not a media file" in (inbox / "failed" / "notes.mp4.reason.txt").read_text()
    assert (inbox / name).is_file() and not (inbox / "notes.mp4").exists()

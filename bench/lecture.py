"""lecture_summary figures: speed of speech to text inside the pipeline against bare
faster-whisper on the same file, and word error rates.

1. A 10-minute lecture video (real speech: the five LibriVox clips and jfk, fetched by
   scripts/speech_samples.py, one after another with short pauses until 10 minutes, as an mp4 with
   AAC audio and a still picture). Bare faster-whisper (the packaged Whisper base, int8,
   `cpu_threads=2`, beam 5, VAD, word timestamps; it decodes the file itself) is timed before and
   after the pipeline, and `lecture_summary` runs on the local stack in this process (private
   state folder) with the same settings. Figures: the real-time factor of the transcription (its
   own decoding time / audio length; target <= 0.2 on 2 cores) and the pipeline's overhead: the
   audio and transcription steps' wall time (decode, model load, ZenML, artifacts) against the
   bare run's (load + decode + transcribe), target <= 10 %.
2. WER (jiwer, numbers normalised): jfk (target 0 %), the LibriVox clips (target <= 5 %), and an
   English and a Russian espeak-ng script (the script is the reference).
3. CUDA float16: measured only where a GPU is present (`--gpu`); not on this machine.

Prints a table; writes bench/results/lecture.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
THREADS = 2
SPEECH = {"cpu_threads": THREADS, "beam_size": 5, "vad_filter": True, "word_timestamps": True, "language": "en"}
EN_SCRIPT = (
    "Good morning, everyone. Today we will talk about the history of computing machines. The first "
    "electronic computers were built during the 1940s. They filled whole rooms and used thousands of vacuum "
    "tubes. Programming them meant changing cables and switches by hand. In the 1950s, the transistor "
    "replaced the vacuum tube. Computers became smaller, faster and much more reliable.")
RU_SCRIPT = (
    "Добрый день. Сегодня мы поговорим о погоде и о климате. Погода меняется каждый день. Климат меняется "
    "медленно, за многие годы. Летом в городе жарко, а зимой холодно и идёт снег. Весной тает снег и "
    "начинаются дожди. Осенью листья становятся жёлтыми и падают на землю.")


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def ten_minute_lecture(folder: Path, seconds: float) -> Path:
    from stackpipes.speech.audio import load_audio

    samples_module, maker = _script("speech_samples"), _script("make_lecture")
    clips = [samples_module.jfk(), *samples_module.librivox()]
    pieces = [load_audio(c.path, 60)[0] for c in clips]
    pause = np.zeros(int(0.8 * 16000), np.float32)
    out, total = [], 0
    while total < seconds * 16000:
        for piece in pieces:
            out += [piece, pause]
            total += piece.size + pause.size
    return maker.write_media(np.concatenate(out)[: int(seconds * 16000)], 16000, folder / "ten minute lecture.mp4")


def bare(path: Path, folder: str) -> dict:
    from faster_whisper import WhisperModel

    started = time.perf_counter()
    model = WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=THREADS)
    loaded = time.perf_counter()
    segments, info = model.transcribe(str(path), beam_size=5, vad_filter=True, word_timestamps=True, language="en")
    words = sum(len(s.text.split()) for s in segments)
    ended = time.perf_counter()
    return {"seconds": ended - started, "transcribe_s": ended - loaded, "duration_s": info.duration, "words": words}


def pipeline_run(path: Path) -> dict:
    from stackpipes.platform.flavors.lazy_components import boot_with_lazy_components

    boot_with_lazy_components()
    from stackpipes.platform.registration import stack_up
    from stackpipes.platform.stackfile import load_stack_file

    stack_up(load_stack_file(ROOT / "stacks" / "local.yaml"))
    from pipelines.lecture_summary import lecture_summary

    started = time.perf_counter()
    run = lecture_summary.with_options(enable_cache=False)(input_file=str(path), speech=SPEECH)
    wall = time.perf_counter() - started
    steps = {name: (s.end_time - s.start_time).total_seconds() for name, s in run.steps.items()}
    meta = run.steps["transcribe_audio"].run_metadata
    return {"run_s": wall, "steps_s": steps, "extract_audio_s": steps["extract_audio"],
            "transcribe_step_s": steps["transcribe_audio"], "transcribe_s": meta["transcribe_seconds"],
            "load_s": meta["load_seconds"], "duration_s": meta["duration_s"], "words": meta["words"]}


def word_error_rates(folder: Path) -> dict:
    from stackpipes.speech.audio import load_audio
    from stackpipes.speech.scoring import word_error_rate
    from stackpipes.speech.whisper import SpeechConfig, load_model, transcribe

    samples_module, maker = _script("speech_samples"), _script("make_lecture")
    english, russian = SpeechConfig(cpu_threads=THREADS, language="en"), SpeechConfig(cpu_threads=THREADS, language="ru")
    model, _, _ = load_model(english)

    def text(path: Path, config) -> str:
        return transcribe(load_audio(path, 600)[0], config, model=model).text

    jfk = samples_module.jfk()
    clips = samples_module.librivox()
    en_file = maker.make_lecture(EN_SCRIPT, "en-us", folder / "en.mp4", speed=150)
    ru_file = maker.make_lecture(RU_SCRIPT, "ru", folder / "ru.webm", speed=120)
    return {
        "jfk": word_error_rate([jfk.reference], [text(jfk.path, english)]),
        "librivox": word_error_rate([c.reference for c in clips], [text(c.path, english) for c in clips]),
        "espeak_en": word_error_rate([EN_SCRIPT], [text(en_file, english)], "en"),
        "espeak_ru": word_error_rate([RU_SCRIPT], [text(ru_file, russian)], "ru"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600, help="length of the recording (default 600)")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="stackpipes-bench-lecture-"))
    os.environ.update({"STACKPIPES_HOME": str(state), "STACKPIPES_REPORTS": str(state / "reports"),
                       "ZENML_CONFIG_PATH": str(state / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"})
    os.environ.pop("STACKPIPES_RAW_ROOT", None)
    from stackpipes.speech.whisper import packaged_model_folder

    folder = str(packaged_model_folder("whisper-base"))
    lecture = ten_minute_lecture(state, args.seconds)
    before = bare(lecture, folder)
    piped = pipeline_run(lecture)
    after = bare(lecture, folder)
    bare_s = (before["seconds"] + after["seconds"]) / 2
    ours_s = piped["extract_audio_s"] + piped["transcribe_step_s"]
    wers = word_error_rates(state)
    figures = {
        "date": datetime.now().strftime("%Y-%m-%d"), "cpu_threads": THREADS, "audio_s": piped["duration_s"],
        "bare_s": [round(before["seconds"], 2), round(after["seconds"], 2)],
        "bare_rtf": round((before["transcribe_s"] + after["transcribe_s"]) / 2 / before["duration_s"], 4),
        "pipeline_rtf": round(piped["transcribe_s"] / piped["duration_s"], 4),
        "pipeline_steps_s": round(ours_s, 2), "pipeline_run_s": round(piped["run_s"], 2),
        "overhead": round(ours_s / bare_s - 1, 4), "words": {"bare": before["words"], "pipeline": piped["words"]},
        "wer": {k: round(v, 4) for k, v in wers.items()}, "cuda_float16_rtf": "not measured (no GPU here)",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lecture.json").write_text(json.dumps(figures, indent=2))
    print(f"lecture_summary figures ({figures['date']}, {THREADS} CPU threads, {figures['audio_s']:.0f} s of speech)")
    print(f"  real-time factor, pipeline's transcription: {figures['pipeline_rtf']:.3f}   (target <= 0.2)")
    print(f"  real-time factor, bare faster-whisper:      {figures['bare_rtf']:.3f}")
    print(f"  bare load+decode+transcribe: {figures['bare_s']} s; pipeline's audio+transcription steps: "
          f"{ours_s:.1f} s -> overhead {figures['overhead']:+.1%}   (target <= +10%)")
    print("  WER: " + ", ".join(f"{k} {v:.1%}" for k, v in figures["wer"].items())
          + "   (targets: jfk 0%, librivox <= 5%)")
    print(f"  CUDA float16: {figures['cuda_float16_rtf']}")
    print(f"  -> {RESULTS / 'lecture.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

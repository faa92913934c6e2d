"""The lecture's audio: decoded from its container, 16 kHz mono, with the table its checks read."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
from zenml import log_metadata, step

import materializers.lecture_summary  # noqa: F401  (registers its materializers)
from stackpipes.lecture_summary.config import AudioConfig
from stackpipes.lecture_summary.intake import LectureInput
from stackpipes.speech.audio import AudioClip


@step
def extract_audio(
    lecture: LectureInput, audio: Optional[AudioConfig] = None,
) -> tuple[Annotated[AudioClip, "lecture_audio"], Annotated[pd.DataFrame, "audio_stats"]]:
    """16 kHz mono audio of the lecture (PyAV), and one row of its duration, loudness and rate
    for the audio checks. A file that is not media, has no audio, is truncated or longer than
    `audio.max_duration_s` fails here with the reason."""
    import numpy as np

    from stackpipes.lecture_summary.stats import AUDIO_COLUMNS
    from stackpipes.speech.audio import SAMPLE_RATE, active_share, load_audio, rms_dbfs

    config = audio or AudioConfig()
    if lecture.skip:
        return AudioClip(np.zeros(0, np.float32), SAMPLE_RATE), pd.DataFrame(columns=AUDIO_COLUMNS)
    samples, info = load_audio(lecture.path, config.max_duration_s)
    clip = AudioClip(samples, SAMPLE_RATE, info)
    loudness = max(rms_dbfs(samples), -200.0)
    row = {"lecture": lecture.slug, "container": info.container, "audio_codec": info.audio_codec,
           "source_sample_rate": info.sample_rate, "sample_rate": SAMPLE_RATE, "duration_s": round(clip.duration_s, 3),
           "rms_dbfs": round(loudness, 2), "active_share": round(active_share(samples), 4)}
    log_metadata({k: v for k, v in row.items() if k != "lecture"})
    return clip, pd.DataFrame([row], columns=AUDIO_COLUMNS)

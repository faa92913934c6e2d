"""Audio out of every container the pipeline accepts, and a clear error for each bad file."""

from __future__ import annotations

import numpy as np
import pytest

from stackpipes.speech.audio import MediaError, active_share, load_audio, probe, rms_dbfs

TEXT = "One, two, three. This is a short test of audio extraction."


@pytest.fixture(scope="module")
def spoken(lecture_maker, tmp_path_factory):
    wav = lecture_maker.speak(TEXT, "en-us", tmp_path_factory.mktemp("spoken") / "speech.wav")
    return lecture_maker.read_wav(wav)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".mp3", ".ogg", ".wav"])
def test_each_container_gives_16khz_mono_audio_of_the_same_length(suffix, spoken, lecture_maker, tmp_path):
    samples, rate = spoken
    video = suffix in (".mp4", ".mkv", ".webm")
    path = lecture_maker.write_media(samples, rate, tmp_path / f"lecture{suffix}", video=video)
    audio, info = load_audio(path, max_duration_s=60)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert info.video_streams == (1 if video else 0)
    expected = samples.size / rate
    assert abs(audio.size / 16000 - expected) < 0.15, (suffix, audio.size / 16000, expected)
    assert rms_dbfs(audio) > -40 and active_share(audio) > 0.3
    # the same speech, whatever the codec: the loudness agrees within a few dB
    assert abs(rms_dbfs(audio) - rms_dbfs(samples)) < 3


def test_a_file_that_is_not_media_is_refused(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("these are my lecture notes, not a video")
    with pytest.raises(MediaError, match="not a media file"):
        probe(path)


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        load_audio(path, 60)


def test_a_video_without_an_audio_track_is_refused(tmp_path):
    import av

    path = tmp_path / "silent-film.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(4):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(MediaError, match="no audio track"):
        load_audio(path, 60)


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".webm"])
def test_a_truncated_file_is_refused_with_what_could_be_read(suffix, spoken, lecture_maker, tmp_path):
    samples, rate = spoken
    whole = lecture_maker.write_media(samples, rate, tmp_path / f"whole{suffix}", video=suffix == ".webm")
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])  # the header still states the full length
    with pytest.raises(MediaError, match=r"truncated: only \d"):
        load_audio(cut, 60)


def test_an_mp4_cut_before_its_index_is_refused(spoken, lecture_maker, tmp_path):
    samples, rate = spoken
    whole = lecture_maker.write_media(samples, rate, tmp_path / "whole.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(MediaError, match="cut off before its index"):
        load_audio(cut, 60)


def test_a_file_longer_than_allowed_is_refused_before_decoding(spoken, lecture_maker, tmp_path):
    samples, rate = spoken
    path = lecture_maker.write_media(samples, rate, tmp_path / "long.mp3", video=False)
    with pytest.raises(MediaError, match="more than the 1.0 s allowed"):
        load_audio(path, max_duration_s=1.0)


def test_silence_measures_as_silence(lecture_maker, tmp_path):
    path = lecture_maker.write_media(np.zeros(16000 * 3, np.float32), 16000, tmp_path / "quiet.wav", video=False)
    audio, _ = load_audio(path, 60)
    assert rms_dbfs(audio) == float("-inf") and active_share(audio) == 0.0

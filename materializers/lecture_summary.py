"""Materializers for lecture_summary: the decoded audio, the transcript (JSON with .txt and .srt
files beside it), the summary and the PDF, each shown in the dashboard as Markdown."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer

import materializers.core  # noqa: F401  (registers the shared ones)
from stackpipes.lecture_summary.pdf import LecturePdf
from stackpipes.lecture_summary.summary import LectureSummary, timecode
from stackpipes.speech.audio import AudioClip, MediaInfo, format_duration
from stackpipes.speech.whisper import Transcript

PREVIEW_SEGMENTS = 200


class _Files:
    """File helpers for the materializers below (a mixin: ZenML registers only classes with types)."""

    uri: str
    artifact_store: Any

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name)

    def _write(self, name: str, data: str | bytes) -> None:
        with self.artifact_store.open(self._path(name), "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)

    def _read(self, name: str) -> bytes:
        with self.artifact_store.open(self._path(name), "rb") as handle:
            return handle.read()

    def _markdown(self, text: str) -> dict[str, VisualizationType]:
        path = self._path("view.md")
        self._write("view.md", text)
        return {path: VisualizationType.MARKDOWN}


class AudioClipMaterializer(_Files, BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (AudioClip,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save(self, data: AudioClip) -> None:
        pcm = (np.clip(data.samples, -1, 1) * 32767).astype("<i2")  # 16-bit: half the bytes, no audible loss
        with self.artifact_store.open(self._path("samples.npy"), "wb") as handle:
            np.save(handle, pcm)
        self._write("info.json", json.dumps({"sample_rate": data.sample_rate,
                                             "info": asdict(data.info) if data.info else None}))

    def load(self, data_type: type[Any]) -> AudioClip:
        meta = json.loads(self._read("info.json"))
        with self.artifact_store.open(self._path("samples.npy"), "rb") as handle:
            pcm = np.load(handle)
        return AudioClip(samples=pcm.astype(np.float32) / 32767, sample_rate=meta["sample_rate"],
                         info=MediaInfo(**meta["info"]) if meta["info"] else None)

    def save_visualizations(self, data: AudioClip) -> dict[str, VisualizationType]:
        info = data.info
        source = f"{info.container}, {info.audio_codec} at {info.sample_rate} Hz, {info.channels} channel(s)" if info else "?"
        return self._markdown(f"**audio** {format_duration(data.duration_s)} mono at {data.sample_rate} Hz "
                              f"(from {source})")


class TranscriptMaterializer(_Files, BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (Transcript,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save(self, data: Transcript) -> None:
        self._write("transcript.json", data.model_dump_json())
        self._write("transcript.txt", data.to_txt())
        self._write("transcript.srt", data.to_srt())

    def load(self, data_type: type[Any]) -> Transcript:
        return Transcript.model_validate_json(self._read("transcript.json"))

    def save_visualizations(self, data: Transcript) -> dict[str, VisualizationType]:
        lines = [f"**{data.words} words**, language {data.language or '?'}, {format_duration(data.duration_s)} "
                 f"({data.speech_s:.0f} s of speech); {data.model} on {data.device} ({data.compute_type}), "
                 f"real-time factor {data.real_time_factor:.3f}", "", "| time | confidence | text |", "|---|---|---|"]
        for segment in data.segments[:PREVIEW_SEGMENTS]:
            text = segment.text.strip().replace("|", "\\|")
            lines.append(f"| {timecode(segment.start)} | {segment.confidence:.2f} | {text} |")
        if len(data.segments) > PREVIEW_SEGMENTS:
            lines.append(f"\n_{len(data.segments) - PREVIEW_SEGMENTS} more segments in transcript.txt / .srt_")
        return self._markdown("\n".join(lines))


class LectureSummaryMaterializer(_Files, BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (LectureSummary,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save(self, data: LectureSummary) -> None:
        self._write("summary.json", data.model_dump_json())

    def load(self, data_type: type[Any]) -> LectureSummary:
        return LectureSummary.model_validate_json(self._read("summary.json"))

    def save_visualizations(self, data: LectureSummary) -> dict[str, VisualizationType]:
        return self._markdown(data.to_markdown())


class LecturePdfMaterializer(_Files, BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (LecturePdf,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save(self, data: LecturePdf) -> None:
        self._write("lecture.pdf", data.data)
        self._write("meta.json", json.dumps({"title": data.title, "copy_path": data.copy_path, "pages": data.pages}))

    def load(self, data_type: type[Any]) -> LecturePdf:
        return LecturePdf(data=self._read("lecture.pdf"), **json.loads(self._read("meta.json")))

    def save_visualizations(self, data: LecturePdf) -> dict[str, VisualizationType]:
        if not data.data:
            return self._markdown("_no PDF: nothing new was summarised in this run_")
        return self._markdown(f"**{data.title}**: {data.pages} page(s), {len(data.data)} bytes; "
                              f"lecture.pdf in this artifact, a copy at `{data.copy_path}`")

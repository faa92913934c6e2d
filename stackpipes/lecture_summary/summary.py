"""The summary of a transcript: TextRank over its sentences (summa; English and Russian), or a
language model's map-reduce summary for users with a bigger model, and the key points: the best
sentences with the time each is said (from the words' timestamps)."""

from __future__ import annotations

import bisect
import re
from typing import Any, Optional

from pydantic import BaseModel, Field

from stackpipes.lecture_summary.config import SummaryConfig
from stackpipes.speech.whisper import Transcript

SUMMA_LANGUAGES = {"en": "english", "ru": "russian"}
# Function words TextRank should not link sentences by (summa ships none for Russian).
RUSSIAN_STOPWORDS = set("""
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было
вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас
нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их
чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой
совсем ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при
наконец два об другой хоть после над больше тот через эти нас про всего них какая много разве три
эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно
всю между это эта также который которые которая которое очень
""".split())


def timecode(seconds: float) -> str:
    """`mm:ss`, or `h:mm:ss` past the hour: where in the recording something is said."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class KeyPoint(BaseModel):
    start: float
    text: str
    score: float


class LectureSummary(BaseModel):
    method: str = "extractive"
    model: str = ""
    language: str = ""
    sentences: list[str] = Field(default_factory=list)
    key_points: list[KeyPoint] = Field(default_factory=list)
    transcript_words: int = 0

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    def to_markdown(self, title: str = "Summary") -> str:
        lines = [f"## {title}", "", self.text or "_(nothing to summarise)_", ""]
        if self.key_points:
            lines += ["### Key points", ""]
            lines += [f"- **{timecode(p.start)}** {p.text}" for p in self.key_points]
        lines += ["", f"_{self.method} summary" + (f" by {self.model}" if self.model else "")
                  + f" of {self.transcript_words} words_"]
        return "\n".join(lines)


def _word_index(transcript: Transcript) -> tuple[str, list[int], list[float]]:
    """The transcript as one text, with each word's character offset and start time."""
    parts, offsets, starts = [], [], []
    position = 0
    for segment in transcript.segments:
        words = segment.words or []
        if not words:  # no word timestamps: the segment's start stands for all its words
            words_text = [(w, segment.start) for w in segment.text.split()]
        else:
            words_text = [(w.text.strip(), w.start) for w in words if w.text.strip()]
        for word, start in words_text:
            if parts:
                parts.append(" ")
                position += 1
            offsets.append(position)
            starts.append(start)
            parts.append(word)
            position += len(word)
    return "".join(parts), offsets, starts


def _time_of(text: str, sentence: str, offsets: list[int], starts: list[float], after: int) -> tuple[float, int]:
    found = text.find(sentence, after)
    if found < 0:
        found = text.find(sentence)
    if found < 0 or not starts:
        return (starts[0] if starts else 0.0), after
    index = max(0, bisect.bisect_right(offsets, found) - 1)
    return starts[index], found


def ranked_sentences(text: str, language: str) -> list[tuple[str, float]]:
    """Every sentence TextRank can rank, in text order, with its score."""
    from summa import summarizer

    summa_language = SUMMA_LANGUAGES.get(language, "english")
    extra = RUSSIAN_STOPWORDS if summa_language == "russian" else None
    scored = summarizer.summarize(text, ratio=1.0, language=summa_language, split=True, scores=True,
                                  additional_stopwords=extra)
    if not scored:  # too short or too uniform to rank: every sentence counts the same
        from summa.preprocessing.textcleaner import split_sentences

        return [(s.strip(), 0.0) for s in split_sentences(text) if s.strip()]
    return [(s.strip(), float(score)) for s, score in scored]


def summarise(transcript: Transcript, config: SummaryConfig, generate: Optional[Any] = None) -> LectureSummary:
    """The summary of `transcript` by `config` (see the module doc). `generate(prompts) -> texts`
    is the language model for the abstractive method (built from `config.model` when None)."""
    text, offsets, starts = _word_index(transcript)
    language = transcript.language
    if not text.strip():
        return LectureSummary(method=config.method, language=language)
    ranked = ranked_sentences(text, language)
    total_words = len(text.split())
    positions, after = [], 0
    for sentence, _ in ranked:
        start, after = _time_of(text, sentence, offsets, starts, after)
        positions.append(start)
    order = sorted(range(len(ranked)), key=lambda i: -ranked[i][1])
    budget = config.ratio * total_words
    chosen: list[int] = []
    words = 0
    for index in order:
        if len(chosen) >= config.max_sentences or (len(chosen) >= config.min_sentences and words >= budget):
            break
        chosen.append(index)
        words += len(ranked[index][0].split())
    key = sorted(order[: config.key_points], key=lambda i: positions[i])
    points = [KeyPoint(start=round(positions[i], 2), text=ranked[i][0], score=round(ranked[i][1], 4)) for i in key]
    if config.method == "extractive":
        sentences = [ranked[i][0] for i in sorted(chosen)]
        return LectureSummary(method="extractive", language=language, sentences=sentences, key_points=points,
                              transcript_words=total_words)
    if generate is None:
        generate = language_model(config)
    summary_text = map_reduce(text, config, generate)
    from stackpipes.lm.metrics import split_sentences

    return LectureSummary(method="abstractive", model=config.model or "", language=language,
                          sentences=split_sentences(summary_text) or [summary_text], key_points=points,
                          transcript_words=total_words)


PROMPT = ("Summarise this part of a lecture in two or three sentences.\n\nLecture:\n{text}\n\nSummary:")


def chunks(text: str, size: int, limit: int) -> list[str]:
    words = text.split()
    pieces = [" ".join(words[i: i + size]) for i in range(0, len(words), size)]
    if len(pieces) > limit:
        raise ValueError(f"summary: the transcript makes {len(pieces)} chunks of {size} words, more than "
                         f"max_chunks {limit}: raise chunk_words or max_chunks")
    return pieces


def map_reduce(text: str, config: SummaryConfig, generate: Any) -> str:
    """Summaries of each chunk, then (when there are several) the summary of their summaries,
    until one chunk is left."""
    pieces = chunks(text, config.chunk_words, config.max_chunks)
    for _ in range(8):  # each round shortens the text several times over; bounded all the same
        summaries = [s.strip() for s in generate([PROMPT.format(text=p) for p in pieces])]
        joined = " ".join(s for s in summaries if s)
        if len(pieces) == 1 or not joined:
            return _first_lines(joined)
        pieces = chunks(joined, config.chunk_words, config.max_chunks)
    return _first_lines(joined)


def _first_lines(text: str) -> str:
    """What a model says before it starts a new section of its own."""
    return re.split(r"\n\s*\n|\n(?:Lecture|Summary):", text.strip())[0].strip()


def language_model(config: SummaryConfig) -> Any:
    """`generate(prompts) -> texts` by `config.model`, greedy (a summary should not vary by chance)."""
    from stackpipes.lm.generation import generate_texts
    from stackpipes.lm.loading import load_model

    model, tokenizer = load_model(config.model)  # type: ignore[arg-type]

    def generate(prompts: list[str]) -> list[str]:
        return generate_texts(model, tokenizer, prompts, temperature=0, max_new_tokens=config.max_new_tokens,
                              batch_size=4)

    return generate

"""Comment sources: one YAML file per API source (`configs/ratings/sources/*.yaml`), every error naming file and key.

    name: youtube
    kind: youtube_data_v3
    base_url: https://www.googleapis.com/youtube/v3
    queries: ["About a Boy", ...]      # one search per query
    videos_per_query: 2                # search results kept per query
    comments_per_video: 100            # top-level comments read per video (paged)
    page_size: 50                      # maxResults per request
    http: {timeout_s: 10, retries: 3, ..., retry_statuses: [403, 429, 500, 502, 503, 504]}

The API key is never in the file: it is read from the environment variable `key_variable`
(default YOUTUBE_API_KEY) or the ZenML secret `secret_name` (key `api_key`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stackpipes.core.fetching import HttpSpec
from stackpipes.ratings import MAX_QUERIES

QUERY_SLUG = re.compile(r"[^a-z0-9]+")
MAX_VIDEOS_PER_QUERY = 50
MAX_COMMENTS_PER_VIDEO = 10_000


class SourceFileError(ValueError):
    """A source file that cannot be used: names the file, the key and what was expected."""


def query_slug(query: str) -> str:
    """The query as a key-safe name (`About a Boy` -> `about-a-boy`), used in object keys."""
    slug = QUERY_SLUG.sub("-", query.lower()).strip("-")
    if not slug:
        raise ValueError(f"query {query!r}: needs at least one letter or digit")
    return slug[:80]


class CommentSource(BaseModel):
    """One comment API source, as its YAML file describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    kind: Literal["youtube_data_v3"] = "youtube_data_v3"
    base_url: str = Field(default="https://www.googleapis.com/youtube/v3", pattern=r"^https?://[^\s/]+(/\S*)?$")
    queries: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=MAX_QUERIES)
    videos_per_query: int = Field(default=2, ge=1, le=MAX_VIDEOS_PER_QUERY)
    comments_per_video: int = Field(default=100, ge=1, le=MAX_COMMENTS_PER_VIDEO)
    page_size: int = Field(default=50, ge=1, le=100)
    order: Literal["relevance", "time"] = "relevance"
    key_variable: str = Field(default="YOUTUBE_API_KEY", pattern=r"^[A-Z_][A-Z0-9_]*$")
    secret_name: Optional[str] = "youtube"
    http: HttpSpec = Field(default_factory=lambda: HttpSpec(retry_statuses=[403, 429, 500, 502, 503, 504]))
    origin: str = Field(default="<code>", exclude=True)

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("queries")
    @classmethod
    def _distinct_queries(cls, queries: list[str]) -> list[str]:
        slugs: dict[str, str] = {}
        for query in queries:
            slug = query_slug(query)
            if slug in slugs:
                raise ValueError(f"queries {slugs[slug]!r} and {query!r} name the same object key {slug!r}")
            slugs[slug] = query
        return queries


def load_source(path: Union[str, Path]) -> CommentSource:
    """One source from a YAML file; every key is checked."""
    path = Path(path)
    if not path.is_file():
        raise SourceFileError(f"{path}: expected an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourceFileError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise SourceFileError(f"{path}: expected a mapping of source settings, got {type(data).__name__}")
    try:
        return CommentSource.model_validate({**data, "origin": str(path)})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "<file>"
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise SourceFileError(f"{path}: {key}: {first['msg']} (got {first.get('input')!r}){more}") from None


def load_sources(folder: Union[str, Path]) -> list[CommentSource]:
    """Every `*.yaml` source in `folder`, sorted by file name; names must be unique."""
    paths = sorted(Path(folder).glob("*.yaml"))
    if not paths:
        raise SourceFileError(f"{folder}: expected at least one source file (*.yaml)")
    sources = [load_source(path) for path in paths]
    seen: dict[str, str] = {}
    for source in sources:
        if source.name in seen:
            raise SourceFileError(f"{source.origin}: name: {source.name!r} is also used by {seen[source.name]}")
        seen[source.name] = source.origin
    return sources

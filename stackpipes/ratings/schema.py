"""The raw schema every collected comment is landed in, whatever API it came from."""

from __future__ import annotations

RAW_COLUMNS: tuple[str, ...] = (
    "source", "query", "date", "query_text", "video_id", "video_title", "comment_id", "author",
    "text", "like_count", "published_at", "fetched_at",
)
# One object per source, query and collection day (`query` is the query's key-safe slug).
PARTITIONS: tuple[str, ...] = ("source", "query", "date")
# Columns whose values differ between fetches of the same content (a re-landing ignores them).
VOLATILE_COLUMNS: tuple[str, ...] = ("fetched_at",)

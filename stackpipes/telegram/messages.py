"""The message table every Telegram source produces: its columns, types and one row per message id."""

from __future__ import annotations

import pandas as pd

MESSAGE_COLUMNS = ["id", "timestamp", "sender", "text", "has_media", "has_content", "edited_at"]


def empty_messages() -> pd.DataFrame:
    """A message table with no rows and the exact schema."""
    return typed_messages(pd.DataFrame({c: [] for c in MESSAGE_COLUMNS}))


def typed_messages(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[MESSAGE_COLUMNS].copy()
    frame["id"] = frame["id"].astype("int64")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["edited_at"] = pd.to_datetime(frame["edited_at"], utc=True)
    frame["sender"] = frame["sender"].fillna("").astype(str).astype(object)
    frame["text"] = frame["text"].fillna("").astype(str).astype(object)
    frame["has_media"] = frame["has_media"].astype(bool)
    frame["has_content"] = frame["has_content"].astype(bool)
    return frame.reset_index(drop=True)


def latest_versions(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per id: the latest edit; among equals, the row that came last."""
    order = frame.assign(_edit=frame["edited_at"].fillna(pd.Timestamp(0, tz="UTC")), _pos=range(len(frame)))
    order = order.sort_values(["id", "_edit", "_pos"], kind="stable")
    return order.drop_duplicates("id", keep="last").drop(columns=["_edit", "_pos"])

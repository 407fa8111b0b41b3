"""google.protobuf.Timestamp ↔ aware datetimes, for every servicer."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2


def to_datetime(message: timestamp_pb2.Timestamp) -> datetime:
    return message.ToDatetime(tzinfo=UTC)


def optional_datetime(holder, field_name: str) -> datetime | None:
    return to_datetime(getattr(holder, field_name)) if holder.HasField(field_name) else None


def to_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp

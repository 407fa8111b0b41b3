"""google.protobuf.Timestamp ↔ aware datetimes, for every servicer: the one strict reading of a time.

A time a request carries is refused (INVALID_ARGUMENT naming its field) unless it lies in
[EARLIEST, LATEST) with nanos in [0, 1e9): far enough from datetime's and Postgres' limits that
no arithmetic a service does on it (windows, lifetimes, skews) can overflow.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from services.runtime.errors import InvalidArgument

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST_SECONDS = int((EARLIEST - _EPOCH).total_seconds())
LATEST_SECONDS = int((LATEST - _EPOCH).total_seconds())
# Epoch microseconds of the same range (the carrier batch judges raw rows in SQL with them).
EARLIEST_MICROS, LATEST_MICROS = EARLIEST_SECONDS * 1_000_000, LATEST_SECONDS * 1_000_000


def in_range(message: timestamp_pb2.Timestamp) -> bool:
    return EARLIEST_SECONDS <= message.seconds < LATEST_SECONDS and 0 <= message.nanos < 1_000_000_000


def to_datetime(message: timestamp_pb2.Timestamp, field_path: str) -> datetime:
    """The time, or INVALID_ARGUMENT naming `field_path` when it is out of range."""
    if not in_range(message):
        raise InvalidArgument.for_field(field_path, f"must be a time from {EARLIEST:%Y-%m-%d} to before "
                                        f"{LATEST:%Y-%m-%d} (UTC), nanos within a second",
                                        reason="TIME_OUT_OF_RANGE")
    return message.ToDatetime(tzinfo=UTC)


def optional_datetime(holder, field_name: str, prefix: str = "") -> datetime | None:
    """The time in `holder.field_name` if set; `prefix` names the holder inside the request (`facts[2].`)."""
    if not holder.HasField(field_name):
        return None
    return to_datetime(getattr(holder, field_name), prefix + field_name)


def answer_datetime(message: timestamp_pb2.Timestamp) -> datetime:
    """A time in one of our own services' answers, read as sent (it may be the far end of datetime,
    as a key valid forever is): the strict range is for what callers send."""
    return message.ToDatetime(tzinfo=UTC)


def optional_answer_datetime(holder, field_name: str) -> datetime | None:
    return answer_datetime(getattr(holder, field_name)) if holder.HasField(field_name) else None


def epoch_micros(message: timestamp_pb2.Timestamp) -> int:
    """Microseconds since the epoch, any out-of-range time pinned just outside the range (fits a bigint),
    for rows judged later rather than refused here."""
    if not in_range(message):
        return EARLIEST_MICROS - 1 if message.seconds < EARLIEST_SECONDS else LATEST_MICROS
    return message.seconds * 1_000_000 + message.nanos // 1000


def to_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp

"""The partitioned form of the red/yellow records offline devices hold, pure: 21-byte records
(16-byte person reference, colour, expiry in whole seconds) sorted in 256 partitions by the
reference's first byte, each proved by the SHA-256 of its bytes in the signed manifest.

A record's expiry is rounded up to the second (it counts up to a second longer offline, never
shorter). The same bytes are built by the server's SQL (recognition/repository.py) and checked by devices (the
Python OfflineCheckpoint and gateway/pages/src/snapshot.js)."""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from itertools import pairwise

from services.colours import Colour

PARTITIONS = 256
REF_BYTES = 16
RECORD_BYTES = REF_BYTES + 1 + 4
EMPTY_DIGEST = hashlib.sha256(b"").digest()


class PartitionInvalid(ValueError):
    """The bytes are not a partition's records (length, order, or the wrong partition)."""


def partition_of(person_ref: bytes) -> int:
    return person_ref[0]


def record(person_ref: bytes, colour: Colour, expire_seconds: int) -> bytes:
    return person_ref + bytes((int(colour),)) + expire_seconds.to_bytes(4, "big")


def records_of(data: bytes) -> list[bytes]:
    if len(data) % RECORD_BYTES:
        raise PartitionInvalid(f"records must be {RECORD_BYTES} bytes each")
    return [data[at:at + RECORD_BYTES] for at in range(0, len(data), RECORD_BYTES)]


def expire_seconds(item: bytes) -> int:
    return int.from_bytes(item[REF_BYTES + 1:], "big")


def check_partition(data: bytes, partition: int) -> None:
    """Whole records, strictly ascending (so one state has one spelling), all in `partition`."""
    items = records_of(data)
    if any(item[0] != partition for item in items):
        raise PartitionInvalid("a record belongs to another partition")
    if any(a >= b for a, b in pairwise(items)):
        raise PartitionInvalid("records must be sorted and distinct")


def merged(held: bytes, changes: list[bytes], cutoff_seconds: int) -> bytes:
    """The partition with `changes` added and records expired by `cutoff_seconds` dropped."""
    kept = {item for item in records_of(held) if expire_seconds(item) > cutoff_seconds}
    kept.update(item for item in changes if expire_seconds(item) > cutoff_seconds)
    return b"".join(sorted(kept))


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class PartitionView:
    """A sorted partition searched in place (no object per record: a million records stay ~21 MB)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._count = len(data) // RECORD_BYTES

    def _ref_at(self, index: int) -> bytes:
        at = index * RECORD_BYTES
        return self._data[at:at + REF_BYTES]

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> bytes:
        return self._ref_at(index)

    def most_severe(self, person_ref: bytes, now_seconds: float) -> Colour | None:
        """The most severe colour among the person's records still counting at `now_seconds`."""
        index = bisect_left(self, person_ref)
        found = None
        while index < self._count and self._ref_at(index) == person_ref:
            at = index * RECORD_BYTES
            colour = self._data[at + REF_BYTES]
            if int.from_bytes(self._data[at + REF_BYTES + 1:at + RECORD_BYTES], "big") > now_seconds:
                found = colour if found is None else max(found, colour)
            index += 1
        return Colour(found) if found is not None else None

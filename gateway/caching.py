"""The one bounded map the gateway keeps per-replica state in (callers' buckets, verified sessions,
identity's answers, codes and their pages): the least recently used entries go first, and entries
may lapse after a fixed time, so memory stays bounded whatever the traffic."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class RecentMap(Generic[K, V]):
    def __init__(self, size: int, seconds: float | None = None) -> None:
        self._size = size
        self._seconds = seconds
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V) -> None:
        lapses = time.monotonic() + self._seconds if self._seconds is not None else float("inf")
        self._entries[key] = (lapses, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._entries)

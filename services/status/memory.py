"""Recent statuses held in memory, so showing a stored status costs no database round trip.

An entry is only as good as the change notifications behind it, so the rules are strict:
- it is filled only from the primary, by a read that no change overtook: a notification of a newer
  version than the read brings back, or a local write, arriving while the read is in flight voids it;
- a notification (person, version) drops every entry older than that version, and a write in this
  process drops the person's entry as it commits and again after, before the writer answers, so a
  caller of this replica always reads its own writes; another replica's write is seen once its
  notification arrives (milliseconds: the same order as a read replica's lag, which GetStatus
  already accepts, and never used for signing a code);
- while the listening connection is down nothing is served or kept: a notification may go by unseen;
- an entry lapses at its status's valid-until, and the caller still checks the rule set in force.
A row rewritten without a new version (a renewal of the same outcome) sends no notification; the
entry then keeps the older valid-until, which lapses no later than the truth.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter

from services.status.model import Status

LOOKUPS = Counter("healthcode_status_memory_lookups", "Stored-status reads served from memory or not.",
                  ("result",))
_HIT, _MISS = LOOKUPS.labels("hit"), LOOKUPS.labels("miss")


class Read:
    """One fill in flight, and the newest version announced for the person meanwhile."""

    __slots__ = ("person_id", "generation", "announced", "void")

    def __init__(self, person_id: str, generation: int) -> None:
        self.person_id = person_id
        self.generation = generation
        self.announced = 0
        self.void = False


class RecentStatuses:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, Status] = OrderedDict()
        self._reads: dict[str, list[Read]] = {}
        self._listening = False
        self._generation = 0

    @property
    def enabled(self) -> bool:
        return self._capacity > 0 and self._listening

    def __len__(self) -> int:
        return len(self._entries)

    # What the change notifications say

    def listening(self) -> None:
        """The notification connection is up: from now on every change is seen."""
        self._listening = True

    def lost(self) -> None:
        """The notification connection is gone: forget everything, keep nothing until it is back."""
        self._listening = False
        self._generation += 1
        self._entries.clear()
        for reads in self._reads.values():
            for read in reads:
                read.void = True

    def changed(self, changes: Iterable[tuple[str, int]]) -> None:
        """(person, new version) pairs; version 0 means "some newer version"."""
        for person_id, version in changes:
            entry = self._entries.get(person_id)
            if entry is not None and (version == 0 or entry.version < version):
                del self._entries[person_id]
            for read in self._reads.get(person_id, ()):
                read.announced = max(read.announced, version)
                read.void = read.void or version == 0

    # Reading

    def lookup(self, person_id: str, now: datetime) -> Status | None:
        if not self.enabled:
            return None
        status = self._entries.get(person_id)
        if status is None or now >= status.decision.valid_until:
            _MISS.inc()
            return None
        self._entries.move_to_end(person_id)
        _HIT.inc()
        return status

    def begin(self, person_id: str) -> Read | None:
        """Call before reading the person's stored status from the primary; None when nothing may be kept."""
        if not self.enabled:
            return None
        read = Read(person_id, self._generation)
        self._reads.setdefault(person_id, []).append(read)
        return read

    def keep(self, read: Read | None, status: Status | None) -> None:
        """Ends a read begun with `begin`; keeps what it found unless a change overtook it."""
        if read is None:
            return
        reads = self._reads.get(read.person_id)
        if reads is not None:
            reads.remove(read)
            if not reads:
                del self._reads[read.person_id]
        if (status is None or read.void or status.version < read.announced or read.generation != self._generation
                or not self.enabled):
            return
        self._entries[read.person_id] = status
        self._entries.move_to_end(read.person_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

"""Per-caller rate limits and load shedding: over capacity the gateway says so at once.

Xi'an's and Guangdong's codes went down under 10× morning peaks because every request queued
until everyone timed out. Here nothing queues: a call is admitted only while fewer than a fixed
number of calls of its cost are in flight to the services, and is otherwise refused at once with
RESOURCE_EXHAUSTED. Heavy calls (bulk writes, traces, administration) have the smaller share, so
under a surge they are shed first while point reads and checkpoint answers keep going; answers
the gateway holds in its cache (a person's current code) are served without admission at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.caching import RecentMap
from gateway.policy import Cost
from gateway.principals import CallerKind
from services.runtime.errors import ResourceExhausted


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: float


# Defaults per caller kind: a person's app makes a few calls a minute; a checkpoint scans a
# queue; a province system or feed carries a whole province's traffic.
DEFAULT_RATES = {
    CallerKind.PERSON: Rate(5, 30),
    CallerKind.CHECKPOINT: Rate(20, 60),
    CallerKind.OPERATOR: Rate(50, 200),
    CallerKind.FEED: Rate(500, 2000),
    CallerKind.PROVINCE_SYSTEM: Rate(5000, 20000),
}
# Unauthenticated calls (registration, sign-in), limited per client address.
ANONYMOUS_RATE = Rate(2, 10)


class RateLimits:
    """One token bucket per caller (bounded: the least recently seen callers are forgotten)."""

    def __init__(self, rates: dict[CallerKind, Rate], anonymous: Rate, max_callers: int = 200_000) -> None:
        self._rates = rates
        self._anonymous = anonymous
        self._buckets: RecentMap[str, list[float]] = RecentMap(max_callers)  # key → [tokens, last refill]

    def take(self, key: str, kind: CallerKind | None) -> None:
        """Spends one token of the caller's bucket or raises ResourceExhausted(RATE_LIMITED)."""
        rate = self._rates[kind] if kind is not None else self._anonymous
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = [rate.burst, now]
            self._buckets.put(key, bucket)
        else:
            bucket[0] = min(rate.burst, bucket[0] + (now - bucket[1]) * rate.per_second)
            bucket[1] = now
        if bucket[0] < 1:
            retry = (1 - bucket[0]) / rate.per_second
            raise ResourceExhausted("RATE_LIMITED", f"too many requests from this caller; retry in {retry:.2f} s",
                                    {"retry_after_seconds": f"{max(retry, 0.01):.2f}"})
        bucket[0] -= 1


class Overloaded(ResourceExhausted):
    def __init__(self, cost: Cost) -> None:
        super().__init__("OVERLOADED", f"the platform is at capacity for {cost.value} calls; retry shortly",
                         {"retry_after_seconds": "1"})


class CallerShareExhausted(ResourceExhausted):
    def __init__(self, what: str, limit: int) -> None:
        super().__init__("CALLER_SHARE_EXHAUSTED", f"this caller already holds {limit} {what}, its share; "
                         "retry when one ends", {"retry_after_seconds": "1"})


class LoadShedder:
    """Bounded calls in flight per cost; a call over its bound is refused, never queued.

    Light calls may use every slot; heavy calls only their smaller share, so a surge of heavy
    work can never starve the checkpoints. Heavy slots are shared among callers too: one caller
    (a carrier holding idle upload streams) holds at most `max_heavy_per_caller` of them, so the
    others' heavy calls still get in.
    """

    def __init__(self, max_in_flight: int, max_heavy_in_flight: int, max_heavy_per_caller: int | None = None) -> None:
        heavy = min(max_heavy_in_flight, max_in_flight)
        self._limits = {Cost.LIGHT: max_in_flight, Cost.HEAVY: heavy}
        self.max_heavy_per_caller = max(1, min(max_heavy_per_caller or heavy // 4, heavy))
        self.in_flight = 0
        self.heavy_in_flight = 0
        self._heavy_by_caller: dict[str, int] = {}

    def admit(self, cost: Cost, caller: str = "") -> Admission:
        """A slot for `caller` (its principal key; "" for the gateway's own bookkeeping)."""
        if self.in_flight >= self._limits[Cost.LIGHT] or (
                cost is Cost.HEAVY and self.heavy_in_flight >= self._limits[Cost.HEAVY]):
            raise Overloaded(cost)
        if cost is Cost.HEAVY and self._heavy_by_caller.get(caller, 0) >= self.max_heavy_per_caller:
            raise CallerShareExhausted("heavy calls in flight", self.max_heavy_per_caller)
        self.in_flight += 1
        if cost is Cost.HEAVY:
            self.heavy_in_flight += 1
            self._heavy_by_caller[caller] = self._heavy_by_caller.get(caller, 0) + 1
        return Admission(self, cost, caller)

    def heavy_held_by(self, caller: str) -> int:
        return self._heavy_by_caller.get(caller, 0)

    def _release(self, cost: Cost, caller: str) -> None:
        self.in_flight -= 1
        if cost is Cost.HEAVY:
            self.heavy_in_flight -= 1
            left = self._heavy_by_caller[caller] - 1
            if left:
                self._heavy_by_caller[caller] = left
            else:
                del self._heavy_by_caller[caller]  # bounded by the slots held, not by callers seen


class Admission:
    """A held slot; released when the forwarded call ends, however it ends."""

    def __init__(self, shedder: LoadShedder, cost: Cost, caller: str = "") -> None:
        self._shedder = shedder
        self._cost = cost
        self._caller = caller

    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *exc: object) -> None:
        self._shedder._release(self._cost, self._caller)


class StreamShares:
    """Open server streams (watches), bounded in all and per caller: a person watches themselves and
    their dependents (a few devices each), a system at most a share of the whole."""

    def __init__(self, max_streams: int, max_per_person: int) -> None:
        self.max_streams = max_streams
        self.max_per_person = max_per_person
        self.max_per_system = max(1, max_streams // 10)
        self.open = 0
        self._by_caller: dict[str, int] = {}

    def limit_for(self, kind: CallerKind) -> int:
        return self.max_per_person if kind == CallerKind.PERSON else self.max_per_system

    def open_for(self, caller: str) -> int:
        return self._by_caller.get(caller, 0)

    def take(self, caller: str, kind: CallerKind) -> None:
        if self.open >= self.max_streams:
            raise ResourceExhausted("OVERLOADED", "too many open watches; retry shortly", {"retry_after_seconds": "5"})
        limit = self.limit_for(kind)
        if self._by_caller.get(caller, 0) >= limit:
            raise CallerShareExhausted("open watches", limit)
        self.open += 1
        self._by_caller[caller] = self._by_caller.get(caller, 0) + 1

    def give_back(self, caller: str) -> None:
        self.open -= 1
        left = self._by_caller[caller] - 1
        if left:
            self._by_caller[caller] = left
        else:
            del self._by_caller[caller]

"""Renewal ahead of a lapse: statuses that lapse at a fixed time (Beijing's local midnight, a 24-hour
validity) while nothing about the person changes are renewed in the hours before, so a city's first
reads after midnight are stored reads, not a storm of decisions at 00:00.

Set-based and spread: each run renews at most `rate × interval` candidates, 1000 at a time, in lapse
order; a replica keeps its place in memory and starts over when it reaches the end, so a restart
loses nothing but a pass. Persons being decided, or renewed by another replica, are skipped (their
rows are locked) and re-checked on the next pass.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from services.runtime.logs import get_logger
from services.status.deciding import Decider

log = get_logger(__name__)
_START = (datetime.min.replace(tzinfo=UTC), "00000000-0000-0000-0000-000000000000")
_BATCH = 1000


class Renewal:
    def __init__(self, decider: Decider, horizon: timedelta, rate: float, interval: float) -> None:
        self._decider = decider
        self._horizon = horizon
        self._per_run = max(1, math.ceil(rate * interval))
        self._after = _START

    async def run(self) -> int:
        """One run: up to the budget's candidates; returns how many statuses were renewed."""
        renewed, budget = 0, self._per_run
        while budget > 0:
            count, last = await self._decider.renew_lapsing(self._horizon, min(_BATCH, budget), self._after)
            renewed += count
            if last is None:
                self._after = _START
                break
            self._after = last
            budget -= _BATCH
        if renewed:
            log.info("statuses_renewed", renewed=renewed)
        return renewed

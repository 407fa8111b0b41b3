"""The exporter: every change of one of our persons to RED or YELLOW, and back to GREEN (a delisting),
becomes a red/yellow list record sent to every peer we have an agreement with.

It follows status's colour changes (ListColourChanges) from a cursor stored in our schema, a page at a
time. Each page becomes one signed batch per origin province, put in the outbox (one delivery per
peer) in the transaction that moves the cursor past the page: a crash redoes at most that page, and
nothing is lost. The records and batch ids are functions of the page alone (the batch id names the
page's sequence range), so a page exported again is the same batches, and receivers dedup per
(origin province, batch id). Batches close by size (a full page) or by time (the oldest change
waited `max_delay`); several replicas may run it: a page whose cursor another replica moved first is
dropped unwritten.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter, Gauge

from services.colours import Colour
from services.runtime.clock import Clock
from services.runtime.logs import get_logger
from services.verification.recognition.exchange import RiskRecord
from services.verification.clients import LocalStatus
from services.verification.recognition.model import ColourChange, ColourChangePage
from services.verification.recognition.repository import VerificationRepository

log = get_logger(__name__)

EXPORT_LAG = Gauge("healthcode_federation_export_lag_seconds",
                   "Age of the oldest colour change of our persons not yet exported to peers (0 when caught up).")
EXPORTED = Counter("healthcode_federation_exported_records",
                   "Red/yellow list records exported to peers, by colour (GREEN: delistings).", ("colour",))

SOURCE = "status"  # the source authority the records name: our status service's decision
DELISTED = "DELISTED"
_REASON = re.compile(r"^[A-Z0-9_]{1,64}\Z")


@dataclass(frozen=True)
class ExportPolicy:
    # Status changes read per page: a full page is a batch at once.
    batch_size: int = 5000
    # A page with fewer waits until its oldest change is this old (so a trickle still batches).
    max_delay: timedelta = timedelta(seconds=1)
    # How long a record counts at the peer (their limit is 30 days ahead).
    record_lifetime: timedelta = timedelta(days=29)


def batch_id(province_code: str, after_sequence: int, last_sequence: int) -> str:
    """The same page gives the same id, whichever replica or restart exports it."""
    return f"export-{province_code}-{after_sequence}-{last_sequence}"


def export_records(changes: Sequence[ColourChange], policy: ExportPolicy) -> dict[str, list[RiskRecord]]:
    """A page's records per origin province: each person's latest change in the page (the receiver keeps the
    highest sequence anyway), RED/YELLOW as listed, GREEN as a delisting. Pure and deterministic."""
    latest: dict[tuple[str, bytes], ColourChange] = {}
    for change in changes:
        latest[(change.province_code, change.person_ref)] = change
    batches: dict[str, list[RiskRecord]] = {}
    for change in sorted(latest.values(), key=lambda c: c.sequence):
        colour = Colour(change.colour)
        if colour is Colour.GREEN:
            reason = DELISTED
        elif _REASON.match(change.reason):
            reason = change.reason
        else:
            reason = f"STATUS_{colour.name}"
        batches.setdefault(change.province_code, []).append(RiskRecord(
            change.person_ref, colour, reason, SOURCE, change.change_time + policy.record_lifetime,
            change.sequence))
    return batches


class Exporter:
    def __init__(self, repository: VerificationRepository, status: LocalStatus, recognition, clock: Clock,
                 policy: ExportPolicy = ExportPolicy()) -> None:
        self._repository = repository
        self._status = status
        # Recognition signs with our exchange key and knows the peers we have agreements with.
        self._recognition = recognition
        self._clock = clock
        self.policy = policy

    async def export_page(self) -> int | None:
        """Exports the next page if it is due: the records exported, or None when nothing was (the feed has
        nothing after the cursor, the page waits to fill, or another replica took it)."""
        after = await self._repository.export_cursor()
        return await self._export(after, await self._read(after))

    async def run(self) -> None:
        """The background job's round: pages until none is due, the next page read from status while the
        current one is signed and stored (status answers in its own process meanwhile)."""
        after = await self._repository.export_cursor()
        page = await self._read(after)
        while True:
            ahead = None if page.caught_up else asyncio.create_task(self._read(page.last_sequence))
            try:
                exported = await self._export(after, page)
            except BaseException:
                if ahead is not None:
                    ahead.cancel()
                raise
            if exported is None or ahead is None:
                if ahead is not None:
                    ahead.cancel()
                return
            after, page = page.last_sequence, await ahead

    async def _read(self, after: int) -> ColourChangePage:
        return await self._status.colour_changes(after, self.policy.batch_size,
                                                 sorted(self._recognition.own_provinces))

    async def _export(self, after: int, page: ColourChangePage) -> int | None:
        now = self._clock.now()
        if page.last_sequence <= after:
            EXPORT_LAG.set(0)
            return None
        if page.changes:
            EXPORT_LAG.set(max(0.0, (now - page.changes[0].change_time).total_seconds()))
            if page.caught_up and now - page.changes[0].change_time < self.policy.max_delay:
                return None  # a short page: wait for more changes, or for its oldest to have waited enough
        # With no peer to send to, the cursor still moves: the changes are not kept for peers to come.
        peers = self._recognition.export_peer_addresses(now)
        records = export_records(page.changes, self.policy) if peers else {}
        batches = []
        for province, rows in sorted(records.items()):
            identifier = batch_id(province, after, page.last_sequence)
            batches.append((identifier, province, self._recognition.sign_risk_list(identifier, province, rows)))
        if not await self._repository.store_export(after, page.last_sequence, batches, peers, now):
            return None
        exported = [record for rows in records.values() for record in rows]
        for colour in Colour:
            if count := sum(1 for record in exported if record.colour is colour):
                EXPORTED.labels(colour.name).inc(count)
        if page.caught_up:
            EXPORT_LAG.set(0)
        log.info("colour_changes_exported", after_sequence=after, last_sequence=page.last_sequence,
                 records=len(exported), batches=len(batches), peers=len(peers))
        return len(exported)

"""Bulk recomputation after risk declarations: follows itinerary's declarations, and for
each one recomputes everyone it affects, in batches, resumable after a crash.

A run records the last person id it finished; itinerary streams affected persons in
id order from there, so a restarted run picks up where it stopped. Recomputing a
person twice changes nothing (no new version, no audit entry), so the batch in flight
at a crash is simply done again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from datetime import datetime, timedelta

from services.runtime.errors import DomainError, InvalidArgument, NotFound, Unavailable
from services.runtime.logs import get_logger
from services.runtime.requests import page_size as requested_page_size
from services.runtime.paging import Cursor
from services.runtime.requests import parse_uuid
from services.status import signals
from services.status.deciding import CorrectionNote, Decider
from services.status.model import ChangeCause, CorrectionKind, RecomputeState
from services.status.clients import Itinerary, StayChange
from services.status.repository import CorrectionRow, RecomputeRun, StatusRepository, StatusTransaction

log = get_logger(__name__)
BATCHES_IN_FLIGHT = 2
RUNS = Cursor("recompute_runs", datetime, uuid.UUID)  # by start time
# Declarations are re-read this far back, so one committed late is not skipped.
_OVERLAP = timedelta(minutes=1)


class Recomputation:
    def __init__(self, board: Decider, repository: StatusRepository, itinerary: Itinerary,
                 first_look_back: timedelta) -> None:
        self._board = board
        self._repository = repository
        self._itinerary = itinerary
        self._first_look_back = first_look_back

    async def start(self, declaration_id: str) -> RecomputeRun:
        declaration_id = parse_uuid(declaration_id, "declaration_id", "DECLARATION_ID_INVALID")
        await self._repository.create_runs([declaration_id], self._board.now())
        return await self._repository.get_run(declaration_id)

    async def follow_declarations(self) -> int:
        """Starts a run for every declaration itinerary recorded since the last look."""
        now = self._board.now()
        cursor = await self._repository.declaration_cursor() or now - self._first_look_back
        notices = await self._itinerary.declarations_since(cursor - _OVERLAP)
        started = await self._repository.create_runs([n.declaration_id for n in notices], now) if notices else 0
        await self._repository.move_declaration_cursor(max((n.create_time for n in notices), default=cursor))
        if started:
            log.info("recompute_runs_started", runs=started)
        return started

    async def follow_stays(self) -> int:
        """Decides again everyone itinerary reports with a stay that landed in an area already at risk,
        page by page from where the last look stopped; returns how many were decided. Two pages are
        decided at once (one's database waits overlap the other's Python, as in a run); the cursor
        moves in page order and only after a page's decisions commit, so a crash redoes at most the
        pages in flight (which changes nothing)."""
        # One replica at a time; the lock goes with the session if the process dies.
        async with self._repository.exclusive("status.stay_feed") as alone:
            if not alone:
                return 0
            pending: deque[tuple[asyncio.Task, str]] = deque()
            decided = 0

            async def settle() -> None:
                nonlocal decided
                task, page_end = pending.popleft()
                decided += await task
                await self._repository.move_stay_feed_cursor(page_end)

            try:
                cursor = await self._repository.stay_feed_cursor()
                while True:
                    persons, changes, next_cursor = await self._itinerary.newly_risky_persons(cursor)
                    if next_cursor == cursor:
                        break
                    pending.append((asyncio.create_task(self._decide_page(persons, changes)), next_cursor))
                    cursor = next_cursor
                    if len(pending) >= BATCHES_IN_FLIGHT:
                        await settle()
                while pending:
                    await settle()
                return decided
            finally:
                for task, _ in pending:
                    task.cancel()
                await asyncio.gather(*(task for task, _ in pending), return_exceptions=True)

    async def _decide_page(self, persons: list[str], changes: list[StayChange]) -> int:
        """A feed page's decisions: newly risky stays by the rules (cause STAY), and each person whose
        stay a carrier corrected with the correction recorded and named in the audit entry (cause
        CORRECTION), in the same transaction. A page redone after a crash records nothing twice."""
        corrected = {change.person_id for change in changes}
        decided = 0
        if persons := [p for p in persons if p not in corrected]:
            decided += len((await self._board.decide(persons, ChangeCause.STAY, refresh=False)).statuses)
        if changes:
            notes: dict[str, CorrectionNote] = {}

            async def record(tx: StatusTransaction) -> None:
                new = await tx.insert_corrections([CorrectionRow(
                    change.correction_id, change.person_id,
                    CorrectionKind.STAY_WITHDRAWN if change.withdrawn else CorrectionKind.STAY_CORRECTED, change.carrier,
                    change.correction_id, change.changed_fields, change.reason, "", None, change.create_time)
                    for change in changes])
                notes.update({change.person_id: CorrectionNote(change.correction_id, change.carrier, "")
                              for change in changes if change.correction_id in new})

            decided += len((await self._board.decide(sorted(corrected), ChangeCause.CORRECTION, within=record,
                                                     refresh=False, corrections=notes)).statuses)
        return decided

    async def work(self) -> None:
        """Runs every unfinished run to its end (a failed batch is retried next round)."""
        runs = await self._repository.running_runs()
        signals.backlog((run.start_time for run in runs), self._board.now())
        for run in runs:
            # One replica per run; the lock goes with the session if the process dies.
            async with self._repository.exclusive("status.recompute", run.declaration_id) as alone:
                if alone:
                    await self._run(run)

    async def _run(self, run: RecomputeRun) -> None:
        current = await self._repository.get_run(run.declaration_id)
        if current is None or current.state != RecomputeState.RUNNING:
            return
        # Two batches in flight overlap one's database waits with the other's Python (measured
        # +25 %); progress is recorded in stream order, so a restart redoes at most those two.
        pending: deque[tuple[asyncio.Task, list[str]]] = deque()

        async def settle() -> None:
            task, chunk = pending.popleft()
            decided = await task
            await self._repository.advance_run(run.declaration_id, chunk[-1], len(chunk), decided.changed)
            signals.RECOMPUTE_PERSONS.inc(len(chunk))

        try:
            async for chunk in self._itinerary.affected_persons(run.declaration_id, current.last_person_id or ""):
                if not chunk:
                    continue
                pending.append((asyncio.create_task(
                    self._board.decide(chunk, ChangeCause.RISK_DECLARATION, refresh=False)), chunk))
                if len(pending) >= BATCHES_IN_FLIGHT:
                    await settle()
            while pending:
                await settle()
        except Unavailable:
            log.warning("recompute_paused", declaration_id=run.declaration_id)
            return
        except (NotFound, InvalidArgument, DomainError) as error:
            await self._repository.finish_run(run.declaration_id, RecomputeState.FAILED, self._board.now(), error.reason)
            log.warning("recompute_failed", declaration_id=run.declaration_id, reason=error.reason)
            return
        finally:
            for task, _ in pending:
                task.cancel()
            await asyncio.gather(*(task for task, _ in pending), return_exceptions=True)
        await self._repository.finish_run(run.declaration_id, RecomputeState.DONE, self._board.now(), None)
        done = await self._repository.get_run(run.declaration_id)
        log.info("recompute_done", declaration_id=run.declaration_id, persons=done.persons_done,
                 changed=done.persons_changed)

    async def list_runs(self, page_size: int, page_token: str) -> tuple[list[RecomputeRun], str]:
        size = requested_page_size(page_size)
        after = RUNS.after(page_token)
        runs = await self._repository.list_runs(after, size + 1)
        if len(runs) <= size:
            return runs, ""
        runs = runs[:size]
        return runs, RUNS.token(runs[-1].start_time, runs[-1].declaration_id)

"""The itinerary use cases: ingest stays, declare itineraries and risk areas, find the affected."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from services import areas
from services.itinerary import model
from services.itinerary.model import (BatchResult, RiskDeclaration, RiskExposure, RiskLevel, Stay, StayChange,
                                      StayPolicy)
from services.itinerary.clients import RegisteredPersons
from services.itinerary.repository import CarrierBatch, ItineraryRepository, StagedStay
from services.runtime.clock import Clock
from services.runtime.errors import AlreadyExists, InvalidArgument, NotFound
from services.runtime.logs import get_logger
from services.runtime.requests import page_size as requested_page_size
from services.runtime.paging import Cursor
from services.runtime.requests import parse_uuid

log = get_logger(__name__)

AFFECTED_CHUNK = 1000

# The page tokens of the lists, each the sort key of the last row a page returned.
RISK_AREAS = Cursor("risk_areas", str)
DECLARATIONS = Cursor("risk_declarations", datetime, uuid.UUID)


class ItineraryLedger:
    def __init__(self, repository: ItineraryRepository, persons: RegisteredPersons, policy: StayPolicy,
                 clock: Clock, max_batch_rows: int) -> None:
        self._repository = repository
        self._persons = persons
        self.policy = policy
        self._clock = clock
        self._max_batch_rows = max_batch_rows

    @property
    def max_batch_rows(self) -> int:
        return self._max_batch_rows

    @asynccontextmanager
    async def carrier_batch(self, batch_id: str, carrier: str) -> AsyncIterator[CarrierBatchIngest]:
        """Opens a batch for its chunks; close it with `finish()` for the answer."""
        model.check_batch_header(batch_id, carrier)
        async with self._repository.open_carrier_batch(batch_id, carrier, self._clock.now()) as batch:
            ingest = CarrierBatchIngest(batch, self, self._persons)
            try:
                yield ingest
            finally:
                ingest.abandon()

    async def _settle(self, batch: CarrierBatch, unknown: set[str]) -> BatchResult:
        result = await batch.settle(sorted(unknown), areas.known_area_codes(), self._clock.now(), self.policy)
        log.info("carrier_batch_ingested", carrier=batch.carrier, received=result.received, stored=result.stored,
                 duplicates=result.duplicates, rejected=result.rejected)
        return result

    async def declare_itinerary(self, person_id: str, stays: Sequence[tuple[str, datetime, datetime]]) -> int:
        person_id = _person_id(person_id)
        if not 1 <= len(stays) <= model.MAX_DECLARED_STAYS:
            raise InvalidArgument.for_field("stays", f"must hold 1 to {model.MAX_DECLARED_STAYS} stays",
                                            reason="STAYS_COUNT_INVALID")
        now = self._clock.now()
        for index, (area_code, arrival, departure) in enumerate(stays):
            model.check_declared_stay(index, area_code, arrival, departure, now, self.policy)
        if not await self._persons.exists(person_id):
            raise NotFound(reason="PERSON_NOT_FOUND", message="identity knows no person with this id")
        return await self._repository.insert_declared_stays(person_id, stays, now)

    async def list_stays(self, person_id: str) -> list[Stay]:
        return await self._repository.list_stays(_person_id(person_id),
                                                 self.policy.window_start(self._clock.now()))

    async def declare_risk_area(self, area_code: str, level: RiskLevel, effective_time: datetime | None,
                                authority: str, reason: str, request_id: str) -> tuple[RiskDeclaration, bool]:
        """Stores a declaration; `raised` says whether the level went up at its time."""
        model.check_declaration(area_code, level, authority, reason)
        declaration, previous = await self._record(area_code, level, effective_time, authority, reason, request_id)
        return declaration, declaration.raises(previous)

    async def lift_risk_area(self, area_code: str, effective_time: datetime | None, authority: str, reason: str,
                             request_id: str) -> RiskDeclaration:
        model.check_area_code(area_code, "area_code")
        model.check_authority(authority, reason)
        declaration, _ = await self._record(area_code, RiskLevel.NONE, effective_time, authority, reason, request_id)
        return declaration

    async def list_risk_areas(self, page_size: int, page_token: str) -> tuple[list[RiskDeclaration], str]:
        size = requested_page_size(page_size)
        (after_area,) = RISK_AREAS.after(page_token) or (None,)
        found = await self._repository.list_current_risk_areas(self._clock.now(), after_area, size + 1)
        if len(found) <= size:
            return found, ""
        return found[:size], RISK_AREAS.token(found[size - 1].area_code)

    async def list_declarations(self, created_after: datetime | None, page_size: int, page_token: str
                                ) -> tuple[list[RiskDeclaration], str]:
        """Every declaration, lifts included, in the order they were recorded."""
        size = requested_page_size(page_size)
        after = DECLARATIONS.after(page_token)
        found = await self._repository.list_declarations(created_after, after, size + 1)
        if len(found) <= size:
            return found, ""
        last = found[size - 1]
        return found[:size], DECLARATIONS.token(last.create_time, last.declaration_id)

    async def affected_persons(self, declaration_id: str, after_person_id: str) -> AsyncIterator[list[str]]:
        """Everyone whose exposure the declaration may have changed (RiskDeclaration.affected_stays),
        by ascending id, from after `after_person_id` on."""
        declaration_id = parse_uuid(declaration_id, "declaration_id", "DECLARATION_ID_INVALID")
        if after_person_id and not model.is_person_id(after_person_id):
            raise InvalidArgument.for_field("after_person_id", "must be a person id", reason="PERSON_ID_INVALID")
        declaration = await self._repository.get_declaration(declaration_id)
        if declaration is None:
            raise NotFound(reason="DECLARATION_NOT_FOUND", message="no risk declaration with this id")
        departing_after, arriving_before = declaration.affected_stays(
            await self._repository.level_before(declaration.area_code, declaration.effective_time),
            self.policy.window_start(self._clock.now()))
        async for chunk in self._repository.affected_persons(
                model.area_code_range(declaration.area_code), departing_after, arriving_before,
                after_person_id or None, AFFECTED_CHUNK):
            yield chunk

    async def risk_exposures(self, person_ids: Sequence[str]) -> list[RiskExposure]:
        """The persons' stays in the window made while their area was at MEDIUM or HIGH risk."""
        persons = model.checked_person_ids(person_ids, "person_ids")
        return await self._repository.risk_exposures(persons, self.policy.window_start(self._clock.now()),
                                                     model.EXPOSING_LEVEL)

    async def risky_stay_persons(self, cursor: str, page_size: int) -> tuple[list[str], list[StayChange], str]:
        """A page of the feed: persons with newly risky stays, stays carriers corrected, and the cursor
        to resume from."""
        after = model.parse_feed_cursor(cursor)
        persons, changes, last = await self._repository.risky_stay_persons(after, requested_page_size(page_size))
        return persons, changes, model.feed_cursor(last)

    async def correct_carrier_stays(self, carrier: str, request_id: str,
                                    submitted: Sequence[model.SubmittedStayCorrection]
                                    ) -> tuple[list[tuple[int, str, str, str]], bool]:
        """A carrier's corrections of its own stays: the good ones applied together, each bad one
        reported by index and field. Returns (outcomes: index, correction id, reason, field; replayed)."""
        model.check_correction_header(carrier, request_id, len(submitted))
        now = self._clock.now()
        checked, refused = [], []
        for index, correction in enumerate(submitted):
            try:
                checked.append(model.check_stay_correction(index, correction, str(uuid.uuid4()), now, self.policy))
            except InvalidArgument as error:
                refused.append((index, error.reason, error.violations[0].field))
        unknown = await self._persons.unknown(sorted({c.person_id for c in checked}))
        refused += [(c.index, "PERSON_UNKNOWN", f"corrections[{c.index}].stay.person_id")
                    for c in checked if c.person_id in unknown]
        checked = [c for c in checked if c.person_id not in unknown]
        outcomes, replayed = await self._repository.correct_carrier_stays(carrier, request_id, checked, refused, now)
        if not replayed:
            log.info("carrier_stays_corrected", carrier=carrier, received=len(submitted),
                     applied=sum(1 for outcome in outcomes if outcome[1]))
        return outcomes, replayed

    async def maintain_partitions(self) -> list[str]:
        """Partitions for every day a stay may still arrive for; drops those past retention, and the
        feed's rows once no stay they name can still count."""
        now = self._clock.now()
        first = self.policy.retention_start(now).date()
        last = (now + timedelta(days=2)).date()
        dropped = await self._repository.maintain_partitions(first, last, self.policy.retention_start(now))
        if dropped:
            log.info("stay_partitions_dropped", partitions=dropped)
        await self._repository.purge_risky_stay_events(self.policy.window_start(now))
        return dropped

    async def _record(self, area_code: str, level: RiskLevel, effective_time: datetime | None, authority: str,
                      reason: str, request_id: str) -> tuple[RiskDeclaration, RiskLevel]:
        """Stores a declaration once per request id; returns it with the level it replaced."""
        stored = await self._replayed(request_id, area_code, level)
        if stored is None:
            now = self._clock.now()
            stored = await self._repository.insert_declaration(
                str(uuid.uuid4()), area_code, level, effective_time or now, authority, reason, request_id or None,
                now)
            if stored is None:
                # Either a concurrent retry won the race (then answer as it did) or the time is taken.
                stored = await self._replayed(request_id, area_code, level)
                if stored is None:
                    raise AlreadyExists(reason="DECLARATION_EXISTS",
                                        message="this area already has a declaration at that exact time")
            else:
                log.info("risk_declared", area_code=area_code, level=level.name, authority=authority)
        return stored, await self._repository.level_before(stored.area_code, stored.effective_time)

    async def _replayed(self, request_id: str, area_code: str, level: RiskLevel) -> RiskDeclaration | None:
        if not request_id:
            return None
        earlier = await self._repository.find_declaration_by_request(request_id)
        if earlier is not None and (earlier.area_code, earlier.level) != (area_code, level):
            raise AlreadyExists(reason="REQUEST_ID_REUSED",
                                message="this request id was used for a different declaration")
        return earlier


class CarrierBatchIngest:
    """A batch being received: chunks go straight to staging, so memory holds one chunk at a time.

    Identity is asked about each chunk's new persons while the next chunks are staged, one chunk's
    question at a time (1000 ids a call, a few calls at once), so its answer is mostly in by the
    last chunk instead of starting after it."""

    def __init__(self, batch: CarrierBatch, ledger: ItineraryLedger, persons: RegisteredPersons) -> None:
        self._batch = batch
        self._ledger = ledger
        self._persons = persons
        self._asked: set[str] = set()
        self._lookups: list[asyncio.Task[set[str]]] = []
        self._one_at_a_time = asyncio.Lock()

    async def add(self, rows: Sequence[StagedStay]) -> None:
        if self._batch.received + len(rows) > self._ledger.max_batch_rows:
            raise InvalidArgument.for_field("stays", f"a batch holds at most {self._ledger.max_batch_rows} stays; "
                                            "split it", reason="BATCH_TOO_LARGE")
        if self._batch.replayed is None:
            new = {row[1] for row in rows if row[1] is not None} - self._asked
            if new:
                self._asked |= new
                self._lookups.append(asyncio.create_task(self._unknown(sorted(new))))
        await self._batch.stage(rows)

    async def _unknown(self, person_ids: list[str]) -> set[str]:
        async with self._one_at_a_time:
            return await self._persons.unknown(person_ids)

    async def finish(self) -> BatchResult:
        if self._batch.replayed is not None:
            return self._batch.replayed
        answers = await asyncio.gather(*self._lookups)
        return await self._ledger._settle(self._batch, set().union(*answers))

    def abandon(self) -> None:
        """Stops the questions still out when the stream ends without `finish` (an error, a cancel)."""
        for lookup in self._lookups:
            if not lookup.done():
                lookup.cancel()
            elif not lookup.cancelled():
                lookup.exception()  # retrieved: the first failure was raised by `finish` already


def _person_id(value: str) -> str:
    if not model.is_person_id(value):
        raise InvalidArgument.for_field("person_id", "must be a person id", reason="PERSON_ID_INVALID")
    return value

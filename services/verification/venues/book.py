"""The venue use cases: register venues, show their rotating codes, record visits, trace contacts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from services.runtime.clock import Clock
from services.runtime.errors import AlreadyExists, InvalidArgument, NotFound
from services.runtime.logs import get_logger
from services.runtime import requests
from services.runtime.requests import parse_uuid
from services.verification.venues import model as venues
from services.verification.clients import ContactReporter, TraceMandate
from services.verification.venues.repository import VenueRepository
from services.verification.venues.model import VenuePolicy, VenueRecord, VisitRecord

__all__ = ["VenueBook", "VenuePolicy"]

log = get_logger(__name__)


class VenueBook:
    def __init__(self, repository: VenueRepository, reporter: ContactReporter, venue_key: bytes,
                 policy: VenuePolicy, clock: Clock) -> None:
        if len(venue_key) < venues.MIN_KEY_BYTES:
            raise ValueError(f"the venue key must have at least {venues.MIN_KEY_BYTES} bytes")
        self._repository = repository
        self._reporter = reporter
        self._key = venue_key
        self.policy = policy
        self._clock = clock

    async def register_venue(self, name: str, area_code: str, category: int, request_id: str) -> VenueRecord:
        """Registers a venue once per request id; a retry answers with the first venue."""
        checked_category = venues.check_venue(name, area_code, category)
        request_id = requests.request_id(request_id)
        candidate = VenueRecord(str(uuid.uuid4()), name, area_code, checked_category, self._clock.now())
        stored = await self._repository.insert_venue(candidate, request_id)
        if stored is None:
            assert request_id is not None  # only a request id can clash
            stored = await self._repository.find_venue_by_request(request_id)
            if stored is None or (stored.name, stored.area_code, stored.category) != (
                    name, area_code, checked_category):
                raise AlreadyExists(reason="REQUEST_ID_REUSED",
                                    message="this request id was used for a different venue")
            return stored
        log.info("venue_registered", venue_id=stored.venue_id, area_code=area_code,
                 category=checked_category.name)
        return stored

    async def get_venue(self, venue_id: str) -> VenueRecord:
        venue = await self._repository.get_venue(parse_uuid(venue_id, "venue_id", "VENUE_ID_INVALID"))
        if venue is None:
            raise NotFound(reason="VENUE_NOT_FOUND", message="no venue with this id")
        return venue

    async def venue_code(self, venue_id: str) -> tuple[str, datetime]:
        """The payload the venue shows now, and when the next one replaces it."""
        venue = await self.get_venue(venue_id)
        period = venues.period_of(self._clock.now(), self.policy.rotation)
        return (venues.venue_code(self._key, venue.venue_id, period),
                venues.period_end(period, self.policy.rotation))

    async def record_visit(self, person_id: str, venue_code: str, request_id: str) -> VisitRecord:
        """Records a scan once per (person, request id). A forged or malformed code records
        nothing; an out-of-date one is recorded flagged, and tracing ignores it."""
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        scanned = venues.read_venue_code(self._key, venue_code)
        request_id = requests.request_id(request_id)
        now = self._clock.now()
        visit = VisitRecord(str(uuid.uuid4()), person_id, scanned.venue_id, now,
                            flagged=not venues.is_fresh(scanned, now, self.policy.rotation))
        if await self._repository.insert_visit(visit, request_id):
            if visit.flagged:
                log.info("flagged_visit_recorded", venue_id=visit.venue_id,
                         periods_behind=venues.period_of(now, self.policy.rotation) - scanned.period)
            return visit
        earlier = await self._repository.find_visit_by_request(person_id, request_id) if request_id else None
        if earlier is None:
            raise NotFound(reason="VENUE_NOT_FOUND", message="the code names no venue registered here")
        if earlier.venue_id != scanned.venue_id:
            raise AlreadyExists(reason="REQUEST_ID_REUSED",
                                message="this request id was used for a visit to a different venue")
        return earlier

    async def trace_contacts(self, case_person_id: str, window_minutes: int, since: datetime | None,
                             include_secondary: bool, trace_id: str, *, tracer_id: str,
                             legal_basis: str) -> tuple[list[str], list[str]]:
        """Close contacts: others at a venue within ±window (inclusive) of one of the case's
        visits since `since` (default: the retention window). Secondary contacts, when asked:
        the same for each close contact's visits from when they first met the case (earlier
        visits could not pass it on), the case and close contacts excluded. Flagged visits
        count on neither side. All are reported to status, once per trace id.

        A trace is an officer's act: status is asked first whether this tracer may trace from this
        case on this basis (a contact tracer of the case's province, a confirmed or asymptomatic
        case), and nothing is searched when it says no."""
        case_id = parse_uuid(case_person_id, "case_person_id", "PERSON_ID_INVALID")
        window = venues.contact_window(window_minutes, self.policy)
        trace_id = venues.check_trace_id(trace_id) or str(uuid.uuid4())
        now = self._clock.now()
        if since is not None and since > now:
            raise InvalidArgument.for_field("since_time", "must not be in the future", reason="SINCE_TIME_INVALID")
        # Nothing older than the retention window is kept, so nothing older is traced.
        since = max(since, self.policy.retention_start(now)) if since is not None else \
            self.policy.retention_start(now)
        mandate = TraceMandate(trace_id, case_id, tracer_id, legal_basis)
        await self._reporter.authorize(mandate)
        met = await self._repository.contacts([(case_id, since)], window, [case_id])
        close = sorted(met)
        secondary: list[str] = []
        if include_secondary and close:
            secondary = sorted(await self._repository.contacts(sorted(met.items()), window, [case_id, *close]))
        report = await self._reporter.report(mandate, close, secondary)
        log.info("contacts_traced", trace_id=trace_id, tracer_id=tracer_id,
                 window_minutes=window // timedelta(minutes=1),
                 close=len(close), secondary=len(secondary), facts_stored=report.stored,
                 facts_known=report.duplicates, facts_rejected=report.rejected)
        return close, secondary

    async def purge_visits(self) -> int:
        """Deletes visits past retention; returns how many."""
        purged = await self._repository.purge_visits(self.policy.retention_start(self._clock.now()))
        if purged:
            log.info("visits_purged", count=purged)
        return purged

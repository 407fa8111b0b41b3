"""Intake: facts from authorities' feeds and their corrections, a person's check-ins and pop-up
presses; each stored together with the decision it causes, in one transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.runtime.clock import Clock
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.runtime.logs import get_logger
from services.runtime import requests
from services.runtime.requests import parse_uuid
from services.runtime.sealing import Keyring
from services.status import facts as inbound
from services.status.clients import Identity, Itinerary
from services.status.deciding import CorrectionNote, Decider, require_acting_right
from services.status.model import ChangeCause, CorrectionKind, FactKind, Status, popup_acknowledgement
from services.status.repository import CorrectionRow, LockedFact, StatusRepository, StatusTransaction

log = get_logger(__name__)
# The authority of a pop-up acknowledgement: the person's own word, through their session.
POPUP_AUTHORITY = "person.popup"


@dataclass(frozen=True)
class FactsResult:
    outcomes: list[tuple[int, str, bool, str, str]]  # index, fact id, duplicate, rejection reason, field
    stored_count: int


class Intake:
    def __init__(self, decider: Decider, repository: StatusRepository, keyring: Keyring, identity: Identity,
                 itinerary: Itinerary, clock: Clock, clock_skew: timedelta) -> None:
        self._decider = decider
        self._repository = repository
        self._keyring = keyring
        self._identity = identity
        self._itinerary = itinerary
        self._clock = clock
        self._clock_skew = clock_skew  # how far in the future a fact's time may be

    async def record_facts(self, submitted: Sequence[inbound.SubmittedFact]) -> FactsResult:
        """Stores the good facts (a bad one is reported, not fatal) and recomputes their persons."""
        if not 1 <= len(submitted) <= inbound.MAX_FACTS_PER_CALL:
            raise InvalidArgument.for_field("facts", f"must hold 1 to {inbound.MAX_FACTS_PER_CALL} facts",
                                            reason="FACTS_COUNT_INVALID")
        now = self._clock.now()
        accepted: list[tuple[int, inbound.AcceptedFact]] = []
        outcomes: dict[int, tuple[int, str, bool, str, str]] = {}
        for index, fact in enumerate(submitted):
            try:
                accepted.append((index, inbound.check_fact(index, fact, str(uuid.uuid4()), now,
                                                          self._clock_skew)))
            except InvalidArgument as error:
                outcomes[index] = (index, "", False, error.reason, error.violations[0].field)
        accepted = await self._resolve_codes(accepted, outcomes, now)
        known = await self._identity.persons(sorted({a.person_id for _, a in accepted}))
        for index, fact in list(accepted):
            if fact.person_id not in known:
                outcomes[index] = (index, "", False, "PERSON_NOT_FOUND", f"facts[{index}].person_id")
        accepted = [(index, fact) for index, fact in accepted if index not in outcomes]
        stored_count = 0
        if accepted:
            async def store(tx: StatusTransaction) -> None:
                nonlocal stored_count
                rows = [(a.person_id, a.fact.fact_id, a.authority, a.authority_record_id, a.source,
                         self._keyring.seal(inbound.seal_fact_body(a.fact), inbound.fact_context(a.fact.fact_id)),
                         a.retain_until)
                        for _, a in accepted]
                stored = await tx.insert_facts(rows, now)
                for index, a in accepted:
                    fact_id, new = stored[(a.person_id, a.authority, a.authority_record_id)]
                    # Two rows of one call with the same record id: the first is new, the second a duplicate.
                    first = new and fact_id == a.fact.fact_id
                    outcomes[index] = (index, fact_id, not first, "", "")
                    stored_count += int(first)

            await self._decider.decide([a.person_id for _, a in accepted], ChangeCause.FACT, within=store)
        log.info("facts_recorded", received=len(submitted), stored=stored_count,
                 rejected=sum(1 for o in outcomes.values() if o[3]))
        return FactsResult([outcomes[index] for index in range(len(submitted))], stored_count)

    async def correct_fact(self, person_id: str, authority: str, record_id: str, amended: inbound.SubmittedFact | None,
                           reason: str, legal_basis: str, request_id: str
                           ) -> tuple[CorrectionRow, Status, bool]:
        """The authority that recorded a fact retracts it (`amended` None) or replaces what it says, and
        the person is decided again in the same transaction. The fact's row is locked first, so of
        concurrent corrections of one fact the second sees the first (an amendment after a retraction
        is refused). Returns (correction, status, duplicate)."""
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        inbound.check_correction(authority, record_id, reason, legal_basis, request_id)
        earlier = await self._repository.find_correction(authority, request_id)
        if earlier is not None:
            return self._retried(earlier, person_id, record_id), await self._decider.current(person_id), True
        now = self._clock.now()
        correction_id = str(uuid.uuid4())
        notes: dict[str, CorrectionNote] = {}
        recorded: list[CorrectionRow] = []

        async def correct(tx: StatusTransaction) -> None:
            locked = await tx.lock_facts_by_record(person_id, record_id)
            if await tx.find_correction(authority, request_id):
                # A concurrent retry of this request id held the lock first and committed.
                raise FailedPrecondition(reason="REQUEST_IN_FLIGHT", message="this request id was just applied")
            fact_row = self._own_fact(locked, authority)
            stored = inbound.open_fact_body(fact_row.fact_id, self._keyring.open(
                fact_row.sealed, inbound.fact_context(fact_row.fact_id)))
            if stored.kind not in inbound.FEED_KINDS:
                raise PermissionDenied(reason="FACT_KIND_RESERVED",
                                       message="appeal and override decisions are not corrected by record id")
            if amended is None:
                kind, changed = CorrectionKind.FACT_RETRACTED, ()
                await tx.retract_fact(person_id, fact_row.fact_id, now)
            else:
                accepted, changed = inbound.check_amendment(amended, stored, now, self._clock_skew)
                kind = CorrectionKind.FACT_AMENDED
                await tx.amend_fact(
                    person_id, fact_row.fact_id, accepted.source,
                    self._keyring.seal(inbound.seal_fact_body(accepted.fact), inbound.fact_context(fact_row.fact_id)),
                    accepted.retain_until)
            # What the fact said before stays, sealed under the correction's own row.
            superseded = self._keyring.seal(inbound.seal_fact_body(stored), inbound.correction_context(correction_id))
            row = CorrectionRow(correction_id, person_id, kind, authority, record_id, changed, reason.strip(),
                                legal_basis.strip(), request_id, now, superseded)
            if not await tx.insert_corrections([row]):
                # A concurrent retry of this request id committed first: this one rolls back.
                raise FailedPrecondition(reason="REQUEST_IN_FLIGHT", message="this request id was just applied")
            recorded.append(row)
            notes[person_id] = CorrectionNote(correction_id, authority, legal_basis.strip())

        try:
            decided = await self._decider.decide([person_id], ChangeCause.CORRECTION, within=correct, corrections=notes)
        except FailedPrecondition as error:
            if error.reason != "REQUEST_IN_FLIGHT":
                raise
            earlier = await self._repository.find_correction(authority, request_id)
            assert earlier is not None
            return self._retried(earlier, person_id, record_id), await self._decider.current(person_id), True
        log.info("fact_corrected", person_id=person_id, correction_id=correction_id, kind=recorded[0].kind)
        return recorded[0], decided.statuses[person_id], False

    @staticmethod
    def _own_fact(rows: list[LockedFact], authority: str) -> LockedFact:
        """The authority's own fact under the record id: another authority's is refused by name."""
        for row in rows:
            if row.authority == authority:
                if row.retracted:
                    raise FailedPrecondition(reason="FACT_RETRACTED", message="this fact was already retracted")
                return row
        if rows:
            raise PermissionDenied(reason="FACT_OF_ANOTHER_AUTHORITY",
                                   message="this record was recorded by another authority: only it may correct it")
        raise NotFound(reason="FACT_NOT_FOUND", message="no fact of this person under this record id")

    @staticmethod
    def _retried(earlier: CorrectionRow, person_id: str, record_id: str) -> CorrectionRow:
        if (earlier.person_id, earlier.record_id) != (person_id, record_id):
            raise InvalidArgument.for_field("request_id", "was used for another correction",
                                            reason="REQUEST_ID_REUSED")
        return earlier

    async def _resolve_codes(self, accepted: list[tuple[int, inbound.AcceptedFact]],
                             outcomes: dict[int, tuple[int, str, bool, str, str]], now: datetime
                             ) -> list[tuple[int, inbound.AcceptedFact]]:
        """Facts that name a code instead of a person, given the person the code was issued to
        (one query for the whole call); an unknown or expired code is reported on its row."""
        code_ids = [a.code_id for _, a in accepted if a.code_id is not None]
        if not code_ids:
            return accepted
        holders = await self._repository.code_holders(code_ids, now)
        resolved = []
        for index, fact in accepted:
            if fact.code_id is None:
                resolved.append((index, fact))
            elif fact.code_id in holders:
                resolved.append((index, replace(fact, person_id=holders[fact.code_id])))
            else:
                outcomes[index] = (index, "", False, "CODE_UNKNOWN", f"facts[{index}].code_id")
        return resolved

    async def check_in(self, person_id: str, reporter_id: str, temperature: float, symptoms: list[int],
                       request_id: str) -> Status:
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        reporter_id = parse_uuid(reporter_id or person_id, "reporter_person_id", "PERSON_ID_INVALID")
        reading = inbound.body_temperature(temperature, "temperature_celsius")
        symptom_codes = inbound.check_symptoms(symptoms)
        request_id = requests.request_id(request_id)
        await require_acting_right(self._identity, reporter_id, person_id, "reporter_person_id")
        if request_id and await self._repository.find_check_in(person_id, request_id):
            return await self._decider.current(person_id)
        check_in_id = str(uuid.uuid4())
        body = json.dumps({"temperature": str(reading), "symptoms": list(symptom_codes)}).encode()
        sealed = self._keyring.seal(body, inbound.check_in_context(check_in_id))

        async def store(tx: StatusTransaction) -> None:
            await tx.insert_check_in(
                person_id, check_in_id, reporter_id, self._clock.now(),
                inbound.is_abnormal(reading, symptom_codes), request_id, sealed)

        decided = (await self._decider.decide([person_id], ChangeCause.CHECK_IN, within=store)).statuses
        if person_id not in decided:
            raise NotFound(reason="PERSON_NOT_FOUND", message="identity knows no person with this id")
        return decided[person_id]

    async def acknowledge_popup(self, person_id: str, actor_id: str, request_id: str) -> Status:
        """The person pressed "continue" on the pop-up: the itinerary is queried at that moment and
        its answer kept with the press, so a later decision judges the press by what was known then
        (and by any risky stay learned of since), never by a window that has moved on."""
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        actor_id = parse_uuid(actor_id or person_id, "actor_person_id", "PERSON_ID_INVALID")
        request_id = requests.request_id(request_id)
        await require_acting_right(self._identity, actor_id, person_id, "actor_person_id")
        now = self._clock.now()
        fact = popup_acknowledgement(str(uuid.uuid4()), now, await self._itinerary.stays(person_id))
        sealed = self._keyring.seal(inbound.seal_fact_body(fact), inbound.fact_context(fact.fact_id))
        # Its record id is the request id, so a retry finds the first press; the person is the authority.
        row = (person_id, fact.fact_id, POPUP_AUTHORITY, request_id or fact.fact_id, 0, sealed,
               now + inbound.RETENTION[FactKind.POPUP_ACKNOWLEDGEMENT])

        async def store(tx: StatusTransaction) -> None:
            await tx.insert_facts([row], now)

        decided = (await self._decider.decide([person_id], ChangeCause.FACT, within=store)).statuses
        if person_id not in decided:
            raise NotFound(reason="PERSON_NOT_FOUND", message="identity knows no person with this id")
        return decided[person_id]

"""The status board: decides and stores colours, takes in facts and check-ins, issues codes.

Every decision goes through `decide`, which locks the persons' rows, reads their
evidence, applies the rules in force, writes the statuses that changed, and chains an
audit entry for every change, all in one transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg
from prometheus_client import Counter

from services.colours import Colour
from services.codes.ids import parse_code_id, parse_code_ids
from services.runtime.clock import Clock
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.runtime.logs import get_logger
from services.runtime import requests
from services.runtime.requests import page_size as requested_page_size
from services.runtime.requests import parse_uuid
from services.runtime.sealing import Keyring
from services.status import facts as intake
from services.status.audit import AuditChain, AuditEntry
from services.status.memory import RecentStatuses
from services.status.model import (ChangeCause, CheckIn, CorrectionKind, Decision, Diagnosis, Evidence, Fact, FactKind,
                                   Status, decide, popup_acknowledgement, reasons_from_json, reasons_to_json)
from services.status import signals
from services.status.clients import Identity, Itinerary
from services.status.repository import (ColourChange, CorrectionRow, Enrolment, LockedFact, StaleCode,
                                       StatusRepository)
from services.status.rulebook import RuleBook
from services.status.signing import IssuedCode, Signer

log = get_logger(__name__)
MAX_COLOUR_CHANGES = 10_000  # per ListColourChanges page
MAX_CODE_STANDINGS = 100
# The authority of a pop-up acknowledgement: the person's own word, through their session.
POPUP_AUTHORITY = "person.popup"
BINDING_FAILURES = Counter(
    "healthcode_status_binding_failures",
    "Stored statuses whose binding to the audit log did not verify (missing: written before bindings; "
    "mismatch: edited outside the service), each decided again instead of being served.", ["kind"])


def _from_audit(person_id: str, entry: AuditEntry | None) -> Status | None:
    """The status an audit entry recorded, as far as a decision compares against it (colour, reasons,
    rule set, version); None when the log has no entry for the person."""
    if entry is None:
        return None
    decision = Decision(Colour(entry.colour), entry.display_colour, reasons_from_json(entry.reasons),
                        entry.change_time, None, entry.rule_province, entry.rule_version)
    return Status(person_id, "", "", None, entry.version, decision, entry.change_time, entry.seq)


# The diagnoses a contact trace may start from.
CASE_DIAGNOSES = frozenset({Diagnosis.CONFIRMED, Diagnosis.ASYMPTOMATIC})


@dataclass(frozen=True)
class BoardPolicy:
    clock_skew: timedelta          # how far in the future a fact's time may be
    check_in_horizon: timedelta    # check-ins older than this are neither read nor kept
    fact_retention: timedelta      # facts are kept this long, and after it until the person is plainly green
    appeal_retention: timedelta    # decided appeals (statements, evidence) are kept this long
    # Audit entries' details (reasons: areas, diagnoses, record ids) are kept this long, then reduced
    # to keyed digests; the decision itself (colour, cause, rule set, officers, basis) is kept.
    audit_detail_retention: timedelta = timedelta(days=180)


@dataclass(frozen=True)
class Officers:
    """Who decided a change by hand, and on what legal basis (for the audit entry)."""

    officer_ids: tuple[str, ...] = ()
    legal_basis: str = ""
    trace_id: str = ""


@dataclass(frozen=True)
class CorrectionNote:
    """A correction a decision records: its audit entry names it, its actor and its basis."""

    correction_id: str
    actor: str
    legal_basis: str


@dataclass(frozen=True)
class Decided:
    statuses: dict[str, Status]   # every enrolled person asked about
    changed: int                  # how many got a new version


@dataclass(frozen=True)
class FactsResult:
    outcomes: list[tuple[int, str, bool, str, str]]  # index, fact id, duplicate, rejection reason, field
    stored_count: int


class StatusBoard:
    def __init__(self, repository: StatusRepository, keyring: Keyring, rules: RuleBook, signer: Signer,
                 chain: AuditChain, identity: Identity, itinerary: Itinerary, policy: BoardPolicy,
                 clock: Clock, recent: RecentStatuses | None = None) -> None:
        self.repository = repository
        self.rules = rules
        self.signer = signer
        self.identity = identity
        self._keyring = keyring
        self._chain = chain
        self._itinerary = itinerary
        self._policy = policy
        self._clock = clock
        self._recent = recent if recent is not None else RecentStatuses(0)

    def now(self) -> datetime:
        return self._clock.now()

    # Deciding

    async def decide(self, person_ids: Sequence[str], cause: ChangeCause, *,
                     within: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
                     officers: Officers = Officers(), refresh: bool = True,
                     corrections: dict[str, CorrectionNote] | None = None) -> Decided:
        """Recomputes the persons' statuses; identity's unknown persons are left out.

        `within` runs first in the same transaction (an appeal's or override's own
        writes), so the fact and the change it causes commit together. Without
        `refresh`, a status whose outcome and next change are unchanged is not rewritten.
        A person in `corrections` (which `within` may fill) gets an audit entry and a new
        version even when the outcome is the same: every correction is in the history.
        """
        corrections = {} if corrections is None else corrections
        ids = sorted(set(person_ids))
        await self._enrol_missing(ids)
        exposures = await self._itinerary.exposures(ids)
        async with self.repository.pool.acquire() as connection, connection.transaction():
            if within is not None:
                await within(connection)
            locked = await self.repository.lock_for_decision(connection, ids)
            # After the lock: a decision this one waited for, and what `within` just wrote (a check-in,
            # an approval), are in its past.
            now = self.now()
            locked, unbound = await self._audited(connection, locked)
            evidence = await self._evidence(connection, list(locked), now)
            decided: list[tuple[str, int, Decision, AuditEntry | None]] = []
            for person_id, (enrolment, current) in locked.items():
                rules = self.rules.in_force(enrolment.province_code, now)
                decision = decide(replace(evidence[person_id], enrolled_time=enrolment.enrol_time,
                                          exposures=exposures.get(person_id, ())), rules, now)
                note = corrections.get(person_id)
                changed = note is not None or not decision.same_outcome(current.decision if current else None)
                if not (refresh or changed or current is None or person_id in unbound
                        or decision.next_change_time != current.decision.next_change_time
                        or (decision.rule_province, decision.rule_version)
                        != (current.decision.rule_province, current.decision.rule_version)):
                    continue
                version = (current.version if current else 0) + (1 if changed else 0)
                entry = AuditEntry(
                    seq=0, person_id=person_id, version=version, change_time=now,
                    previous_colour=int(current.decision.colour) if current else 0, colour=int(decision.colour),
                    display_colour=decision.display, reasons=reasons_to_json(decision.reasons),
                    # A first status is an enrolment, unless officers made it (a trace's contact seen
                    # for the first time is still the tracer's act).
                    cause=int(ChangeCause.CORRECTION if note else ChangeCause.ENROLMENT
                              if current is None and not officers.officer_ids else cause),
                    rule_province=decision.rule_province, rule_version=decision.rule_version,
                    officer_ids=(note.actor,) if note else officers.officer_ids,
                    legal_basis=note.legal_basis if note else officers.legal_basis,
                    trace_id=officers.trace_id, correction_id=note.correction_id if note else "") if changed else None
                decided.append((person_id, version, decision, entry))
            seqs = await self._append_audit(connection, [entry for *_, entry in decided if entry])
            statuses = {}
            for person_id, version, decision, entry in decided:
                enrolment, current = locked[person_id]
                status = Status(person_id, enrolment.province_code, enrolment.masked_name, enrolment.person_ref,
                                version, decision, now, seqs[person_id] if entry else current.audit_seq)
                statuses[person_id] = replace(status, binding=self._chain.bind(status))
            if statuses:
                await self.repository.write_statuses(connection, list(statuses.values()))
                self._recent.changed((person_id, 0) for person_id in statuses)
        # Again once committed, before anyone is answered: a read that filled memory between the
        # write and the commit brought back the old row.
        self._recent.changed((person_id, 0) for person_id in statuses)
        signals.changed(((ChangeCause(entry.cause).name, Colour(entry.colour).name) for *_, entry in decided if entry),
                        now)
        for person_id, (_, current) in locked.items():
            if person_id not in statuses and current is not None:
                statuses[person_id] = current
        return Decided(statuses, sum(1 for *_, entry in decided if entry))

    async def _audited(self, connection: asyncpg.Connection, locked: dict[str, tuple[Enrolment, Status | None]]
                       ) -> tuple[dict[str, tuple[Enrolment, Status | None]], set[str]]:
        """The locked statuses with every one whose binding fails replaced by what the audit log last
        recorded for that person (so a row edited in SQL is neither served nor compared against), and
        the ids of those persons, whose rows are then rewritten."""
        unbound = {person_id for person_id, (_, status) in locked.items()
                   if status is not None and not self._chain.binds(status)}
        if not unbound:
            return locked, unbound
        entries = await self.repository.last_audit_entries(connection, sorted(unbound))
        for person_id in unbound:
            status = locked[person_id][1]
            kind = "missing" if status.binding is None else "mismatch"
            BINDING_FAILURES.labels(kind).inc()
            log.warning("status_binding_failed", person_id=person_id, kind=kind)
        return {person_id: (enrolment, _from_audit(person_id, entries.get(person_id)) if person_id in unbound
                            else status)
                for person_id, (enrolment, status) in locked.items()}, unbound

    async def _enrol_missing(self, person_ids: Sequence[str]) -> None:
        missing = await self.repository.unenrolled(person_ids)
        if not missing:
            return
        cards = await self.identity.persons(missing)
        now = self.now()
        await self.repository.enrol([Enrolment(card.person_id, card.province_code, card.masked_name, card.person_ref,
                                               now) for card in cards.values()])

    async def _evidence(self, connection: asyncpg.Connection, person_ids: list[str], now: datetime
                        ) -> dict[str, Evidence]:
        facts: dict[str, list[Fact]] = {person_id: [] for person_id in person_ids}
        for row in await self.repository.sealed_facts(connection, person_ids):
            body = self._keyring.open(row.sealed, intake.fact_context(row.row_id))
            facts[row.person_id].append(intake.open_fact_body(row.row_id, body))
        check_ins: dict[str, list[CheckIn]] = {person_id: [] for person_id in person_ids}
        for row in await self.repository.check_ins(connection, person_ids, now - self._policy.check_in_horizon):
            check_ins[row.person_id].append(CheckIn(row.check_in_id, row.check_in_time, row.abnormal))
        return {person_id: Evidence(now, tuple(facts[person_id]), tuple(check_ins[person_id]))
                for person_id in person_ids}

    async def has_case_diagnosis(self, person_id: str) -> bool:
        """Whether the person has a confirmed or asymptomatic diagnosis in force: recorded, in
        effect now, and not dismissed by an approved appeal."""
        now = self.now()
        async with self.repository.pool.acquire() as connection:
            rows = await self.repository.sealed_facts(connection, [person_id])
        facts = [intake.open_fact_body(row.row_id, self._keyring.open(row.sealed, intake.fact_context(row.row_id)))
                 for row in rows]
        dismissed = {key for fact in facts if fact.kind is FactKind.APPEAL_GRANTED and fact.effective_time <= now
                     for key in fact.dismissed}
        return any(fact.kind is FactKind.DIAGNOSIS and fact.diagnosis in CASE_DIAGNOSES
                   and fact.effective_time <= now and f"fact:{fact.fact_id}" not in dismissed for fact in facts)

    async def _append_audit(self, connection: asyncpg.Connection, entries: list[AuditEntry]) -> dict[str, int]:
        """Chains the entries (one per person) and returns each person's new seq."""
        if not entries:
            return {}
        seq, previous = await self.repository.lock_audit_head(connection)
        rows = []
        for entry in entries:
            seq += 1
            chained = self._chain.with_digest(replace(entry, seq=seq))
            entry_hash = self._chain.link(previous, chained)
            rows.append((chained, previous, entry_hash))
            previous = entry_hash
        await self.repository.append_audit(connection, rows)
        await self.repository.notify_changed(connection, [(entry.person_id, entry.version) for entry in entries])
        return {entry.person_id: entry.seq for entry, _, _ in rows}

    # Reading

    async def current(self, person_id: str, field_path: str = "person_id", *, replica: bool = False) -> Status:
        """The stored status if still valid under the rules in force; otherwise decided now (on the primary).

        With `replica`, for showing a status, never for signing a code (a code must carry the newest
        status): the status may come from memory (`memory.py` says how it follows every change) or
        from the read replica, which may lag by a moment.
        """
        person_id = parse_uuid(person_id, field_path, "PERSON_ID_INVALID")
        if replica:
            now = self.now()
            remembered = self._recent.lookup(person_id, now)
            if remembered is not None and self._under_rules_in_force(remembered, now):
                return remembered
        # Memory is filled from the primary only (a replica's row may predate a change already announced),
        # by every read of it: a code's status is shown next, and its standing asked at the checkpoint.
        read = self._recent.begin(person_id)
        kept = None
        try:
            stored = (await self.repository.enrolled([person_id], replica=replica and read is None)).get(person_id)
            now = self.now()
            if stored is not None and stored[1] is not None:
                status = stored[1]
                # A row whose binding fails is never served: `decide` replaces it from the audit log and evidence.
                if (now < status.decision.valid_until and self._under_rules_in_force(status, now)
                        and self._chain.binds(status)):
                    kept = status
                    return status
        finally:
            self._recent.keep(read, kept)
        decided = (await self.decide([person_id], ChangeCause.REVALIDATION)).statuses
        if person_id not in decided:
            raise NotFound(reason="PERSON_NOT_FOUND", message="identity knows no person with this id")
        return decided[person_id]

    def _under_rules_in_force(self, status: Status, now: datetime) -> bool:
        rules = self.rules.in_force(status.province_code, now)
        return (rules.province_code, rules.version) == (status.decision.rule_province, status.decision.rule_version)

    async def changes(self, person_id: str, page_size: int, page_token: str
                      ) -> tuple[list[AuditEntry], dict[str, CorrectionRow], str]:
        """A page of the person's history, newest first, with the corrections its entries name."""
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        size = requested_page_size(page_size)
        before = None
        if page_token:
            before = requests.sequence_token(page_token)
        entries = await self.repository.person_changes(person_id, before, size + 1)
        token = ""
        if len(entries) > size:
            entries, token = entries[:size], str(entries[size - 1].seq)
        corrections = await self.repository.corrections([e.correction_id for e in entries if e.correction_id])
        return entries, corrections, token

    # Facts and check-ins

    async def record_facts(self, submitted: Sequence[intake.SubmittedFact]) -> FactsResult:
        """Stores the good facts (a bad one is reported, not fatal) and recomputes their persons."""
        if not 1 <= len(submitted) <= intake.MAX_FACTS_PER_CALL:
            raise InvalidArgument.for_field("facts", f"must hold 1 to {intake.MAX_FACTS_PER_CALL} facts",
                                            reason="FACTS_COUNT_INVALID")
        now = self.now()
        accepted: list[tuple[int, intake.AcceptedFact]] = []
        outcomes: dict[int, tuple[int, str, bool, str, str]] = {}
        for index, fact in enumerate(submitted):
            try:
                accepted.append((index, intake.check_fact(index, fact, str(uuid.uuid4()), now,
                                                          self._policy.clock_skew)))
            except InvalidArgument as error:
                outcomes[index] = (index, "", False, error.reason, error.violations[0].field)
        accepted = await self._resolve_codes(accepted, outcomes, now)
        known = await self.identity.persons(sorted({a.person_id for _, a in accepted}))
        for index, fact in list(accepted):
            if fact.person_id not in known:
                outcomes[index] = (index, "", False, "PERSON_NOT_FOUND", f"facts[{index}].person_id")
        accepted = [(index, fact) for index, fact in accepted if index not in outcomes]
        stored_count = 0
        if accepted:
            async def store(connection: asyncpg.Connection) -> None:
                nonlocal stored_count
                rows = [(a.person_id, a.fact.fact_id, a.authority, a.authority_record_id, a.source,
                         self._keyring.seal(intake.seal_fact_body(a.fact), intake.fact_context(a.fact.fact_id)),
                         a.retain_until)
                        for _, a in accepted]
                stored = await self.repository.insert_facts(connection, rows, now)
                for index, a in accepted:
                    fact_id, new = stored[(a.person_id, a.authority, a.authority_record_id)]
                    # Two rows of one call with the same record id: the first is new, the second a duplicate.
                    first = new and fact_id == a.fact.fact_id
                    outcomes[index] = (index, fact_id, not first, "", "")
                    stored_count += int(first)

            await self.decide([a.person_id for _, a in accepted], ChangeCause.FACT, within=store)
        log.info("facts_recorded", received=len(submitted), stored=stored_count,
                 rejected=sum(1 for o in outcomes.values() if o[3]))
        return FactsResult([outcomes[index] for index in range(len(submitted))], stored_count)

    async def correct_fact(self, person_id: str, authority: str, record_id: str, amended: intake.SubmittedFact | None,
                           reason: str, legal_basis: str, request_id: str
                           ) -> tuple[CorrectionRow, Status, bool]:
        """The authority that recorded a fact retracts it (`amended` None) or replaces what it says, and
        the person is decided again in the same transaction. The fact's row is locked first, so of
        concurrent corrections of one fact the second sees the first (an amendment after a retraction
        is refused). Returns (correction, status, duplicate)."""
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        intake.check_correction(authority, record_id, reason, legal_basis, request_id)
        earlier = await self.repository.find_correction(authority, request_id)
        if earlier is not None:
            return self._retried(earlier, person_id, record_id), await self.current(person_id), True
        now = self.now()
        correction_id = str(uuid.uuid4())
        notes: dict[str, CorrectionNote] = {}
        recorded: list[CorrectionRow] = []

        async def correct(connection: asyncpg.Connection) -> None:
            locked = await self.repository.lock_facts_by_record(connection, person_id, record_id)
            if await self.repository.find_correction(authority, request_id, connection):
                # A concurrent retry of this request id held the lock first and committed.
                raise FailedPrecondition(reason="REQUEST_IN_FLIGHT", message="this request id was just applied")
            fact_row = self._own_fact(locked, authority)
            stored = intake.open_fact_body(fact_row.fact_id, self._keyring.open(
                fact_row.sealed, intake.fact_context(fact_row.fact_id)))
            if stored.kind not in intake.FEED_KINDS:
                raise PermissionDenied(reason="FACT_KIND_RESERVED",
                                       message="appeal and override decisions are not corrected by record id")
            if amended is None:
                kind, changed = CorrectionKind.FACT_RETRACTED, ()
                await self.repository.retract_fact(connection, person_id, fact_row.fact_id, now)
            else:
                accepted, changed = intake.check_amendment(amended, stored, now, self._policy.clock_skew)
                kind = CorrectionKind.FACT_AMENDED
                await self.repository.amend_fact(
                    connection, person_id, fact_row.fact_id, accepted.source,
                    self._keyring.seal(intake.seal_fact_body(accepted.fact), intake.fact_context(fact_row.fact_id)),
                    accepted.retain_until)
            # What the fact said before stays, sealed under the correction's own row.
            superseded = self._keyring.seal(intake.seal_fact_body(stored), intake.correction_context(correction_id))
            row = CorrectionRow(correction_id, person_id, kind, authority, record_id, changed, reason.strip(),
                                legal_basis.strip(), request_id, now, superseded)
            if not await self.repository.insert_corrections(connection, [row]):
                # A concurrent retry of this request id committed first: this one rolls back.
                raise FailedPrecondition(reason="REQUEST_IN_FLIGHT", message="this request id was just applied")
            recorded.append(row)
            notes[person_id] = CorrectionNote(correction_id, authority, legal_basis.strip())

        try:
            decided = await self.decide([person_id], ChangeCause.CORRECTION, within=correct, corrections=notes)
        except FailedPrecondition as error:
            if error.reason != "REQUEST_IN_FLIGHT":
                raise
            earlier = await self.repository.find_correction(authority, request_id)
            assert earlier is not None
            return self._retried(earlier, person_id, record_id), await self.current(person_id), True
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

    async def _resolve_codes(self, accepted: list[tuple[int, intake.AcceptedFact]],
                             outcomes: dict[int, tuple[int, str, bool, str, str]], now: datetime
                             ) -> list[tuple[int, intake.AcceptedFact]]:
        """Facts that name a code instead of a person, given the person the code was issued to
        (one query for the whole call); an unknown or expired code is reported on its row."""
        code_ids = [a.code_id for _, a in accepted if a.code_id is not None]
        if not code_ids:
            return accepted
        holders = await self.repository.code_holders(code_ids, now)
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
        reading = intake.body_temperature(temperature, "temperature_celsius")
        symptom_codes = intake.check_symptoms(symptoms)
        request_id = requests.request_id(request_id)
        await self.require_acting_right(reporter_id, person_id, "reporter_person_id")
        if request_id and await self.repository.find_check_in(person_id, request_id):
            return await self.current(person_id)
        check_in_id = str(uuid.uuid4())
        body = json.dumps({"temperature": str(reading), "symptoms": list(symptom_codes)}).encode()
        sealed = self._keyring.seal(body, intake.check_in_context(check_in_id))

        async def store(connection: asyncpg.Connection) -> None:
            await self.repository.insert_check_in(
                connection, person_id, check_in_id, reporter_id, self.now(),
                intake.is_abnormal(reading, symptom_codes), request_id, sealed)

        decided = (await self.decide([person_id], ChangeCause.CHECK_IN, within=store)).statuses
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
        await self.require_acting_right(actor_id, person_id, "actor_person_id")
        now = self.now()
        fact = popup_acknowledgement(str(uuid.uuid4()), now, await self._itinerary.stays(person_id))
        sealed = self._keyring.seal(intake.seal_fact_body(fact), intake.fact_context(fact.fact_id))
        # Its record id is the request id, so a retry finds the first press; the person is the authority.
        row = (person_id, fact.fact_id, POPUP_AUTHORITY, request_id or fact.fact_id, 0, sealed,
               now + intake.RETENTION[FactKind.POPUP_ACKNOWLEDGEMENT])

        async def store(connection: asyncpg.Connection) -> None:
            await self.repository.insert_facts(connection, [row], now)

        decided = (await self.decide([person_id], ChangeCause.FACT, within=store)).statuses
        if person_id not in decided:
            raise NotFound(reason="PERSON_NOT_FOUND", message="identity knows no person with this id")
        return decided[person_id]

    async def require_acting_right(self, actor_id: str, subject_id: str, field_path: str) -> None:
        if actor_id != subject_id and not await self.identity.may_act_for(actor_id, subject_id):
            raise PermissionDenied(reason="NO_ACTING_RIGHT",
                                   message=f"{field_path} may not act for this person (identity says no)")

    # Codes

    async def issue_code(self, person_id: str, requester_id: str) -> tuple[IssuedCode, Status]:
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        requester_id = parse_uuid(requester_id or person_id, "requester_person_id", "PERSON_ID_INVALID")
        await self.require_acting_right(requester_id, person_id, "requester_person_id")
        status = await self.current(person_id)
        if status.person_ref is None:
            status = await self._with_person_ref(status)
        now = self.now()
        issued = self.signer.issue(status, now)
        await self.repository.record_code(issued.code_id, person_id, status.version, issued.expire_time)
        return issued, status

    async def _with_person_ref(self, status: Status) -> Status:
        """A person enrolled before federation references existed: identity is asked again,
        and the enrolment completed, so this happens once per person."""
        card = (await self.identity.persons([status.person_id])).get(status.person_id)
        if card is None or card.person_ref is None:
            return status  # the signer refuses it: PERSON_REFERENCE_MISSING
        await self.repository.fill_person_ref(status.person_id, card.person_ref)
        return replace(status, person_ref=card.person_ref)

    async def code_standings(self, code_ids_hex: Sequence[str]) -> list[int]:
        """1 current, 2 stale, 3 unknown (as CodeStanding), per code id in order.

        A person's current version comes from memory when it holds them (see `memory.py`: never older
        than a change this replica made or was told of), else from their stored row.
        """
        code_ids = parse_code_ids(code_ids_hex, MAX_CODE_STANDINGS)
        now = self.now()
        held = await self.repository.code_versions(code_ids, now)
        current: dict[str, int] = {}
        for person_id, _ in held.values():
            remembered = self._recent.lookup(person_id, now)
            if remembered is not None:
                current[person_id] = remembered.version
        unknown = sorted({person_id for person_id, _ in held.values()} - current.keys())
        if unknown:
            reads = [self._recent.begin(person_id) for person_id in unknown]
            stored: dict[str, tuple] = {}
            # A version read from a row whose binding fails is not believed: the person is decided again.
            believed: dict[str, Status] = {}
            try:
                stored = await self.repository.enrolled(unknown)
                believed = {person_id: status for person_id, (_, status) in stored.items()
                            if status is not None and self._chain.binds(status)}
            finally:
                for read, person_id in zip(reads, unknown):
                    self._recent.keep(read, believed.get(person_id))
            current.update((person_id, status.version) for person_id, status in believed.items())
            unbound = [person_id for person_id in stored if person_id not in believed]
            if unbound:
                current.update((person_id, status.version) for person_id, status in
                               (await self.decide(unbound, ChangeCause.REVALIDATION)).statuses.items())
        return [3 if code_id not in held or held[code_id][0] not in current
                else (1 if held[code_id][1] == current[held[code_id][0]] else 2)
                for code_id in code_ids]

    async def stale_codes(self, page_size: int, page_token: str) -> tuple[list[StaleCode], str]:
        """Unexpired codes carrying an older status version than their person's current one, by
        code id: what an offline checkpoint's snapshot refuses without asking."""
        size = requested_page_size(page_size)
        after = None
        if page_token:
            try:
                after = parse_code_id(page_token, "page_token")
            except InvalidArgument:
                raise InvalidArgument.for_field("page_token", "is not a token this service issued",
                                                reason="PAGE_TOKEN_INVALID") from None
        codes = await self.repository.stale_codes(after, self.now(), size + 1)
        if len(codes) <= size:
            return codes, ""
        return codes[:size], codes[size - 1].code_id.hex()

    async def colour_changes(self, after_sequence: int, page_size: int, province_codes: Sequence[str]
                             ) -> tuple[list[ColourChange], int, bool]:
        """Colour changes of these provinces' persons after a sequence number (the exporter's feed)."""
        if after_sequence < 0:
            raise InvalidArgument.for_field("after_sequence", "must not be negative", reason="SEQUENCE_INVALID")
        if page_size < 0:
            raise InvalidArgument.for_field("page_size", "must not be negative", reason="PAGE_SIZE_INVALID")
        if not province_codes:
            raise InvalidArgument.for_field("province_codes", "is required", reason="PROVINCE_CODES_MISSING")
        for index, code in enumerate(province_codes):
            requests.province_code(code, f"province_codes[{index}]")
        return await self.repository.colour_changes(after_sequence, min(page_size or 100, MAX_COLOUR_CHANGES),
                                                    sorted(set(province_codes)))

    # Time

    async def review_due(self, batch: int = 1000) -> int:
        """Recomputes statuses whose next change time has come (Hubei's lapses, ends of periods)."""
        total = 0
        while True:
            due = await self.repository.due_for_review(self.now(), batch)
            if not due:
                return total
            await self.decide(due, ChangeCause.SCHEDULE, refresh=False)
            total += len(due)

    async def renew_lapsing(self, horizon: timedelta, limit: int, after: tuple[datetime, str]
                            ) -> tuple[int, tuple[datetime, str] | None]:
        """Renews, before they lapse, statuses lapsing within `horizon` whose decision at the lapse is the
        same (same colour, reasons and rule set): the row is rewritten valid until the next lapse, with
        no new version and no audit entry, so the first read after the lapse is a stored read. Takes up
        to `limit` candidates past the key `after`; returns how many were renewed and the key to go on
        from (None: none left). Persons locked by a decision or another replica are left to them."""
        now = self.now()
        candidates = await self.repository.lapsing(after, now + horizon, limit)
        if not candidates:
            return 0, None
        ids = sorted(person_id for _, person_id in candidates)
        exposures = await self._itinerary.exposures(ids)
        async with self.repository.pool.acquire() as connection, connection.transaction():
            locked = await self.repository.lock_for_renewal(connection, ids)
            evidence = await self._evidence(connection, list(locked), now)
            renewed = []
            for person_id, (enrolment, current) in locked.items():
                # Re-checked under the lock: another replica may have renewed it, a decision changed it.
                if current is None or not self._chain.binds(current):
                    continue
                lapse = current.decision.valid_until
                if not now < lapse <= now + horizon or (current.decision.next_change_time is not None
                                                        and current.decision.next_change_time <= lapse):
                    continue
                rules = self.rules.in_force(enrolment.province_code, lapse)
                if (rules.province_code, rules.version) != (current.decision.rule_province,
                                                            current.decision.rule_version):
                    continue
                decision = decide(replace(evidence[person_id], enrolled_time=enrolment.enrol_time,
                                          exposures=exposures.get(person_id, ())), rules, lapse)
                if not decision.same_outcome(current.decision):
                    continue
                status = replace(current, decision=decision, compute_time=now)
                renewed.append(replace(status, binding=self._chain.bind(status)))
            if renewed:
                await self.repository.write_statuses(connection, renewed)
        return len(renewed), candidates[-1]

    async def purge(self) -> None:
        """Personal data past its retention: expired codes, old check-ins, settled facts, decided appeals.
        Statuses and the audit log stay: they are the record of every decision."""
        now = self.now()
        codes = await self.repository.purge_codes(now)
        check_ins = await self.repository.purge_check_ins(now - self._policy.check_in_horizon)
        facts = await self.repository.purge_settled_facts(now - self._policy.fact_retention)
        facts += await self.repository.purge_superseded(now - self._policy.fact_retention)
        # Short-lived facts go whatever the colour; a rule set never shows them that long (rules.SHORT_LIVED),
        # but their persons are decided again so no status still rests on a deleted fact.
        expired = await self.repository.purge_expired_facts(now)
        for start in range(0, len(expired), 1000):
            await self.decide(expired[start:start + 1000], ChangeCause.SCHEDULE, refresh=False)
        appeals = await self.repository.purge_decided_appeals(now - self._policy.appeal_retention)
        reduced = await self.reduce_audit_details()
        log.info("status_purged", codes=codes, check_ins=check_ins, facts=facts, expired_facts=len(expired),
                 appeals=appeals, audit_entries_reduced=reduced)

    async def reduce_audit_details(self, batch: int = 1000) -> int:
        """Reduces the details of audit entries past their retention to keyed digests (see
        AuditChain.reduced); the chain covers their digest, so it still verifies. Returns how many."""
        cutoff = self.now() - self._policy.audit_detail_retention
        total = 0
        while due := await self.repository.audit_details_to_reduce(cutoff, batch):
            done = await self.repository.reduce_audit_details(
                [(seq, self._chain.reduced(reasons)) for seq, reasons in due], self.now())
            total += done
            if len(due) < batch:
                break
        return total

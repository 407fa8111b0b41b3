"""Appeals and manual overrides: the only ways people change a colour by hand.

Neither edits a status. An approved appeal records a fact dismissing the findings the
reviewer found wrong; an approved override records a fact forcing a colour for a
period. The fact, the decision and the audit entry naming the officers commit in one
transaction. An override needs two different officers with the role, a reason code
and a legal basis (Henan, June 2022: codes turned red with no epidemic reason).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.colours import Colour
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.runtime.logs import get_logger
from services.runtime.paging import Cursor
from services.runtime import requests
from services.runtime.requests import page_size as requested_page_size
from services.runtime.requests import parse_uuid
from services.runtime.sealing import Keyring
from services.runtime.clock import Clock
from services.status import facts as inbound
from services.status.clients import Identity
from services.status.deciding import Decider, Officers, require_acting_right
from services.status.model import (AppealCategory, AppealState, ChangeCause, Diagnosis, Fact, FactKind, FactSource,
                                   OfficerRole, OverrideState, Status)
from services.status.repository import AppealRow, OverrideRow, StatusRepository, StatusTransaction

log = get_logger(__name__)

_ROLE_NAMES = {OfficerRole.APPEAL_REVIEWER: "an appeal reviewer", OfficerRole.OVERRIDE_OFFICER: "an override officer",
               OfficerRole.CONTACT_TRACER: "a contact tracer", OfficerRole.ADMINISTRATOR: "an administrator"}
# The authority of traced contacts' facts; with the record id `<trace>:<person>:<close|secondary>`,
# what makes a rerun of a trace report nobody twice.
TRACE_AUTHORITY = "verification-tracing"
MAX_TRACED_PER_CALL = 1000
_TRACE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CATEGORIES = frozenset(AppealCategory)
_OFFICER_ID = re.compile(r"^[a-z0-9._-]{1,64}\Z")
_QUALIFIED = re.compile(r"^([0-9]{6})\.")
NATIONAL = "000000"
APPEALS = Cursor("appeals", datetime, uuid.UUID)      # by deadline
OVERRIDES = Cursor("overrides", datetime, uuid.UUID)  # by proposal time
# Who granted a bootstrap administrator: the deployment's operators, from the command line.
BOOTSTRAP_GRANTER = "healthcode-cli"

_REASON_CODE = re.compile(r"^[A-Z0-9_]{1,64}\Z")
MAX_STATEMENT, MAX_EVIDENCE, MAX_EVIDENCE_REF, MAX_DECISION_REASON = 2000, 10, 200, 500
MAX_OVERRIDE = timedelta(days=30)
# Findings an appeal may dismiss: those that come from evidence, not derived states.
_DISMISSABLE = ("fact:", "stay:", "check-in:")


@dataclass(frozen=True)
class Appeal:
    row: AppealRow
    statement: str
    evidence_refs: tuple[str, ...]


@dataclass(frozen=True)
class CaseworkPolicy:
    review_time: timedelta     # an appeal is due for decision this long after filing
    clock_skew: timedelta


def _officer_id(value: str, field_path: str) -> str:
    if not _OFFICER_ID.match(value):
        raise InvalidArgument.for_field(field_path, "must be 1 to 64 of a-z, 0-9, '.', '-', '_'",
                                        reason="OFFICER_ID_INVALID")
    return value


def officer_province(officer_id: str) -> str | None:
    """The province an officer id is qualified by (`420000.hubei-operator` → 420000): the gateway
    qualifies every officer by the province of their credential. None for an unqualified id (only
    callers inside the deployment, never the gateway, use those)."""
    match = _QUALIFIED.match(officer_id)
    return match.group(1) if match else None


def _may_hold_roles_in(officer_id: str, province_code: str) -> bool:
    """A qualified officer holds roles only in their own province, or anywhere when national."""
    home = officer_province(officer_id)
    return home is None or home in (province_code, NATIONAL)


def _text(value: str, field_path: str, maximum: int) -> str:
    if not value.strip() or len(value) > maximum or "\x00" in value:
        raise InvalidArgument.for_field(field_path, f"must be 1 to {maximum} characters", reason="TEXT_INVALID")
    return value


def _checked_grant(officer_id: str, province_code: str, roles: list[int]) -> list[int]:
    """The roles to grant, sorted, once the officer id, the province and each role are well formed
    and the officer may hold roles in that province."""
    _officer_id(officer_id, "officer_id")
    if province_code != NATIONAL:  # national: administrators of every province
        requests.province_code(province_code, "province_code")
    if not _may_hold_roles_in(officer_id, province_code):
        raise InvalidArgument.for_field("officer_id", f"is an officer of province {officer_province(officer_id)}: "
                                        "they hold roles there only", reason="OFFICER_PROVINCE_MISMATCH")
    for index, role in enumerate(roles):
        if role not in _ROLE_NAMES:
            raise InvalidArgument.for_field(f"roles[{index}]", "is not a known role", reason="ROLE_INVALID")
    return sorted(set(roles))


async def bootstrap_administrator(repository: StatusRepository, officer_id: str, province_code: str,
                                  now: datetime) -> list[int]:
    """The first administrator of a province (or "000000": of every province), granted by the
    deployment's operators from the command line (`healthcode grant-administrator`); every later
    grant is an administrator's, through SetOfficerRoles."""
    _checked_grant(officer_id, province_code, [OfficerRole.ADMINISTRATOR])
    granted = sorted(await repository.officer_roles(officer_id, province_code) | {OfficerRole.ADMINISTRATOR})
    await repository.set_officer_roles(officer_id, province_code, granted, now, BOOTSTRAP_GRANTER)
    log.warning("administrator_bootstrapped", officer_id=officer_id, province_code=province_code)
    return granted


class Casework:
    def __init__(self, decider: Decider, repository: StatusRepository, identity: Identity, keyring: Keyring,
                 clock: Clock, policy: CaseworkPolicy) -> None:
        self._decider = decider
        self._repository = repository
        self._identity = identity
        self._keyring = keyring
        self._clock = clock
        self._policy = policy

    async def _holds(self, officer_id: str, province_code: str, role: int) -> bool:
        return _may_hold_roles_in(officer_id, province_code) and \
            role in await self._repository.officer_roles(officer_id, province_code)

    async def _require_role(self, officer_id: str, province_code: str, role: int, field_path: str) -> None:
        if not _may_hold_roles_in(officer_id, province_code):
            raise PermissionDenied(reason="OFFICER_PROVINCE_MISMATCH",
                                   message=f"{field_path} is an officer of province {officer_province(officer_id)}, "
                                           f"not of {province_code}")
        if role not in await self._repository.officer_roles(officer_id, province_code):
            raise PermissionDenied(reason="OFFICER_ROLE_MISSING",
                                   message=f"{field_path} is not {_ROLE_NAMES[role]} in province {province_code}")

    async def set_officer_roles(self, officer_id: str, province_code: str, roles: list[int],
                                granted_by: str) -> list[int]:
        """An administrator of the province (or a national one) grants an officer roles there; never
        to themselves, and never to an officer qualified by another province."""
        granted = _checked_grant(officer_id, province_code, roles)
        _officer_id(granted_by, "granted_by_id")
        if granted_by == officer_id:
            raise PermissionDenied(reason="SELF_GRANT", message="an administrator never grants roles to themselves")
        if not (await self._holds(granted_by, province_code, OfficerRole.ADMINISTRATOR)
                or await self._holds(granted_by, NATIONAL, OfficerRole.ADMINISTRATOR)):
            raise PermissionDenied(reason="ADMINISTRATOR_REQUIRED",
                                   message=f"granted_by_id is not an administrator of province {province_code} "
                                           "nor a national one")
        await self._repository.set_officer_roles(officer_id, province_code, granted, self._clock.now(), granted_by)
        log.info("officer_roles_set", officer_id=officer_id, province_code=province_code, roles=granted,
                 granted_by=granted_by)
        return granted


    # Appeals

    async def file_appeal(self, person_id: str, filer_id: str, category: int, statement: str,
                          evidence_refs: list[str], request_id: str) -> Appeal:
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        filer_id = parse_uuid(filer_id or person_id, "filer_person_id", "PERSON_ID_INVALID")
        if category not in _CATEGORIES:
            raise InvalidArgument.for_field("category", "is not a known category", reason="CATEGORY_INVALID")
        _text(statement, "statement", MAX_STATEMENT)
        if len(evidence_refs) > MAX_EVIDENCE:
            raise InvalidArgument.for_field("evidence_refs", f"at most {MAX_EVIDENCE}", reason="EVIDENCE_INVALID")
        for index, ref in enumerate(evidence_refs):
            _text(ref, f"evidence_refs[{index}]", MAX_EVIDENCE_REF)
        request_id = requests.request_id(request_id)
        await require_acting_right(self._identity, filer_id, person_id, "filer_person_id")
        status = await self._decider.current(person_id)
        now = self._clock.now()
        appeal_id = str(uuid.uuid4())
        body = json.dumps({"statement": statement, "evidence_refs": evidence_refs}).encode()
        row = await self._repository.insert_appeal(AppealRow(
            appeal_id=appeal_id, person_id=person_id, filer_person_id=filer_id, category=category,
            province_code=status.province_code, state=AppealState.PENDING, file_time=now,
            deadline_time=now + self._policy.review_time, request_id=request_id,
            sealed=self._keyring.seal(body, inbound.appeal_context(appeal_id))))
        log.info("appeal_filed", appeal_id=row.appeal_id, category=category)
        return self._opened(row)

    def _opened(self, row: AppealRow) -> Appeal:
        body = json.loads(self._keyring.open(row.sealed, inbound.appeal_context(row.appeal_id)))
        return Appeal(row, body["statement"], tuple(body["evidence_refs"]))

    async def get_appeal(self, appeal_id: str) -> Appeal:
        row = await self._repository.get_appeal(parse_uuid(appeal_id, "appeal_id", "APPEAL_ID_INVALID"))
        if row is None:
            raise NotFound(reason="APPEAL_NOT_FOUND", message="no appeal with this id")
        return self._opened(row)

    async def list_appeals(self, state: int, overdue_only: bool, page_size: int, page_token: str,
                           province: str = "") -> tuple[list[Appeal], str]:
        if state and state not in (AppealState.PENDING, AppealState.APPROVED, AppealState.REJECTED):
            raise InvalidArgument.for_field("state", "is not a known state", reason="STATE_INVALID")
        province = requests.province_code(province, "province_code") if province else ""
        size = requested_page_size(page_size)
        after = APPEALS.after(page_token)
        if overdue_only:
            state = AppealState.PENDING
        rows = await self._repository.list_appeals(state or None, self._clock.now() if overdue_only else None,
                                                   after, size + 1, province or None)
        token = ""
        if len(rows) > size:
            rows = rows[:size]
            token = APPEALS.token(rows[-1].deadline_time, rows[-1].appeal_id)
        return [self._opened(row) for row in rows], token

    async def decide_appeal(self, appeal_id: str, reviewer_id: str, approve: bool, reason: str,
                            dismissed: list[str]) -> tuple[Appeal, Status]:
        appeal_id = parse_uuid(appeal_id, "appeal_id", "APPEAL_ID_INVALID")
        _officer_id(reviewer_id, "reviewer_id")
        _text(reason, "decision_reason", MAX_DECISION_REASON)
        appeal = await self._repository.get_appeal(appeal_id)
        if appeal is None:
            raise NotFound(reason="APPEAL_NOT_FOUND", message="no appeal with this id")
        await self._require_role(reviewer_id, appeal.province_code, OfficerRole.APPEAL_REVIEWER, "reviewer_id")
        if approve:
            if not dismissed:
                raise InvalidArgument.for_field("dismissed_finding_keys", "an approval names the findings it "
                                                "dismisses", reason="DISMISSED_FINDINGS_MISSING")
            current = await self._decider.current(appeal.person_id)
            reasons = {r.key for r in current.decision.reasons}
            for index, key in enumerate(dismissed):
                if key not in reasons or not key.startswith(_DISMISSABLE):
                    raise InvalidArgument.for_field(f"dismissed_finding_keys[{index}]",
                                                    "is not a dismissable reason of the person's current status",
                                                    reason="FINDING_NOT_DISMISSABLE")
        elif dismissed:
            raise InvalidArgument.for_field("dismissed_finding_keys", "a rejection dismisses nothing",
                                            reason="DISMISSED_FINDINGS_UNEXPECTED")
        state = AppealState.APPROVED if approve else AppealState.REJECTED

        async def record(tx: StatusTransaction) -> None:
            locked = await tx.lock_appeal(appeal_id)
            if locked.state != AppealState.PENDING:
                if (locked.state, locked.reviewer_id) == (state, reviewer_id):
                    return  # a retry of the same decision
                raise FailedPrecondition(reason="APPEAL_ALREADY_DECIDED", message="the appeal was already decided")
            now = self._clock.now()
            await tx.decide_appeal(appeal_id, state, reviewer_id, reason, dismissed, now)
            if approve:
                await self._record_fact(tx, appeal.person_id, "status-appeals", appeal_id, Fact(
                    str(uuid.uuid4()), FactKind.APPEAL_GRANTED, now, dismissed=tuple(dismissed)), now)

        status = (await self._decider.decide([appeal.person_id], ChangeCause.APPEAL, within=record,
                                           officers=Officers((reviewer_id,)))).statuses[appeal.person_id]
        log.info("appeal_decided", appeal_id=appeal_id, approved=approve)
        return await self.get_appeal(appeal_id), status

    # Contact tracing

    async def record_traced_contacts(self, trace_id: str, case_id: str, tracer_id: str, legal_basis: str,
                                     close: list[str], secondary: list[str], validate_only: bool
                                     ) -> tuple[int, int, int]:
        """A trace's contacts as close- and secondary-contact facts, the audit entries naming the
        trace, the tracer and the basis. Refused before anything is recorded unless the case has
        a confirmed or asymptomatic diagnosis in force and the tracer holds the contact-tracer
        role in the case's province. Returns (stored, duplicates, rejected)."""
        if not _TRACE_ID.match(trace_id):
            raise InvalidArgument.for_field("trace_id", "must be 1 to 64 of A-Z, a-z, 0-9, '.', '_', ':' and '-'",
                                            reason="TRACE_ID_INVALID")
        case_id = parse_uuid(case_id, "case_person_id", "PERSON_ID_INVALID")
        _officer_id(tracer_id, "tracer_id")
        _text(legal_basis, "legal_basis", MAX_DECISION_REASON)
        if len(close) + len(secondary) > MAX_TRACED_PER_CALL:
            raise InvalidArgument.for_field("close_contact_person_ids", f"at most {MAX_TRACED_PER_CALL} contacts a "
                                            "call, both lists together", reason="CONTACTS_COUNT_INVALID")
        contacts: dict[str, str] = {}
        for name, ids in (("close", close), ("secondary", secondary)):
            for index, person_id in enumerate(ids):
                person_id = parse_uuid(person_id, f"{name}_contact_person_ids[{index}]", "PERSON_ID_INVALID")
                if person_id != case_id:
                    contacts.setdefault(person_id, name)   # close wins over secondary
        case = await self._decider.current(case_id, "case_person_id")
        await self._require_role(tracer_id, case.province_code, OfficerRole.CONTACT_TRACER, "tracer_id")
        if not await self._decider.has_case_diagnosis(case_id):
            raise FailedPrecondition(reason="CASE_NOT_DIAGNOSED",
                                     message="tracing starts only from a confirmed or asymptomatic case")
        if validate_only or not contacts:
            return 0, 0, 0
        known = await self._identity.persons(sorted(contacts))
        traced = {person_id: kind for person_id, kind in contacts.items() if person_id in known}
        rejected = len(contacts) - len(traced)
        counts = [0, 0]
        if traced:
            now = self._clock.now()
            diagnosis = {"close": Diagnosis.CLOSE_CONTACT, "secondary": Diagnosis.SECONDARY_CONTACT}
            facts = {person_id: Fact(str(uuid.uuid4()), FactKind.DIAGNOSIS, now, diagnosis=diagnosis[kind])
                     for person_id, kind in traced.items()}

            async def store(tx: StatusTransaction) -> None:
                rows = [(person_id, fact.fact_id, TRACE_AUTHORITY, f"{trace_id}:{person_id}:{traced[person_id]}",
                         FactSource.HEALTH, self._keyring.seal(inbound.seal_fact_body(fact),
                                                            inbound.fact_context(fact.fact_id)), None)
                        for person_id, fact in facts.items()]
                stored = await tx.insert_facts(rows, now)
                new = sum(1 for _, is_new in stored.values() if is_new)
                counts[:] = [new, len(stored) - new]

            await self._decider.decide(sorted(traced), ChangeCause.CONTACT_TRACE, within=store,
                                     officers=Officers((tracer_id,), legal_basis, trace_id))
        log.info("contacts_recorded", trace_id=trace_id, tracer_id=tracer_id, stored=counts[0],
                 known=counts[1], rejected=rejected)
        return counts[0], counts[1], rejected

    async def _record_fact(self, tx: StatusTransaction, person_id: str, authority: str, record_id: str,
                           fact: Fact, now: datetime) -> None:
        sealed = self._keyring.seal(inbound.seal_fact_body(fact), inbound.fact_context(fact.fact_id))
        await tx.insert_facts(
            [(person_id, fact.fact_id, authority, record_id, 0, sealed, None)], now)

    # Overrides

    async def propose_override(self, person_id: str, colour: int, reason_code: str, legal_basis: str,
                               start: datetime | None, end: datetime | None, proposer_id: str,
                               request_id: str) -> OverrideRow:
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        if colour not in (Colour.GREEN, Colour.YELLOW, Colour.RED):
            raise InvalidArgument.for_field("colour", "must be green, yellow or red", reason="COLOUR_INVALID")
        if not _REASON_CODE.match(reason_code):
            raise InvalidArgument.for_field("reason_code", "must be 1 to 64 of A-Z, 0-9, '_'",
                                            reason="REASON_CODE_INVALID")
        _text(legal_basis, "legal_basis", MAX_DECISION_REASON)
        _officer_id(proposer_id, "proposer_id")
        now = self._clock.now()
        if start is not None and start < now - self._policy.clock_skew:
            raise InvalidArgument.for_field("start_time", "must not be in the past: a colour is never changed "
                                            "retroactively", reason="START_TIME_IN_PAST")
        if end is None or end <= (start or now) or end - (start or now) > MAX_OVERRIDE:
            raise InvalidArgument.for_field("end_time", f"is required, after the start, within "
                                            f"{MAX_OVERRIDE.days} days", reason="END_TIME_INVALID")
        request_id = requests.request_id(request_id)
        status = await self._decider.current(person_id)
        await self._require_role(proposer_id, status.province_code, OfficerRole.OVERRIDE_OFFICER, "proposer_id")
        row = await self._repository.insert_override(OverrideRow(
            override_id=str(uuid.uuid4()), person_id=person_id, province_code=status.province_code,
            colour=int(colour), reason_code=reason_code, legal_basis=legal_basis, start_time=start, end_time=end,
            proposer_id=proposer_id, propose_time=now, request_id=request_id))
        log.info("override_proposed", override_id=row.override_id, proposer_id=proposer_id,
                 reason_code=reason_code)
        return row

    async def decide_override(self, override_id: str, approver_id: str, approve: bool
                              ) -> tuple[OverrideRow, Status]:
        override_id = parse_uuid(override_id, "override_id", "OVERRIDE_ID_INVALID")
        _officer_id(approver_id, "approver_id")
        override = await self._repository.get_override(override_id)
        if override is None:
            raise NotFound(reason="OVERRIDE_NOT_FOUND", message="no override with this id")
        if approver_id == override.proposer_id:
            raise PermissionDenied(reason="SECOND_OFFICER_REQUIRED",
                                   message="an override is decided by a second officer, never its proposer")
        await self._require_role(approver_id, override.province_code, OfficerRole.OVERRIDE_OFFICER, "approver_id")
        state = OverrideState.APPROVED if approve else OverrideState.REJECTED

        async def record(tx: StatusTransaction) -> None:
            locked = await tx.lock_override(override_id)
            if locked.state != OverrideState.PROPOSED:
                if (locked.state, locked.approver_id) == (state, approver_id):
                    return
                raise FailedPrecondition(reason="OVERRIDE_ALREADY_DECIDED",
                                         message="the override was already decided")
            now = self._clock.now()
            if approve and locked.end_time <= now:
                raise FailedPrecondition(reason="OVERRIDE_EXPIRED", message="the override's period has ended")
            await tx.decide_override(override_id, state, approver_id, now)
            if approve:
                start = max(locked.start_time or now, now)
                await self._record_fact(tx, locked.person_id, "status-overrides", override_id, Fact(
                    str(uuid.uuid4()), FactKind.MANUAL_OVERRIDE, start, locked.end_time,
                    colour=Colour(locked.colour), reason_code=locked.reason_code), now)

        officers = Officers((override.proposer_id, approver_id), override.legal_basis)
        status = (await self._decider.decide([override.person_id], ChangeCause.OVERRIDE, within=record,
                                           officers=officers)).statuses[override.person_id]
        log.warning("override_decided", override_id=override_id, approved=approve, approver_id=approver_id,
                    proposer_id=override.proposer_id, reason_code=override.reason_code)
        return await self._repository.get_override(override_id), status

    async def list_overrides(self, state: int, page_size: int, page_token: str,
                             province: str = "") -> tuple[list[OverrideRow], str]:
        if state and state not in (OverrideState.PROPOSED, OverrideState.APPROVED, OverrideState.REJECTED):
            raise InvalidArgument.for_field("state", "is not a known state", reason="STATE_INVALID")
        province = requests.province_code(province, "province_code") if province else ""
        size = requested_page_size(page_size)
        after = OVERRIDES.after(page_token)
        rows = await self._repository.list_overrides(state or None, after, size + 1, province or None)
        if len(rows) <= size:
            return rows, ""
        rows = rows[:size]
        return rows, OVERRIDES.token(rows[-1].propose_time, rows[-1].override_id)

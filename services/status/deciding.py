"""Deciding colours: every status is decided here, read back here, and renewed ahead of a lapse here.

Every decision goes through `decide`, which locks the persons' rows, reads their
evidence, applies the rules in force, writes the statuses that changed, and chains an
audit entry for every change, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from prometheus_client import Counter

from services.colours import Colour
from services.runtime.clock import Clock
from services.runtime.errors import NotFound, PermissionDenied
from services.runtime.logs import get_logger
from services.runtime.paging import Cursor
from services.runtime.requests import page_size as requested_page_size
from services.runtime.requests import parse_uuid
from services.runtime.sealing import Keyring
from services.status import facts as inbound
from services.status.audit import AuditChain, AuditEntry, shard_of
from services.status.memory import RecentStatuses
from services.status.model import (ChangeCause, CheckIn, Decision, Diagnosis, Evidence, Exposure, Fact, FactKind,
                                   Status, decide, reasons_from_json, reasons_to_json)
from services.status import signals
from services.status.clients import Identity, Itinerary
from services.status.repository import CorrectionRow, Enrolment, StatusRepository, StatusTransaction
from services.status.rulebook import RuleBook

log = get_logger(__name__)
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
CHANGES = Cursor("status_changes", int)  # a person's history, newest first: before this audit seq


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


async def require_acting_right(identity: Identity, actor_id: str, subject_id: str, field_path: str) -> None:
    """The actor is the person, or identity says they may act for them."""
    if actor_id != subject_id and not await identity.may_act_for(actor_id, subject_id):
        raise PermissionDenied(reason="NO_ACTING_RIGHT",
                               message=f"{field_path} may not act for this person (identity says no)")


class Decider:
    def __init__(self, repository: StatusRepository, keyring: Keyring, rules: RuleBook, chain: AuditChain,
                 identity: Identity, itinerary: Itinerary, check_in_horizon: timedelta, clock: Clock,
                 recent: RecentStatuses | None = None) -> None:
        self._repository = repository
        self._keyring = keyring
        self._rules = rules
        self._chain = chain
        self._identity = identity
        self._itinerary = itinerary
        self._check_in_horizon = check_in_horizon  # check-ins older than this are neither read nor kept
        self._clock = clock
        self._recent = recent if recent is not None else RecentStatuses(0)

    def now(self) -> datetime:
        return self._clock.now()

    # Deciding

    async def decide(self, person_ids: Sequence[str], cause: ChangeCause, *,
                     within: Callable[[StatusTransaction], Awaitable[None]] | None = None,
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
        async with self._repository.transaction() as tx:
            if within is not None:
                await within(tx)
            locked = await tx.lock_for_decision(ids)
            # After the lock: a decision this one waited for, and what `within` just wrote (a check-in,
            # an approval), are in its past.
            now = self.now()
            locked, unbound = await self._audited(tx, locked)
            evidence = await self._evidence(tx, locked, exposures, now)
            decided: list[tuple[str, int, Decision, AuditEntry | None]] = []
            for person_id, (enrolment, current) in locked.items():
                rules = self._rules.in_force(enrolment.province_code, now)
                decision = decide(evidence[person_id], rules, now)
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
            chained = await self._chained(tx, [entry for *_, entry in decided if entry])
            seqs = {entry.person_id: entry.seq for entry, _, _ in chained}
            statuses = {}
            for person_id, version, decision, entry in decided:
                enrolment, current = locked[person_id]
                status = Status(person_id, enrolment.province_code, enrolment.masked_name, enrolment.person_ref,
                                version, decision, now, seqs[person_id] if entry else current.audit_seq)
                statuses[person_id] = replace(status, binding=self._chain.bind(status))
            if statuses:
                await tx.record_decided(list(statuses.values()), chained)
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

    async def _audited(self, tx: StatusTransaction, locked: dict[str, tuple[Enrolment, Status | None]]
                       ) -> tuple[dict[str, tuple[Enrolment, Status | None]], set[str]]:
        """The locked statuses with every one whose binding fails replaced by what the audit log last
        recorded for that person (so a row edited in SQL is neither served nor compared against), and
        the ids of those persons, whose rows are then rewritten."""
        unbound = {person_id for person_id, (_, status) in locked.items()
                   if status is not None and not self._chain.binds(status)}
        if not unbound:
            return locked, unbound
        entries = await tx.last_audit_entries(sorted(unbound))
        for person_id in unbound:
            status = locked[person_id][1]
            kind = "missing" if status.binding is None else "mismatch"
            BINDING_FAILURES.labels(kind).inc()
            log.warning("status_binding_failed", person_id=person_id, kind=kind)
        return {person_id: (enrolment, _from_audit(person_id, entries.get(person_id)) if person_id in unbound
                            else status)
                for person_id, (enrolment, status) in locked.items()}, unbound

    async def _enrol_missing(self, person_ids: Sequence[str]) -> None:
        missing = await self._repository.unenrolled(person_ids)
        if not missing:
            return
        cards = await self._identity.persons(missing)
        now = self.now()
        await self._repository.enrol([Enrolment(card.person_id, card.province_code, card.masked_name, card.person_ref,
                                               now) for card in cards.values()])

    async def _evidence(self, tx: StatusTransaction, locked: dict[str, tuple[Enrolment, Status | None]],
                        exposures: dict[str, Sequence[Exposure]], now: datetime) -> dict[str, Evidence]:
        """What each locked person's decision is made of: their facts (opened), recent check-ins, and the
        exposures itinerary answered, with their enrolment time."""
        person_ids = list(locked)
        facts: dict[str, list[Fact]] = {person_id: [] for person_id in person_ids}
        for row in await tx.sealed_facts(person_ids):
            body = self._keyring.open(row.sealed, inbound.fact_context(row.row_id))
            facts[row.person_id].append(inbound.open_fact_body(row.row_id, body))
        check_ins: dict[str, list[CheckIn]] = {person_id: [] for person_id in person_ids}
        for row in await tx.check_ins(person_ids, now - self._check_in_horizon):
            check_ins[row.person_id].append(CheckIn(row.check_in_id, row.check_in_time, row.abnormal))
        return {person_id: Evidence(enrolment.enrol_time, tuple(facts[person_id]), tuple(check_ins[person_id]),
                                    exposures.get(person_id, ()))
                for person_id, (enrolment, _) in locked.items()}

    async def has_case_diagnosis(self, person_id: str) -> bool:
        """Whether the person has a confirmed or asymptomatic diagnosis in force: recorded, in
        effect now, and not dismissed by an approved appeal."""
        now = self.now()
        rows = await self._repository.sealed_facts([person_id])
        facts = [inbound.open_fact_body(row.row_id, self._keyring.open(row.sealed, inbound.fact_context(row.row_id)))
                 for row in rows]
        dismissed = {key for fact in facts if fact.kind is FactKind.APPEAL_GRANTED and fact.effective_time <= now
                     for key in fact.dismissed}
        return any(fact.kind is FactKind.DIAGNOSIS and fact.diagnosis in CASE_DIAGNOSES
                   and fact.effective_time <= now and f"fact:{fact.fact_id}" not in dismissed for fact in facts)

    async def _chained(self, tx: StatusTransaction, entries: list[AuditEntry]
                       ) -> list[tuple[AuditEntry, bytes, bytes]]:
        """The entries (one per person) numbered and chained, each onto its shard's chain, as (entry, previous
        hash, entry hash) in seq order; their shards' heads are locked until commit, and only those: decisions
        in other shards append meanwhile."""
        if not entries:
            return []
        # What needs no seq is made before the heads are locked: the lock is held to commit.
        shards = [shard_of(entry.person_id) for entry in entries]
        digests = [self._chain.detail_digest(entry.reasons) for entry in entries]
        heads = await tx.lock_audit_heads(set(shards))
        rows = []
        for entry, shard, digest, seq in zip(entries, shards, digests, await tx.next_audit_seqs(len(entries)),
                                             strict=True):
            previous = heads[shard][1]
            chained = replace(entry, seq=seq, shard=shard, detail_digest=digest)
            entry_hash = self._chain.link(previous, chained)
            rows.append((chained, previous, entry_hash))
            heads[shard] = (seq, entry_hash)
        return rows

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
            stored = (await self._repository.enrolled([person_id], replica=replica and read is None)).get(person_id)
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
        rules = self._rules.in_force(status.province_code, now)
        return (rules.province_code, rules.version) == (status.decision.rule_province, status.decision.rule_version)

    async def changes(self, person_id: str, page_size: int, page_token: str
                      ) -> tuple[list[AuditEntry], dict[str, CorrectionRow], str]:
        """A page of the person's history, newest first, with the corrections its entries name."""
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        size = requested_page_size(page_size)
        before = CHANGES.after(page_token)
        entries = await self._repository.person_changes(person_id, before[0] if before else None, size + 1)
        token = ""
        if len(entries) > size:
            entries, token = entries[:size], CHANGES.token(entries[size - 1].seq)
        corrections = await self._repository.corrections([e.correction_id for e in entries if e.correction_id])
        return entries, corrections, token

    async def current_versions(self, person_ids: Iterable[str], now: datetime) -> dict[str, int]:
        """Each enrolled person's current status version. It comes from memory when memory holds them
        (see `memory.py`: never older than a change this replica made or was told of), else from their
        stored row; a version read from a row whose binding fails is not believed: the person is decided
        again."""
        person_ids = list(dict.fromkeys(person_ids))
        current: dict[str, int] = {}
        for person_id in person_ids:
            remembered = self._recent.lookup(person_id, now)
            if remembered is not None:
                current[person_id] = remembered.version
        unknown = sorted(set(person_ids) - current.keys())
        if unknown:
            reads = [self._recent.begin(person_id) for person_id in unknown]
            stored: dict[str, tuple] = {}
            believed: dict[str, Status] = {}
            try:
                stored = await self._repository.enrolled(unknown)
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
        return current

    # Time

    async def renew_lapsing(self, horizon: timedelta, limit: int, after: tuple[datetime, str]
                            ) -> tuple[int, tuple[datetime, str] | None]:
        """Renews, before they lapse, statuses lapsing within `horizon` whose decision at the lapse is the
        same (same colour, reasons and rule set): the row is rewritten valid until the next lapse, with
        no new version and no audit entry, so the first read after the lapse is a stored read. Takes up
        to `limit` candidates past the key `after`; returns how many were renewed and the key to go on
        from (None: none left). Persons locked by a decision or another replica are left to them."""
        now = self.now()
        candidates = await self._repository.lapsing(after, now + horizon, limit)
        if not candidates:
            return 0, None
        ids = sorted(person_id for _, person_id in candidates)
        exposures = await self._itinerary.exposures(ids)
        async with self._repository.transaction() as tx:
            locked = await tx.lock_for_renewal(ids)
            evidence = await self._evidence(tx, locked, exposures, now)
            renewed = []
            for person_id, (enrolment, current) in locked.items():
                # Re-checked under the lock: another replica may have renewed it, a decision changed it.
                if current is None or not self._chain.binds(current):
                    continue
                lapse = current.decision.valid_until
                if not now < lapse <= now + horizon or (current.decision.next_change_time is not None
                                                        and current.decision.next_change_time <= lapse):
                    continue
                rules = self._rules.in_force(enrolment.province_code, lapse)
                if (rules.province_code, rules.version) != (current.decision.rule_province,
                                                            current.decision.rule_version):
                    continue
                decision = decide(evidence[person_id], rules, lapse)
                if not decision.same_outcome(current.decision):
                    continue
                status = replace(current, decision=decision, compute_time=now)
                renewed.append(replace(status, binding=self._chain.bind(status)))
            if renewed:
                await tx.write_statuses(renewed)
        return len(renewed), candidates[-1]


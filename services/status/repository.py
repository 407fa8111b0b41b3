"""All of status's SQL: the only module that talks to Postgres (schema `status`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.colours import Colour
from services.runtime.sealing import Sealed
from services.status.audit import AuditEntry, Heads
from services.status.model import AppealState, Decision, OverrideState, RecomputeState, Status, reasons_from_json, reasons_to_json

NOTIFY_CHANNEL = "status_changed"
_NOTIFY_IDS = 150  # "person_id:version" items per notification: Postgres caps a payload at 8000 bytes


@dataclass(frozen=True)
class Enrolment:
    person_id: str
    province_code: str
    masked_name: str
    person_ref: bytes | None
    enrol_time: datetime


@dataclass(frozen=True)
class ColourChange:
    sequence: int
    person_ref: bytes
    province_code: str
    previous_colour: int
    colour: int
    change_time: datetime
    reason: str


@dataclass(frozen=True)
class StaleCode:
    code_id: bytes
    expire_time: datetime


@dataclass(frozen=True)
class SealedRow:
    person_id: str
    row_id: str
    sealed: Sealed


@dataclass(frozen=True)
class CheckInRow:
    person_id: str
    check_in_id: str
    check_in_time: datetime
    abnormal: bool


@dataclass(frozen=True)
class AppealRow:
    appeal_id: str
    person_id: str
    filer_person_id: str
    category: int
    province_code: str
    state: int
    file_time: datetime
    deadline_time: datetime
    request_id: str | None
    sealed: Sealed                 # statement and evidence references
    reviewer_id: str | None = None
    decision_reason: str | None = None
    decide_time: datetime | None = None
    dismissed: tuple[str, ...] = ()


@dataclass(frozen=True)
class OverrideRow:
    override_id: str
    person_id: str
    province_code: str
    colour: int
    reason_code: str
    legal_basis: str
    start_time: datetime | None
    end_time: datetime
    proposer_id: str
    propose_time: datetime
    request_id: str | None
    state: int = 1
    approver_id: str | None = None
    decide_time: datetime | None = None


@dataclass(frozen=True)
class RecomputeRun:
    declaration_id: str
    state: int                      # 1 running, 2 done, 3 failed
    last_person_id: str | None
    persons_done: int
    persons_changed: int
    start_time: datetime
    finish_time: datetime | None
    error: str | None


@dataclass(frozen=True)
class CorrectionRow:
    """A correction of the evidence: who, what (field names only), why, on what basis."""

    correction_id: str
    person_id: str
    kind: int                      # CorrectionKind
    actor: str
    record_id: str
    changed_fields: tuple[str, ...]
    reason: str
    legal_basis: str
    request_id: str | None
    create_time: datetime
    superseded: Sealed | None = None


@dataclass(frozen=True)
class LockedFact:
    """A stored fact of a person under a record id, locked for a correction."""

    fact_id: str
    authority: str
    source: int
    sealed: Sealed
    retracted: bool


@dataclass(frozen=True)
class StoredRuleSet:
    province_code: str
    version: int
    effective_time: datetime
    document: str
    publish_time: datetime


@dataclass(frozen=True)
class StoredKey:
    key_id: bytes
    province_code: str
    public_key: bytes
    sealed: Sealed
    not_before: datetime
    not_after: datetime
    create_time: datetime
    revoke_time: datetime | None


_STATUS_COLUMNS = """p.person_id::text, p.province_code, p.masked_name, p.person_ref, p.enrol_time, s.version, s.colour,
    s.display_colour, s.reasons, s.rule_province, s.rule_version, s.compute_time, s.valid_until,
    s.next_change_time, s.audit_seq, s.binding, s.negative_test_time"""


# The statements a recomputation batch runs, at module level so the benchmark's raw baseline
# runs exactly these.
UNENROLLED_SQL = """SELECT id::text FROM unnest($1::uuid[]) AS id
               WHERE NOT EXISTS (SELECT 1 FROM status.persons p WHERE p.person_id = id)"""
# Lock, then read: in READ COMMITTED a statement that waited for a row lock still reads the
# other tables as of its own start, so the status must be read by a statement that begins after
# the lock is held (this one sees every decision committed before it).
LOCK_PERSONS_SQL = """SELECT person_id FROM status.persons WHERE person_id = ANY($1::uuid[])
               ORDER BY person_id FOR UPDATE"""
DECISION_STATE_SQL = f"""SELECT {_STATUS_COLUMNS} FROM status.persons p LEFT JOIN status.statuses s USING (person_id)
               WHERE p.person_id = ANY($1::uuid[])"""
# A retracted fact is kept (history) but no longer counts.
FACTS_SQL = """SELECT person_id::text, fact_id::text, sealed_key_id, sealed FROM status.facts
               WHERE person_id = ANY($1::uuid[]) AND retract_time IS NULL"""
CHECK_INS_SQL = """SELECT person_id::text, check_in_id::text, check_in_time, abnormal FROM status.check_ins
               WHERE person_id = ANY($1::uuid[]) AND check_in_time >= $2"""
WRITE_STATUSES_SQL = """INSERT INTO status.statuses (person_id, version, colour, display_colour, reasons, rule_province,
                   rule_version, compute_time, valid_until, next_change_time, audit_seq, binding, negative_test_time)
               SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::smallint[], $4::text[], $5::jsonb[],
                                    $6::text[], $7::int[], $8::timestamptz[], $9::timestamptz[],
                                    $10::timestamptz[], $11::bigint[], $12::bytea[], $13::timestamptz[])
               ON CONFLICT (person_id) DO UPDATE SET version = EXCLUDED.version, colour = EXCLUDED.colour,
                   display_colour = EXCLUDED.display_colour, reasons = EXCLUDED.reasons,
                   rule_province = EXCLUDED.rule_province, rule_version = EXCLUDED.rule_version,
                   compute_time = EXCLUDED.compute_time, valid_until = EXCLUDED.valid_until,
                   next_change_time = EXCLUDED.next_change_time, audit_seq = EXCLUDED.audit_seq,
                   binding = EXCLUDED.binding, negative_test_time = EXCLUDED.negative_test_time"""
# A decision's writes in one statement (one round trip with the chains' heads locked): the statuses
# ($1..$13, as WRITE_STATUSES_SQL), the new audit entries ($14..$32; officer ids as a JSON array each,
# since unnest flattens an array of arrays), each shard's head moved to its last entry ($33..$35), and the
# notification of the changes, in chunks ($36). Data-modifying CTEs run to completion whether read or not.
RECORD_DECIDED_SQL = f"""WITH written AS ({WRITE_STATUSES_SQL}),
    appended AS (
        INSERT INTO status.audit_log (seq, person_id, version, change_time, previous_colour, colour, display_colour,
            reasons, cause, rule_province, rule_version, officer_ids, legal_basis, trace_id, detail_digest,
            previous_hash, entry_hash, correction_id, shard)
        SELECT e.seq, e.person_id, e.version, e.change_time, e.previous_colour, e.colour, e.display_colour, e.reasons,
               e.cause, e.rule_province, e.rule_version, ARRAY(SELECT jsonb_array_elements_text(e.officer_ids)),
               e.legal_basis, e.trace_id, e.detail_digest, e.previous_hash, e.entry_hash, e.correction_id, e.shard
        FROM unnest($14::bigint[], $15::uuid[], $16::bigint[], $17::timestamptz[], $18::smallint[], $19::smallint[],
                    $20::text[], $21::jsonb[], $22::smallint[], $23::text[], $24::int[], $25::jsonb[], $26::text[],
                    $27::text[], $28::bytea[], $29::bytea[], $30::bytea[], $31::uuid[], $32::smallint[])
            AS e(seq, person_id, version, change_time, previous_colour, colour, display_colour, reasons, cause,
                 rule_province, rule_version, officer_ids, legal_basis, trace_id, detail_digest, previous_hash,
                 entry_hash, correction_id, shard)),
    moved AS (
        UPDATE status.audit_head h SET seq = m.seq, entry_hash = m.entry_hash
        FROM unnest($33::smallint[], $34::bigint[], $35::bytea[]) AS m(shard, seq, entry_hash)
        WHERE h.shard = m.shard)
    SELECT count(pg_notify('{NOTIFY_CHANNEL}', chunk)) FROM unnest($36::text[]) AS chunk"""
AUDIT_HEADS_SQL = "SELECT shard, seq, entry_hash FROM status.audit_head"
LAST_AUDIT_ENTRIES_SQL = """SELECT DISTINCT ON (person_id) * FROM status.audit_log WHERE person_id = ANY($1::uuid[])
               ORDER BY person_id, seq DESC"""


def _status(row: asyncpg.Record) -> Status | None:
    if row["version"] is None:
        return None
    decision = Decision(Colour(row["colour"]), row["display_colour"], reasons_from_json(json.loads(row["reasons"])),
                        row["valid_until"], row["next_change_time"], row["rule_province"], row["rule_version"],
                        row["negative_test_time"])
    return Status(row["person_id"], row["province_code"], row["masked_name"], _person_ref(row), row["version"],
                  decision, row["compute_time"], row["audit_seq"],
                  bytes(row["binding"]) if row["binding"] is not None else None)


def _person_ref(row: asyncpg.Record) -> bytes | None:
    return bytes(row["person_ref"]) if row["person_ref"] is not None else None


def _enrolment(row: asyncpg.Record) -> Enrolment:
    return Enrolment(row["person_id"], row["province_code"], row["masked_name"], _person_ref(row), row["enrol_time"])


def _key(row: asyncpg.Record) -> StoredKey:
    return StoredKey(bytes(row["key_id"]), row["province_code"], bytes(row["public_key"]),
                     Sealed(row["sealed_key_id"], bytes(row["sealed"])), row["not_before"], row["not_after"],
                     row["create_time"], row["revoke_time"])


class StatusRepository:
    def __init__(self, pool: asyncpg.Pool, read_pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        # Reads that may lag the primary by a moment (a status shown, a history) go to a replica if any.
        self.read_pool = read_pool or pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StatusTransaction]:
        async with self.pool.acquire() as connection, connection.transaction():
            yield StatusTransaction(connection)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[StatusTransaction]:
        """A read-only transaction that sees one moment of the database throughout (repeatable read)."""
        async with self.pool.acquire() as connection, connection.transaction(isolation="repeatable_read",
                                                                              readonly=True):
            yield StatusTransaction(connection)

    @asynccontextmanager
    async def exclusive(self, name: str, *key: str) -> AsyncIterator[bool]:
        """Whether this replica holds the named job alone (a session advisory lock, held for the block
        on a connection of its own and released with the session if the process dies); False: another
        replica holds it, and the block should do nothing."""
        lock_key = ":".join((name, *key))
        async with self.pool.acquire() as connection:
            held = await connection.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key)
            try:
                yield bool(held)
            finally:
                if held:
                    await connection.execute("SELECT pg_advisory_unlock(hashtext($1))", lock_key)

    # Persons and statuses

    async def enrolled(self, person_ids: Sequence[str], *, replica: bool = False
                       ) -> dict[str, tuple[Enrolment, Status | None]]:
        rows = await (self.read_pool if replica else self.pool).fetch(
            f"""SELECT {_STATUS_COLUMNS} FROM status.persons p LEFT JOIN status.statuses s USING (person_id)
                WHERE p.person_id = ANY($1::uuid[])""", person_ids)
        return {row["person_id"]: (_enrolment(row), _status(row)) for row in rows}

    async def unenrolled(self, person_ids: Sequence[str]) -> list[str]:
        rows = await self.pool.fetch(UNENROLLED_SQL, person_ids)
        return [row[0] for row in rows]

    async def enrol(self, enrolments: Sequence[Enrolment]) -> None:
        await self.pool.execute(
            """INSERT INTO status.persons (person_id, province_code, masked_name, person_ref, enrol_time)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[])
               ON CONFLICT DO NOTHING""",
            [e.person_id for e in enrolments], [e.province_code for e in enrolments],
            [e.masked_name for e in enrolments], [e.person_ref for e in enrolments],
            [e.enrol_time for e in enrolments])

    async def fill_person_ref(self, person_id: str, person_ref: bytes) -> None:
        """Completes an enrolment made before identity had the person's federation reference."""
        await self.pool.execute(
            "UPDATE status.persons SET person_ref = $2 WHERE person_id = $1 AND person_ref IS NULL",
            person_id, person_ref)

    async def sealed_facts(self, person_ids: Sequence[str]) -> list[SealedRow]:
        """The persons' sealed facts, outside any transaction (a read that decides nothing)."""
        return await _sealed_facts(self.pool, person_ids)

    async def lapsing(self, after: tuple[datetime, str], until: datetime, limit: int) -> list[tuple[datetime, str]]:
        """(valid_until, person) of statuses lapsing after the key `after` and by `until`, in lapse order,
        whose lapse is not a change of its own (no next change before it)."""
        rows = await self.pool.fetch(
            """SELECT valid_until, person_id::text FROM status.statuses
               WHERE (valid_until, person_id) > ($1, $2::uuid) AND valid_until <= $3
                 AND (next_change_time IS NULL OR next_change_time > valid_until)
               ORDER BY valid_until, person_id LIMIT $4""", after[0], after[1], until, limit)
        return [(row["valid_until"], row["person_id"]) for row in rows]

    async def due_for_review(self, now: datetime, limit: int) -> list[str]:
        rows = await self.pool.fetch(
            """SELECT person_id::text FROM status.statuses WHERE next_change_time <= $1
               ORDER BY next_change_time LIMIT $2""", now, limit)
        return [row[0] for row in rows]

    # Facts and check-ins

    # Corrections

    async def find_correction(self, actor: str, request_id: str) -> CorrectionRow | None:
        return await _find_correction(self.pool, actor, request_id)

    async def corrections(self, correction_ids: Sequence[str]) -> dict[str, CorrectionRow]:
        """The corrections audit entries name (for a person's history)."""
        if not correction_ids:
            return {}
        rows = await self.read_pool.fetch(
            "SELECT * FROM status.corrections WHERE correction_id = ANY($1::uuid[])", list(correction_ids))
        return {str(row["correction_id"]): _correction(row) for row in rows}

    async def find_check_in(self, person_id: str, request_id: str) -> str | None:
        return await self.pool.fetchval(
            "SELECT check_in_id::text FROM status.check_ins WHERE person_id = $1 AND request_id = $2",
            person_id, request_id)

    async def purge_settled_facts(self, recorded_before: datetime) -> int:
        """Deletes old facts of persons who are green with no reason left: nothing they say can
        still change a decision."""
        result = await self.pool.execute(
            """DELETE FROM status.facts f USING status.statuses s
               WHERE f.person_id = s.person_id AND f.record_time < $1 AND s.colour = $2 AND s.reasons = '[]'::jsonb""",
            recorded_before, Colour.GREEN)
        return int(result.split()[-1])

    async def purge_superseded(self, recorded_before: datetime) -> int:
        """What corrected facts said, past the fact retention: retracted facts are deleted whatever the
        colour (they decide nothing), and the superseded bodies corrections keep are dropped; the
        corrections themselves (who, what fields, why, basis) stay with the audit log they explain."""
        result = await self.pool.execute(
            "DELETE FROM status.facts WHERE retract_time IS NOT NULL AND record_time < $1", recorded_before)
        await self.pool.execute(
            """UPDATE status.corrections SET superseded = NULL, superseded_key_id = NULL
               WHERE superseded IS NOT NULL AND create_time < $1""", recorded_before)
        return int(result.split()[-1])

    async def purge_expired_facts(self, now: datetime) -> list[str]:
        """Deletes facts past their kind's retention; returns the persons they belonged to."""
        rows = await self.pool.fetch(
            "DELETE FROM status.facts WHERE retain_until < $1 RETURNING person_id::text", now)
        return sorted({row[0] for row in rows})

    async def purge_decided_appeals(self, decided_before: datetime) -> int:
        result = await self.pool.execute(
            "DELETE FROM status.appeals WHERE state <> $2 AND decide_time < $1", decided_before, AppealState.PENDING)
        return int(result.split()[-1])

    async def purge_check_ins(self, before: datetime) -> int:
        result = await self.pool.execute("DELETE FROM status.check_ins WHERE check_in_time < $1", before)
        return int(result.split()[-1])

    # Audit log

    async def audit_details_to_reduce(self, changed_before: datetime, limit: int) -> list[tuple[int, list[dict]]]:
        """(seq, reasons) of entries past the retention whose details may be reduced: those with a
        detail digest, not reduced yet, and superseded by a newer entry of the same person (the
        entry that recorded a person's current status keeps its reasons: they are still in force)."""
        rows = await self.pool.fetch(
            """SELECT l.seq, l.reasons FROM status.audit_log l
               WHERE l.reduce_time IS NULL AND l.detail_digest <> '\\x' AND l.change_time < $1
                 AND EXISTS (SELECT 1 FROM status.audit_log n WHERE n.person_id = l.person_id AND n.seq > l.seq)
               ORDER BY l.change_time, l.seq LIMIT $2""", changed_before, limit)
        return [(row["seq"], json.loads(row["reasons"])) for row in rows]

    async def reduce_audit_details(self, reduced: Sequence[tuple[int, list[dict]]], now: datetime) -> int:
        """Replaces the entries' reasons by their reduced form, once (a second reducer finds them done).
        The table's trigger lets nothing else change."""
        result = await self.pool.execute(
            """UPDATE status.audit_log l SET reasons = r.reasons, reduce_time = $3
               FROM unnest($1::bigint[], $2::jsonb[]) AS r(seq, reasons)
               WHERE l.seq = r.seq AND l.reduce_time IS NULL""",
            [seq for seq, _ in reduced], [json.dumps(reasons) for _, reasons in reduced], now)
        return int(result.split()[-1])

    async def person_changes(self, person_id: str, before_seq: int | None, limit: int) -> list[AuditEntry]:
        rows = await self.read_pool.fetch(
            """SELECT * FROM status.audit_log WHERE person_id = $1 AND ($2::bigint IS NULL OR seq < $2)
               ORDER BY seq DESC LIMIT $3""", person_id, before_seq, limit)
        return [_audit_entry(row) for row in rows]

    async def colour_changes(self, after_seq: int, limit: int, province_codes: Sequence[str]
                             ) -> tuple[list[ColourChange], int, bool]:
        """The colour changes to or from RED or YELLOW among the next `limit` audit entries after `after_seq`
        (persons of these home provinces with a federation reference), the last seq read, and whether fewer were
        left. A page never skips an entry: it reads only up to the settled seq (below), on the primary."""
        async with self.pool.acquire() as connection:
            settled = await _settled_audit_seq(connection)
            rows = await connection.fetch(
                """WITH page AS (SELECT seq, person_id, previous_colour, colour, change_time, reasons
                                 FROM status.audit_log WHERE seq > $1 AND seq <= $4 ORDER BY seq LIMIT $2)
                   SELECT p.seq, p.previous_colour, p.colour, p.change_time, m.person_ref, m.province_code,
                          coalesce(p.reasons -> 0 ->> 'code', '') AS reason,
                          -- to or from RED/YELLOW (a first status, previous 0, counts only when not green)
                          p.colour <> p.previous_colour AND (p.colour > 1 OR p.previous_colour > 1)
                              AND m.province_code = ANY($3::text[])
                              AND m.person_ref IS NOT NULL AS exported
                   FROM page p JOIN status.persons m USING (person_id) ORDER BY p.seq""",
                after_seq, limit, list(province_codes), settled)
        if not rows:
            return [], after_seq, True
        changes = [ColourChange(r["seq"], bytes(r["person_ref"]), r["province_code"], r["previous_colour"],
                                r["colour"], r["change_time"], r["reason"]) for r in rows if r["exported"]]
        return changes, rows[-1]["seq"], len(rows) < limit

    async def audit_heads(self) -> Heads:
        return _heads(await self.pool.fetch(AUDIT_HEADS_SQL))

    # Issued codes

    async def record_code(self, code_id: bytes, person_id: str, version: int, expire_time: datetime) -> None:
        await self.pool.execute(
            "INSERT INTO status.issued_codes (code_id, person_id, status_version, expire_time) VALUES ($1, $2, $3, $4)",
            code_id, person_id, version, expire_time)

    async def code_versions(self, code_ids: Sequence[bytes], now: datetime) -> dict[bytes, tuple[str, int]]:
        """(person, status version the code carries) per known, unexpired code."""
        rows = await self.pool.fetch(
            """SELECT code_id, person_id::text, status_version FROM status.issued_codes
               WHERE code_id = ANY($1::bytea[]) AND expire_time > $2""", code_ids, now)
        return {bytes(r["code_id"]): (r["person_id"], r["status_version"]) for r in rows}

    async def persons_by_ref(self, person_refs: Sequence[bytes], province_codes: Sequence[str] | None = None
                             ) -> dict[bytes, str]:
        """The enrolled persons the federation references name (of these home provinces, if given): one query."""
        rows = await self.pool.fetch(
            """SELECT person_ref, person_id::text FROM status.persons
               WHERE person_ref = ANY($1::bytea[]) AND ($2::text[] IS NULL OR province_code = ANY($2::text[]))""",
            list(person_refs), list(province_codes) if province_codes is not None else None)
        return {bytes(r["person_ref"]): r["person_id"] for r in rows}

    async def stored_fact_keys(self, keys: Sequence[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Which (person, authority, record id) are already stored: a batch received again is then not
        decided again (a concurrent first delivery is still caught by the unique key)."""
        rows = await self.pool.fetch(
            """SELECT f.person_id::text, f.authority, f.authority_record_id FROM status.facts f
               JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS k(person_id, authority, record_id)
                 ON f.person_id = k.person_id AND f.authority = k.authority AND f.authority_record_id = k.record_id""",
            [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
        return {(r[0], r[1], r[2]) for r in rows}

    async def codes_issued(self, code_ids: Sequence[bytes]) -> dict[bytes, tuple[str, datetime]]:
        """Whom each code still on record was issued to, and when it expired (expired ones included,
        until the purge: a reading reported late is judged at its own time)."""
        rows = await self.pool.fetch(
            "SELECT code_id, person_id::text, expire_time FROM status.issued_codes WHERE code_id = ANY($1::bytea[])",
            list(code_ids))
        return {bytes(r["code_id"]): (r["person_id"], r["expire_time"]) for r in rows}

    async def code_holders(self, code_ids: Sequence[bytes], now: datetime) -> dict[bytes, str]:
        """The person each known, unexpired code was issued to."""
        rows = await self.pool.fetch(
            """SELECT code_id, person_id::text FROM status.issued_codes
               WHERE code_id = ANY($1::bytea[]) AND expire_time > $2""", code_ids, now)
        return {bytes(r["code_id"]): r["person_id"] for r in rows}

    async def stale_codes(self, after_code_id: bytes | None, now: datetime, limit: int) -> list[StaleCode]:
        """Unexpired codes whose person has a newer status version than the code carries, by code id."""
        rows = await self.pool.fetch(
            """SELECT c.code_id, c.expire_time FROM status.issued_codes c JOIN status.statuses s USING (person_id)
               WHERE c.expire_time > $1 AND s.version > c.status_version
                 AND ($2::bytea IS NULL OR c.code_id > $2)
               ORDER BY c.code_id LIMIT $3""", now, after_code_id, limit)
        return [StaleCode(bytes(r["code_id"]), r["expire_time"]) for r in rows]

    async def purge_codes(self, before: datetime) -> int:
        result = await self.pool.execute("DELETE FROM status.issued_codes WHERE expire_time < $1", before)
        return int(result.split()[-1])

    # Rule sets

    async def rule_sets(self) -> list[StoredRuleSet]:
        rows = await self.pool.fetch("SELECT * FROM status.rule_sets ORDER BY province_code, version")
        return [StoredRuleSet(r["province_code"], r["version"], r["effective_time"], r["document"],
                              r["publish_time"]) for r in rows]

    async def insert_rule_set(self, province_code: str, effective_time: datetime, document: str, now: datetime,
                              *, only_if_none: bool = False) -> StoredRuleSet | None:
        """The next version for the province (None if `only_if_none` and one exists, or the
        effective time is taken). Serialised per province by a transaction-level lock."""
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext('status.rule_sets:' || $1))",
                                     province_code)
            latest = await connection.fetchval(
                "SELECT max(version) FROM status.rule_sets WHERE province_code = $1", province_code)
            if latest is not None and only_if_none:
                return None
            row = await connection.fetchrow(
                """INSERT INTO status.rule_sets (province_code, version, effective_time, document, publish_time)
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING *""",
                province_code, (latest or 0) + 1, effective_time, document, now)
        return None if row is None else StoredRuleSet(row["province_code"], row["version"], row["effective_time"],
                                                      row["document"], row["publish_time"])

    # Signing keys

    async def insert_key(self, key: StoredKey) -> None:
        await self.pool.execute(
            """INSERT INTO status.signing_keys (key_id, province_code, public_key, sealed_key_id, sealed, not_before,
                   not_after, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            key.key_id, key.province_code, key.public_key, key.sealed.key_id, key.sealed.ciphertext,
            key.not_before, key.not_after, key.create_time)

    async def usable_keys(self, now: datetime) -> list[StoredKey]:
        """Keys not revoked nor expired, including those whose period starts later."""
        rows = await self.pool.fetch(
            """SELECT * FROM status.signing_keys WHERE revoke_time IS NULL AND not_after > $1
               ORDER BY province_code, not_before DESC""", now)
        return [_key(row) for row in rows]

    async def list_keys(self, province_code: str | None, after: tuple[str, bytes] | None, limit: int
                        ) -> list[StoredKey]:
        rows = await self.pool.fetch(
            """SELECT * FROM status.signing_keys WHERE ($1::text IS NULL OR province_code = $1)
                 AND ($2::text IS NULL OR (province_code, key_id) > ($2, $3))
               ORDER BY province_code, key_id LIMIT $4""",
            province_code, after[0] if after else None, after[1] if after else None, limit)
        return [_key(row) for row in rows]

    async def revoke_key(self, key_id: bytes, now: datetime) -> StoredKey | None:
        row = await self.pool.fetchrow(
            """UPDATE status.signing_keys SET revoke_time = coalesce(revoke_time, $2) WHERE key_id = $1
               RETURNING *""", key_id, now)
        return _key(row) if row else None

    # Officers

    async def set_officer_roles(self, officer_id: str, province_code: str, roles: Sequence[int], now: datetime,
                                granted_by: str = "") -> None:
        if roles:
            await self.pool.execute(
                """INSERT INTO status.officers (officer_id, province_code, roles, update_time, granted_by)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (officer_id, province_code) DO UPDATE SET roles = $3, update_time = $4,
                       granted_by = $5""",
                officer_id, province_code, list(roles), now, granted_by)
        else:
            await self.pool.execute("DELETE FROM status.officers WHERE officer_id = $1 AND province_code = $2",
                                    officer_id, province_code)

    async def officer_roles(self, officer_id: str, province_code: str) -> set[int]:
        roles = await self.pool.fetchval(
            "SELECT roles FROM status.officers WHERE officer_id = $1 AND province_code = $2",
            officer_id, province_code)
        return set(roles or ())


    # Appeals

    async def insert_appeal(self, appeal: AppealRow) -> AppealRow:
        """The stored appeal; a retried request (same person and request id) returns the first."""
        row = await self.pool.fetchrow(
            """INSERT INTO status.appeals (appeal_id, person_id, filer_person_id, category, province_code, state,
                   file_time, deadline_time, request_id, sealed_key_id, sealed)
               VALUES ($1, $2, $3, $4, $5, $11, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING *""",
            appeal.appeal_id, appeal.person_id, appeal.filer_person_id, appeal.category, appeal.province_code,
            appeal.file_time, appeal.deadline_time, appeal.request_id, appeal.sealed.key_id,
            appeal.sealed.ciphertext, AppealState.PENDING)
        if row is None:
            row = await self.pool.fetchrow(
                "SELECT * FROM status.appeals WHERE person_id = $1 AND request_id = $2",
                appeal.person_id, appeal.request_id)
        return _appeal(row)

    async def get_appeal(self, appeal_id: str) -> AppealRow | None:
        return await _get_appeal(self.pool, appeal_id)

    async def list_appeals(self, state: int | None, overdue_at: datetime | None,
                           after: tuple[datetime, str] | None, limit: int, province: str | None = None
                           ) -> list[AppealRow]:
        rows = await self.pool.fetch(
            """SELECT appeals.* FROM status.appeals JOIN status.persons USING (person_id)
               WHERE ($1::smallint IS NULL OR state = $1) AND ($2::timestamptz IS NULL OR deadline_time < $2)
                 AND ($3::timestamptz IS NULL OR (deadline_time, appeal_id) > ($3, $4::uuid))
                 AND ($6::text IS NULL OR persons.province_code = $6)
               ORDER BY deadline_time, appeal_id LIMIT $5""",
            state, overdue_at, after[0] if after else None, after[1] if after else None, limit, province)
        return [_appeal(row) for row in rows]

    # Overrides

    async def insert_override(self, override: OverrideRow) -> OverrideRow:
        row = await self.pool.fetchrow(
            """INSERT INTO status.overrides (override_id, person_id, province_code, colour, reason_code,
                   legal_basis, start_time, end_time, proposer_id, state, propose_time, request_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $12, $10, $11) ON CONFLICT DO NOTHING RETURNING *""",
            override.override_id, override.person_id, override.province_code, override.colour,
            override.reason_code, override.legal_basis, override.start_time, override.end_time,
            override.proposer_id, override.propose_time, override.request_id, OverrideState.PROPOSED)
        if row is None:
            row = await self.pool.fetchrow(
                "SELECT * FROM status.overrides WHERE proposer_id = $1 AND request_id = $2",
                override.proposer_id, override.request_id)
        return _override(row)

    async def get_override(self, override_id: str) -> OverrideRow | None:
        return await _get_override(self.pool, override_id)

    async def list_overrides(self, state: int | None, after: tuple[datetime, str] | None, limit: int,
                             province: str | None = None) -> list[OverrideRow]:
        rows = await self.pool.fetch(
            """SELECT * FROM status.overrides WHERE ($1::smallint IS NULL OR state = $1)
                 AND ($2::timestamptz IS NULL OR (propose_time, override_id) < ($2, $3::uuid))
                 AND ($5::text IS NULL OR province_code = $5)
               ORDER BY propose_time DESC, override_id DESC LIMIT $4""",
            state, after[0] if after else None, after[1] if after else None, limit, province)
        return [_override(row) for row in rows]


    # Recomputation runs

    async def create_runs(self, declaration_ids: Sequence[str], now: datetime) -> int:
        result = await self.pool.execute(
            """INSERT INTO status.recompute_runs (declaration_id, state, start_time)
               SELECT unnest($1::uuid[]), $3, $2 ON CONFLICT DO NOTHING""", declaration_ids, now, RecomputeState.RUNNING)
        return int(result.split()[-1])

    async def get_run(self, declaration_id: str) -> RecomputeRun | None:
        row = await self.pool.fetchrow("SELECT * FROM status.recompute_runs WHERE declaration_id = $1",
                                       declaration_id)
        return _run(row) if row else None

    async def running_runs(self) -> list[RecomputeRun]:
        # A literal, as in the partial index recompute_runs_running (WHERE state = 1), so the planner uses it.
        rows = await self.pool.fetch(f"SELECT * FROM status.recompute_runs WHERE state = {RecomputeState.RUNNING:d} "
                                     "ORDER BY start_time")
        return [_run(row) for row in rows]

    async def advance_run(self, declaration_id: str, last_person_id: str, done: int, changed: int) -> None:
        await self.pool.execute(
            """UPDATE status.recompute_runs SET last_person_id = $2, persons_done = persons_done + $3,
                   persons_changed = persons_changed + $4 WHERE declaration_id = $1""",
            declaration_id, last_person_id, done, changed)

    async def finish_run(self, declaration_id: str, state: int, now: datetime, error: str | None) -> None:
        await self.pool.execute(
            "UPDATE status.recompute_runs SET state = $2, finish_time = $3, error = $4 WHERE declaration_id = $1",
            declaration_id, state, now, error)

    async def list_runs(self, after: tuple[datetime, str] | None, limit: int) -> list[RecomputeRun]:
        rows = await self.pool.fetch(
            """SELECT * FROM status.recompute_runs
               WHERE ($1::timestamptz IS NULL OR (start_time, declaration_id) < ($1, $2::uuid))
               ORDER BY start_time DESC, declaration_id DESC LIMIT $3""",
            after[0] if after else None, after[1] if after else None, limit)
        return [_run(row) for row in rows]

    async def stay_feed_cursor(self) -> str:
        return await self.pool.fetchval("SELECT cursor FROM status.stay_feed_cursor") or ""

    async def move_stay_feed_cursor(self, cursor: str) -> None:
        await self.pool.execute(
            """INSERT INTO status.stay_feed_cursor (cursor) VALUES ($1)
               ON CONFLICT (singleton) DO UPDATE SET cursor = $1""", cursor)

    async def name_cursor(self) -> datetime | None:
        return await self.pool.fetchval("SELECT changed_after FROM status.name_cursor")

    async def move_name_cursor(self, changed_after: datetime) -> None:
        await self.pool.execute(
            """INSERT INTO status.name_cursor (changed_after) VALUES ($1)
               ON CONFLICT (singleton) DO UPDATE SET changed_after = greatest(status.name_cursor.changed_after, $1)""",
            changed_after)

    async def declaration_cursor(self) -> datetime | None:
        return await self.pool.fetchval("SELECT created_after FROM status.declaration_cursor")

    async def move_declaration_cursor(self, created_after: datetime) -> None:
        await self.pool.execute(
            """INSERT INTO status.declaration_cursor (created_after) VALUES ($1)
               ON CONFLICT (singleton) DO UPDATE SET created_after = greatest(status.declaration_cursor.created_after,
                                                                              $1)""", created_after)


class StatusTransaction:
    """Statements that must share one transaction (locks, check-then-write, a decision and what caused it),
    on the connection `StatusRepository.transaction` holds."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def lock_for_decision(self, person_ids: Sequence[str]
                                ) -> dict[str, tuple[Enrolment, Status | None]]:
        """Locks the persons' rows (in id order, so concurrent batches cannot deadlock), then reads
        their statuses as the last holder of the lock left them."""
        await self._connection.execute(LOCK_PERSONS_SQL, person_ids)
        rows = await self._connection.fetch(DECISION_STATE_SQL, person_ids)
        return {row["person_id"]: (_enrolment(row), _status(row)) for row in rows}

    async def last_audit_entries(self, person_ids: Sequence[str]
                                 ) -> dict[str, AuditEntry]:
        """Each person's newest audit entry: what their status was last decided to be."""
        rows = await self._connection.fetch(LAST_AUDIT_ENTRIES_SQL, person_ids)
        return {str(row["person_id"]): _audit_entry(row) for row in rows}

    async def sealed_facts(self, person_ids: Sequence[str]) -> list[SealedRow]:
        return await _sealed_facts(self._connection, person_ids)

    async def check_ins(self, person_ids: Sequence[str], since: datetime
                        ) -> list[CheckInRow]:
        rows = await self._connection.fetch(CHECK_INS_SQL, person_ids, since)
        return [CheckInRow(r["person_id"], r["check_in_id"], r["check_in_time"], r["abnormal"]) for r in rows]

    async def write_statuses(self, statuses: Sequence[Status]) -> None:
        await self._connection.execute(WRITE_STATUSES_SQL, *_status_columns(statuses))

    async def notify_changed(self, changes: Sequence[tuple[str, int]]) -> None:
        """Sent at commit as "person_id:version,...": WatchStatus streams in every replica wake up, and
        caches in front of status drop what an older version made."""
        for chunk in _notifications(changes):
            await self._connection.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, chunk)

    async def lock_for_renewal(self, person_ids: Sequence[str]
                               ) -> dict[str, tuple[Enrolment, Status | None]]:
        """Locks those of the persons nobody else holds (a decision in flight, another replica's renewal
        of them), then reads their statuses."""
        locked = [row[0] for row in await self._connection.fetch(
            """SELECT person_id FROM status.persons WHERE person_id = ANY($1::uuid[])
               ORDER BY person_id FOR UPDATE SKIP LOCKED""", person_ids)]
        rows = await self._connection.fetch(DECISION_STATE_SQL, locked)
        return {row["person_id"]: (_enrolment(row), _status(row)) for row in rows}

    async def insert_facts(self, facts: Sequence[tuple[str, str, str, str, int, Sealed, datetime | None]],
                           now: datetime) -> dict[tuple[str, str, str], tuple[str, bool]]:
        """Stores (person, fact id, authority, record id, source, sealed, retain until) rows; a resent
        (person, authority, record id) keeps its first fact. Returns, per key, the stored
        fact id and whether it is new."""
        inserted = await self._connection.fetch(
            """INSERT INTO status.facts (person_id, fact_id, authority, authority_record_id, source, record_time,
                   sealed_key_id, sealed, retain_until)
               SELECT person_id, fact_id, authority, record_id, source, $7, key_id, sealed, retain_until
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::smallint[], $6::text[],
                           $8::bytea[], $9::timestamptz[])
                    AS f(person_id, fact_id, authority, record_id, source, key_id, sealed, retain_until)
               ON CONFLICT DO NOTHING RETURNING fact_id::text""",
            [f[0] for f in facts], [f[1] for f in facts], [f[2] for f in facts], [f[3] for f in facts],
            [f[4] for f in facts], [f[5].key_id for f in facts], now, [f[5].ciphertext for f in facts],
            [f[6] for f in facts])
        new_ids = {row[0] for row in inserted}
        stored = await self._connection.fetch(
            """SELECT f.person_id::text, f.authority, f.authority_record_id, f.fact_id::text
               FROM status.facts f
               JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS k(person_id, authority, record_id)
                 ON f.person_id = k.person_id AND f.authority = k.authority AND f.authority_record_id = k.record_id""",
            [f[0] for f in facts], [f[2] for f in facts], [f[3] for f in facts])
        return {(r["person_id"], r["authority"], r["authority_record_id"]): (r["fact_id"], r["fact_id"] in new_ids)
                for r in stored}

    async def lock_facts_by_record(self, person_id: str, record_id: str
                                   ) -> list[LockedFact]:
        """Every authority's fact of the person under this record id, locked: of concurrent corrections
        of one fact, the second sees what the first did."""
        rows = await self._connection.fetch(
            """SELECT fact_id::text, authority, source, sealed_key_id, sealed, retract_time FROM status.facts
               WHERE person_id = $1 AND authority_record_id = $2 ORDER BY authority FOR UPDATE""",
            person_id, record_id)
        return [LockedFact(r["fact_id"], r["authority"], r["source"], Sealed(r["sealed_key_id"], bytes(r["sealed"])),
                           r["retract_time"] is not None) for r in rows]

    async def retract_fact(self, person_id: str, fact_id: str, now: datetime) -> None:
        await self._connection.execute(
            "UPDATE status.facts SET retract_time = $3 WHERE person_id = $1 AND fact_id = $2",
            person_id, fact_id, now)

    async def amend_fact(self, person_id: str, fact_id: str, source: int, sealed: Sealed,
                         retain_until: datetime | None) -> None:
        await self._connection.execute(
            """UPDATE status.facts SET source = $3, sealed_key_id = $4, sealed = $5, retain_until = $6
               WHERE person_id = $1 AND fact_id = $2""",
            person_id, fact_id, source, sealed.key_id, sealed.ciphertext, retain_until)

    async def insert_corrections(self, rows: Sequence[CorrectionRow]) -> set[str]:
        """Stores corrections (one statement); returns the ids stored (a repeated id or (actor, request
        id) is left out: a retry)."""
        inserted = await self._connection.fetch(
            """INSERT INTO status.corrections (correction_id, person_id, kind, actor, record_id, changed_fields,
                   reason, legal_basis, request_id, superseded_key_id, superseded, create_time)
               SELECT c.id, c.person_id, c.kind, c.actor, c.record_id, string_to_array(c.fields, ','), c.reason,
                      c.basis, c.request_id, c.key_id, c.superseded, c.create_time
               FROM unnest($1::uuid[], $2::uuid[], $3::smallint[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::text[], $10::text[], $11::bytea[], $12::timestamptz[])
                    AS c(id, person_id, kind, actor, record_id, fields, reason, basis, request_id, key_id,
                         superseded, create_time)
               ON CONFLICT DO NOTHING RETURNING correction_id::text""",
            [r.correction_id for r in rows], [r.person_id for r in rows], [r.kind for r in rows],
            [r.actor for r in rows], [r.record_id for r in rows], [",".join(r.changed_fields) for r in rows],
            [r.reason for r in rows], [r.legal_basis for r in rows], [r.request_id for r in rows],
            [r.superseded.key_id if r.superseded else None for r in rows],
            [r.superseded.ciphertext if r.superseded else None for r in rows], [r.create_time for r in rows])
        return {row[0] for row in inserted}

    async def insert_check_in(self, person_id: str, check_in_id: str, reporter_id: str,
                              moment: datetime, abnormal: bool, request_id: str | None, sealed: Sealed) -> bool:
        """False when the request id was already used (a concurrent retry)."""
        inserted = await self._connection.fetchval(
            """INSERT INTO status.check_ins (person_id, check_in_time, check_in_id, reporter_person_id, abnormal,
                   request_id, sealed_key_id, sealed)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING true""",
            person_id, moment, check_in_id, reporter_id, abnormal, request_id, sealed.key_id, sealed.ciphertext)
        return bool(inserted)

    async def lock_audit_heads(self, shards: Sequence[int]) -> Heads:
        """The heads of these shards' chains, locked until commit, in shard order (so two appends that
        share shards never wait for each other in a cycle); seqs drawn after this follow each head."""
        return _heads(await self._connection.fetch(
            "SELECT shard, seq, entry_hash FROM status.audit_head WHERE shard = ANY($1::smallint[]) "
            "ORDER BY shard FOR UPDATE", sorted(shards)))

    async def audit_heads(self) -> Heads:
        """Every chain's head, unlocked: entries up to each are visible to a reader of this transaction
        when it was read first (a writer moves a head with its entries, in one transaction)."""
        return _heads(await self._connection.fetch(AUDIT_HEADS_SQL))

    async def next_audit_seqs(self, count: int) -> list[int]:
        """`count` new seqs, ascending; drawn with the heads locked, so each chain's only grow."""
        return sorted(await self._connection.fetchval(
            "SELECT array_agg(nextval('status.audit_seq')) FROM generate_series(1, $1)", count))

    async def record_decided(self, statuses: Sequence[Status], rows: Sequence[tuple[AuditEntry, bytes, bytes]]
                             ) -> None:
        """Writes decided statuses and appends their chained entries (entry, previous hash, entry hash), in
        seq order, moving each shard's head to its last one and notifying the changes at commit: one round
        trip, with the heads locked (`lock_audit_heads`) when there are entries."""
        entries = [entry for entry, _, _ in rows]
        heads = {entry.shard: (entry.seq, entry_hash) for entry, _, entry_hash in rows}
        await self._connection.fetchval(
            RECORD_DECIDED_SQL, *_status_columns(statuses),
            [e.seq for e in entries], [e.person_id for e in entries], [e.version for e in entries],
            [e.change_time for e in entries], [e.previous_colour for e in entries], [e.colour for e in entries],
            [e.display_colour for e in entries], [json.dumps(e.reasons) for e in entries],
            [e.cause for e in entries], [e.rule_province for e in entries], [e.rule_version for e in entries],
            [json.dumps(list(e.officer_ids)) for e in entries], [e.legal_basis for e in entries],
            [e.trace_id for e in entries], [e.detail_digest for e in entries], [previous for _, previous, _ in rows],
            [entry_hash for _, _, entry_hash in rows], [e.correction_id or None for e in entries],
            [e.shard for e in entries],
            list(heads), [seq for seq, _ in heads.values()], [digest for _, digest in heads.values()],
            _notifications([(e.person_id, e.version) for e in entries]))

    async def audit_chain(self, shard: int, after_seq: int, limit: int
                          ) -> list[tuple[AuditEntry, bytes, bytes]]:
        """A page of one shard's chain, in order, after `after_seq`."""
        rows = await self._connection.fetch(
            "SELECT * FROM status.audit_log WHERE shard = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            shard, after_seq, limit)
        return [(_audit_entry(row), bytes(row["previous_hash"]), bytes(row["entry_hash"])) for row in rows]

    async def statuses_with_last_entry(self, after_person_id: str | None, limit: int
                                       ) -> list[tuple[Status, AuditEntry | None]]:
        """Stored statuses in person order, each with the newest audit entry of its person."""
        rows = await self._connection.fetch(
            f"""SELECT {_STATUS_COLUMNS}, to_jsonb(a) AS entry FROM status.statuses s
                JOIN status.persons p USING (person_id)
                LEFT JOIN LATERAL (SELECT * FROM status.audit_log l WHERE l.person_id = s.person_id
                                   ORDER BY seq DESC LIMIT 1) a ON true
                WHERE ($1::uuid IS NULL OR s.person_id > $1) ORDER BY s.person_id LIMIT $2""",
            after_person_id, limit)
        return [(_status(row), _audit_entry_json(json.loads(row["entry"])) if row["entry"] else None)
                for row in rows]

    async def lock_chain_checks(self) -> dict[int, tuple[int, bytes, int]]:
        """Per shard, (verified seq, its entry hash, recheck seq) of the background chain check, locked for
        the transaction; a shard another replica holds is left out (that one checks it this round)."""
        rows = await self._connection.fetch(
            """SELECT shard, verified_seq, verified_hash, recheck_seq FROM status.audit_verification
               ORDER BY shard FOR UPDATE SKIP LOCKED""")
        return {row["shard"]: (row["verified_seq"], bytes(row["verified_hash"]), row["recheck_seq"]) for row in rows}

    async def save_chain_checks(self, positions: dict[int, tuple[int, bytes, int]], check_time: datetime) -> None:
        await self._connection.execute(
            """UPDATE status.audit_verification v SET verified_seq = p.verified_seq,
                   verified_hash = p.verified_hash, recheck_seq = p.recheck_seq, check_time = $5
               FROM unnest($1::smallint[], $2::bigint[], $3::bytea[], $4::bigint[])
                   AS p(shard, verified_seq, verified_hash, recheck_seq)
               WHERE v.shard = p.shard""",
            list(positions), [p[0] for p in positions.values()], [p[1] for p in positions.values()],
            [p[2] for p in positions.values()], check_time)

    async def audit_entry_hash(self, seq: int) -> bytes:
        """The stored hash of entry `seq` (empty when there is none: seq 0, or a deleted row)."""
        value = await self._connection.fetchval("SELECT entry_hash FROM status.audit_log WHERE seq = $1", seq)
        return bytes(value) if value is not None else b""

    async def decide_appeal(self, appeal_id: str, state: int, reviewer_id: str,
                            reason: str, dismissed: Sequence[str], now: datetime) -> None:
        await self._connection.execute(
            """UPDATE status.appeals SET state = $2, reviewer_id = $3, decision_reason = $4, dismissed = $5,
                   decide_time = $6 WHERE appeal_id = $1""", appeal_id, state, reviewer_id, reason,
            list(dismissed), now)

    async def decide_override(self, override_id: str, state: int, approver_id: str,
                              now: datetime) -> None:
        await self._connection.execute(
            "UPDATE status.overrides SET state = $2, approver_id = $3, decide_time = $4 WHERE override_id = $1",
            override_id, state, approver_id, now)

    async def find_correction(self, actor: str, request_id: str) -> CorrectionRow | None:
        return await _find_correction(self._connection, actor, request_id)

    async def lock_appeal(self, appeal_id: str) -> AppealRow | None:
        return await _get_appeal(self._connection, appeal_id, "FOR UPDATE")

    async def lock_override(self, override_id: str) -> OverrideRow | None:
        return await _get_override(self._connection, override_id, "FOR UPDATE")

    async def rename(self, names: dict[str, str]) -> list[str]:
        """Sets the persons' masked names; the ids of those whose name it changed."""
        return [row[0] for row in await self._connection.fetch(
            """UPDATE status.persons p SET masked_name = n.masked_name
               FROM unnest($1::uuid[], $2::text[]) AS n(person_id, masked_name)
               WHERE p.person_id = n.person_id AND p.masked_name IS DISTINCT FROM n.masked_name
               RETURNING p.person_id::text""", list(names), list(names.values()))]


# Reads both the repository (the pool) and a transaction (its connection) make.

async def _sealed_facts(db: asyncpg.Pool | asyncpg.Connection, person_ids: Sequence[str]) -> list[SealedRow]:
    rows = await db.fetch(FACTS_SQL, person_ids)
    return [SealedRow(r["person_id"], r["fact_id"], Sealed(r["sealed_key_id"], bytes(r["sealed"]))) for r in rows]


async def _find_correction(db: asyncpg.Pool | asyncpg.Connection, actor: str, request_id: str
                           ) -> CorrectionRow | None:
    row = await db.fetchrow("SELECT * FROM status.corrections WHERE actor = $1 AND request_id = $2",
                            actor, request_id)
    return _correction(row) if row else None


async def _get_appeal(db: asyncpg.Pool | asyncpg.Connection, appeal_id: str, lock: str = "") -> AppealRow | None:
    row = await db.fetchrow(f"SELECT * FROM status.appeals WHERE appeal_id = $1 {lock}", appeal_id)
    return _appeal(row) if row else None


async def _get_override(db: asyncpg.Pool | asyncpg.Connection, override_id: str, lock: str = ""
                        ) -> OverrideRow | None:
    row = await db.fetchrow(f"SELECT * FROM status.overrides WHERE override_id = $1 {lock}", override_id)
    return _override(row) if row else None


class ChangeListener:
    """The one LISTEN connection of a process: `on_changes` gets each notification's payload
    ("person_id:version,...", see `StatusTransaction.notify_changed`), `on_lost` the connection's end."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    @classmethod
    async def open(cls, database_url: str, application_name: str, on_changes: Callable[[str], None],
                   on_lost: Callable[[], None]) -> ChangeListener:
        connection = await asyncpg.connect(database_url, server_settings={"application_name": application_name})
        await connection.add_listener(NOTIFY_CHANNEL, lambda _connection, _pid, _channel, payload: on_changes(payload))
        connection.add_termination_listener(lambda _connection: on_lost())
        return cls(connection)

    def is_closed(self) -> bool:
        return self._connection.is_closed()

    async def answers(self, timeout: float) -> bool:
        """Whether the connection answers within `timeout` seconds; one that does not is cut off."""
        try:
            await self._connection.fetchval("SELECT 1", timeout=timeout)
            return True
        except (asyncpg.PostgresError, OSError, asyncio.TimeoutError):
            self._connection.terminate()
            return False

    async def close(self) -> None:
        if not self._connection.is_closed():
            await self._connection.close()


def _status_columns(statuses: Sequence[Status]) -> list[list]:
    """WRITE_STATUSES_SQL's thirteen arrays."""
    return [[s.person_id for s in statuses], [s.version for s in statuses],
            [int(s.decision.colour) for s in statuses], [s.decision.display for s in statuses],
            [json.dumps(reasons_to_json(s.decision.reasons)) for s in statuses],
            [s.decision.rule_province for s in statuses], [s.decision.rule_version for s in statuses],
            [s.compute_time for s in statuses], [s.decision.valid_until for s in statuses],
            [s.decision.next_change_time for s in statuses], [s.audit_seq for s in statuses],
            [s.binding for s in statuses], [s.decision.negative_test_time for s in statuses]]


def _notifications(changes: Sequence[tuple[str, int]]) -> list[str]:
    """The payloads that announce changes: "person_id:version,..." in chunks Postgres accepts."""
    items = [f"{person_id}:{version}" for person_id, version in changes]
    return [",".join(items[start:start + _NOTIFY_IDS]) for start in range(0, len(items), _NOTIFY_IDS)]


def _heads(rows: Sequence[asyncpg.Record]) -> Heads:
    return {row["shard"]: (row["seq"], bytes(row["entry_hash"])) for row in rows}


async def _settled_audit_seq(connection: asyncpg.Connection) -> int:
    """The highest seq up to which every entry is committed or will never be: seqs are drawn with a
    shard's head locked and the lock is held until commit, so once every head has been free for a
    moment after the sequence was read, no append holding a seq at or below that value is open.
    (Reading up to the newest seq instead could pass a seq whose append in another shard commits later.)"""
    async with connection.transaction():
        drawn = await connection.fetchval(
            "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM status.audit_seq")
        await connection.execute("SELECT 1 FROM status.audit_head ORDER BY shard FOR SHARE")
    return drawn


def _audit_entry(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"], person_id=str(row["person_id"]), version=row["version"], change_time=row["change_time"],
        previous_colour=row["previous_colour"], colour=row["colour"], display_colour=row["display_colour"],
        reasons=json.loads(row["reasons"]), cause=row["cause"], rule_province=row["rule_province"],
        rule_version=row["rule_version"], officer_ids=tuple(row["officer_ids"]), legal_basis=row["legal_basis"],
        trace_id=row["trace_id"], detail_digest=bytes(row["detail_digest"]), reduced=row["reduce_time"] is not None,
        correction_id=str(row["correction_id"]) if row["correction_id"] else "", shard=row["shard"])


def _audit_entry_json(entry: dict) -> AuditEntry:
    return AuditEntry(
        seq=entry["seq"], person_id=entry["person_id"], version=entry["version"],
        change_time=datetime.fromisoformat(entry["change_time"]), previous_colour=entry["previous_colour"],
        colour=entry["colour"], display_colour=entry["display_colour"], reasons=entry["reasons"],
        cause=entry["cause"], rule_province=entry["rule_province"], rule_version=entry["rule_version"],
        officer_ids=tuple(entry["officer_ids"]), legal_basis=entry["legal_basis"], trace_id=entry.get("trace_id", ""),
        detail_digest=bytes.fromhex(entry.get("detail_digest", "\\x")[2:]),
        reduced=entry.get("reduce_time") is not None, correction_id=entry.get("correction_id") or "",
        shard=entry.get("shard", 0))


def _correction(row: asyncpg.Record) -> CorrectionRow:
    return CorrectionRow(
        correction_id=str(row["correction_id"]), person_id=str(row["person_id"]), kind=row["kind"],
        actor=row["actor"], record_id=row["record_id"], changed_fields=tuple(row["changed_fields"]),
        reason=row["reason"], legal_basis=row["legal_basis"], request_id=row["request_id"],
        create_time=row["create_time"],
        superseded=Sealed(row["superseded_key_id"], bytes(row["superseded"])) if row["superseded"] else None)


def _appeal(row: asyncpg.Record) -> AppealRow:
    return AppealRow(
        appeal_id=str(row["appeal_id"]), person_id=str(row["person_id"]), filer_person_id=str(row["filer_person_id"]),
        category=row["category"], province_code=row["province_code"], state=row["state"],
        file_time=row["file_time"], deadline_time=row["deadline_time"], request_id=row["request_id"],
        sealed=Sealed(row["sealed_key_id"], bytes(row["sealed"])), reviewer_id=row["reviewer_id"],
        decision_reason=row["decision_reason"], decide_time=row["decide_time"], dismissed=tuple(row["dismissed"]))


def _override(row: asyncpg.Record) -> OverrideRow:
    return OverrideRow(
        override_id=str(row["override_id"]), person_id=str(row["person_id"]), province_code=row["province_code"],
        colour=row["colour"], reason_code=row["reason_code"], legal_basis=row["legal_basis"],
        start_time=row["start_time"], end_time=row["end_time"], proposer_id=row["proposer_id"],
        propose_time=row["propose_time"], request_id=row["request_id"], state=row["state"],
        approver_id=row["approver_id"], decide_time=row["decide_time"])


def _run(row: asyncpg.Record) -> RecomputeRun:
    return RecomputeRun(
        declaration_id=str(row["declaration_id"]), state=row["state"],
        last_person_id=str(row["last_person_id"]) if row["last_person_id"] else None,
        persons_done=row["persons_done"], persons_changed=row["persons_changed"], start_time=row["start_time"],
        finish_time=row["finish_time"], error=row["error"])

"""Verification's SQL for recognition (trust list, agreements, red/yellow lists) and decisions.
Venues and visits have theirs in venues/repository.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.colours import Colour
from services.verification.recognition.exchange import RiskRecord

# A device asking for changes after version N is sent rows from N - this on: a row whose
# sequence number was drawn earlier but committed later is then not missed (devices upsert).
DELTA_OVERLAP = 1000

# One red/yellow record as devices hold it (recognition/partitions.py): reference, colour byte, expiry in whole
# seconds rounded up, four bytes big-endian.
_COMPACT_RECORD = ("person_ref || set_byte('\\x00'::bytea, 0, colour) "
                   "|| substring(int8send(ceil(extract(epoch FROM expire_time))::bigint) FROM 5)")


@dataclass(frozen=True)
class KeyRow:
    key_id: bytes
    province_code: str
    purpose: int
    public_key: bytes
    not_before: datetime
    not_after: datetime
    revoke_time: datetime | None


@dataclass(frozen=True)
class AgreementRow:
    issuer_province: str
    accepted_since: datetime
    colour_mapping: dict[str, int]
    end_time: datetime | None


@dataclass(frozen=True)
class DecisionRow:
    verification_id: str
    verify_time: datetime
    checkpoint_id: str
    area_code: str
    decision: int
    reason: str
    issuer_province: str | None
    colour: int | None
    code_id: bytes | None


@dataclass(frozen=True)
class SignedBatch:
    """A batch as sent: its canonical bytes, the exchange key's id and the signature over them."""

    payload: bytes
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class ClaimedDelivery:
    batch_id: str
    peer_address: str
    attempts: int
    batch: SignedBatch


@dataclass(frozen=True)
class Retry:
    batch_id: str
    peer_address: str
    next_attempt: datetime
    error: str


async def _store_batch(connection: asyncpg.Connection, batch_id: str, province_code: str,
                       records: Sequence[RiskRecord], now: datetime) -> int | None:
    fresh = await connection.fetchval(
        """INSERT INTO verification.risk_batches (batch_id, province_code, receive_time, record_count)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
        batch_id, province_code, now, len(records))
    if not fresh:
        return None
    by_hand = [r for r in records if not r.list_sequence]
    # A person both by hand and exported in one batch (no exporter sends that) keeps the hand record only.
    exported = [r for r in records if r.list_sequence and r.person_ref not in {h.person_ref for h in by_hand}]
    stored = 0
    listed = [r for r in by_hand if r.colour != Colour.GREEN]
    if listed:
        result = await connection.execute(
            """INSERT INTO verification.risk_records (person_ref, province_code, batch_id, colour, reason, source,
                   expire_time)
               SELECT ref, $1, $2, colour, reason, source, expire_time
               FROM unnest($3::bytea[], $4::smallint[], $5::text[], $6::text[], $7::timestamptz[])
                   AS r(ref, colour, reason, source, expire_time)
               ON CONFLICT DO NOTHING""",
            province_code, batch_id, [r.person_ref for r in listed], [int(r.colour) for r in listed],
            [r.reason for r in listed], [r.source for r in listed], [r.expire_time for r in listed])
        stored += int(result.split()[-1])
    delisted = sorted({r.person_ref for r in by_hand if r.colour == Colour.GREEN})
    if delisted:
        # A GREEN record published by hand delists: the province's earlier hand records about the
        # person stop counting now (an exported delisting is a tombstone with its sequence, below).
        await connection.execute(
            """UPDATE verification.risk_records SET expire_time = $4, change_seq = nextval('verification.change_seq')
               WHERE province_code = $1 AND person_ref = ANY($2::bytea[]) AND batch_id <> $3 AND expire_time > $4
                 AND list_sequence = 0""",
            province_code, delisted, batch_id, now)
        stored += len(delisted)
    if exported:
        # Per (person, origin) the highest sequence wins, whichever batch brings it first: the row lock
        # of the conflict orders concurrent batches; a person twice in one batch counts once (its latest).
        result = await connection.execute(
            """INSERT INTO verification.risk_records AS t (person_ref, province_code, batch_id, colour, reason,
                   source, expire_time, list_sequence)
               SELECT DISTINCT ON (ref) ref, $1, $2, colour, reason, source, expire_time, seq
               FROM unnest($3::bytea[], $4::smallint[], $5::text[], $6::text[], $7::timestamptz[], $8::bigint[])
                   AS r(ref, colour, reason, source, expire_time, seq)
               ORDER BY ref, seq DESC
               ON CONFLICT (person_ref, province_code) WHERE list_sequence > 0 DO UPDATE
                   SET batch_id = EXCLUDED.batch_id, colour = EXCLUDED.colour, reason = EXCLUDED.reason,
                       source = EXCLUDED.source, expire_time = EXCLUDED.expire_time,
                       list_sequence = EXCLUDED.list_sequence, change_seq = nextval('verification.change_seq')
                   WHERE t.list_sequence < EXCLUDED.list_sequence""",
            province_code, batch_id, [r.person_ref for r in exported], [int(r.colour) for r in exported],
            [r.reason for r in exported], [r.source for r in exported], [r.expire_time for r in exported],
            [r.list_sequence for r in exported])
        stored += int(result.split()[-1])
    return stored


def _key(row: asyncpg.Record) -> KeyRow:
    return KeyRow(bytes(row["key_id"]), row["province_code"], row["purpose"], bytes(row["public_key"]),
                  row["not_before"], row["not_after"], row["revoke_time"])


def _agreement(row: asyncpg.Record) -> AgreementRow:
    return AgreementRow(row["issuer_province"], row["accepted_since"], json.loads(row["colour_mapping"]),
                        row["end_time"])


class VerificationRepository:
    def __init__(self, pool: asyncpg.Pool, read_pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        # Reads that may lag the primary by a moment (the trust list peers pull) go to a replica if any.
        self.read_pool = read_pool or pool

    # Trust list

    async def upsert_keys(self, keys: Sequence[KeyRow], connection: asyncpg.Connection | None = None) -> int:
        """Stores keys; a known key changes (and gets a new change_seq) only when something differs,
        and a revocation once known is never undone (a stale or hostile list cannot revive a key)."""
        if not keys:
            return 0
        result = await (connection or self.pool).execute(
            """INSERT INTO verification.trusted_keys AS t (key_id, province_code, purpose, public_key, not_before,
                   not_after, revoke_time)
               SELECT * FROM unnest($1::bytea[], $2::text[], $3::smallint[], $4::bytea[], $5::timestamptz[],
                                    $6::timestamptz[], $7::timestamptz[])
               ON CONFLICT (key_id) DO UPDATE SET not_before = EXCLUDED.not_before, not_after = EXCLUDED.not_after,
                   revoke_time = coalesce(t.revoke_time, EXCLUDED.revoke_time),
                   change_seq = nextval('verification.change_seq')
               WHERE (t.not_before, t.not_after, t.revoke_time) IS DISTINCT FROM
                     (EXCLUDED.not_before, EXCLUDED.not_after, coalesce(t.revoke_time, EXCLUDED.revoke_time))
                 AND t.province_code = EXCLUDED.province_code AND t.public_key = EXCLUDED.public_key""",
            [k.key_id for k in keys], [k.province_code for k in keys], [k.purpose for k in keys],
            [k.public_key for k in keys], [k.not_before for k in keys], [k.not_after for k in keys],
            [k.revoke_time for k in keys])
        return int(result.split()[-1])

    async def trust_list_version(self, province_codes: Sequence[str], *, replica: bool = False) -> int:
        """The version of our trust list: the newest change among our provinces' keys (a sequence: only grows)."""
        return await (self.read_pool if replica else self.pool).fetchval(
            "SELECT coalesce(max(change_seq), 0) FROM verification.trusted_keys WHERE province_code = ANY($1)",
            list(province_codes))

    async def accept_peer_keys(self, peer_address: str, version: int, keys: Sequence[KeyRow], now: datetime) -> bool:
        """A peer's trust list, applied only if its version is above the last good one (False: refused).
        The version row is locked for the transaction, so two replicas syncing at once apply in order."""
        async with self.pool.acquire() as connection, connection.transaction():
            newer = await connection.fetchval(
                """INSERT INTO verification.peer_trust_lists AS t (peer_address, version, receive_time)
                   VALUES ($1, $2, $3)
                   ON CONFLICT (peer_address) DO UPDATE SET version = EXCLUDED.version,
                       receive_time = EXCLUDED.receive_time
                   WHERE t.version < EXCLUDED.version
                   RETURNING true""", peer_address, version, now)
            if not newer:
                return False
            await self.upsert_keys(keys, connection)
        return True

    async def peer_trust_version(self, peer_address: str) -> int | None:
        return await self.pool.fetchval("SELECT version FROM verification.peer_trust_lists WHERE peer_address = $1",
                                        peer_address)

    async def keys(self, after_seq: int = 0, *, replica: bool = False) -> list[KeyRow]:
        rows = await (self.read_pool if replica else self.pool).fetch(
            "SELECT * FROM verification.trusted_keys WHERE change_seq > $1 ORDER BY key_id", after_seq)
        return [_key(row) for row in rows]

    # Agreements

    async def set_agreement(self, agreement: AgreementRow, now: datetime) -> AgreementRow:
        row = await self.pool.fetchrow(
            """INSERT INTO verification.agreements (issuer_province, accepted_since, colour_mapping, end_time,
                   update_time) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (issuer_province) DO UPDATE SET accepted_since = $2, colour_mapping = $3, end_time = $4,
                   update_time = $5, change_seq = nextval('verification.change_seq')
               RETURNING *""",
            agreement.issuer_province, agreement.accepted_since, json.dumps(agreement.colour_mapping),
            agreement.end_time, now)
        return _agreement(row)

    async def agreements(self, after_seq: int = 0) -> list[AgreementRow]:
        rows = await self.pool.fetch(
            "SELECT * FROM verification.agreements WHERE change_seq > $1 ORDER BY issuer_province", after_seq)
        return [_agreement(row) for row in rows]

    # Red/yellow lists

    async def store_risk_batch(self, batch_id: str, province_code: str, records: Sequence[RiskRecord],
                               now: datetime) -> int | None:
        """Stores a received batch and its records in one transaction; None if this province's batch
        id was seen (idempotent per origin province and batch id)."""
        async with self.pool.acquire() as connection, connection.transaction():
            return await _store_batch(connection, batch_id, province_code, records, now)

    async def status_pages_done(self, province_code: str, batch_id: str) -> tuple[int, datetime] | None:
        """How many pages of a received batch our status took, and when the batch was first received;
        None once status has them all (or for no such batch)."""
        row = await self.pool.fetchrow(
            """SELECT status_pages_done, status_record_time, receive_time FROM verification.risk_batches
               WHERE province_code = $1 AND batch_id = $2""", province_code, batch_id)
        if row is None or row["status_record_time"] is not None:
            return None
        return row["status_pages_done"], row["receive_time"]

    async def mark_status_pages(self, province_code: str, batch_id: str, pages: int, now: datetime | None) -> None:
        """Status took `pages` pages of the batch (all of them, when `now` is given)."""
        await self.pool.execute(
            """UPDATE verification.risk_batches SET status_pages_done = greatest(status_pages_done, $3),
                   status_record_time = coalesce(status_record_time, $4)
               WHERE province_code = $1 AND batch_id = $2""", province_code, batch_id, pages, now)

    async def publish_batch(self, batch_id: str, province_code: str, records: Sequence[RiskRecord], now: datetime,
                            signed: SignedBatch, peer_addresses: Sequence[str], lease_until: datetime
                            ) -> tuple[int, list[ClaimedDelivery]] | None:
        """Our batch: its records, the signed batch and one outbox delivery per peer, in one transaction
        (None, and nothing written, if the batch id was published before). The deliveries are born
        claimed by the publisher until `lease_until` (its first try; the job takes over after)."""
        async with self.pool.acquire() as connection, connection.transaction():
            stored = await _store_batch(connection, batch_id, province_code, records, now)
            if stored is None:
                return None
            await connection.execute(
                """INSERT INTO verification.outbox_batches (batch_id, province_code, payload, key_id, signature,
                       create_time) VALUES ($1, $2, $3, $4, $5, $6)""",
                batch_id, province_code, signed.payload, signed.key_id, signed.signature, now)
            await connection.execute(
                """INSERT INTO verification.outbox_deliveries (batch_id, peer_address, create_time, attempts,
                       next_attempt_time)
                   SELECT $1, peer, $2, 1, $4 FROM unnest($3::text[]) AS p(peer)""",
                batch_id, now, list(peer_addresses), lease_until)
        return stored, [ClaimedDelivery(batch_id, address, 1, signed) for address in peer_addresses]

    async def export_cursor(self) -> int:
        return await self.pool.fetchval("SELECT after_sequence FROM verification.export_cursor")

    async def store_export(self, after_sequence: int, last_sequence: int,
                           batches: Sequence[tuple[str, str, SignedBatch]], peer_addresses: Sequence[str],
                           now: datetime) -> bool:
        """One exported page: its signed batches (batch id, province, batch) in the outbox with one delivery
        per peer, and the cursor moved past the page, in one transaction. False, and nothing written, when
        the cursor is no longer at `after_sequence` (another replica exported this page first)."""
        async with self.pool.acquire() as connection, connection.transaction():
            moved = await connection.fetchval(
                """UPDATE verification.export_cursor SET after_sequence = $2, update_time = $3
                   WHERE after_sequence = $1 RETURNING true""", after_sequence, last_sequence, now)
            if not moved:
                return False
            if batches:
                await connection.execute(
                    """INSERT INTO verification.outbox_batches (batch_id, province_code, payload, key_id, signature,
                           create_time)
                       SELECT b, p, payload, k, sig, $6
                       FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::bytea[])
                           AS x(b, p, payload, k, sig)""",
                    [b for b, _, _ in batches], [p for _, p, _ in batches], [s.payload for _, _, s in batches],
                    [s.key_id for _, _, s in batches], [s.signature for _, _, s in batches], now)
                await connection.execute(
                    """INSERT INTO verification.outbox_deliveries (batch_id, peer_address, create_time, attempts,
                           next_attempt_time)
                       SELECT b, peer, $3, 0, $3 FROM unnest($1::text[]) AS x(b), unnest($2::text[]) AS p(peer)""",
                    [b for b, _, _ in batches], list(peer_addresses), now)
        return True

    async def claim_deliveries(self, now: datetime, lease_until: datetime, limit: int,
                               batch_id: str | None = None) -> list[ClaimedDelivery]:
        """Due deliveries, claimed until `lease_until` (several replicas never claim the same row:
        FOR UPDATE SKIP LOCKED; a claim whose sender died is due again once its lease ends)."""
        rows = await self.pool.fetch(
            """WITH due AS (
                   SELECT batch_id, peer_address FROM verification.outbox_deliveries
                   WHERE deliver_time IS NULL AND next_attempt_time <= $1 AND ($4::text IS NULL OR batch_id = $4)
                   ORDER BY next_attempt_time LIMIT $3 FOR UPDATE SKIP LOCKED)
               UPDATE verification.outbox_deliveries d SET next_attempt_time = $2, attempts = d.attempts + 1
               FROM due, verification.outbox_batches b
               WHERE d.batch_id = due.batch_id AND d.peer_address = due.peer_address AND b.batch_id = d.batch_id
               RETURNING d.batch_id, d.peer_address, d.attempts, b.payload, b.key_id, b.signature""",
            now, lease_until, limit, batch_id)
        return [ClaimedDelivery(r["batch_id"], r["peer_address"], r["attempts"],
                                SignedBatch(bytes(r["payload"]), bytes(r["key_id"]), bytes(r["signature"])))
                for r in rows]

    async def settle_deliveries(self, delivered: Sequence[tuple[str, str]], retries: Sequence[Retry],
                                now: datetime) -> None:
        """Acknowledged deliveries are done; failed ones wait until their next attempt."""
        async with self.pool.acquire() as connection, connection.transaction():
            if delivered:
                await connection.execute(
                    """UPDATE verification.outbox_deliveries d SET deliver_time = $3, last_error = NULL
                       FROM unnest($1::text[], $2::text[]) AS x(batch_id, peer)
                       WHERE d.batch_id = x.batch_id AND d.peer_address = x.peer AND d.deliver_time IS NULL""",
                    [b for b, _ in delivered], [p for _, p in delivered], now)
            if retries:
                await connection.execute(
                    """UPDATE verification.outbox_deliveries d SET next_attempt_time = x.next_time, last_error = x.error
                       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
                           AS x(batch_id, peer, next_time, error)
                       WHERE d.batch_id = x.batch_id AND d.peer_address = x.peer AND d.deliver_time IS NULL""",
                    [r.batch_id for r in retries], [r.peer_address for r in retries],
                    [r.next_attempt for r in retries], [r.error for r in retries])

    async def purge_delivered_batches(self, before: datetime) -> int:
        """Outbox batches created before `before` that every peer acknowledged (with their deliveries)."""
        result = await self.pool.execute(
            """DELETE FROM verification.outbox_batches b WHERE b.create_time < $1
               AND NOT EXISTS (SELECT 1 FROM verification.outbox_deliveries d
                               WHERE d.batch_id = b.batch_id AND d.deliver_time IS NULL)""", before)
        return int(result.split()[-1])

    async def outbox_backlog(self) -> dict[str, tuple[int, datetime]]:
        """Per peer address: undelivered deliveries and the oldest one's creation time."""
        rows = await self.pool.fetch(
            """SELECT peer_address, count(*) AS depth, min(create_time) AS oldest FROM verification.outbox_deliveries
               WHERE deliver_time IS NULL GROUP BY peer_address""")
        return {r["peer_address"]: (r["depth"], r["oldest"]) for r in rows}

    async def listed_colour(self, person_ref: bytes, now: datetime) -> Colour | None:
        """The most severe unexpired record for the person, from any province."""
        colour = await self.pool.fetchval(
            """SELECT max(colour) FROM verification.risk_records
               WHERE person_ref = $1 AND expire_time > $2 AND colour > 1""",
            person_ref, now)
        return Colour(colour) if colour else None

    async def risk_records(self, after_seq: int, now: datetime) -> list[RiskRecord]:
        rows = await self.pool.fetch(
            """SELECT person_ref, colour, reason, source, expire_time FROM verification.risk_records
               WHERE change_seq > $1 AND expire_time > $2 AND colour > 1 ORDER BY change_seq""", after_seq, now)
        return [RiskRecord(bytes(r["person_ref"]), Colour(r["colour"]), r["reason"], r["source"], r["expire_time"])
                for r in rows]

    # The partitioned snapshot: its records built as 21-byte strings in SQL (recognition/partitions.py), no row
    # in Python. Only records that count after `as_of` and were drawn by `as_of_version`.

    async def partition_digests(self, as_of_version: int, as_of: datetime) -> dict[int, tuple[int, bytes]]:
        """Per non-empty partition: its record count and the SHA-256 of its records."""
        rows = await self.pool.fetch(
            f"""SELECT part, count(*) AS n, sha256(string_agg(rec, ''::bytea ORDER BY rec)) AS digest
                FROM (SELECT DISTINCT get_byte(person_ref, 0) AS part, {_COMPACT_RECORD} AS rec
                      FROM verification.risk_records WHERE change_seq <= $1 AND expire_time > $2) r
                GROUP BY part""", as_of_version, as_of)
        return {r["part"]: (r["n"], bytes(r["digest"])) for r in rows}

    async def partition_records(self, partition: int, as_of_version: int, as_of: datetime) -> bytes:
        lower = bytes((partition,))
        upper = bytes((partition + 1,)) if partition < 255 else None
        return bytes(await self.pool.fetchval(
            f"""SELECT coalesce(string_agg(rec, ''::bytea ORDER BY rec), ''::bytea)
                FROM (SELECT DISTINCT {_COMPACT_RECORD} AS rec FROM verification.risk_records
                      WHERE person_ref >= $1 AND ($2::bytea IS NULL OR person_ref < $2)
                        AND change_seq <= $3 AND expire_time > $4) r""", lower, upper, as_of_version, as_of))

    async def changed_records(self, since_seq: int, as_of_version: int, as_of: datetime, after: bytes,
                              limit: int) -> tuple[bytes, int]:
        """Records drawn in (since_seq, as_of_version] that sort after `after`, at most `limit`; and how many."""
        row = await self.pool.fetchrow(
            f"""SELECT coalesce(string_agg(rec, ''::bytea ORDER BY rec), ''::bytea) AS records, count(*) AS n
                FROM (SELECT rec FROM (SELECT DISTINCT {_COMPACT_RECORD} AS rec FROM verification.risk_records
                                       WHERE change_seq > $1 AND change_seq <= $2 AND expire_time > $3) d
                      WHERE rec > $4 ORDER BY rec LIMIT $5) r""", since_seq, as_of_version, as_of, after, limit)
        return bytes(row["records"]), row["n"]

    async def purge_expired_records(self, now: datetime) -> int:
        result = await self.pool.execute("DELETE FROM verification.risk_records WHERE expire_time <= $1", now)
        return int(result.split()[-1])

    async def change_version(self) -> int:
        """The latest change sequence number drawn (0 when nothing has changed yet)."""
        row = await self.pool.fetchrow("SELECT last_value, is_called FROM verification.change_seq")
        return row["last_value"] if row["is_called"] else 0

    # Decisions

    async def record_offline_decisions(self, decisions: Sequence[DecisionRow]) -> set[str]:
        """Stores decisions uploaded by a device; one already stored (same id) is left as it was.
        The ids stored now."""
        rows = await self.pool.fetch(
            """INSERT INTO verification.decisions (verification_id, verify_time, checkpoint_id, area_code, decision,
                   reason, issuer_province, colour, code_id, recorded_offline)
               SELECT id, at, checkpoint, area, decision, reason, issuer, colour, code_id, true
               FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::smallint[], $6::text[],
                           $7::text[], $8::smallint[], $9::bytea[])
                   AS d(id, at, checkpoint, area, decision, reason, issuer, colour, code_id)
               ON CONFLICT (verification_id) DO NOTHING RETURNING verification_id::text""",
            [d.verification_id for d in decisions], [d.verify_time for d in decisions],
            [d.checkpoint_id for d in decisions], [d.area_code for d in decisions], [d.decision for d in decisions],
            [d.reason for d in decisions], [d.issuer_province for d in decisions], [d.colour for d in decisions],
            [d.code_id for d in decisions])
        return {row["verification_id"] for row in rows}

    async def record_decisions(self, decisions: Sequence[DecisionRow]) -> None:
        """Stores online decisions in one COPY (the batched writer's flush, runtime/batches.py). A batch sent
        again after a commit whose answer was lost would clash on the id: then each is stored once."""
        if len(decisions) == 1:
            # One row alone is cheaper as an INSERT than as a COPY (which first asks for the table's types).
            decision = decisions[0]
            await self.pool.execute(
                """INSERT INTO verification.decisions (verification_id, verify_time, checkpoint_id, area_code,
                       decision, reason, issuer_province, colour, code_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   ON CONFLICT (verification_id) DO NOTHING""",
                decision.verification_id, decision.verify_time, decision.checkpoint_id, decision.area_code,
                decision.decision, decision.reason, decision.issuer_province, decision.colour, decision.code_id)
            return
        columns = ("verification_id", "verify_time", "checkpoint_id", "area_code", "decision", "reason",
                   "issuer_province", "colour", "code_id")
        records = [(uuid.UUID(d.verification_id), d.verify_time, d.checkpoint_id, d.area_code, d.decision,
                    d.reason, d.issuer_province, d.colour, d.code_id) for d in decisions]
        try:
            await self.pool.copy_records_to_table("decisions", schema_name="verification", columns=columns,
                                                  records=records)
        except asyncpg.UniqueViolationError:
            await self.pool.execute(
                """INSERT INTO verification.decisions (verification_id, verify_time, checkpoint_id, area_code,
                       decision, reason, issuer_province, colour, code_id)
                   SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::smallint[],
                                        $6::text[], $7::text[], $8::smallint[], $9::bytea[])
                   ON CONFLICT (verification_id) DO NOTHING""",
                *([record[i] for record in records] for i in range(len(columns))))

    async def record_decision(self, decision: DecisionRow) -> None:
        await self.pool.execute(
            """INSERT INTO verification.decisions (verification_id, verify_time, checkpoint_id, area_code, decision,
                   reason, issuer_province, colour, code_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            decision.verification_id, decision.verify_time, decision.checkpoint_id, decision.area_code,
            decision.decision, decision.reason, decision.issuer_province, decision.colour, decision.code_id)

    async def purge_decisions(self, before: datetime) -> int:
        result = await self.pool.execute("DELETE FROM verification.decisions WHERE verify_time < $1", before)
        return int(result.split()[-1])

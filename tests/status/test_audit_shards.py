"""One audit chain per shard of persons: decisions in one shard never wait for another shard's head,
the colour-change feed never skips a seq whose append is still open in another shard, every chain
verifies under concurrent writers, and the one chain written before shards goes on as shard 0's."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from healthcode.status.v1 import status_pb2 as pb

from services.runtime.database import migrate
from services.status.audit import AUDIT_SHARDS, AuditChain, AuditEntry, shard_of, verify_chain
from services.status.repository import StatusTransaction
from tests.support.platform import new_database
from tests.support.status import (NATIONAL_ONLY, diagnosis, feed_head, person_in, problems, record, reference_of,
                                  status_of, tampering)

MIGRATIONS = Path(__file__).parents[2] / "services" / "status" / "migrations"


def with_digest(chain: AuditChain, entry: AuditEntry) -> AuditEntry:
    return dataclasses.replace(entry, detail_digest=chain.detail_digest(entry.reasons))


async def persons_in_distinct_shards(identity_env, count: int) -> list[str]:
    """Registered persons of NATIONAL_ONLY, each in a shard of its own."""
    found: dict[int, str] = {}
    while len(found) < count:
        person = await person_in(identity_env, NATIONAL_ONLY)
        found.setdefault(shard_of(person), person)
    return list(found.values())


async def waiting_on(db, statement_start: str) -> None:
    """Returns once a backend waits for a lock while running a statement that starts so."""
    for _ in range(600):
        if await db.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE wait_event_type = 'Lock' AND ltrim(query) LIKE $1 || '%'""", statement_start):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing waited on a lock in {statement_start!r}")


def test_a_persons_shard_is_fixed_by_their_id_and_spreads_over_every_shard():
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    assert all(shard_of(person) == shard_of(person.upper()) for person in ids[:10])
    assert {shard_of(person) for person in ids} == set(range(AUDIT_SHARDS))


async def test_a_decision_goes_on_while_another_shards_head_is_held(status_env, identity_env, clock, db):
    held, free = await persons_in_distinct_shards(identity_env, 2)
    for person in (held, free):
        await status_of(status_env, person)
    async with db.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            await connection.execute("SELECT 1 FROM status.audit_head WHERE shard = $1 FOR UPDATE", shard_of(held))
            # The other shard's decision commits with this one held...
            await asyncio.wait_for(record(status_env, diagnosis(free, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now())),
                                   60)
            # ...while a decision in the held shard waits for its head.
            waiting = asyncio.create_task(record(status_env, diagnosis(held, pb.DIAGNOSIS_SECONDARY_CONTACT,
                                                                       clock.now())))
            await waiting_on(db, "SELECT shard, seq, entry_hash FROM status.audit_head")
            assert not waiting.done()
        finally:
            await transaction.rollback()
    await asyncio.wait_for(waiting, 60)
    assert [(await status_of(status_env, person)).version for person in (held, free)] == [2, 2]


async def test_the_feed_waits_for_an_append_open_in_another_shard_and_skips_none(status_env, identity_env,
                                                                                 clock, db):
    slow, fast = await persons_in_distinct_shards(identity_env, 2)
    for person in (slow, fast):
        await status_of(status_env, person)
    after = await feed_head(status_env, [NATIONAL_ONLY])

    async with db.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            # The slow decision stops at writing its status: its entry has a seq, its shard's head is moved,
            # nothing is committed.
            await connection.execute("SELECT 1 FROM status.statuses WHERE person_id = $1 FOR UPDATE",
                                     uuid.UUID(slow))
            slowly = asyncio.create_task(record(status_env, diagnosis(slow, pb.DIAGNOSIS_SECONDARY_CONTACT,
                                                                      clock.now())))
            await waiting_on(db, "WITH written AS (INSERT INTO status.statuses")
            # A later seq commits in another shard.
            await record(status_env, diagnosis(fast, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now()))
            feed = asyncio.ensure_future(status_env.stub.ListColourChanges(pb.ListColourChangesRequest(
                after_sequence=after, page_size=10_000, province_codes=[NATIONAL_ONLY])))
            await waiting_on(db, "SELECT 1 FROM status.audit_head ORDER BY shard FOR SHARE")
            assert not feed.done()  # it does not answer past the open seq
        finally:
            await transaction.rollback()
        await asyncio.wait_for(slowly, 60)
    page = await asyncio.wait_for(feed, 60)
    refs = {await reference_of(identity_env, slow): "slow", await reference_of(identity_env, fast): "fast"}
    ours = [refs[bytes(change.person_ref)] for change in page.changes if bytes(change.person_ref) in refs]
    assert ours == ["slow", "fast"]  # the open one first, in seq order, neither skipped
    assert [change.sequence for change in page.changes] == sorted(change.sequence for change in page.changes)


async def test_every_chain_verifies_after_concurrent_decisions_in_many_shards(status_env, identity_env, clock,
                                                                              database_url, db):
    persons = await persons_in_distinct_shards(identity_env, 8)
    kinds = (pb.DIAGNOSIS_SECONDARY_CONTACT, pb.DIAGNOSIS_CLOSE_CONTACT, pb.DIAGNOSIS_CONFIRMED)
    await asyncio.gather(*(record(status_env, diagnosis(person, kind, clock.now()))
                           for kind in kinds for person in persons))
    rows = await db.fetch("SELECT person_id::text, shard, seq, version FROM status.audit_log "
                          "WHERE person_id = ANY($1::uuid[]) ORDER BY seq", persons)
    for person in persons:
        mine = [row for row in rows if row["person_id"] == person]
        assert {row["shard"] for row in mine} == {shard_of(person)}
        assert [row["version"] for row in mine] == list(range(1, len(mine) + 1))  # seq order is version order
    async with tampering(database_url) as connection:
        assert await problems(status_env, connection) == []


async def test_the_chain_written_before_shards_verifies_and_goes_on_as_shard_0s(postgres_server_url, tmp_path):
    """Migrated with entries of the single chain (seqs 1..3, one head): they verify as shard 0's chain,
    the next seqs follow them, and an entry appended to shard 0 links onto the old head."""
    database = await new_database(postgres_server_url, migrated=False)
    try:
        before = tmp_path / "before"
        before.mkdir()
        for migration in sorted(MIGRATIONS.glob("*.sql")):
            if migration.name < "0012":
                (before / migration.name).write_text(migration.read_text())
        await migrate(database.url, "status", before)
        chain = AuditChain(b"k" * 32)
        person = str(uuid.uuid4())
        connection = await asyncpg.connect(database.url)
        try:
            previous, legacy = b"", []
            for seq in (1, 2, 3):
                entry = with_digest(chain, AuditEntry(
                    seq=seq, person_id=person, version=seq, change_time=datetime(2026, 1, seq, tzinfo=UTC),
                    previous_colour=seq - 1, colour=seq, display_colour="x", reasons=[], cause=1,
                    rule_province="000000", rule_version=1))
                entry_hash = chain.link(previous, entry)
                legacy.append((entry, previous, entry_hash))
                previous = entry_hash
            await connection.copy_records_to_table(
                "audit_log", schema_name="status",
                columns=["seq", "person_id", "version", "change_time", "previous_colour", "colour", "display_colour",
                         "reasons", "cause", "rule_province", "rule_version", "officer_ids", "legal_basis",
                         "detail_digest", "previous_hash", "entry_hash"],
                records=[(e.seq, uuid.UUID(e.person_id), e.version, e.change_time, e.previous_colour, e.colour,
                          e.display_colour, "[]", e.cause, e.rule_province, e.rule_version, [], "", e.detail_digest,
                          p, h) for e, p, h in legacy])
            await connection.execute("UPDATE status.audit_head SET seq = 3, entry_hash = $1", previous)

            assert await migrate(database.url, "status", MIGRATIONS) == [12]
            tx = StatusTransaction(connection)
            heads = await tx.audit_heads()
            assert heads == {0: (3, previous), **{shard: (0, b"") for shard in range(1, AUDIT_SHARDS)}}

            def read(shard: int, seq: int):
                return tx.audit_chain(shard, seq, 1000)
            assert await verify_chain(chain, read, heads, [(3, previous)]) == []

            async with connection.transaction():
                locked = await tx.lock_audit_heads([0])
                [seq] = await tx.next_audit_seqs(1)
                entry = with_digest(chain, AuditEntry(
                    seq=seq, person_id=person, version=4, change_time=datetime(2026, 1, 4, tzinfo=UTC),
                    previous_colour=3, colour=1, display_colour="x", reasons=[], cause=1, rule_province="000000",
                    rule_version=1, shard=0))
                await tx.record_decided([], [(entry, locked[0][1], chain.link(locked[0][1], entry))])
            assert seq == 4
            heads = await tx.audit_heads()
            assert await verify_chain(chain, read, heads, [(3, previous)]) == []
            assert heads[0][0] == 4
        finally:
            await connection.close()
    finally:
        await database.drop()

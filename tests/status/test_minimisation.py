"""Minimisation of the record: past the retention, an audit entry's details are reduced to keyed
digests; the decision (colour, cause, rule set, officers, legal basis) stays and the chain verifies."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import asyncpg
import pytest
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.status import commands
from services.status.audit import AuditChain
from services.status.servicer import REDUCED_REASON
from tests.support.status import NATIONAL_ONLY, diagnosis, later, person_in, record, status_of
from tests.support.status import problems, tampering


async def entries_of(db, person: str) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM status.audit_log WHERE person_id = $1 ORDER BY seq", person)


async def test_details_past_retention_are_reduced_to_keyed_digests_and_the_chain_still_verifies(
        status_env, identity_env, clock, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now()))
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now()))
    before = await entries_of(db, person)
    chain = AuditChain(status_env.settings.audit_key)
    purging = status_env.parts.retention
    retention = status_env.settings.audit_detail_retention
    assert retention == timedelta(days=180)

    with later(clock, retention - timedelta(days=1)):
        await purging.reduce_audit_details()
    assert all(row["reduce_time"] is None for row in await entries_of(db, person))  # not yet past the retention
    with later(clock, retention + timedelta(days=1)):
        # Two purges at once (two replicas): each entry is reduced once, from its original reasons.
        reduced = await asyncio.gather(purging.reduce_audit_details(), purging.reduce_audit_details())
        assert sum(reduced) >= 2
        assert await purging.reduce_audit_details() == 0
    after = await entries_of(db, person)

    # The superseded entries' details are keyed digests of what they were; the newest keeps its
    # reasons (they are still in force); the decision itself is untouched.
    assert [row["reduce_time"] is not None for row in after] == [True, True, False]
    for old, new in zip(before[:2], after[:2], strict=True):
        assert json.loads(new["reasons"]) == chain.reduced(json.loads(old["reasons"]))
    assert "SECONDARY_CONTACT" not in after[1]["reasons"] and "fact:" not in after[1]["reasons"]
    assert after[2]["reasons"] == before[2]["reasons"]
    kept = ("seq", "version", "change_time", "previous_colour", "colour", "display_colour", "cause", "rule_province",
            "rule_version", "officer_ids", "legal_basis", "trace_id", "detail_digest", "previous_hash", "entry_hash")
    assert [[row[name] for name in kept] for row in after] == [[row[name] for name in kept] for row in before]

    changes = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes
    assert [r.code for r in changes[0].reasons] == ["CONFIRMED", "SECONDARY_CONTACT"]
    assert [(r.code, r.finding_key) for r in changes[1].reasons] == [(REDUCED_REASON, "")]
    assert changes[1].reasons[0].detail == "hmac-sha256:" + json.loads(after[1]["reasons"])[0]["digest"]
    assert (changes[1].colour, changes[1].cause) == (common_pb2.COLOUR_YELLOW, pb.CHANGE_CAUSE_FACT)

    # `healthcode verify-audit` walks the whole chain, reduced entries included.
    assert await commands.verify_audit(status_env.settings) == []


async def test_the_log_allows_no_update_but_one_reduction(status_env, identity_env, clock, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now()))
    with later(clock, status_env.settings.audit_detail_retention + timedelta(days=1)):
        await status_env.parts.retention.reduce_audit_details()
    first = (await entries_of(db, person))[0]["seq"]
    for statement in (
            "UPDATE status.audit_log SET reasons = '[]', reduce_time = now() WHERE seq = $1",   # a second reduction
            "UPDATE status.audit_log SET colour = 3, reduce_time = now() WHERE seq = $1",      # more than details
            "UPDATE status.audit_log SET legal_basis = 'x' WHERE seq = $1"):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await db.execute(statement, first)
    newest = (await entries_of(db, person))[-1]["seq"]
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("UPDATE status.audit_log SET colour = 3 WHERE seq = $1", newest)


async def test_reasons_edited_under_their_digest_are_detected(status_env, identity_env, clock, database_url):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now()))
    async with tampering(database_url) as connection:
        seq = await connection.fetchval("SELECT max(seq) FROM status.audit_log WHERE person_id = $1", person)
        await connection.execute("UPDATE status.audit_log SET reasons = '[]' WHERE seq = $1", seq)
        assert await problems(status_env, connection) == [f"seq {seq}: reasons do not match their digest (edited)"]

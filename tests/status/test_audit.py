"""Every colour change is in an append-only, hash-chained log that a verify command checks."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb
from prometheus_client import REGISTRY

from services.status.audit import AuditChain, shard_of
from services.status.chain_check import ChainCheck, ChainReport
from services.status.repository import StatusTransaction
from tests.support.status import NATIONAL_ONLY, diagnosis, person_in, record, status_of
from tests.support.status import problems, tampering


async def some_changes(status_env, identity_env, clock) -> str:
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now()))
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now()))
    return person


async def test_a_person_reads_why_and_when_their_colour_changed(status_env, identity_env, clock):
    person = await some_changes(status_env, identity_env, clock)
    changes = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes
    assert [(c.version, c.previous_colour, c.colour, c.cause) for c in changes] == [
        (3, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED, pb.CHANGE_CAUSE_FACT),
        (2, common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, pb.CHANGE_CAUSE_FACT),
        (1, common_pb2.COLOUR_UNSPECIFIED, common_pb2.COLOUR_GREEN, pb.CHANGE_CAUSE_ENROLMENT)]
    assert [r.code for r in changes[0].reasons] == ["CONFIRMED", "SECONDARY_CONTACT"]
    assert (changes[0].rule_set_province_code, changes[0].rule_set_version) == ("000000", 1)
    page = await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person, page_size=2))
    rest = await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(
        person_id=person, page_size=2, page_token=page.next_page_token))
    assert [c.version for c in page.changes] + [c.version for c in rest.changes] == [3, 2, 1]


async def test_the_log_refuses_updates_and_deletes(status_env, identity_env, clock, db):
    await some_changes(status_env, identity_env, clock)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("UPDATE status.audit_log SET colour = 1")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("DELETE FROM status.audit_log")


async def test_an_intact_chain_verifies(status_env, identity_env, clock, database_url):
    await some_changes(status_env, identity_env, clock)
    async with tampering(database_url) as connection:
        assert await problems(status_env, connection) == []


async def test_an_edited_row_is_detected(status_env, identity_env, clock, database_url):
    person = await some_changes(status_env, identity_env, clock)
    async with tampering(database_url) as connection:
        await connection.execute(
            "UPDATE status.audit_log SET colour = 1, display_colour = 'green' WHERE person_id = $1 AND version = 3",
            person)
        found = await problems(status_env, connection)
    assert len(found) == 1 and "edited" in found[0]


async def test_a_deleted_row_is_detected(status_env, identity_env, clock, database_url):
    person = await some_changes(status_env, identity_env, clock)
    async with tampering(database_url) as connection:
        await connection.execute("DELETE FROM status.audit_log WHERE person_id = $1 AND version = 2", person)
        found = await problems(status_env, connection)
    assert any("missing" in problem for problem in found)


async def test_a_re_chained_forgery_fails_without_the_key(status_env, identity_env, clock, database_url):
    """An attacker who rewrites a row and recomputes its hash with a key of their own still fails."""
    person = await some_changes(status_env, identity_env, clock)
    async with tampering(database_url) as connection:
        row = await connection.fetchrow(
            "SELECT seq, previous_hash FROM status.audit_log WHERE person_id = $1 AND version = 3", person)
        entries = await StatusTransaction(connection).audit_chain(shard_of(person), row["seq"] - 1, 1)
        forged_entry = entries[0][0].__class__(**{**entries[0][0].__dict__, "colour": 1})
        forged = AuditChain(os.urandom(32)).link(bytes(row["previous_hash"]), forged_entry)
        await connection.execute("UPDATE status.audit_log SET colour = 1, entry_hash = $2 WHERE seq = $1",
                                 row["seq"], forged)
        assert await problems(status_env, connection)


async def test_a_cut_tail_is_detected_against_a_head_recorded_elsewhere(status_env, identity_env, clock,
                                                                         database_url):
    person = await some_changes(status_env, identity_env, clock)
    shard = shard_of(person)
    recorded_heads = await status_env.parts.repository.audit_heads()
    async with tampering(database_url) as connection:
        last = recorded_heads[shard][0]
        previous = await connection.fetchrow(
            "SELECT seq, entry_hash FROM status.audit_log WHERE shard = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1",
            shard, last)
        await connection.execute("DELETE FROM status.audit_log WHERE seq = $1", last)
        await connection.execute("UPDATE status.audit_head SET seq = $1, entry_hash = $2 WHERE shard = $3",
                                 previous["seq"], previous["entry_hash"], shard)
        assert await problems(status_env, connection) == []  # consistent on its own...
        found = await problems(status_env, connection, recorded_heads.values())  # ...but not with the logged heads
        assert found == [f"seq {last} does not match the head recorded elsewhere (cut or rewritten)"]


def _verify_command(status_env, database_url, *arguments: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "HEALTHCODE_DATABASE_URL": database_url,
               "HEALTHCODE_STATUS_SEALING_KEYS": "k:" + base64.b64encode(os.urandom(32)).decode(),
               "HEALTHCODE_STATUS_AUDIT_KEY": base64.b64encode(status_env.settings.audit_key).decode()}
    return subprocess.run([sys.executable, "-m", "cli.healthcode", "verify-audit", *arguments], env=environ,
                          capture_output=True, text=True, timeout=60)


def test_the_verify_command_reports_an_intact_chain(status_env, database_url):
    result = _verify_command(status_env, database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit chain intact" in result.stdout


async def test_the_verify_command_checks_every_head_it_is_given_and_refuses_a_malformed_one(
        status_env, identity_env, clock, database_url):
    await some_changes(status_env, identity_env, clock)
    heads = [f"--expect-head={seq}:{digest.hex()}"
             for seq, digest in (await status_env.parts.repository.audit_heads()).values() if seq]
    intact = await asyncio.to_thread(_verify_command, status_env, database_url, *heads)
    assert intact.returncode == 0 and "audit chain intact" in intact.stdout, intact.stdout + intact.stderr

    seq, digest = heads[0].removeprefix("--expect-head=").split(":")
    unknown = f"--expect-head={seq}:{'00' * 32}"  # the seq is there, with another hash: cut or rewritten
    broken = await asyncio.to_thread(_verify_command, status_env, database_url, *heads[1:], unknown)
    assert broken.returncode == 1
    assert f"seq {seq} does not match the head recorded elsewhere" in broken.stdout

    for malformed in ("12", "x:ab", "12:abcd", "0:" + "00" * 32):
        refused = await asyncio.to_thread(_verify_command, status_env, database_url, f"--expect-head={malformed}")
        assert refused.returncode == 2, refused.stderr
        assert "expected SEQ:HASH" in refused.stderr or "expected a positive seq" in refused.stderr


@asynccontextmanager
async def tampered(database_url: str, seq: int) -> AsyncIterator[None]:
    """Entry `seq` edited and committed (what the background check reads), put back afterwards."""
    connection = await asyncpg.connect(database_url)
    original = await connection.fetchval("SELECT colour FROM status.audit_log WHERE seq = $1", seq)

    async def set_colour(colour: int) -> None:
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.execute("UPDATE status.audit_log SET colour = $2 WHERE seq = $1", seq, colour)
    await set_colour(original % 3 + 1)  # another colour
    try:
        yield
    finally:
        await set_colour(original)
        await connection.close()


async def newest_seq(repository) -> int:
    return max(seq for seq, _ in (await repository.audit_heads()).values())


def _failures(check: str) -> float:
    return REGISTRY.get_sample_value("healthcode_audit_chain_verification_failures_total", {"check": check}) or 0.0


async def _checked_up_to_head(chain_check: ChainCheck, head_seq: int) -> ChainReport:
    """Rounds until one has verified the chain up to `head_seq` (a round verifies at most its pages)."""
    for _ in range(50):
        report = await chain_check.run()
        if report is not None and report.verified_seq >= head_seq:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"the chain was not checked up to seq {head_seq}")


async def test_the_background_check_verifies_each_new_entry_once_and_counts_a_tampered_one(
        status_env, identity_env, clock, database_url, db, capsys):
    chain_check = status_env.parts.chain_check
    repository = status_env.parts.repository
    await _checked_up_to_head(chain_check, await newest_seq(repository))
    quiet = await _checked_up_to_head(chain_check, await newest_seq(repository))
    assert (quiet.new_entries, quiet.new_problems) == (0, [])  # nothing is verified twice as new
    new_failures, recheck_failures = _failures("new"), _failures("recheck")

    person = await some_changes(status_env, identity_env, clock)
    head = await newest_seq(repository)
    entries = [row["seq"] for row in await db.fetch(
        "SELECT seq FROM status.audit_log WHERE person_id = $1 ORDER BY seq", person)]
    capsys.readouterr()
    async with tampered(database_url, entries[-2]):
        report = await _checked_up_to_head(chain_check, head)
    assert _failures("new") - new_failures == 1
    logs = capsys.readouterr()
    line = next(line for line in (logs.out + logs.err).splitlines() if "audit_chain_verification_failed" in line)
    assert f"seq {entries[-2]}" in line and "edited" in line
    assert person not in line  # seqs only: no person id, colour or reason
    assert REGISTRY.get_sample_value("healthcode_audit_chain_verified_seq") >= head
    assert report.verified_seq >= head

    # An entry already verified, edited afterwards: the recheck of older entries finds it on its lap.
    async with tampered(database_url, entries[-3]):
        for _ in range(1000):
            found = await chain_check.run()
            if _failures("recheck") > recheck_failures:
                break
            assert found is None or not found.new_problems
        else:
            raise AssertionError("the recheck never reached the edited entry")
    assert _failures("new") - new_failures == 1  # put back, nothing more is found
    report = await chain_check.run()
    assert report is None or not (report.new_problems or report.recheck_problems)


async def test_with_several_replicas_one_checks_a_round_and_the_position_is_shared(status_env, identity_env, clock,
                                                                                   db):
    repository = status_env.parts.repository
    await _checked_up_to_head(status_env.parts.chain_check, await newest_seq(repository))
    person = await some_changes(status_env, identity_env, clock)
    replicas = [ChainCheck(repository, AuditChain(status_env.settings.audit_key), clock) for _ in range(4)]
    reports = [report for report in await asyncio.gather(*(replica.run() for replica in replicas)) if report]
    verified = await db.fetchval("SELECT verified_seq FROM status.audit_verification WHERE shard = $1",
                                 shard_of(person))
    assert reports and all(not report.new_problems for report in reports)
    # Each new entry verified by exactly one of them: none twice, none left out.
    assert sum(report.new_entries for report in reports) == 3
    assert verified == await db.fetchval("SELECT max(seq) FROM status.audit_log WHERE person_id = $1", person)
    # One that never ran a round goes on from where the others stopped.
    late = ChainCheck(repository, AuditChain(status_env.settings.audit_key), clock)
    assert (await late.run()).new_entries == 0

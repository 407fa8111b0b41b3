"""Online decisions are recorded in batches off the response path: every answered decision lands exactly
once, under concurrent checkpoints, and across a SIGTERM of the serving process."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc
import pytest
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc

from services.runtime.database import migrate
from services.verification import bootstrap as verification
from tests.support.deployments import Provinces, start_provinces
from tests.support.verification import verify

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60


@pytest.fixture(scope="module")
async def provinces(postgres_server_url) -> AsyncIterator[Provinces]:
    both = await start_provinces(postgres_server_url)
    yield both
    await both.stop()


async def test_decisions_of_concurrent_checkpoints_are_each_recorded_once(provinces):
    hubei = provinces.hubei
    payloads = [await hubei.code(await hubei.resident()) for _ in range(5)]
    answers = await asyncio.gather(*(hubei.verifier.VerifyCode(pb.VerifyCodeRequest(
        payload=payloads[i % 5], checkpoint_id=f"gate-{i % 7}", area_code="420102")) for i in range(120)),
        *(verify(hubei, "HCN1:garbled") for _ in range(30)))
    await hubei.parts.checkpoint.decisions.flush()
    ids = [answer.verification_id for answer in answers]
    rows = await hubei.parts.recognition.repository.pool.fetch(
        "SELECT verification_id::text, decision, checkpoint_id FROM verification.decisions "
        "WHERE verification_id = ANY($1::uuid[])", ids)
    assert len(set(ids)) == 150
    assert sorted(r["verification_id"] for r in rows) == sorted(ids)
    by_id = {r["verification_id"]: r for r in rows}
    assert all((by_id[a.verification_id]["decision"], by_id[a.verification_id]["checkpoint_id"]) ==
               (a.decision, f"gate-{i % 7}") for i, a in enumerate(answers[:120]))


async def test_a_decision_is_answered_before_it_is_written(provinces):
    hubei = provinces.hubei
    pool = hubei.parts.recognition.repository.pool
    async with pool.acquire() as blocker:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE verification.decisions IN EXCLUSIVE MODE")  # no decision can be written
        answer = await asyncio.wait_for(verify(hubei, "HCN1:garbled"), STARTUP_TIMEOUT)
        await transaction.rollback()
    await hubei.parts.checkpoint.decisions.flush()
    assert await pool.fetchval("SELECT decision FROM verification.decisions WHERE verification_id = $1",
                               answer.verification_id) == pb.DECISION_DENY


@pytest.fixture
async def database(postgres_server_url) -> AsyncIterator[str]:
    name = f"healthcode_batches_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(postgres_server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(postgres_server_url)._replace(path="/" + name))
    await migrate(url, verification.SCHEMA, verification.MIGRATIONS)
    yield url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


async def _line(process: asyncio.subprocess.Process, output: list[str], pattern: str) -> re.Match:
    async def read() -> re.Match:
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise AssertionError(f"verification ended before printing {pattern}:\n" + "".join(output))
            output.append(line)
            if match := re.search(pattern, line):
                return match
    return await asyncio.wait_for(read(), STARTUP_TIMEOUT)


async def test_a_sigterm_loses_no_answered_decision(database):
    """A real `healthcode verification` process; its decisions can't be written (the table locked) while it
    answers, then it is sent SIGTERM: it drains, writes them all before closing its pool, and exits 0."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    environ.update(HEALTHCODE_DATABASE_URL=database, HEALTHCODE_VERIFICATION_PORT="0", HEALTHCODE_METRICS_PORT="0",
                   HEALTHCODE_GRACE_SECONDS="30", HEALTHCODE_STATUS_ADDRESS="127.0.0.1:9",  # nobody: not asked
                   HEALTHCODE_VERIFICATION_EXCHANGE_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
                   HEALTHCODE_VERIFICATION_VENUE_KEY=base64.b64encode(secrets.token_bytes(32)).decode())
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.healthcode", "verification",
                                                   cwd=ROOT, env=environ, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    output: list[str] = []
    try:
        address = (await _line(process, output, r"verification grpc://(\S+)"))[1]
        db = await asyncpg.connect(database)
        async with grpc.aio.insecure_channel(address) as channel:
            stub = verification_pb2_grpc.VerificationServiceStub(channel)
            transaction = db.transaction()
            await transaction.start()
            await db.execute("LOCK TABLE verification.decisions IN EXCLUSIVE MODE")
            # Garbled codes: DENY at once, no call to status, yet each decision is recorded.
            answers = await asyncio.wait_for(asyncio.gather(*(stub.VerifyCode(pb.VerifyCodeRequest(
                payload=f"HCN1:garbled{i}", checkpoint_id="gate-1", area_code="420102")) for i in range(200))),
                STARTUP_TIMEOUT)
            assert await db.fetchval("SELECT count(*) FROM verification.decisions") == 0  # answered, not written
            process.send_signal(signal.SIGTERM)
            await _line(process, output, "shutdown_started")  # it stops while its writes still wait on the lock
            await transaction.rollback()
        remaining, _ = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT)
        output.append(remaining.decode())
        assert process.returncode == 0, "".join(output)
        stored = await db.fetch("SELECT verification_id::text, decision FROM verification.decisions")
        await db.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert sorted(r["verification_id"] for r in stored) == sorted(a.verification_id for a in answers)
    assert {r["decision"] for r in stored} == {pb.DECISION_DENY}
    assert "batch_rows_unwritten" not in "".join(output)


async def test_a_batch_written_again_after_a_lost_answer_is_stored_once(provinces):
    from services.verification.recognition.repository import DecisionRow

    repository = provinces.hubei.parts.recognition.repository
    now = provinces.hubei.clock.now()
    rows = [DecisionRow(str(uuid.uuid4()), now, "gate-9", "420102", 2, "KEY_UNKNOWN", None, None, None)
            for _ in range(4)]
    await repository.record_decisions(rows)
    await asyncio.gather(repository.record_decisions(rows), repository.record_decisions(rows[:1]),
                         repository.record_decisions(rows[2:]))  # each a retry of rows already committed
    assert await repository.pool.fetchval(
        "SELECT count(*) FROM verification.decisions WHERE verification_id = ANY($1::uuid[])",
        [r.verification_id for r in rows]) == 4

"""Reads that may lag go to the read replica (HEALTHCODE_DATABASE_READ_URL): a status shown, a history.
Here the "replica" is the same database under another URL, told apart by its connections' name."""

from __future__ import annotations

from dataclasses import replace

import asyncpg
import grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc

from tests.support.platform import replica
from tests.support.status import NATIONAL_ONLY, person_in


async def _last_queries(database_url: str, application: str) -> list[tuple[str, object]]:
    """(last query, when it started) of each connection with this name."""
    connection = await asyncpg.connect(database_url)
    try:
        return [(row["query"], row["query_start"]) for row in await connection.fetch(
            "SELECT query, query_start FROM pg_stat_activity WHERE application_name = $1", application)]
    finally:
        await connection.close()


async def test_a_shown_status_is_read_from_the_replica_and_a_code_from_the_primary(
        database_url, clock, identity_env, status_env):
    # A second replica of the shared status service (its keys), whose read pool is one connection.
    server_settings = replace(status_env.settings.server, read_database_url=database_url, pool_min_size=1,
                              pool_max_size=1)
    # Statuses in memory off: this is about where the database reads go.
    settings = replace(status_env.settings, server=server_settings, memory_entries=0)
    async with replica("status", settings, clock) as started:
        async with grpc.aio.insecure_channel(started.address) as channel:
            stub = status_pb2_grpc.StatusServiceStub(channel)
            person = await person_in(identity_env, NATIONAL_ONLY)
            await stub.GetStatus(status_pb2.GetStatusRequest(person_id=person))  # decided on the primary
            await stub.GetStatus(status_pb2.GetStatusRequest(person_id=person))  # shown from the replica
            read_after_status = await _last_queries(database_url, "healthcode-status-read")
            await stub.IssueCode(status_pb2.IssueCodeRequest(person_id=person))
            read_after_code = await _last_queries(database_url, "healthcode-status-read")
    assert any("status.statuses" in query for query, _ in read_after_status)
    assert read_after_code == read_after_status  # no new query on the replica: the code's status is the primary's

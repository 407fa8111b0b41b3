"""The embedded PostgreSQL (`up` and the tests without a configured database) allows more connections than
PostgreSQL's default of 100, which `up`'s pools and the suite's replicas come near."""

from __future__ import annotations

import os

import asyncpg
import pytest

from services.runtime.postgres import MAX_CONNECTIONS


@pytest.mark.skipif(bool(os.environ.get("HEALTHCODE_TEST_DATABASE_URL")),
                    reason="a configured server keeps its own max_connections")
async def test_the_embedded_server_allows_more_connections_than_the_default(postgres_server_url):
    connection = await asyncpg.connect(postgres_server_url)
    try:
        assert int(await connection.fetchval("SHOW max_connections")) == MAX_CONNECTIONS > 100
    finally:
        await connection.close()

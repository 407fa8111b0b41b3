"""A service's pool: its connections name it, and a pool asked for generic plans plans each statement once
(itinerary's: a statement over the day partitions costs more to plan than to run)."""

from __future__ import annotations

from services.runtime.database import open_pool
from services.runtime.settings import ServerSettings


def _settings(url: str) -> ServerSettings:
    return ServerSettings(database_url=url, read_database_url="", host="127.0.0.1", port=0, grace_seconds=1.0,
                          pool_min_size=0, pool_max_size=2, log_level="warning", metrics_port=0)


async def test_a_pool_for_generic_plans_plans_each_statement_once_and_others_let_postgres_choose(database_url):
    for generic, mode in ((True, "force_generic_plan"), (False, "auto")):
        pool = await open_pool(_settings(database_url), "pool-test", generic_plans=generic)
        try:
            async with pool.acquire() as connection:
                assert await connection.fetchval("SHOW plan_cache_mode") == mode
                assert await connection.fetchval("SHOW application_name") == "healthcode-pool-test"
        finally:
            await pool.close()

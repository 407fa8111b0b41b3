"""The batched writer: rows queued by concurrent callers land once each, a full queue holds callers back,
and a failing write keeps its rows (retried, counted), reporting at close what it could not write."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest
from prometheus_client import REGISTRY

from services.runtime.batches import BatchWriter, WriterClosed


@pytest.fixture
async def pool(database_url) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def table(pool) -> AsyncIterator[str]:
    name = f"batch_rows_{secrets.token_hex(4)}"
    await pool.execute(f"CREATE TABLE public.{name} (row_id bigint PRIMARY KEY, caller int NOT NULL)")
    yield name
    await pool.execute(f"DROP TABLE IF EXISTS public.{name}")
    await pool.execute(f"DROP TABLE IF EXISTS public.{name}_away")


def copier(pool: asyncpg.Pool, table: str):
    async def write(rows: Sequence[tuple[int, int]]) -> None:
        await pool.copy_records_to_table(table, schema_name="public", columns=("row_id", "caller"), records=rows)
    return write


def failures(name: str) -> float:
    return REGISTRY.get_sample_value("healthcode_batch_write_failures_total", {"batch": name}) or 0.0


async def test_rows_from_concurrent_callers_land_exactly_once(pool, table):
    # A small queue and batch, so callers wait for room and many batches are written.
    writer = BatchWriter(table, copier(pool, table), max_rows=7, capacity=20, max_delay=0.001)
    writer.start()

    async def caller(number: int) -> None:
        for index in range(40):
            await writer.put((number * 1000 + index, number))

    await asyncio.gather(*(caller(number) for number in range(25)))
    await writer.flush()
    rows = await pool.fetch(f"SELECT row_id, caller FROM public.{table}")
    assert sorted((r["row_id"], r["caller"]) for r in rows) == sorted(
        (number * 1000 + index, number) for number in range(25) for index in range(40))
    assert await writer.close() == 0


async def test_a_full_queue_holds_callers_back_until_rows_are_written(pool, table):
    writer = BatchWriter(table, copier(pool, table), max_rows=5, capacity=10, max_delay=0.001)
    writer.start()
    async with pool.acquire() as blocker:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute(f"LOCK TABLE public.{table} IN EXCLUSIVE MODE")  # the writer's COPY waits
        for row_id in range(10):
            await writer.put((row_id, 0))
        held = asyncio.ensure_future(writer.put((10, 0)))
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not held.done()  # the queue is full while nothing can be written: the caller waits
        assert len(writer) == 10
        await transaction.rollback()
    await held
    await writer.flush()
    assert await pool.fetchval(f"SELECT count(*) FROM public.{table}") == 11
    await writer.close()


async def test_a_failed_write_keeps_its_rows_and_retries_them(pool, table):
    writer = BatchWriter(table, copier(pool, table), max_rows=50, max_delay=0.001, retry_delay=0.01)
    writer.start()
    before = failures(table)
    await pool.execute(f"ALTER TABLE public.{table} RENAME TO {table}_away")  # every write fails now
    for row_id in range(30):
        await writer.put((row_id, 1))
    while failures(table) < before + 2:  # failed at least twice, and kept trying
        await asyncio.sleep(0.01)
    assert len(writer) == 30
    await pool.execute(f"ALTER TABLE public.{table}_away RENAME TO {table}")
    await writer.flush()
    assert await pool.fetchval(f"SELECT count(DISTINCT row_id) FROM public.{table}") == 30
    assert await pool.fetchval(f"SELECT count(*) FROM public.{table}") == 30
    assert await writer.close() == 0


async def test_rows_a_writer_cannot_write_by_its_close_are_counted_and_reported(pool, table):
    writer = BatchWriter(table, copier(pool, table), max_delay=0.001, retry_delay=0.01)
    writer.start()
    await pool.execute(f"ALTER TABLE public.{table} RENAME TO {table}_away")
    for row_id in range(3):
        await writer.put((row_id, 2))
    waiting = asyncio.ensure_future(writer.flush())
    assert await writer.close(timeout=0.2) == 3
    assert REGISTRY.get_sample_value("healthcode_batch_rows_unwritten_total", {"batch": table}) == 3
    with pytest.raises(WriterClosed):
        await waiting  # a flush waiting on them is told, not left hanging
    with pytest.raises(WriterClosed):
        await writer.put((9, 2))


async def test_close_writes_what_is_queued_before_returning(pool, table):
    # A delay far longer than the test: only close() can have written these.
    writer = BatchWriter(table, copier(pool, table), max_rows=1000, capacity=1000, max_delay=3600)
    writer.start()
    for row_id in range(100):
        await writer.put((row_id, 3))
    assert await writer.close() == 0
    assert await pool.fetchval(f"SELECT count(*) FROM public.{table}") == 100

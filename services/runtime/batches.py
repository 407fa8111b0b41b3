"""Rows recorded in batches off the response path: a bounded queue that one task writes every N rows or T ms.

A caller's `put` returns once its row is queued, so an answer no longer waits for its own INSERT and commit;
the writer sends what has gathered in one statement (COPY, typically). The promises:
- back-pressure, never loss: when the queue holds `capacity` rows, `put` waits for room;
- in order, each row once: a batch leaves the queue only after its write succeeded; a failed write is
  logged (`batch_write_failed`), counted (`healthcode_batch_write_failures_total`) and retried, the rows
  kept at the head of the queue. The write function must therefore tolerate a batch sent twice (a commit
  whose answer was lost), for example by falling back to `INSERT ... ON CONFLICT DO NOTHING`;
- drained on shutdown: `close()` (called by the service's close, after the server drained its calls and
  before the pool closes) writes everything queued, retrying until its deadline; rows still unwritten
  then are logged at error (`batch_rows_unwritten`) and counted (`healthcode_batch_rows_unwritten_total`),
  and `close()` returns how many, so nothing is lost silently.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Counter

from services.runtime.logs import get_logger

log = get_logger(__name__)
Row = TypeVar("Row")

WRITE_FAILURES = Counter("healthcode_batch_write_failures", "Batched writes that failed and will be retried.",
                         ("batch",))
ROWS_WRITTEN = Counter("healthcode_batch_rows_written", "Rows written by batched writers.", ("batch",))
ROWS_UNWRITTEN = Counter("healthcode_batch_rows_unwritten",
                         "Rows a batched writer still held when it had to stop (its write kept failing).",
                         ("batch",))


class WriterClosed(RuntimeError):
    """A row offered to a writer that has stopped taking rows."""


class BatchWriter(Generic[Row]):
    """One queue and one writing task. `start()` once the loop runs, `close()` at shutdown."""

    def __init__(self, name: str, write: Callable[[Sequence[Row]], Awaitable[object]], *, max_rows: int = 500,
                 max_delay: float = 0.005, capacity: int = 10_000, retry_delay: float = 0.25) -> None:
        if not 0 < max_rows <= capacity:
            raise ValueError("max_rows must be positive and at most the capacity")
        self.name = name
        self._write = write
        self._max_rows = max_rows
        self._max_delay = max_delay
        self._capacity = capacity
        self._retry_delay = retry_delay
        self._rows: deque[Row] = deque()
        self._queued = 0    # rows ever queued
        self._written = 0   # rows ever written (the queue is written in order)
        self._room = asyncio.Condition()
        self._wake = asyncio.Event()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task | None = None
        self._closing = False
        self._urgent = 0  # the queued count a flush() asked to be written without waiting for max_delay
        self._written_counter = ROWS_WRITTEN.labels(name)
        self._failures = WRITE_FAILURES.labels(name)

    def __len__(self) -> int:
        return len(self._rows)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"batch-writer-{self.name}")

    async def put(self, row: Row) -> None:
        """Queues the row (waiting while the queue is full); the row is then written unless the process dies."""
        if self._closing:
            raise WriterClosed(f"the {self.name} writer is closed")
        if len(self._rows) >= self._capacity:
            async with self._room:
                await self._room.wait_for(lambda: len(self._rows) < self._capacity or self._closing)
            if self._closing:
                raise WriterClosed(f"the {self.name} writer is closed")
        self._rows.append(row)
        self._queued += 1
        if len(self._rows) == 1 or len(self._rows) >= self._max_rows:
            self._wake.set()

    async def flush(self) -> None:
        """Returns once every row queued before the call is written (retrying, as the writer does)."""
        target = self._queued
        if self._written >= target:
            return
        self._urgent = max(self._urgent, target)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        self._wake.set()
        await asyncio.shield(waiter)

    async def close(self, timeout: float = 10.0) -> int:
        """Stops taking rows, writes what is queued (retrying until `timeout`), stops. Rows left unwritten."""
        self._closing = True
        self._wake.set()
        async with self._room:
            self._room.notify_all()
        if self._task is None:
            self.start()
        assert self._task is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        left = len(self._rows)
        if left:
            ROWS_UNWRITTEN.labels(self.name).inc(left)
            log.error("batch_rows_unwritten", batch=self.name, rows=left)
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(WriterClosed(f"the {self.name} writer closed with {left} rows unwritten"))
        self._waiters.clear()
        return left

    async def _run(self) -> None:
        while True:
            if not self._rows:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._gather()
            batch = [self._rows[i] for i in range(min(self._max_rows, len(self._rows)))]
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - kept, logged, counted and retried
                self._failures.inc()
                log.warning("batch_write_failed", batch=self.name, rows=len(batch), queued=len(self._rows),
                            error_type=type(error).__name__)
                await asyncio.sleep(self._retry_delay)
                continue
            for _ in batch:
                self._rows.popleft()
            self._written += len(batch)
            self._written_counter.inc(len(batch))
            self._settle()
            async with self._room:
                self._room.notify_all()

    async def _gather(self) -> None:
        """Lets a batch fill for up to `max_delay` after its first row (not when closing or flushed)."""
        deadline = time.monotonic() + self._max_delay
        while len(self._rows) < self._max_rows and not self._closing and self._urgent <= self._written:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except asyncio.TimeoutError:
                return

    def _settle(self) -> None:
        still = []
        for target, waiter in self._waiters:
            if target <= self._written:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still.append((target, waiter))
        self._waiters = still

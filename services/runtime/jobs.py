"""Periodic background jobs (purges, partition upkeep): run, log, survive failures, repeat."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from services.runtime.logs import get_logger

log = get_logger(__name__)


def every(seconds: float, job: Callable[[], Awaitable[object]], name: str, *, at_start: bool = False
          ) -> Callable[[], Awaitable[None]]:
    """A background task for App.background: waits (unless `at_start`, for the first round), runs `job`,
    and again; a failure waits for the next round."""

    async def loop() -> None:
        wait = not at_start
        while True:
            if wait:
                await asyncio.sleep(seconds)
            wait = True
            try:
                await job()
            except Exception as error:  # noqa: BLE001 - logged; the next round retries
                log.warning("job_failed", job=name, error_type=type(error).__name__)

    return loop

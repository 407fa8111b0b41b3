"""WatchStatus fan-out: one LISTEN connection per process wakes every stream watching a person.

Writers notify the person ids they changed at commit (`StatusRepository.notify_changed`),
whichever replica made the change; each watching stream then reads the status itself,
so a missed or merged notification costs nothing but a read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg

from services.runtime.logs import get_logger
from services.status.repository import NOTIFY_CHANNEL

log = get_logger(__name__)
MAX_WATCHERS = 10_000  # streams per process; beyond it WatchStatus is refused


class StatusWatch:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._connection: asyncpg.Connection | None = None
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._lock = asyncio.Lock()

    @property
    def watcher_count(self) -> int:
        return sum(len(events) for events in self._watchers.values())

    async def _listen(self) -> None:
        async with self._lock:
            if self._connection is not None and not self._connection.is_closed():
                return
            self._connection = await asyncpg.connect(self._url)
            await self._connection.add_listener(NOTIFY_CHANNEL, self._on_notify)
            self._connection.add_termination_listener(self._on_lost)

    def _on_notify(self, _connection, _pid, _channel, payload: str) -> None:
        for person_id in payload.split(","):
            for event in self._watchers.get(person_id, ()):
                event.set()

    def _on_lost(self, _connection) -> None:
        # Wake everyone: each stream re-reads, and the next watcher reconnects.
        log.warning("status_watch_connection_lost")
        for events in self._watchers.values():
            for event in events:
                event.set()

    async def changes(self, person_id: str) -> AsyncIterator[None]:
        """Yields once at once, then whenever the person's status may have changed."""
        await self._listen()
        event = asyncio.Event()
        self._watchers.setdefault(person_id, set()).add(event)
        try:
            yield
            while True:
                await event.wait()
                event.clear()
                if self._connection is None or self._connection.is_closed():
                    await self._listen()
                yield
        finally:
            watchers = self._watchers.get(person_id)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._watchers[person_id]

    async def close(self) -> None:
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()

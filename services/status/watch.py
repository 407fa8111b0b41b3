"""WatchStatus fan-out: one LISTEN connection per process wakes every stream watching a person.

Writers notify the person ids (and new versions) they changed at commit (`StatusRepository.notify_changed`),
whichever replica made the change; each watching stream then reads the status itself,
so a missed or merged notification costs nothing but a read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from services.runtime.errors import ResourceExhausted, Unavailable
from services.runtime.logs import get_logger
from services.status.memory import RecentStatuses
from services.status.repository import ChangeListener

log = get_logger(__name__)
MAX_WATCHERS = 10_000  # streams per process; beyond it WatchStatus is refused
MAX_SUBSCRIBERS = 256  # StreamStatusChanges subscribers (gateway replicas) per process
_SUBSCRIBER_BACKLOG = 10_000  # notifications a slow subscriber may lag before it must start over
# keep_listening's probe: a listening connection silent this long is treated as lost, so statuses
# held in memory outlive an unseen change by at most the job's interval plus this.
_PING_TIMEOUT = 2.0
LISTENER_NAME = "healthcode-status-listen"


class StatusWatch:
    def __init__(self, database_url: str, recent: RecentStatuses | None = None) -> None:
        self._url = database_url
        self._recent = recent if recent is not None else RecentStatuses(0)
        self._listener: ChangeListener | None = None
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._subscribers: set[asyncio.Queue[list[tuple[str, int]] | None]] = set()
        self._lock = asyncio.Lock()

    @property
    def watcher_count(self) -> int:
        return sum(len(events) for events in self._watchers.values())

    async def _listen(self) -> None:
        async with self._lock:
            if self._listener is not None and not self._listener.is_closed():
                return
            self._listener = await ChangeListener.open(self._url, LISTENER_NAME, self._on_notify, self._on_lost)
            self._recent.listening()

    async def keep_listening(self) -> None:
        """A job while statuses are held in memory: listens, and proves the connection still carries
        notifications; a connection that does not answer in time is dropped (memory forgets with it)."""
        await self._listen()
        if not await self._listener.answers(_PING_TIMEOUT):
            self._on_lost()
            raise TimeoutError("the listening connection did not answer in time")

    def _on_notify(self, payload: str) -> None:
        changes = []
        for item in payload.split(","):
            person_id, _, version = item.partition(":")
            # A replica from before versions were sent names the person only: 0, "some newer version".
            changes.append((person_id, int(version) if version.isdigit() else 0))
            for event in self._watchers.get(person_id, ()):
                event.set()
        self._recent.changed(changes)
        for queue in self._subscribers:
            _offer(queue, changes)

    def _on_lost(self) -> None:
        # Wake everyone: each stream re-reads, and the next watcher reconnects. Subscribers to every
        # change cannot re-read what they missed: their streams end, so they forget their caches.
        log.warning("status_watch_connection_lost")
        self._recent.lost()
        for events in self._watchers.values():
            for event in events:
                event.set()
        for queue in self._subscribers:
            _offer(queue, None)

    async def every_change(self) -> AsyncIterator[list[tuple[str, int]]]:
        """Yields [] once listening, then each notification's (person id, new version) pairs; raises
        Unavailable when the listening connection is lost (a notification may have gone by unseen)."""
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            raise ResourceExhausted(reason="TOO_MANY_SUBSCRIBERS",
                                    message="this replica streams every change to too many subscribers")
        queue: asyncio.Queue[list[tuple[str, int]] | None] = asyncio.Queue(maxsize=_SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        try:
            await self._listen()
            yield []
            while True:
                changes = await queue.get()
                if changes is None:
                    raise Unavailable(reason="STATUS_CHANGES_MISSED",
                                      message="status lost its change notifications; subscribe again")
                yield changes
        finally:
            self._subscribers.discard(queue)

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
                if self._listener is None or self._listener.is_closed():
                    await self._listen()
                yield
        finally:
            watchers = self._watchers.get(person_id)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._watchers[person_id]

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()


def _offer(queue: asyncio.Queue[list[tuple[str, int]] | None], changes: list[tuple[str, int]] | None) -> None:
    """Queues a notification; a subscriber too far behind is told it missed changes instead."""
    if queue.full():
        while not queue.empty():
            queue.get_nowait()
        changes = None
    queue.put_nowait(changes)

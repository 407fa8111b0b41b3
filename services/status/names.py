"""Names as identity corrects them: the masked name a status and its codes show is copied at
enrolment, so a corrected name (or a holder's reclaim of a squatted registration) is followed here.

One replica follows at a time (an advisory lock, released with the session if the process dies):
identity answers each person's name as it is when asked, and two followers writing what they read
at different moments could put an older name back. Each round reads again from a minute before
the last change it saw, so a correction committed late is not passed over; writing a name a second
time changes nothing. A renamed person's cached statuses and codes are dropped at commit, here and
(by the change notification, version 0: "the same version, shown anew") in every replica and gateway.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.runtime.logs import get_logger
from services.status.clients import Identity
from services.status.memory import RecentStatuses
from services.status.repository import StatusRepository

log = get_logger(__name__)
_OVERLAP = timedelta(minutes=1)


class NameFollower:
    def __init__(self, repository: StatusRepository, identity: Identity, recent: RecentStatuses,
                 first_look_back: timedelta) -> None:
        self._repository = repository
        self._identity = identity
        self._recent = recent
        self._first_look_back = first_look_back

    async def follow(self, now: datetime) -> int:
        """One round; how many persons' names it changed."""
        async with self._repository.exclusive("status.names") as alone:
            if not alone:
                return 0
            cursor = await self._repository.name_cursor() or now - self._first_look_back
            changes = await self._identity.name_changes(cursor - _OVERLAP)
            if not changes:
                return 0
            names = {person_id: masked for person_id, masked, _ in changes}
            async with self._repository.transaction() as tx:
                renamed = await tx.rename(names)
                if renamed:
                    await tx.notify_changed([(person_id, 0) for person_id in renamed])
            self._recent.changed((person_id, 0) for person_id in renamed)
            await self._repository.move_name_cursor(max(when for *_, when in changes))
            if renamed:
                log.info("names_followed", renamed=len(renamed))
            return len(renamed)

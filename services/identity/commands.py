"""Identity's admin commands: run by an operator against identity's own database, not through the service."""

from __future__ import annotations

from services.identity.bootstrap import NAME, IdentitySettings, build_registry
from services.identity.repository import IdentityRepository
from services.runtime.clock import SystemClock
from services.runtime.database import open_pool


async def reseal(settings: IdentitySettings) -> int:
    """`healthcode reseal`: moves every person and name correction onto the active sealing key (after a
    rotation), after which old keys may go; fills in the federation reference of persons registered
    before it existed. Returns how many records it rewrote; safe to stop and run again."""
    pool = await open_pool(settings.server, NAME)
    try:
        return await build_registry(settings, IdentityRepository(pool), SystemClock()).reseal()
    finally:
        await pool.close()

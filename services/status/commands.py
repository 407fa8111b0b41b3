"""Status's operator commands: `healthcode grant-administrator` (a province's first administrator) and
`healthcode verify-audit` (every audit chain in one snapshot), run by the deployment's operators."""

from __future__ import annotations

from collections.abc import Sequence

from services.runtime.clock import SystemClock
from services.runtime.database import open_pool
from services.status.audit import AuditChain, find_unbound_statuses, verify_chain
from services.status.bootstrap import NAME, StatusSettings
from services.status.casework import bootstrap_administrator
from services.status.repository import StatusRepository


async def grant_administrator(settings: StatusSettings, officer_id: str, province_code: str) -> list[int]:
    """The first administrator of a province (`healthcode grant-administrator`): every later grant
    is an administrator's own act, through SetOfficerRoles."""
    pool = await open_pool(settings.server, NAME)
    try:
        return await bootstrap_administrator(StatusRepository(pool), officer_id, province_code, SystemClock().now())
    finally:
        await pool.close()


async def verify_audit(settings: StatusSettings, expected_heads: Sequence[tuple[int, bytes]] = ()) -> list[str]:
    """Reads every shard's audit chain in one snapshot; every problem found (empty: intact)."""
    pool = await open_pool(settings.server, NAME)
    repository = StatusRepository(pool)
    try:
        async with repository.snapshot() as snapshot:
            chain = AuditChain(settings.audit_key)
            problems = await verify_chain(
                chain, lambda shard, seq: snapshot.audit_chain(shard, seq, 10_000),
                await snapshot.audit_heads(), expected_heads)
            after = None
            while rows := await snapshot.statuses_with_last_entry(after, 10_000):
                problems += find_unbound_statuses(chain, rows)
                after = rows[-1][0].person_id
            return problems
    finally:
        await pool.close()

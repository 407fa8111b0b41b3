"""Status's operator commands: `healthcode grant-administrator` (a province's first administrator) and
`healthcode verify-audit` (the whole audit chain in one snapshot), run by the deployment's operators."""

from __future__ import annotations

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


async def verify_audit(settings: StatusSettings, expected_head: tuple[int, bytes] | None = None) -> list[str]:
    """Reads the whole audit chain in one snapshot; every problem found (empty: intact)."""
    pool = await open_pool(settings.server, NAME)
    repository = StatusRepository(pool)
    try:
        async with repository.snapshot() as snapshot:
            chain = AuditChain(settings.audit_key)
            problems = await verify_chain(
                chain, lambda seq: snapshot.audit_chain(seq, 10_000),
                await snapshot.lock_audit_head(lock=False), expected_head)
            after = None
            while rows := await snapshot.statuses_with_last_entry(after, 10_000):
                problems += find_unbound_statuses(chain, rows)
                after = rows[-1][0].person_id
            return problems
    finally:
        await pool.close()

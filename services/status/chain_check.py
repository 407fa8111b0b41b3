"""The audit chain checked continuously, not only by `healthcode verify-audit`.

Each round verifies the entries appended since the last verified one, linked to that entry's hash,
so nothing before it is read again; and re-verifies one page of older entries after where the last
round's recheck stopped (wrapping round), so an entry edited after it was first checked is found
too, without a full rescan. Where both stand is kept in status.audit_verification and locked for the
round: with several replicas one checks and the others skip. Problems are counted and logged by
seq only (a seq names no person).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.clock import Clock
from services.runtime.logs import get_logger
from services.status import signals
from services.status.audit import AuditChain
from services.status.repository import StatusRepository, StatusTransaction

log = get_logger(__name__)

_LOGGED_PROBLEMS = 20  # per round and check: a broken chain is investigated with verify-audit


@dataclass(frozen=True)
class ChainReport:
    """What one round checked: entries verified the first time, older ones verified again, problems found."""

    verified_seq: int
    new_entries: int
    rechecked: int
    new_problems: list[str]
    recheck_problems: list[str]


class ChainCheck:
    def __init__(self, repository: StatusRepository, chain: AuditChain, clock: Clock, page: int = 1000,
                 new_pages: int = 50, recheck_rows: int = 1000) -> None:
        self._repository = repository
        self._chain = chain
        self._clock = clock
        self._page = page
        self._new_pages = new_pages          # a round stops there; the next one goes on from the position
        self._recheck_rows = recheck_rows

    async def run(self) -> ChainReport | None:
        """One round; None when another replica holds the position (it checks this round)."""
        async with self._repository.transaction() as tx:
            position = await tx.lock_chain_check()
            if position is None:
                return None
            verified_seq, verified_hash, recheck_seq = position
            # Read before the entries: a writer moves the head with its entries in one transaction,
            # so every entry up to it is visible; entries past it are left for the next round.
            head = await tx.lock_audit_head(lock=False)
            seq, last_hash, new_entries, new_problems = verified_seq, verified_hash, 0, []
            for _ in range(self._new_pages):
                rows = [row for row in await tx.audit_chain(seq, self._page)
                        if row[0].seq <= head[0]]
                if not rows:
                    if (seq, last_hash) != head:
                        new_problems.append(f"the chain ends at seq {seq} but its head says seq {head[0]}")
                    break
                new_problems += self._chain.find_breaks(rows, last_hash, seq)
                seq, last_hash = rows[-1][0].seq, rows[-1][2]
                new_entries += len(rows)
            rechecked, recheck_problems, next_recheck = await self._recheck(tx, recheck_seq, verified_seq)
            # The position moves past a break too: the entries after it are still checked against their
            # links, and the recheck finds the break again on every lap until it is dealt with.
            now = self._clock.now()
            await tx.save_chain_check(seq, last_hash, next_recheck, now)
        signals.chain_checked(len(new_problems), len(recheck_problems), seq, head[0], now)
        for check, problems in (("new", new_problems), ("recheck", recheck_problems)):
            if problems:
                log.error("audit_chain_verification_failed", check=check, problems=problems[:_LOGGED_PROBLEMS],
                          problem_count=len(problems))
        return ChainReport(seq, new_entries, rechecked, new_problems, recheck_problems)

    async def _recheck(self, tx: StatusTransaction, after_seq: int, verified_seq: int
                       ) -> tuple[int, list[str], int]:
        """(entries rechecked, problems, where the next recheck starts) for a page of entries
        verified before, after `after_seq`."""
        if after_seq >= verified_seq:
            after_seq = 0
        rows = [row for row in await tx.audit_chain(after_seq, self._recheck_rows)
                if row[0].seq <= verified_seq]
        if not rows:
            return 0, [], 0
        start_hash = await tx.audit_entry_hash(after_seq) if after_seq else b""
        problems = self._chain.find_breaks(rows, start_hash, after_seq)
        last = rows[-1][0].seq
        return len(rows), problems, 0 if last >= verified_seq else last

"""The audit chain checked continuously, not only by `healthcode verify-audit`.

Each round, in every shard's chain, verifies the entries appended since the last verified one,
linked to that entry's hash, so nothing before it is read again; and re-verifies a page of older
entries after where the last round's recheck stopped (wrapping round), so an entry edited after it
was first checked is found too, without a full rescan. Where both stand is kept per shard in
status.audit_verification and locked for the round: with several replicas, one checks a shard and
the others skip it. Problems are counted and logged by seq only (a seq names no person).
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
    """What one round checked: entries verified the first time, older ones verified again, problems found.
    `verified_seq` is the seq up to which every entry of the shards this round held is verified."""

    verified_seq: int
    new_entries: int
    rechecked: int
    new_problems: list[str]
    recheck_problems: list[str]


Position = tuple[int, bytes, int]  # verified seq, its entry hash, recheck seq: one shard's


class ChainCheck:
    def __init__(self, repository: StatusRepository, chain: AuditChain, clock: Clock, page: int = 1000,
                 new_pages: int = 50, recheck_rows: int = 1000) -> None:
        self._repository = repository
        self._chain = chain
        self._clock = clock
        self._page = page
        self._new_pages = new_pages          # per shard: a round stops there; the next goes on from the position
        self._recheck_rows = recheck_rows    # per round, over the shards held

    async def run(self) -> ChainReport | None:
        """One round over the shards no other replica holds; None when another holds them all."""
        async with self._repository.transaction() as tx:
            positions = await tx.lock_chain_checks()
            if not positions:
                return None
            # Read before the entries: a writer moves a head with its entries in one transaction,
            # so every entry up to it is visible; entries past it are left for the next round.
            heads = await tx.audit_heads()
            saved: dict[int, Position] = {}
            new_entries, new_problems, rechecked, recheck_problems = 0, [], 0, []
            recheck_rows = max(1, self._recheck_rows // len(positions))
            lagging: list[int] = []
            for shard, (verified_seq, verified_hash, recheck_seq) in sorted(positions.items()):
                head = heads[shard]
                seq, last_hash, count, problems = await self._new(tx, shard, verified_seq, verified_hash, head)
                new_entries, new_problems = new_entries + count, new_problems + problems
                checked, problems, next_recheck = await self._recheck(tx, shard, recheck_seq, verified_seq,
                                                                      recheck_rows)
                rechecked, recheck_problems = rechecked + checked, recheck_problems + problems
                # The position moves past a break too: the entries after it are still checked against their
                # links, and the recheck finds the break again on every lap until it is dealt with.
                saved[shard] = (seq, last_hash, next_recheck)
                if seq < head[0]:
                    lagging.append(seq)
            now = self._clock.now()
            await tx.save_chain_checks(saved, now)
        newest = max(seq for seq, _ in heads.values())
        verified = min(lagging) if lagging else newest
        signals.chain_checked(len(new_problems), len(recheck_problems), verified, newest, now)
        for check, problems in (("new", new_problems), ("recheck", recheck_problems)):
            if problems:
                log.error("audit_chain_verification_failed", check=check, problems=problems[:_LOGGED_PROBLEMS],
                          problem_count=len(problems))
        return ChainReport(verified, new_entries, rechecked, new_problems, recheck_problems)

    async def _new(self, tx: StatusTransaction, shard: int, seq: int, last_hash: bytes, head: tuple[int, bytes]
                   ) -> tuple[int, bytes, int, list[str]]:
        """(seq and hash verified up to, entries verified, problems) for a shard's entries after `seq`."""
        count, problems = 0, []
        for _ in range(self._new_pages):
            rows = [row for row in await tx.audit_chain(shard, seq, self._page) if row[0].seq <= head[0]]
            if not rows:
                if (seq, last_hash) != head:
                    problems.append(f"shard {shard}: the chain ends at seq {seq} but its head says seq {head[0]}")
                break
            problems += self._chain.find_breaks(rows, last_hash, seq)
            seq, last_hash = rows[-1][0].seq, rows[-1][2]
            count += len(rows)
        return seq, last_hash, count, problems

    async def _recheck(self, tx: StatusTransaction, shard: int, after_seq: int, verified_seq: int, limit: int
                       ) -> tuple[int, list[str], int]:
        """(entries rechecked, problems, where the next recheck starts) for a page of a shard's entries
        verified before, after `after_seq`."""
        if after_seq >= verified_seq:
            after_seq = 0
        rows = [row for row in await tx.audit_chain(shard, after_seq, limit) if row[0].seq <= verified_seq]
        if not rows:
            return 0, [], 0
        start_hash = await tx.audit_entry_hash(after_seq) if after_seq else b""
        problems = self._chain.find_breaks(rows, start_hash, after_seq)
        last = rows[-1][0].seq
        return len(rows), problems, 0 if last >= verified_seq else last

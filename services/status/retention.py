"""Time-driven work on stored statuses and personal data: scheduled changes decided when their time
comes, and personal data deleted or reduced when its retention ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.runtime.clock import Clock
from services.runtime.logs import get_logger
from services.status.audit import AuditChain
from services.status.deciding import Decider
from services.status.model import ChangeCause
from services.status.repository import StatusRepository

log = get_logger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    check_in_horizon: timedelta    # check-ins older than this are neither read nor kept
    fact_retention: timedelta      # facts are kept this long, and after it until the person is plainly green
    appeal_retention: timedelta    # decided appeals (statements, evidence) are kept this long
    # Audit entries' details (reasons: areas, diagnoses, record ids) are kept this long, then reduced
    # to keyed digests; the decision itself (colour, cause, rule set, officers, basis) is kept.
    audit_detail_retention: timedelta = timedelta(days=180)


class Retention:
    def __init__(self, decider: Decider, repository: StatusRepository, chain: AuditChain, policy: RetentionPolicy,
                 clock: Clock) -> None:
        self._decider = decider
        self._repository = repository
        self._chain = chain
        self._policy = policy
        self._clock = clock

    async def review_due(self, batch: int = 1000) -> int:
        """Recomputes statuses whose next change time has come (Hubei's lapses, ends of periods)."""
        total = 0
        while True:
            due = await self._repository.due_for_review(self._clock.now(), batch)
            if not due:
                return total
            await self._decider.decide(due, ChangeCause.SCHEDULE, refresh=False)
            total += len(due)


    async def purge(self) -> None:
        """Personal data past its retention: expired codes, old check-ins, settled facts, decided appeals.
        Statuses and the audit log stay: they are the record of every decision."""
        now = self._clock.now()
        codes = await self._repository.purge_codes(now)
        check_ins = await self._repository.purge_check_ins(now - self._policy.check_in_horizon)
        facts = await self._repository.purge_settled_facts(now - self._policy.fact_retention)
        facts += await self._repository.purge_superseded(now - self._policy.fact_retention)
        # Short-lived facts go whatever the colour; a rule set never shows them that long (rules.SHORT_LIVED),
        # but their persons are decided again so no status still rests on a deleted fact.
        expired = await self._repository.purge_expired_facts(now)
        for start in range(0, len(expired), 1000):
            await self._decider.decide(expired[start:start + 1000], ChangeCause.SCHEDULE, refresh=False)
        appeals = await self._repository.purge_decided_appeals(now - self._policy.appeal_retention)
        reduced = await self.reduce_audit_details()
        log.info("status_purged", codes=codes, check_ins=check_ins, facts=facts, expired_facts=len(expired),
                 appeals=appeals, audit_entries_reduced=reduced)

    async def reduce_audit_details(self, batch: int = 1000) -> int:
        """Reduces the details of audit entries past their retention to keyed digests (see
        AuditChain.reduced); the chain covers their digest, so it still verifies. Returns how many."""
        cutoff = self._clock.now() - self._policy.audit_detail_retention
        total = 0
        while due := await self._repository.audit_details_to_reduce(cutoff, batch):
            done = await self._repository.reduce_audit_details(
                [(seq, self._chain.reduced(reasons)) for seq, reasons in due], self._clock.now())
            total += done
            if len(due) < batch:
                break
        return total

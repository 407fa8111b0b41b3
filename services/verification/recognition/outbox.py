"""Delivering our red/yellow batches to every peer until each acknowledges: the outbox's job.

Publishing writes the batch and one delivery per peer in one transaction (repository.publish_batch);
this sends them. Safe in several replicas: a round claims due deliveries with FOR UPDATE SKIP LOCKED
and a lease, sends, and settles; a sender killed after claiming leaves the lease to expire and
another round sends again. Receivers are idempotent per (origin province, batch id), so a batch sent
twice (stored by the peer, but the acknowledgement lost) is stored once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Gauge

from services.runtime.clock import Clock
from services.runtime.errors import DomainError
from services.runtime.logs import get_logger
from services.verification.recognition.exchange import risk_list_from_bytes
from services.verification.recognition.federation import PeerProvince
from services.verification.recognition.repository import ClaimedDelivery, Retry, VerificationRepository

log = get_logger(__name__)

OUTBOX_DEPTH = Gauge("healthcode_federation_outbox_depth",
                     "Red/yellow batch deliveries not yet acknowledged, by peer (its provinces).", ("peer",))
OUTBOX_OLDEST_AGE = Gauge("healthcode_federation_outbox_oldest_age_seconds",
                          "Age of the oldest unacknowledged delivery, by peer (0 when none).", ("peer",))


@dataclass(frozen=True)
class OutboxPolicy:
    # A claim is held this long: a sender that dies mid-delivery is retried by another after it.
    lease: timedelta = timedelta(seconds=60)
    first_backoff: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(minutes=5)
    # Deliveries per round (each one RPC, sent concurrently).
    round_size: int = 64


def next_attempt(attempts: int, now: datetime, policy: OutboxPolicy) -> datetime:
    """Exponential backoff after the `attempts`-th failed try: 1 s, 2 s, 4 s, ... up to the cap."""
    return now + min(policy.max_backoff, policy.first_backoff * (2 ** min(max(attempts - 1, 0), 20)))


@dataclass(frozen=True)
class Round:
    delivered: list[tuple[str, str]]  # (batch id, peer address)
    failed: list[tuple[str, str]]


class Outbox:
    def __init__(self, repository: VerificationRepository, peers: Sequence[PeerProvince], clock: Clock,
                 policy: OutboxPolicy = OutboxPolicy()) -> None:
        self._repository = repository
        self._peers = {peer.address: peer for peer in peers}
        self._clock = clock
        self.policy = policy
        # The exchange root's certificates of our exchange keys, by key id: sent with each batch they signed.
        self.key_certificates: dict[bytes, bytes] = {}

    def peer_addresses(self) -> list[str]:
        return list(self._peers)

    async def claim(self, batch_id: str | None = None) -> list[ClaimedDelivery]:
        now = self._clock.now()
        return await self._repository.claim_deliveries(now, now + self.policy.lease, self.policy.round_size,
                                                       batch_id)

    async def send(self, delivery: ClaimedDelivery) -> str | None:
        """Sends one claimed delivery; None when the peer acknowledged (a duplicate counts), else why not."""
        peer = self._peers.get(delivery.peer_address)
        if peer is None:
            return "PEER_NOT_CONFIGURED"
        batch_id, province_code, records = risk_list_from_bytes(delivery.batch.payload)
        try:
            await peer.submit_risk_list(batch_id, province_code, records, delivery.batch.key_id,
                                        delivery.batch.signature, self.key_certificates.get(delivery.batch.key_id, b""))
        except DomainError as error:
            return error.message[:200]
        return None

    async def settle(self, claimed: Sequence[ClaimedDelivery], outcomes: Sequence[str | None]) -> Round:
        now = self._clock.now()
        delivered = [(d.batch_id, d.peer_address) for d, error in zip(claimed, outcomes) if error is None]
        retries = [Retry(d.batch_id, d.peer_address, next_attempt(d.attempts, now, self.policy), error)
                   for d, error in zip(claimed, outcomes) if error is not None]
        await self._repository.settle_deliveries(delivered, retries, now)
        for retry in retries:
            log.warning("risk_list_delivery_failed", batch_id=retry.batch_id,
                        provinces=self._provinces(retry.peer_address), retry_at=retry.next_attempt.isoformat())
        return Round(delivered, [(r.batch_id, r.peer_address) for r in retries])

    async def deliver_due(self, batch_id: str | None = None) -> Round:
        """One round: claim what is due (only `batch_id`'s deliveries if given), send, settle."""
        return await self.deliver_claimed(await self.claim(batch_id))

    async def deliver_claimed(self, claimed: Sequence[ClaimedDelivery]) -> Round:
        if not claimed:
            return Round([], [])
        outcomes = await asyncio.gather(*(self.send(delivery) for delivery in claimed))
        return await self.settle(claimed, outcomes)

    def lease_until(self) -> datetime:
        return self._clock.now() + self.policy.lease

    async def run(self) -> None:
        """The background job's round: deliver until nothing due is left, then publish the gauges."""
        while (await self.deliver_due()).delivered:
            pass
        await self.observe()

    async def observe(self) -> dict[str, tuple[int, float]]:
        backlog = await self._repository.outbox_backlog()
        now = self._clock.now()
        figures = {}
        for address in set(self._peers) | set(backlog):
            depth, oldest = backlog.get(address, (0, None))
            age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
            label = self._provinces(address)
            OUTBOX_DEPTH.labels(label).set(depth)
            OUTBOX_OLDEST_AGE.labels(label).set(age)
            figures[label] = (depth, age)
        return figures

    def _provinces(self, address: str) -> str:
        peer = self._peers.get(address)
        return ",".join(sorted(peer.province_codes)) if peer else address

"""Fevers read on another province's code: reported to the issuing province's deployment through an
outbox (durable, retried with backoff until it answers, idempotent per report id), and, on the
issuer's side, checked and recorded as a fever-on-site fact in the holder's status.

The report carries the code as scanned: the issuer checks its own signature on it and that the code
was valid when it was read (a report that arrives late, after the code expired, still counts), and
that the reporting province is one the caller's certificate names.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from prometheus_client import Gauge

from services.runtime.clock import Clock
from services.runtime.errors import DomainError, InvalidArgument
from services.runtime.logs import get_logger
from services.verification.recognition.checker import FEVER_CELSIUS, Examined, examine
from services.verification.recognition.fever_repository import FeverRepository, FeverRetry, QueuedFever
from services.verification.recognition.outbox import OutboxPolicy, next_attempt
from services.verification.recognition.model import FeverReport, PeerFever
from services.verification.recognition.mutual import Recognition

log = get_logger(__name__)

MAX_REPORTS_PER_CALL = 1000
# A reading older than this is refused by the issuer: a fever-on-site finding lasts until the next
# normal check-in, and a report weeks late says nothing about the person now.
MAX_REPORT_AGE = timedelta(days=14)
MAX_READING = Decimal("45.0")
KEEP_SETTLED = timedelta(days=1)
MAX_PAYLOAD_CHARS = 8192

FEVER_OUTBOX_DEPTH = Gauge("healthcode_federation_fever_reports_pending",
                           "Fever reports to other provinces not yet answered.")


@dataclass(frozen=True)
class ReportOutcome:
    index: int
    accepted: bool
    reason: str = ""


class FeverOutbox:
    """Our checkpoints' fevers on peers' codes, sent to each code's issuer until it answers."""

    def __init__(self, repository: FeverRepository, recognition: Recognition, clock: Clock,
                 policy: OutboxPolicy = OutboxPolicy()) -> None:
        self._repository = repository
        self._recognition = recognition
        self._clock = clock
        self.policy = policy
        self._first_tries: set[asyncio.Task[int]] = set()

    async def report(self, report_id: str, issuer_province: str, payload: str, reading_time: datetime,
                     temperature: Decimal) -> asyncio.Task[int] | None:
        """Stores the report (durable before the checkpoint's answer) and starts its first try without
        waiting for it (a slow issuer never holds up the checkpoint); the task answers how many reports
        the issuer answered. None for a province no peer speaks for (logged, not kept: nobody to tell)."""
        peer = self._recognition.peer_for(issuer_province)
        if peer is None:
            log.warning("fever_report_no_peer", issuer_province=issuer_province, report_id=report_id)
            return None
        now = self._clock.now()
        queued = QueuedFever(peer.address, issuer_province, 1, FeverReport(
            report_id, self._recognition.home_province, payload, reading_time, temperature))
        await self._repository.queue(queued, now, now + self.policy.lease)
        task = asyncio.create_task(self._first_try(queued))
        # Held until done (the loop keeps only weak references); a try that fails is the job's to retry.
        self._first_tries.add(task)
        task.add_done_callback(self._first_tries.discard)
        return task

    async def _first_try(self, queued: QueuedFever) -> int:
        try:
            return await self._send_claimed([queued])
        except Exception as error:  # noqa: BLE001 — a background try: the job retries once the lease ends
            log.warning("fever_report_first_try_failed", report_id=queued.report.report_id,
                        error=type(error).__name__)
            return 0

    async def run(self) -> None:
        """The job's round: send what is due until nothing is left, then publish the backlog."""
        while True:
            now = self._clock.now()
            claimed = await self._repository.claim(now, now + self.policy.lease, self.policy.round_size)
            if not claimed or not await self._send_claimed(claimed):
                break
        depth, _ = await self._repository.backlog()
        FEVER_OUTBOX_DEPTH.set(depth)

    async def _send_claimed(self, claimed: Sequence[QueuedFever]) -> int:
        """One call per peer for its claimed reports; returns how many were answered."""
        by_peer: dict[str, list[QueuedFever]] = {}
        for queued in claimed:
            by_peer.setdefault(queued.peer_address, []).append(queued)
        results = await asyncio.gather(*(self._send(address, group) for address, group in by_peer.items()))
        answered = [pair for done, _ in results for pair in done]
        retries = [retry for _, failed in results for retry in failed]
        await self._repository.settle(answered, retries, self._clock.now())
        for retry in retries:
            log.warning("fever_report_delivery_failed", report_id=retry.report_id,
                        retry_at=retry.next_attempt.isoformat())
        return len(answered)

    async def _send(self, address: str, group: Sequence[QueuedFever]
                    ) -> tuple[list[tuple[str, str]], list[FeverRetry]]:
        peer = next((p for p in self._recognition.peers if p.address == address), None)
        now = self._clock.now()
        if peer is None:
            return [], [FeverRetry(q.report.report_id, next_attempt(q.attempts, now, self.policy), "PEER_NOT_CONFIGURED")
                        for q in group]
        try:
            errors = await peer.report_fevers([q.report for q in group])
        except DomainError as error:
            return [], [FeverRetry(q.report.report_id, next_attempt(q.attempts, now, self.policy), error.message[:200])
                        for q in group]
        for queued, error in zip(group, errors):
            if error:
                log.warning("fever_report_refused", report_id=queued.report.report_id, reason=error)
        return [(q.report.report_id, error) for q, error in zip(group, errors)], []

    async def purge(self) -> int:
        now = self._clock.now()
        return await self._repository.purge(now - KEEP_SETTLED, now - MAX_REPORT_AGE)


class FeverIntake:
    """Peers' fevers on our codes: each checked against the code itself, then recorded by our status."""

    def __init__(self, recognition: Recognition, clock: Clock) -> None:
        self._recognition = recognition
        self._clock = clock

    async def receive(self, reports: Sequence[FeverReport], caller: frozenset[str]) -> list[ReportOutcome]:
        if not 1 <= len(reports) <= MAX_REPORTS_PER_CALL:
            raise InvalidArgument.for_field("reports", f"must hold 1 to {MAX_REPORTS_PER_CALL} reports",
                                            reason="REPORTS_COUNT_INVALID")
        now = self._clock.now()
        outcomes: dict[int, ReportOutcome] = {}
        by_province: dict[str, list[tuple[int, PeerFever]]] = {}
        for index, report in enumerate(reports):
            checked = self._check(report, caller, now)
            if isinstance(checked, str):
                outcomes[index] = ReportOutcome(index, False, checked)
            else:
                by_province.setdefault(report.reporter_province, []).append((index, checked))
        for province, fevers in by_province.items():
            errors = await self._recognition.status.record_peer_fevers(province, [fever for _, fever in fevers])
            for (index, _), error in zip(fevers, errors):
                outcomes[index] = ReportOutcome(index, not error, error)
        accepted = sum(1 for outcome in outcomes.values() if outcome.accepted)
        log.info("fever_reports_received", provinces=sorted(caller), received=len(reports), accepted=accepted)
        return [outcomes[index] for index in range(len(reports))]

    def _check(self, report: FeverReport, caller: frozenset[str], now: datetime) -> PeerFever | str:
        """The fever our status is to record, or why the report is refused (for good)."""
        recognition = self._recognition
        try:
            report_id = str(uuid.UUID(report.report_id))
        except ValueError:
            return "REPORT_ID_INVALID"
        if report.reporter_province not in caller:
            return "PROVINCE_NOT_IN_CERTIFICATE"
        reading = report.reading_time
        if reading is None or reading > now + recognition.view.clock_skew or reading < now - MAX_REPORT_AGE:
            return "READING_TIME_INVALID"
        if not math.isfinite(report.temperature) or not FEVER_CELSIUS <= Decimal(str(round(report.temperature, 1))) \
                <= MAX_READING:
            return "NOT_A_FEVER"
        temperature = Decimal(str(round(report.temperature, 1)))
        if len(report.payload) > MAX_PAYLOAD_CHARS:
            return "CODE_PAYLOAD_TOO_LARGE"
        # Judged as at the reading: our key, our signature, and the code unexpired then.
        examined = examine(report.payload, recognition.view, reading)
        if not isinstance(examined, Examined):
            return f"CODE_{examined.reason}" if not examined.reason.startswith("CODE_") else examined.reason
        claims = examined.code.claims
        if claims.issuer_province not in recognition.own_provinces:
            return "CODE_NOT_ISSUED_HERE"
        return PeerFever(report_id, claims.code_id, claims.person_ref, reading, temperature, claims.expires_at)


"""VerifyCode online: the pure check, plus the lookups it needs (the issuer's word on the
code's standing, the local red/yellow lists), the decision recorded, a fever reported."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from services import areas
from services.codes.dcc import HC1_PREFIX
from services.runtime.batches import BatchWriter
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, Unavailable
from services.runtime.logs import get_logger
from services.verification import signals
from services.verification.recognition.checker import MAX_TEST_REQUIREMENT, Decision, Examined, Standing, Verdict, conclude, examine
from services.verification.recognition.dcc_checkpoint import DccCheckpoint
from services.verification.recognition.fever_reports import FeverOutbox
from services.verification.recognition.model import Rejection
from services.verification.recognition.mutual import Recognition
from services.verification.recognition.repository import DecisionRow, VerificationRepository

log = get_logger(__name__)
_CHECKPOINT_ID = re.compile(r"^[a-z0-9._-]{1,64}\Z")
MIN_READING, MAX_READING = Decimal("30.0"), Decimal("45.0")
MAX_OFFLINE_DECISIONS = 1000
# A device uploads what it decided offline once back: within the decisions' retention, and by a device
# clock at most an hour ahead of ours (a drifting clock must not cost the record of what was decided).
OFFLINE_UPLOAD_WINDOW = timedelta(days=30)
OFFLINE_CLOCK_AHEAD = timedelta(hours=1)
_REASON = re.compile(r"^[A-Za-z0-9_:.-]{0,128}\Z")
_CODE_ID = re.compile(r"^([0-9a-f]{32})?\Z")


@dataclass(frozen=True)
class OfflineDecision:
    decision_id: str
    verify_time: datetime | None
    decision: int
    reason: str
    issuer_province: str
    colour: int
    code_id: str


@dataclass(frozen=True)
class Recorded:
    verdict: Verdict
    verification_id: str


def test_requirement(hours: int, field_path: str) -> timedelta | None:
    """A checkpoint's "negative within N hours" (0: none), or InvalidArgument."""
    if hours == 0:
        return None
    if not 0 < hours <= MAX_TEST_REQUIREMENT.total_seconds() // 3600:
        raise InvalidArgument.for_field(field_path, "must be from 1 to 720 hours, or 0 for no requirement",
                                        reason="TEST_REQUIREMENT_INVALID")
    return timedelta(hours=hours)


def _check_place(checkpoint_id: str, area_code: str) -> None:
    if not _CHECKPOINT_ID.match(checkpoint_id):
        raise InvalidArgument.for_field("checkpoint_id", "must be 1 to 64 of a-z, 0-9, '.', '-', '_'",
                                        reason="CHECKPOINT_ID_INVALID")
    if not areas.is_area_code(area_code):
        raise InvalidArgument.for_field("area_code", "is not a GB/T 2260 area code", reason="AREA_CODE_INVALID")


def _offline_problem(item: OfflineDecision, earliest: datetime, latest: datetime) -> tuple[str, str] | None:
    try:
        uuid.UUID(item.decision_id)
    except ValueError:
        return "decision_id", "DECISION_ID_INVALID"
    if item.verify_time is None or not earliest <= item.verify_time <= latest:
        return "verify_time", "VERIFY_TIME_INVALID"
    if item.decision not in (Decision.PASS, Decision.DENY, Decision.CHECK_MANUALLY):
        return "decision", "DECISION_INVALID"
    if not _REASON.match(item.reason) or (item.decision != Decision.PASS) != bool(item.reason):
        return "reason", "REASON_INVALID"
    if item.issuer_province and not areas.is_province_code(item.issuer_province):
        return "issuer_province_code", "PROVINCE_CODE_INVALID"
    if item.colour not in (0, 1, 2, 3):
        return "colour", "COLOUR_INVALID"
    if not _CODE_ID.match(item.code_id):
        return "code_id", "CODE_ID_INVALID"
    return None


class Checkpoint:
    def __init__(self, recognition: Recognition, repository: VerificationRepository, clock: Clock,
                 dcc: DccCheckpoint | None = None, fever_outbox: FeverOutbox | None = None,
                 decisions: BatchWriter[DecisionRow] | None = None) -> None:
        self._recognition = recognition
        # Online decisions are queued and written in batches off the response path (runtime/batches.py);
        # without a writer each is INSERTed before the answer.
        self.decisions = decisions
        self._repository = repository
        self._clock = clock
        self._dcc = dcc
        self._fever_outbox = fever_outbox

    async def verify(self, payload: str, checkpoint_id: str, area_code: str, temperature: float | None,
                     negative_test_within_hours: int = 0) -> Recorded:
        _check_place(checkpoint_id, area_code)
        reading = None
        if temperature is not None:
            reading = Decimal(str(round(temperature, 1))) if temperature == temperature else None
            if reading is None or not MIN_READING <= reading <= MAX_READING:
                raise InvalidArgument.for_field("temperature_celsius", f"must be from {MIN_READING} to "
                                                f"{MAX_READING} ℃", reason="TEMPERATURE_INVALID")
        test_within = test_requirement(negative_test_within_hours, "negative_test_within_hours")
        now = self._clock.now()
        if self._dcc is not None and payload.startswith(HC1_PREFIX):
            # An EU Digital COVID Certificate: its own check (recognition/dcc_checkpoint.py), recorded the same way.
            return Recorded(*await self._dcc.verify(payload, checkpoint_id, area_code, reading, now, test_within))
        view = self._recognition.view
        examined = examine(payload, view, now)
        if isinstance(examined, Examined):
            claims = examined.code.claims
            # The issuer's word and the local lists are independent lookups: ask both at once.
            standing, listed = await asyncio.gather(self._standing(claims.issuer_province, claims.code_id),
                                                    self._repository.listed_colour(claims.person_ref, now))
            verdict = conclude(examined, view, standing, listed, reading, now, test_within)
        else:
            verdict = examined
        verification_id = str(uuid.uuid4())
        row = DecisionRow(verification_id, now, checkpoint_id, area_code, int(verdict.decision), verdict.reason,
                          verdict.issuer_province or None, int(verdict.colour) if verdict.colour else None,
                          verdict.code_id)
        if self.decisions is not None:
            await self.decisions.put(row)
        else:
            await self._repository.record_decision(row)
        signals.decided(verdict.decision.name, verdict.reason)
        if verdict.reason == "FEVER":
            if verdict.issuer_province in self._recognition.own_provinces:
                await self._report_fever(verdict, reading, verification_id)
            elif self._fever_outbox is not None:
                # Another province's code: its issuer is told (the outbox keeps trying until it answers).
                await self._fever_outbox.report(verification_id, verdict.issuer_province, payload, now, reading)
        return Recorded(verdict, verification_id)

    async def record_offline(self, checkpoint_id: str, area_code: str, decisions: Sequence[OfflineDecision]
                             ) -> tuple[int, int, list[Rejection]]:
        """A device's offline decisions: stored once per decision id (an upload retried, or sent by two
        tabs at once, stores each decision once); a bad one is reported by index and field, the good
        ones kept. (stored now, already stored, rejections)."""
        _check_place(checkpoint_id, area_code)
        if len(decisions) > MAX_OFFLINE_DECISIONS:
            raise InvalidArgument.for_field("decisions", f"at most {MAX_OFFLINE_DECISIONS} per call",
                                            reason="TOO_MANY_DECISIONS")
        now = self._clock.now()
        rows, rejections = [], []
        for index, item in enumerate(decisions):
            problem = _offline_problem(item, now - OFFLINE_UPLOAD_WINDOW, now + OFFLINE_CLOCK_AHEAD)
            if problem:
                rejections.append(Rejection(index, f"decisions[{index}].{problem[0]}", problem[1]))
                continue
            rows.append(DecisionRow(str(uuid.UUID(item.decision_id)), item.verify_time, checkpoint_id, area_code,
                                    item.decision, item.reason, item.issuer_province or None, item.colour or None,
                                    bytes.fromhex(item.code_id) if item.code_id else None))
        unique = list({row.verification_id: row for row in rows}.values())
        stored = await self._repository.record_offline_decisions(unique) if unique else set()
        for row in unique:
            if row.verification_id in stored:
                signals.decided(Decision(row.decision).name, row.reason)
        return len(stored), len(rows) - len(stored), rejections

    async def _standing(self, issuer_province: str, code_id: bytes) -> Standing | None:
        """Our status answers for our provinces; a peer for its own; None if nobody can."""
        if issuer_province in self._recognition.own_provinces:
            standings = await self._recognition.status.standings([code_id])
        else:
            peer = self._recognition.peer_for(issuer_province)
            standings = await peer.standings([code_id]) if peer is not None else None
        return standings[0] if standings else None

    async def _report_fever(self, verdict: Verdict, reading: Decimal, verification_id: str) -> None:
        try:
            await self._recognition.status.report_fever(verdict.code_id, reading, self._clock.now(), verification_id)
        except Unavailable:
            # The DENY stands; the fact is lost only if status stays down (the decision row keeps the case).
            log.warning("fever_not_reported", verification_id=verification_id)

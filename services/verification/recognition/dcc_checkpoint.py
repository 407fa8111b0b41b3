"""VerifyCode for an EU DCC (`HC1:`): the pure check with the signer looked up in the DCC trust list,
the province's acceptance rules for the checkpoint's area, and the decision recorded like any other
(the issuing country and the kind, never a name, a birth date or a certificate identifier)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from services import areas
from services.runtime.logs import get_logger
from services.verification.recognition.checker import Verdict
from services.verification.recognition.dcc_check import DccVerdict, OpenedDcc, decide_dcc, open_dcc
from services.verification.recognition.dcc_repository import DccRepository
from services.verification.recognition.dcc_rules import Rule
from services.verification.recognition.dcc_trust import DccTrust
from services.verification.recognition.repository import DecisionRow

log = get_logger(__name__)


def verdict_of(dcc_verdict: DccVerdict) -> Verdict:
    """As every checkpoint answer: no colour, no issuing province (a country is not one)."""
    return Verdict(dcc_verdict.decision, dcc_verdict.reason, masked_name=dcc_verdict.masked_name)


class DccCheckpoint:
    def __init__(self, trust: DccTrust, repository: DccRepository, rules: tuple[Rule, ...],
                 clock_skew: timedelta) -> None:
        self.trust = trust
        self._repository = repository
        self._rules = rules
        self._skew = clock_skew

    async def check(self, payload: str, area_code: str, now: datetime, temperature: Decimal | None = None,
                    test_within: timedelta | None = None) -> DccVerdict:
        opened = open_dcc(payload)
        if not isinstance(opened, OpenedDcc):
            return opened
        signer = await self.trust.signer(opened.key_id)
        return decide_dcc(opened, signer, self._rules, areas.province_code_of(area_code), now, self._skew,
                          temperature, test_within)

    async def verify(self, payload: str, checkpoint_id: str, area_code: str, temperature: Decimal | None,
                     now: datetime, test_within: timedelta | None = None) -> tuple[Verdict, str]:
        verdict = await self.check(payload, area_code, now, temperature, test_within)
        verification_id = str(uuid.uuid4())
        await self._repository.record_decision(
            DecisionRow(verification_id, now, checkpoint_id, area_code, int(verdict.decision), verdict.reason,
                        None, None, None),
            verdict.issuer_country or None, verdict.kind or None)
        log.info("dcc_verified", verification_id=verification_id, decision=verdict.decision.name,
                 reason=verdict.reason, country=verdict.issuer_country)
        return verdict_of(verdict), verification_id

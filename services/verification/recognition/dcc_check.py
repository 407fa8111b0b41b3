"""The DCC check, pure: the same functions decide online (VerifyCode), offline (a checkpoint device)
and in `healthcode dcc-verify`, and report every step's result beside the decision.

Steps, in order, failing closed: unprefix → base45 → inflate (bounded) → COSE → CBOR (CWT and the
hcert schema) → signature (the key id known in the DCC trust list, then the signature) → expiry (the
DSC covered the certificate when signed, it is issued and not expired, within the clock skew) →
key usage (the DSC's extended key usage allows this kind) → the province's acceptance rules.
`open_dcc` runs what the payload proves by itself; `decide_dcc` what needs the signer and the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from services.codes import dcc
from services.codes.payload import CodeRejected, decode_base45
from services.verification.recognition.certlogic import CertLogicError, parse_date_time
from services.verification.recognition.checker import FEVER_CELSIUS, Decision
from services.verification.recognition.dcc_rules import Rule, evaluate_rules, in_force

STEPS = ("unprefix", "base45", "inflate", "cose", "cbor", "signature", "expiry", "key_usage", "rules")
OK, SKIPPED = "OK", "SKIPPED"
NOT_DETECTED = "260415000"  # SNOMED CT: the test result "not detected"


@dataclass(frozen=True)
class DccVerdict:
    decision: Decision
    reason: str
    steps: dict[str, str]
    issuer_country: str = ""
    kind: str = ""
    masked_name: str = field(default="", repr=False)
    rules: tuple[str, ...] = ()  # "identifier version" of each rule applied


@dataclass(frozen=True)
class OpenedDcc:
    """A payload read through CBOR; its signer is still to be found by `key_id`."""

    read: dcc.ReadDcc
    steps: dict[str, str]

    @property
    def key_id(self) -> bytes:
        return self.read.cose.key_id


def _finish(steps: dict[str, str], decision: Decision, reason: str, **known) -> DccVerdict:
    for step in STEPS:
        steps.setdefault(step, SKIPPED)
    return DccVerdict(decision, reason, dict(steps), **known)


def open_dcc(payload: str) -> OpenedDcc | DccVerdict:
    steps: dict[str, str] = {}
    value: object = payload
    layers = (("unprefix", dcc.unprefix), ("base45", decode_base45), ("inflate", dcc.inflate_dcc),
              ("cose", dcc.open_cose))
    try:
        for step, read in layers:
            current = step
            value = read(value)
            steps[step] = OK
        current = "cbor"
        certificate = dcc.read_claims(value.payload)
        steps["cbor"] = OK
    except CodeRejected as rejected:
        steps[current] = rejected.reason
        return _finish(steps, Decision.DENY, rejected.reason)
    return OpenedDcc(dcc.ReadDcc(value, certificate), steps)


def decide_dcc(opened: OpenedDcc, signer: dcc.SignerCertificate | None, rules: tuple[Rule, ...],
               province: str | None, now: datetime, skew: timedelta = timedelta(0),
               temperature: Decimal | None = None, test_within: timedelta | None = None) -> DccVerdict:
    """The verdict once the signer (None: the key id is not in the trust list) is looked up.
    `province` picks the acceptance rules; None leaves them out (the command, without --province).
    `test_within`: the checkpoint's requirement, met only by a negative test sampled at most this long ago."""
    steps = dict(opened.steps)
    certificate = opened.read.certificate
    country = certificate.issuer_country if len(certificate.issuer_country) == 2 else ""
    known = {"issuer_country": country,
             "kind": certificate.kind.value, "masked_name": _masked_name(certificate.hcert)}
    if signer is None:
        steps["signature"] = "KEY_UNKNOWN"
        return _finish(steps, Decision.DENY, "KEY_UNKNOWN", **known)
    if not dcc.signature_verifies(opened.read.cose, signer):
        steps["signature"] = "SIGNATURE_INVALID"
        return _finish(steps, Decision.DENY, "SIGNATURE_INVALID", **known)
    steps["signature"] = OK
    problem = dcc.validity_problem(certificate, signer, now, skew)
    if problem:
        steps["expiry"] = problem
        return _finish(steps, Decision.DENY, problem, **known)
    steps["expiry"] = OK
    if not signer.may_sign(certificate.kind):
        steps["key_usage"] = "KEY_USAGE_MISMATCH"
        return _finish(steps, Decision.DENY, "KEY_USAGE_MISMATCH", **known)
    steps["key_usage"] = OK
    if province is None:
        return _after_rules(steps, certificate, now, skew, temperature, test_within, known)
    return _apply_rules(steps, certificate, rules, province, now, skew, temperature, test_within, known)


def _apply_rules(steps: dict[str, str], certificate: dcc.HealthCertificate, rules: tuple[Rule, ...],
                 province: str, now: datetime, skew: timedelta, temperature: Decimal | None,
                 test_within: timedelta | None, known: dict) -> DccVerdict:
    current = in_force(rules, province, now)
    if not current:
        steps["rules"] = "NO_RULES"
        return _finish(steps, Decision.CHECK_MANUALLY, "NO_RULES", **known)
    applicable = [rule for rule in current if rule.kind in (None, certificate.kind)]
    known["rules"] = tuple(f"{rule.identifier} {rule.version_text}" for rule in applicable)
    if not any(rule.kind is certificate.kind for rule in applicable):
        steps["rules"] = "CERTIFICATE_TYPE_NOT_ACCEPTED"
        return _finish(steps, Decision.DENY, "CERTIFICATE_TYPE_NOT_ACCEPTED", **known)
    data = {"payload": certificate.hcert, "external": {
        "validationClock": now.isoformat(), "iat": certificate.issued_at.isoformat(),
        "exp": certificate.expires_at.isoformat(), "issuerCountryCode": certificate.issuer_country}}
    outcomes = evaluate_rules(applicable, data)
    failed = [outcome.rule.identifier for outcome in outcomes if outcome.passed is False]
    unknown = [outcome.rule.identifier for outcome in outcomes if outcome.passed is None]
    if failed:
        steps["rules"] = " ".join(f"RULE_FAILED:{identifier}" for identifier in failed)
        return _finish(steps, Decision.DENY, f"RULE_FAILED:{failed[0]}", **known)
    if unknown:
        steps["rules"] = " ".join(f"RULE_ERROR:{identifier}" for identifier in unknown)
        return _finish(steps, Decision.CHECK_MANUALLY, f"RULE_ERROR:{unknown[0]}", **known)
    steps["rules"] = OK
    return _after_rules(steps, certificate, now, skew, temperature, test_within, known)


def _after_rules(steps: dict[str, str], certificate: dcc.HealthCertificate, now: datetime, skew: timedelta,
                 temperature: Decimal | None, test_within: timedelta | None, known: dict) -> DccVerdict:
    if test_within is not None and not _negative_test_within(certificate, now, skew, test_within):
        return _finish(steps, Decision.DENY, "NEGATIVE_TEST_REQUIRED", **known)
    if temperature is not None and temperature >= FEVER_CELSIUS:
        return _finish(steps, Decision.DENY, "FEVER", **known)
    return _finish(steps, Decision.PASS, "", **known)


def _negative_test_within(certificate: dcc.HealthCertificate, now: datetime, skew: timedelta,
                          within: timedelta) -> bool:
    if certificate.kind is not dcc.CertificateType.TEST:
        return False
    entry = certificate.hcert["t"][0]
    try:
        sampled = parse_date_time(entry["sc"])
    except CertLogicError:
        return False
    return entry["tr"] == NOT_DETECTED and sampled <= now + skew and sampled + within + skew >= now


def check_dcc(payload: str, signers: dict[bytes, dcc.SignerCertificate], rules: tuple[Rule, ...],
              province: str | None, now: datetime, skew: timedelta = timedelta(0),
              temperature: Decimal | None = None, test_within: timedelta | None = None) -> DccVerdict:
    """The whole check against signers held in memory (offline devices, the command)."""
    opened = open_dcc(payload)
    if isinstance(opened, DccVerdict):
        return opened
    return decide_dcc(opened, signers.get(opened.key_id), rules, province, now, skew, temperature, test_within)


def _masked_name(hcert: dict) -> str:
    """The standardised names (ICAO 9303: A-Z and '<'), each word but its first letter masked, for the
    officer to compare with the traveller's passport."""
    name = hcert.get("nam", {})
    words = " ".join(name.get(part) or "" for part in ("gnt", "fnt")).replace("<", " ").split()
    return " ".join(word[0] + "*" * (len(word) - 1) for word in words)[:64]

"""The code check, pure: the same functions decide online (the service) and offline (a checkpoint
device holding a snapshot), so both give the same verdict on the same case.

Checks run in a fixed order and fail closed: read the payload (prefix, size caps,
decompression cap, structure) → key known → signature → key valid at signing time and not
revoked → not expired, within the clock skew → status version current → issuing province
recognised here → colour after mapping and local red/yellow lists → temperature → the
checkpoint's test requirement (a negative sample recent enough, as the code carries it).
`examine` does everything the code itself proves; `conclude` adds what must be looked up
(the code's standing, the local lists) and what the checkpoint measured.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric import ec

from services.codes import CodeRejected, SignedCode, read_code
from services.colours import Colour

FEVER_CELSIUS = Decimal("37.3")


class KeyPurpose(enum.IntEnum):
    """Numbered as healthcode.verification.v1.KeyPurpose: what a trusted key signs."""

    CODES = 1
    EXCHANGES = 2


SIGNS_CODES, SIGNS_EXCHANGES = KeyPurpose.CODES, KeyPurpose.EXCHANGES


class Decision(enum.IntEnum):
    """Numbered as healthcode.verification.v1.Decision."""

    PASS = 1
    DENY = 2
    CHECK_MANUALLY = 3


class Standing(enum.IntEnum):
    """Numbered as healthcode.verification.v1.CodeStanding."""

    CURRENT = 1
    STALE = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class TrustedKey:
    key_id: bytes
    province_code: str
    purpose: int
    public_key: ec.EllipticCurvePublicKey
    not_before: datetime
    not_after: datetime
    revoke_time: datetime | None


@dataclass(frozen=True)
class Agreement:
    issuer_province: str
    accepted_since: datetime
    colour_mapping: dict[str, Colour]
    end_time: datetime | None

    def accepts(self, issued_at: datetime, now: datetime) -> bool:
        return self.accepted_since <= issued_at and (self.end_time is None or now < self.end_time)


@dataclass(frozen=True)
class TrustView:
    """What a check trusts: keys by id, the provinces that are local, agreements by issuer."""

    keys: dict[bytes, TrustedKey]
    own_provinces: frozenset[str]
    agreements: dict[str, Agreement]
    clock_skew: timedelta


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str = ""
    colour: Colour | None = None
    display_colour: str = ""
    masked_name: str = ""
    issuer_province: str = ""
    clock_skew_seconds: int = 0
    code_id: bytes | None = None
    negative_test_time: datetime | None = None


@dataclass(frozen=True)
class Examined:
    """A code whose signature, key and times hold; what remains needs lookups."""

    code: SignedCode
    clock_skew_seconds: int

    def verdict(self, decision: Decision, reason: str = "", colour: Colour | None = None) -> Verdict:
        claims = self.code.claims
        return Verdict(decision, reason, colour if colour is not None else claims.national_colour,
                       claims.display_colour, claims.masked_name, claims.issuer_province, self.clock_skew_seconds,
                       claims.code_id, claims.negative_test_time)


def _deny(reason: str, **known) -> Verdict:
    return Verdict(Decision.DENY, reason, **known)


def examine(payload: str, trust: TrustView, now: datetime) -> Examined | Verdict:
    """Everything the code proves by itself; a Verdict (DENY) at the first failed check."""
    try:
        code = read_code(payload)
    except CodeRejected as rejected:
        return _deny(rejected.reason)
    claims = code.claims
    known = {"issuer_province": claims.issuer_province}
    key = trust.keys.get(code.key_id)
    if key is None or key.purpose != SIGNS_CODES:
        return _deny("KEY_UNKNOWN", **known)
    try:
        code.verify(key.public_key)
    except CodeRejected as rejected:
        return _deny(rejected.reason, **known)
    if key.province_code != claims.issuer_province:
        return _deny("KEY_PROVINCE_MISMATCH", **known)
    if not key.not_before <= claims.issued_at < key.not_after:
        return _deny("KEY_NOT_VALID_AT_SIGNING", **known)
    if key.revoke_time is not None:
        # Known to be revoked: refused whatever the clocks say (the revoking province's may run ahead).
        return _deny("KEY_REVOKED", **known)
    ahead = claims.issued_at - now
    skew_seconds = max(0, int(ahead.total_seconds()))
    if ahead > trust.clock_skew:
        return _deny("CODE_FROM_FUTURE", clock_skew_seconds=skew_seconds, **known)
    if now >= claims.expires_at + trust.clock_skew:
        return _deny("CODE_EXPIRED", clock_skew_seconds=skew_seconds, **known)
    return Examined(code, skew_seconds)


MAX_TEST_REQUIREMENT = timedelta(hours=720)


def conclude(examined: Examined, trust: TrustView, standing: Standing | None, listed: Colour | None,
             temperature: Decimal | None, now: datetime, test_within: timedelta | None = None) -> Verdict:
    """The verdict once the code's standing (None: its issuer could not be asked) and the
    most severe local red/yellow record for its holder are known. `test_within`: the
    checkpoint requires a negative sample at most this old (the clock skew tolerated)."""
    claims = examined.code.claims
    if standing is None:
        return examined.verdict(Decision.CHECK_MANUALLY, "ISSUER_UNREACHABLE")
    if standing is Standing.STALE:
        return examined.verdict(Decision.DENY, "STATUS_STALE")
    if standing is Standing.UNKNOWN:
        return examined.verdict(Decision.DENY, "CODE_UNKNOWN")
    colour = claims.national_colour
    if claims.issuer_province not in trust.own_provinces:
        agreement = trust.agreements.get(claims.issuer_province)
        if agreement is None or not agreement.accepts(claims.issued_at, now):
            return examined.verdict(Decision.DENY, "ISSUER_NOT_RECOGNISED")
        # A mapping makes an issuer's display colour stricter here (orange → red), never more
        # lenient than the national colour the issuer signed: a purple code is red everywhere.
        colour = max(colour, agreement.colour_mapping.get(claims.display_colour, colour))
    if listed is not None and listed > colour:
        return examined.verdict(Decision.DENY, f"RISK_LIST_{listed.name}", listed)
    if colour is not Colour.GREEN:
        return examined.verdict(Decision.DENY, f"COLOUR_{colour.name}", colour)
    if temperature is not None and temperature >= FEVER_CELSIUS:
        return examined.verdict(Decision.DENY, "FEVER", colour)
    if test_within is not None:
        sampled = claims.negative_test_time
        if sampled is None or sampled + test_within + trust.clock_skew < now:
            return examined.verdict(Decision.DENY, "NEGATIVE_TEST_REQUIRED", colour)
    return examined.verdict(Decision.PASS, "", colour)

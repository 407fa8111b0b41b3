"""Offline verification on a checkpoint device: a signed snapshot (then deltas) and the same
check the service runs. No call to the service while verifying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from healthcode.verification.v1 import verification_pb2 as pb

from services import areas
from services.codes import dcc
from services.colours import Colour
from services.runtime.timestamps import answer_datetime, optional_answer_datetime
from services.verification.checker import (
    Agreement,
    Decision,
    Examined,
    Standing,
    TrustedKey,
    TrustView,
    Verdict,
    conclude,
    examine,
)
from services.verification.dcc_check import check_dcc
from services.verification.dcc_checkpoint import verdict_of
from services.verification.dcc_rules import Rule, load_rules
from services.verification.exchange import SNAPSHOT, verifies
from services.verification.exchange_root import ExchangeRoot, KeyNotCertified


class SnapshotRejected(Exception):
    """The snapshot is not signed by the deployment the device trusts, or does not fit what it holds."""


class OfflineCheckpoint:
    """What a device holds: the trust view, stale codes and red/yellow records from snapshots signed by
    its deployment's exchange key: the key configured on the device, or, given the federation's exchange
    root and the device's provinces, whichever key the root certified for one of them (so a rotated
    exchange key is taken, and an uncertified one refused)."""

    def __init__(self, exchange_key: ec.EllipticCurvePublicKey | None, max_age: timedelta,
                 dcc_rules: tuple[Rule, ...] | None = None, *, exchange_root: ExchangeRoot | None = None,
                 provinces: frozenset[str] = frozenset()) -> None:
        if exchange_key is None and (exchange_root is None or not provinces):
            raise ValueError("a device trusts its deployment's exchange key, or the exchange root and its provinces")
        self._exchange_key = exchange_key
        self._exchange_root = exchange_root
        self._provinces = provinces
        self._dcc_rules = load_rules() if dcc_rules is None else dcc_rules
        self._dcc_signers: dict[bytes, dcc.SignerCertificate] = {}
        self._max_age = max_age
        self.version = 0
        self._issue_time: datetime | None = None
        self._keys: dict[bytes, TrustedKey] = {}
        self._agreements: dict[str, Agreement] = {}
        self._own: frozenset[str] = frozenset()
        self._stale: dict[bytes, datetime] = {}
        self._listed: dict[bytes, set[tuple[Colour, str, str, datetime]]] = {}
        self._skew = timedelta(0)

    def _signer(self, response: pb.GetOfflineSnapshotResponse, now: datetime) -> ec.EllipticCurvePublicKey:
        if self._exchange_key is not None:
            return self._exchange_key
        try:
            certified = self._exchange_root.certified(bytes(response.key_certificate), now)
        except KeyNotCertified as refusal:
            raise SnapshotRejected(refusal.message) from None
        if certified.key_id.hex() != response.key_id or not certified.provinces & self._provinces:
            raise SnapshotRejected("the snapshot's key is not certified for this device's provinces")
        return certified.public_key

    def apply(self, response: pb.GetOfflineSnapshotResponse, now: datetime | None = None) -> None:
        """Takes a whole snapshot or a delta after the version held; refuses anything unsigned (`now`: the
        device's time, to judge the exchange key's certificate; the real time if not given)."""
        signer = self._signer(response, now or datetime.now(UTC))
        if not verifies(signer, SNAPSHOT, response.snapshot, response.signature):
            raise SnapshotRejected("the snapshot's signature does not verify")
        snapshot = pb.OfflineSnapshot.FromString(response.snapshot)
        if snapshot.base_version not in (0, self.version):
            raise SnapshotRejected(f"a delta after version {snapshot.base_version}, but version {self.version} "
                                   "is held")
        if snapshot.base_version == 0:
            self._keys, self._agreements, self._listed, self._dcc_signers = {}, {}, {}, {}
        for signer in snapshot.dcc_signers:
            held = dcc.signer_from_der(signer.certificate, signer.country_code)
            self._dcc_signers[held.key_id] = held
        for key in snapshot.keys:
            key_id = bytes.fromhex(key.key_id)
            self._keys[key_id] = TrustedKey(
                key_id, key.province_code, key.purpose, serialization.load_der_public_key(key.public_key),
                answer_datetime(key.not_before_time), answer_datetime(key.not_after_time),
                optional_answer_datetime(key, "revoke_time"))
        for agreement in snapshot.agreements:
            self._agreements[agreement.issuer_province_code] = Agreement(
                agreement.issuer_province_code, answer_datetime(agreement.accepted_since_time),
                {name: Colour(value) for name, value in agreement.colour_mapping.items()},
                optional_answer_datetime(agreement, "end_time"))
        for record in snapshot.risk_records:
            expires = answer_datetime(record.expire_time)
            self._listed.setdefault(bytes(record.person_ref), set()).add(
                (Colour(record.colour), record.reason, record.source, expires))
        self._stale = {bytes.fromhex(code.code_id): answer_datetime(code.expire_time) for code in snapshot.stale_codes}
        self._own = frozenset(snapshot.own_province_codes)
        self._skew = timedelta(seconds=snapshot.clock_skew_seconds)
        self._issue_time = answer_datetime(snapshot.issue_time)
        self.version = snapshot.version

    def verify(self, payload: str, now: datetime, temperature: Decimal | None = None,
               test_within: timedelta | None = None, area_code: str | None = None) -> Verdict:
        """`test_within`: the checkpoint's test requirement (a negative sample at most this old).
        `area_code` (the device's place) picks the DCC acceptance rules; without it a DCC is
        checked against the rules of the one province served, if one, else asks for a manual check."""
        if self._issue_time is None or now - self._issue_time > self._max_age:
            return Verdict(Decision.CHECK_MANUALLY, "SNAPSHOT_TOO_OLD")
        if payload.startswith(dcc.HC1_PREFIX):
            province = areas.province_code_of(area_code) if area_code else (
                next(iter(self._own)) if len(self._own) == 1 else None)
            if province is None:
                return Verdict(Decision.CHECK_MANUALLY, "AREA_UNKNOWN")
            return verdict_of(check_dcc(payload, self._dcc_signers, self._dcc_rules, province, now, self._skew,
                                        temperature, test_within))
        view = TrustView(self._keys, self._own, self._agreements, self._skew)
        examined = examine(payload, view, now)
        if not isinstance(examined, Examined):
            return examined
        claims = examined.code.claims
        stale_until = self._stale.get(claims.code_id)
        # Online, status answers for every unexpired code it issued: current unless listed stale.
        standing = Standing.STALE if stale_until is not None and stale_until > now else Standing.CURRENT
        listed = max((colour for colour, _, _, expires in self._listed.get(claims.person_ref, ())
                      if expires > now), default=None)
        return conclude(examined, view, standing, listed, temperature, now, test_within)

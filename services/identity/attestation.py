"""Attestations from outside providers (face checks, the household register's relations):
signature, key kind and validity, age and binding."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from services.codes import is_canonical_der
from services.identity.documents import Document
from services.identity.model import FaceProviderKey, ProviderKind, Relation
from services.runtime.errors import FailedPrecondition, InvalidArgument

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}\Z")
_PROVIDER_ID = re.compile(r"^[a-z0-9._-]{1,64}\Z")


@dataclass(frozen=True)
class FaceCheckClaims:
    provider_id: str
    key_id: str
    document: Document = field(repr=False)
    check_time: datetime
    nonce: str


@dataclass(frozen=True)
class FaceAttestation:
    """The signed bytes as received, and the claims parsed from them."""

    signed_claims: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    claims: FaceCheckClaims


@dataclass(frozen=True)
class RelationClaims:
    provider_id: str
    key_id: str
    guardian: Document = field(repr=False)
    minor: Document = field(repr=False)
    relation: Relation | None
    minor_birth_date: date | None = field(repr=False)
    check_time: datetime
    nonce: str


@dataclass(frozen=True)
class RelationAttestation:
    signed_claims: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    claims: RelationClaims


@dataclass(frozen=True)
class AttestationPolicy:
    max_age: timedelta
    clock_skew: timedelta


def is_valid_identifier(value: str) -> bool:
    return bool(_PROVIDER_ID.match(value))


def load_public_key(der: bytes, field_path: str) -> ec.EllipticCurvePublicKey:
    """Provider keys must be EC P-256 (ES256)."""
    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError):
        raise InvalidArgument.for_field(field_path, "is not a DER SubjectPublicKeyInfo",
                                        reason="PUBLIC_KEY_INVALID") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidArgument.for_field(field_path, "must be an EC P-256 key", reason="PUBLIC_KEY_INVALID")
    return key


def verify_attestation(attestation: FaceAttestation, key: FaceProviderKey | None, *, now: datetime,
                       policy: AttestationPolicy, field_path: str) -> FaceCheckClaims:
    """Checks, failing closed: key known → signature → key of a face-check provider → key valid then
    and not revoked → age → nonce.

    Binding to a particular person's document is the caller's check, by keyed hash.
    """
    _verify_signed(attestation.signed_claims, attestation.signature, attestation.claims.check_time,
                   attestation.claims.nonce, key, ProviderKind.FACE_CHECK, now=now, policy=policy,
                   field_path=field_path)
    return attestation.claims


def verify_relation(attestation: RelationAttestation, key: FaceProviderKey | None, *, now: datetime,
                    policy: AttestationPolicy, field_path: str) -> RelationClaims:
    """The same checks for the household register's attestation, whose key must be registered as one."""
    _verify_signed(attestation.signed_claims, attestation.signature, attestation.claims.check_time,
                   attestation.claims.nonce, key, ProviderKind.HOUSEHOLD_REGISTER, now=now, policy=policy,
                   field_path=field_path)
    return attestation.claims


def _verify_signed(signed_claims: bytes, signature: bytes, check_time: datetime, nonce: str,
                   key: FaceProviderKey | None, kind: ProviderKind, *, now: datetime, policy: AttestationPolicy,
                   field_path: str) -> None:
    if key is None:
        raise InvalidArgument.for_field(field_path, "is signed by an unknown provider key",
                                        reason="ATTESTATION_KEY_UNKNOWN")
    public_key = load_public_key(key.public_key_der, field_path)
    if not is_canonical_der(signature):
        # One spelling of an attestation: strict DER and low S (a high-S copy of a valid signature
        # verifies too, and would be a second attestation of the same check).
        raise InvalidArgument.for_field(field_path, "signature must be strict DER in low-S form",
                                        reason="ATTESTATION_SIGNATURE_INVALID")
    try:
        public_key.verify(signature, signed_claims, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise InvalidArgument.for_field(field_path, "signature does not verify",
                                        reason="ATTESTATION_SIGNATURE_INVALID") from None
    if key.kind is not kind:
        raise InvalidArgument.for_field(field_path, "is signed by a key that does not attest this",
                                        reason="ATTESTATION_KEY_KIND")
    if key.revoke_time is not None:
        raise FailedPrecondition(reason="ATTESTATION_KEY_REVOKED",
                                 message=f"{field_path}: the provider key was revoked")
    if check_time < key.valid_from_time or (
            key.valid_until_time is not None and check_time >= key.valid_until_time):
        raise FailedPrecondition(reason="ATTESTATION_KEY_NOT_VALID",
                                 message=f"{field_path}: the provider key was not valid at the check time")
    if check_time > now + policy.clock_skew:
        raise InvalidArgument.for_field(field_path, "check time is in the future",
                                        reason="ATTESTATION_FROM_FUTURE")
    if now - check_time > policy.max_age:
        raise FailedPrecondition(reason="ATTESTATION_EXPIRED",
                                 message=f"{field_path}: the face check is older than "
                                         f"{int(policy.max_age.total_seconds())} s; check again")
    if not _NONCE.match(nonce):
        raise InvalidArgument.for_field(field_path, "nonce must be 16 to 128 URL-safe characters",
                                        reason="ATTESTATION_NONCE_INVALID")

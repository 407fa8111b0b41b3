"""What provinces sign for each other besides codes: red/yellow list batches and offline
snapshots, ES256 over a purpose prefix and a canonical encoding. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from services.colours import Colour

RISK_LIST = b"HCN1-RISKLIST"
SNAPSHOT = b"HCN1-SNAPSHOT"
_COORDINATE = 32


@dataclass(frozen=True)
class RiskRecord:
    person_ref: bytes
    colour: Colour
    reason: str
    source: str
    expire_time: datetime


def key_id_of(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """As code-signing key ids: the first 8 bytes of SHA-256 over the SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:8]


def risk_list_bytes(batch_id: str, province_code: str, records: Sequence[RiskRecord]) -> bytes:
    """The canonical form a risk-list signature covers (records in the order sent)."""
    return cbor2.dumps([batch_id, province_code, [
        [r.person_ref, int(r.colour), r.reason, r.source, int(r.expire_time.timestamp())] for r in records]],
        canonical=True)


def sign(private_key: ec.EllipticCurvePrivateKey, purpose: bytes, payload: bytes) -> bytes:
    """Raw r||s, as COSE: 64 bytes."""
    r, s = decode_dss_signature(private_key.sign(purpose + payload, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")


def verifies(public_key: ec.EllipticCurvePublicKey, purpose: bytes, payload: bytes, signature: bytes) -> bool:
    if len(signature) != 2 * _COORDINATE:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:_COORDINATE], "big"),
                               int.from_bytes(signature[_COORDINATE:], "big"))
    try:
        public_key.verify(der, purpose + payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True

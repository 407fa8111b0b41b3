"""What provinces sign for each other besides codes: red/yellow list batches and offline
snapshots, ES256 (raw r||s, as codes) over a purpose prefix and a canonical encoding. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from services.codes import es256_sign, es256_verifies
from services.colours import Colour

RISK_LIST = b"HCN1-RISKLIST"
SNAPSHOT = b"HCN1-SNAPSHOT"
TRUST_LIST = b"HCN1-TRUSTLIST"


@dataclass(frozen=True)
class RiskRecord:
    person_ref: bytes
    colour: Colour
    reason: str
    source: str
    expire_time: datetime
    # The exporter's order of the origin's records about one person (0: a list published by hand).
    list_sequence: int = 0


def risk_list_bytes(batch_id: str, province_code: str, records: Sequence[RiskRecord]) -> bytes:
    """The canonical form a risk-list signature covers (records in the order sent)."""
    return cbor2.dumps([batch_id, province_code, [
        [r.person_ref, int(r.colour), r.reason, r.source, int(r.expire_time.timestamp()), r.list_sequence]
        for r in records]],
        canonical=True)


def sign(private_key: ec.EllipticCurvePrivateKey, purpose: bytes, payload: bytes) -> bytes:
    """The purpose prefix keeps a risk-list signature from ever passing as a snapshot's, and back."""
    return es256_sign(private_key, purpose + payload)


def verifies(public_key: ec.EllipticCurvePublicKey, purpose: bytes, payload: bytes, signature: bytes) -> bool:
    return es256_verifies(public_key, purpose + payload, signature)


def risk_list_from_bytes(payload: bytes) -> tuple[str, str, list[RiskRecord]]:
    """The batch id, province and records back from their canonical form (what the outbox stores)."""
    batch_id, province_code, rows = cbor2.loads(payload)
    times: dict[int, datetime] = {}  # a batch's records share a few expiry times
    return batch_id, province_code, [
        RiskRecord(bytes(ref), Colour(colour), reason, source,
                   times.get(expire) or times.setdefault(expire, datetime.fromtimestamp(expire, UTC)), sequence)
        for ref, colour, reason, source, expire, sequence in rows]

"""What provinces sign for each other besides codes: red/yellow list batches and offline
snapshots (whole, or a manifest of partitions), ES256 (raw r||s, as codes) over a purpose prefix
and a canonical encoding. Pure."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.codes import es256_sign, es256_verifies
from services.colours import Colour

RISK_LIST = b"HCN1-RISKLIST"
SNAPSHOT = b"HCN1-SNAPSHOT"
TRUST_LIST = b"HCN1-TRUSTLIST"
MANIFEST = b"HCN1-MANIFEST"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


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


@dataclass(frozen=True)
class Manifest:
    """The partitioned snapshot's signed document. Times are milliseconds since 1970, rounded up (a
    bound compared with a code's whole-second times keeps its meaning); `partitions` is, for each of
    the 256 partitions, its record count and SHA-256. In CBOR (canonical), a map of:
    version, issue_ms, provinces [code], skew_seconds,
    keys [[key id, province, purpose, SPKI DER, not_before_ms, not_after_ms, revoke_ms | null]],
    agreements [[issuer province, accepted_since_ms, {display colour: colour}, end_ms | null]],
    stale [[code id, expire_ms]], dcc [[DSC DER, country]], partitions [[count, sha256]]."""

    version: int
    issue_ms: int
    provinces: tuple[str, ...]
    skew_seconds: int
    keys: tuple[tuple, ...]
    agreements: tuple[tuple, ...]
    stale: tuple[tuple, ...]
    dcc: tuple[tuple, ...]
    partitions: tuple[tuple[int, bytes], ...]


def milliseconds(moment: datetime | None) -> int | None:
    """A time as whole milliseconds since 1970, rounded up."""
    return None if moment is None else -(-(moment - _EPOCH) // _MILLISECOND)


def moment_of(ms: int | None) -> datetime | None:
    return None if ms is None else _EPOCH + ms * _MILLISECOND


_MANIFEST_FIELDS = ("version", "issue_ms", "provinces", "skew_seconds", "keys", "agreements", "stale", "dcc",
                    "partitions")


def manifest_bytes(manifest: Manifest) -> bytes:
    return cbor2.dumps({name: getattr(manifest, name) for name in _MANIFEST_FIELDS}, canonical=True)


def manifest_from_bytes(payload: bytes) -> Manifest:
    """Its fields back (only after the signature verified: the signer is trusted for the layout)."""
    document = cbor2.loads(payload)
    if not isinstance(document, dict) or set(document) != set(_MANIFEST_FIELDS):
        raise ValueError("not a snapshot manifest")
    return Manifest(**{name: tuple(tuple(v) if isinstance(v, list) else v for v in value)
                       if isinstance(value, list) else value for name, value in document.items()})


def anchor_text(exchange_key: ec.EllipticCurvePublicKey) -> str:
    """How a checkpoint page is provisioned with the key its snapshots must be signed by (the `anchor`
    of its provisioning link): the key's SubjectPublicKeyInfo DER, base64url without padding."""
    der = exchange_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(der).decode("ascii").rstrip("=")

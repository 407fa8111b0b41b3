"""Other provinces' deployments, as this one calls them on their federation ports (mutual TLS): their
signed trust lists, risk lists and fever reports sent to them, code standings and stale codes asked of them.
This deployment's own status service is called from services/verification/clients.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import grpc
from cryptography.hazmat.primitives import serialization
from google.protobuf.message import DecodeError
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc as pb_grpc

from services import areas
from services.runtime.clients import Upstream, open_channel
from services.codes import is_p256_public_key, key_id_of
from services.codes.ids import parse_code_id
from services.runtime.errors import InvalidArgument, PermissionDenied, Unavailable
from services.runtime.timestamps import answer_datetime, optional_answer_datetime, to_timestamp
from services.verification.recognition.checker import SIGNS_CODES, SIGNS_EXCHANGES, Standing
from services.verification.recognition.exchange import TRUST_LIST, RiskRecord, verifies
from services.verification.recognition.exchange_root import ExchangeRoot, KeyNotCertified
from services.verification.recognition.model import FeverReport, PeerTrustList, StaleCode
from services.verification.recognition.repository import KeyRow


_STANDINGS = {standing.value for standing in Standing}


def risk_record_message(record: RiskRecord, stamps: dict | None = None) -> pb.RiskListRecord:
    """`stamps`: Timestamps already made, by time (a batch's records share a few)."""
    stamp = stamps.get(record.expire_time) if stamps is not None else None
    if stamp is None:
        stamp = to_timestamp(record.expire_time)
        if stamps is not None:
            stamps[record.expire_time] = stamp
    return pb.RiskListRecord(person_ref=record.person_ref, colour=int(record.colour), reason=record.reason,
                             source=record.source, expire_time=stamp, list_sequence=record.list_sequence)


def _peer_key(key: pb.TrustedKey, purpose: int) -> KeyRow:
    """A key in a peer's trust list, read strictly (ValueError when malformed): its row goes into the
    trust list as it is, so it must fit it (an 8-byte id, both validity times)."""
    row = KeyRow(bytes.fromhex(key.key_id), key.province_code, purpose, bytes(key.public_key),
                 optional_answer_datetime(key, "not_before_time"), optional_answer_datetime(key, "not_after_time"),
                 optional_answer_datetime(key, "revoke_time"))
    if len(row.key_id) != 8 or row.not_before is None or row.not_after is None:
        raise ValueError("a key of the trust list is malformed")
    return row


def _stale_code(code: pb.StaleCode) -> StaleCode:
    """One of a peer's stale codes, read strictly (an expiry is needed to know when it may go)."""
    if not code.HasField("expire_time"):
        raise ValueError("a stale code without its expiry")
    return StaleCode(parse_code_id(code.code_id, "code_id"), answer_datetime(code.expire_time))


class TrustListRefused(PermissionDenied):
    """A peer's trust list that is not kept: badly signed, malformed, or not newer than the last good one."""


def read_trust_list(document: bytes, signature: bytes, province_codes: frozenset[str],
                    root: ExchangeRoot | None = None, now: datetime | None = None) -> PeerTrustList:
    """A peer's trust list, checked: its exchange key belongs to a province the peer speaks for and
    signed the document, and (given the federation's exchange root) the root certified that key for
    that province, so a rotated key is taken and an uncertified one refused. Only keys of those
    provinces are kept."""
    try:
        parsed = pb.TrustListDocument.FromString(document)
        exchange = _peer_key(parsed.exchange_key, SIGNS_EXCHANGES)
        public = serialization.load_der_public_key(exchange.public_key)
    except (DecodeError, ValueError):
        raise TrustListRefused(reason="TRUST_LIST_MALFORMED", message="the trust list cannot be read") from None
    if exchange.province_code not in province_codes or not is_p256_public_key(public) \
            or key_id_of(public) != exchange.key_id:
        raise TrustListRefused(reason="TRUST_LIST_SIGNER_INVALID",
                               message="the trust list's exchange key is not one of the peer's provinces'")
    if root is not None:
        try:
            certified = root.certified(bytes(parsed.exchange_key_certificate), now)
        except KeyNotCertified:
            certified = None
        if certified is None or certified.key_id != exchange.key_id \
                or exchange.province_code not in certified.provinces:
            raise TrustListRefused(reason="TRUST_LIST_SIGNER_NOT_CERTIFIED",
                                   message="the federation's exchange root did not certify the trust list's key")
        # The key counts as long as the root certified it, whatever validity the list claims.
        exchange = replace(exchange, not_before=certified.not_before, not_after=certified.not_after)
    if not verifies(public, TRUST_LIST, document, signature):
        raise TrustListRefused(reason="TRUST_LIST_SIGNATURE_INVALID", message="the trust list's signature is wrong")
    try:
        keys = [_peer_key(key, SIGNS_CODES) for key in parsed.signing_keys] + [exchange]
    except ValueError:
        # Signed, yet not readable: refused whole, and the last good list is kept.
        raise TrustListRefused(reason="TRUST_LIST_MALFORMED", message="a key of the trust list cannot be read") from None
    return PeerTrustList(parsed.version, exchange, [key for key in keys if key.province_code in province_codes])


class _PeerUpstream(Upstream):
    """A peer province that does not answer is PEER_UNAVAILABLE, its address in the message."""

    def __init__(self, address: str) -> None:
        super().__init__("peer")
        self._address = address

    def unavailable(self, error: grpc.aio.AioRpcError) -> Unavailable:
        return Unavailable(reason="PEER_UNAVAILABLE",
                           message=f"peer {self._address} did not answer ({error.code().name})")


class PeerProvince:
    """Another province's deployment, trusted only for the provinces configured for its address,
    reached at its federation port over mutual TLS (`credentials`: the federation CA and ours)."""

    def __init__(self, address: str, province_codes: frozenset[str], credentials: grpc.ChannelCredentials) -> None:
        self.address = address
        self.province_codes = province_codes
        self._channel = open_channel(address, credentials=credentials)
        self._stub = pb_grpc.FederationServiceStub(self._channel)
        self._upstream = _PeerUpstream(address)

    async def trust_list(self, root: ExchangeRoot | None = None, now: datetime | None = None) -> PeerTrustList:
        """The peer's signed trust list (TrustListRefused if its signature, certificate or content is wrong)."""
        response = await self._upstream.call(self._stub.GetTrustList(pb.GetTrustListRequest()))
        return read_trust_list(bytes(response.document), bytes(response.signature), self.province_codes, root, now)

    async def notify_trust_list_changed(self, version: int) -> None:
        await self._upstream.call(self._stub.NotifyTrustListChanged(
            pb.NotifyTrustListChangedRequest(version=version), timeout=3.0))

    async def submit_risk_list(self, batch_id: str, province_code: str, records: Sequence[RiskRecord], key_id: bytes,
                               signature: bytes, key_certificate: bytes = b"") -> None:
        stamps: dict = {}
        request = pb.SubmitRiskListRequest(
            batch_id=batch_id, province_code=province_code, key_id=key_id.hex(), signature=signature,
            records=[risk_record_message(r, stamps) for r in records], exchange_key_certificate=key_certificate)
        await self._upstream.call(self._stub.SubmitRiskList(request, timeout=30.0))

    async def report_fevers(self, reports: Sequence[FeverReport]) -> list[str]:
        """Fevers read here on the peer's codes: per report, "" when the peer recorded it, else why it
        refused it (for good: it is not sent again). Unavailable if the peer did not answer."""
        request = pb.ReportFeversRequest(reports=[pb.FeverReport(
            report_id=r.report_id, reporter_province_code=r.reporter_province, payload=r.payload,
            reading_time=to_timestamp(r.reading_time), temperature_celsius=float(r.temperature)) for r in reports])
        response = await self._upstream.call(self._stub.ReportFevers(request, timeout=30.0))
        if len(response.outcomes) != len(reports):
            raise Unavailable(reason="PEER_ANSWER_INVALID", message=f"peer {self.address} answered for "
                              f"{len(response.outcomes)} of {len(reports)} reports")
        return ["" if outcome.accepted else (outcome.rejection_reason or "REFUSED")[:64]
                for outcome in sorted(response.outcomes, key=lambda o: o.index)]

    async def standings(self, code_ids: Sequence[bytes]) -> list[Standing] | None:
        """None when the peer cannot be asked or its answer is not one: the checkpoint then checks by hand."""
        try:
            response = await self._stub.GetCodeStanding(pb.GetCodeStandingRequest(
                code_ids=[code_id.hex() for code_id in code_ids]), timeout=2.0)
        except grpc.aio.AioRpcError:
            return None
        # A standing this side does not know, or not one per code, is no answer: checked by hand.
        if len(response.standings) != len(code_ids) or not set(response.standings) <= _STANDINGS:
            return None
        return [Standing(value) for value in response.standings]

    async def stale_codes(self) -> list[StaleCode]:
        response = await self._upstream.call(self._stub.ListStaleCodes(pb.ListStaleCodesRequest(), timeout=10.0))
        try:
            return [_stale_code(code) for code in response.codes]
        except (InvalidArgument, ValueError):
            # An answer that cannot be read is no answer: the snapshots go without its part (and show it).
            raise Unavailable(reason="PEER_ANSWER_INVALID",
                              message=f"peer {self.address} sent stale codes that cannot be read") from None

    async def close(self) -> None:
        await self._channel.close()


def parse_peers(value: str) -> dict[str, frozenset[str]]:
    """`420000=host:port,430000=host:port` → {address: provinces}; ValueError naming the bad entry."""
    peers: dict[str, set[str]] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        province, _, address = entry.partition("=")
        if not areas.is_province_code(province) or ":" not in address:
            raise ValueError(f"{entry!r} is not PROVINCE=HOST:PORT")
        peers.setdefault(address, set()).add(province)
    return {address: frozenset(provinces) for address, provinces in peers.items()}

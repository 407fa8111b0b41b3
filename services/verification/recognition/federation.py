"""Verification's view of its own status service and of other provinces' deployments, over gRPC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

import grpc
from cryptography.hazmat.primitives import serialization
from google.protobuf.message import DecodeError
from healthcode.status.v1 import status_pb2, status_pb2_grpc
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc as pb_grpc

from services import areas
from services.runtime.clients import open_channel
from services.codes import is_p256_public_key, key_id_of
from services.codes.ids import parse_code_id
from services.runtime.errors import InvalidArgument, PermissionDenied, Unavailable
from services.runtime.timestamps import answer_datetime, optional_answer_datetime, to_timestamp
from services.verification.recognition.checker import SIGNS_CODES, SIGNS_EXCHANGES, Standing
from services.verification.recognition.exchange import TRUST_LIST, RiskRecord, verifies
from services.verification.recognition.exchange_root import ExchangeRoot, KeyNotCertified
from services.verification.recognition.repository import KeyRow


_STANDINGS = {standing.value for standing in Standing}


def _unavailable(who: str, error: grpc.aio.AioRpcError) -> Unavailable:
    return Unavailable(reason="PEER_UNAVAILABLE", message=f"{who} did not answer ({error.code().name})")


def risk_record_message(record: RiskRecord, stamps: dict | None = None) -> pb.RiskListRecord:
    """`stamps`: Timestamps already made, by time (a batch's records share a few)."""
    stamp = stamps.get(record.expire_time) if stamps is not None else None
    if stamp is None:
        stamp = to_timestamp(record.expire_time)
        if stamps is not None:
            stamps[record.expire_time] = stamp
    return pb.RiskListRecord(person_ref=record.person_ref, colour=int(record.colour), reason=record.reason,
                             source=record.source, expire_time=stamp, list_sequence=record.list_sequence)


def key_row(key, purpose: int) -> KeyRow:
    """A trust-list key from either proto (status's SigningKey or verification's TrustedKey)."""
    return KeyRow(bytes.fromhex(key.key_id), key.province_code, purpose, bytes(key.public_key),
                  optional_answer_datetime(key, "not_before_time"), optional_answer_datetime(key, "not_after_time"),
                  optional_answer_datetime(key, "revoke_time"))


def _peer_key(key, purpose: int) -> KeyRow:
    """A key in a peer's trust list, read strictly (ValueError when malformed): its row goes into the
    trust list as it is, so it must fit it (an 8-byte id, both validity times)."""
    row = key_row(key, purpose)
    if len(row.key_id) != 8 or row.not_before is None or row.not_after is None:
        raise ValueError("a key of the trust list is malformed")
    return row


@dataclass(frozen=True)
class StaleCode:
    code_id: bytes
    expire_time: datetime


def _stale_code(code: pb.StaleCode) -> StaleCode:
    """One of a peer's stale codes, read strictly (an expiry is needed to know when it may go)."""
    if not code.HasField("expire_time"):
        raise ValueError("a stale code without its expiry")
    return StaleCode(parse_code_id(code.code_id, "code_id"), answer_datetime(code.expire_time))


@dataclass(frozen=True)
class FeverReport:
    """A fever read here on another province's code, as sent to its issuer."""

    report_id: str
    reporter_province: str
    payload: str = field(repr=False)
    reading_time: datetime | None       # None: unreadable as received (the report is refused)
    temperature: Decimal | float


@dataclass(frozen=True)
class PeerFever:
    """A fever another province read on one of our codes, its code checked: what our status records."""

    report_id: str
    code_id: bytes
    person_ref: bytes = field(repr=False)
    reading_time: datetime
    temperature: Decimal
    code_expire_time: datetime


@dataclass(frozen=True)
class ColourChange:
    """One of our persons' colour changes, as status's feed gives it (the exporter's input)."""

    sequence: int
    person_ref: bytes
    province_code: str
    previous_colour: int
    colour: int
    change_time: datetime
    reason: str


@dataclass(frozen=True)
class ColourChangePage:
    changes: list[ColourChange]
    last_sequence: int
    caught_up: bool


@dataclass(frozen=True)
class PeerTrustList:
    version: int
    exchange_key: KeyRow
    # The keys of provinces the peer is configured to speak for (its exchange key included).
    keys: list[KeyRow]


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


class LocalStatus:
    """This deployment's status service: its signing keys, code standings and stale codes."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._status = status_pb2_grpc.StatusServiceStub(channel)
        self._admin = status_pb2_grpc.StatusAdminServiceStub(channel)

    async def signing_keys(self) -> list[KeyRow]:
        keys, token = [], ""
        try:
            while True:
                page = await self._admin.ListSigningKeys(status_pb2.ListSigningKeysRequest(page_size=1000,
                                                                                           page_token=token))
                keys += [key_row(key, SIGNS_CODES) for key in page.keys]
                token = page.next_page_token
                if not token:
                    return keys
        except grpc.aio.AioRpcError as error:
            raise _unavailable("status", error) from None

    async def standings(self, code_ids: Sequence[bytes]) -> list[Standing] | None:
        """None when status cannot be asked: the checkpoint then checks by hand."""
        try:
            response = await self._status.GetCodeStanding(status_pb2.GetCodeStandingRequest(
                code_ids=[code_id.hex() for code_id in code_ids]), timeout=2.0)
        except grpc.aio.AioRpcError:
            return None
        return [Standing(value) for value in response.standings]

    async def stale_codes(self) -> list[StaleCode]:
        codes, token = [], ""
        try:
            while True:
                page = await self._status.ListStaleCodes(status_pb2.ListStaleCodesRequest(page_size=1000,
                                                                                          page_token=token))
                codes += [StaleCode(bytes.fromhex(c.code_id), optional_answer_datetime(c, "expire_time"))
                          for c in page.codes]
                token = page.next_page_token
                if not token:
                    return codes
        except grpc.aio.AioRpcError as error:
            raise _unavailable("status", error) from None

    async def record_peer_listings(self, province_code: str, batch_id: str, receive_time: datetime,
                                   home_provinces: Sequence[str], records: Sequence[tuple[int, RiskRecord]]) -> None:
        """A page (at most 1000) of another province's batch, each record with its index in the batch:
        status keeps those about our persons. Unavailable unless status took the page."""
        request = status_pb2.RecordPeerListingsRequest(
            origin_province_code=province_code, batch_id=batch_id, receive_time=to_timestamp(receive_time),
            home_province_codes=list(home_provinces),
            listings=[status_pb2.PeerListing(record_index=index, person_ref=r.person_ref, colour=int(r.colour),
                                             reason=r.reason, source=r.source, expire_time=to_timestamp(r.expire_time),
                                             list_sequence=r.list_sequence)
                      for index, r in records])
        try:
            await self._status.RecordPeerListings(request, timeout=30.0)
        except grpc.aio.AioRpcError as error:
            raise _unavailable("status", error) from None

    async def record_peer_fevers(self, province_code: str, fevers: Sequence[PeerFever]) -> list[str]:
        """Fevers `province_code`'s checkpoints read on our codes (at most 1000): per fever, "" when
        status recorded it (now or before), else its rejection reason. Unavailable if status did not answer."""
        request = status_pb2.RecordPeerFeversRequest(origin_province_code=province_code, fevers=[
            status_pb2.PeerFever(report_id=f.report_id, code_id=f.code_id.hex(), person_ref=f.person_ref,
                                 reading_time=to_timestamp(f.reading_time), temperature_celsius=float(f.temperature),
                                 code_expire_time=to_timestamp(f.code_expire_time)) for f in fevers])
        try:
            response = await self._status.RecordPeerFevers(request, timeout=30.0)
        except grpc.aio.AioRpcError as error:
            raise _unavailable("status", error) from None
        return [outcome.rejection_reason for outcome in response.outcomes]

    async def colour_changes(self, after_sequence: int, page_size: int, province_codes: Sequence[str]
                             ) -> ColourChangePage:
        """One page of status's colour changes of these provinces' persons after `after_sequence`."""
        try:
            page = await self._status.ListColourChanges(status_pb2.ListColourChangesRequest(
                after_sequence=after_sequence, page_size=page_size, province_codes=list(province_codes)),
                timeout=60.0)
        except grpc.aio.AioRpcError as error:
            raise _unavailable("status", error) from None
        times: dict[tuple[int, int], datetime] = {}  # changes of one recomputation share their time
        changes = []
        for c in page.changes:
            key = (c.change_time.seconds, c.change_time.nanos)
            at = times.get(key) or times.setdefault(key, optional_answer_datetime(c, "change_time"))
            changes.append(ColourChange(c.sequence, bytes(c.person_ref), c.province_code, c.previous_colour,
                                        c.colour, at, c.reason))
        return ColourChangePage(changes, page.last_sequence, page.caught_up)

    async def report_fever(self, code_id: bytes, temperature: Decimal, at: datetime, verification_id: str) -> None:
        """A fever measured at a checkpoint becomes a status fact about whoever holds the code."""
        fact = status_pb2.Fact(
            code_id=code_id.hex(), kind=status_pb2.FACT_KIND_FEVER_ON_SITE, authority="verification-checkpoints",
            authority_record_id=verification_id, source=status_pb2.FACT_SOURCE_CHECKPOINT,
            effective_time=to_timestamp(at), temperature_celsius=float(temperature))
        try:
            await self._status.RecordFacts(status_pb2.RecordFactsRequest(facts=[fact]))
        except grpc.aio.AioRpcError as error:
            raise _unavailable("status", error) from None


class Peer:
    """Another province's deployment, trusted only for the provinces configured for its address,
    reached at its federation port over mutual TLS (`credentials`: the federation CA and ours)."""

    def __init__(self, address: str, province_codes: frozenset[str], credentials: grpc.ChannelCredentials) -> None:
        self.address = address
        self.province_codes = province_codes
        self._channel = open_channel(address, credentials=credentials)
        self._stub = pb_grpc.FederationServiceStub(self._channel)

    async def trust_list(self, root: ExchangeRoot | None = None, now: datetime | None = None) -> PeerTrustList:
        """The peer's signed trust list (TrustListRefused if its signature, certificate or content is wrong)."""
        try:
            response = await self._stub.GetTrustList(pb.GetTrustListRequest())
        except grpc.aio.AioRpcError as error:
            raise _unavailable(f"peer {self.address}", error) from None
        return read_trust_list(bytes(response.document), bytes(response.signature), self.province_codes, root, now)

    async def notify_trust_list_changed(self, version: int) -> None:
        try:
            await self._stub.NotifyTrustListChanged(pb.NotifyTrustListChangedRequest(version=version), timeout=3.0)
        except grpc.aio.AioRpcError as error:
            raise _unavailable(f"peer {self.address}", error) from None

    async def submit_risk_list(self, batch_id: str, province_code: str, records: Sequence[RiskRecord], key_id: bytes,
                               signature: bytes, key_certificate: bytes = b"") -> None:
        stamps: dict = {}
        request = pb.SubmitRiskListRequest(
            batch_id=batch_id, province_code=province_code, key_id=key_id.hex(), signature=signature,
            records=[risk_record_message(r, stamps) for r in records], exchange_key_certificate=key_certificate)
        try:
            await self._stub.SubmitRiskList(request, timeout=30.0)
        except grpc.aio.AioRpcError as error:
            raise _unavailable(f"peer {self.address}", error) from None

    async def report_fevers(self, reports: Sequence[FeverReport]) -> list[str]:
        """Fevers read here on the peer's codes: per report, "" when the peer recorded it, else why it
        refused it (for good: it is not sent again). Unavailable if the peer did not answer."""
        request = pb.ReportFeversRequest(reports=[pb.FeverReport(
            report_id=r.report_id, reporter_province_code=r.reporter_province, payload=r.payload,
            reading_time=to_timestamp(r.reading_time), temperature_celsius=float(r.temperature)) for r in reports])
        try:
            response = await self._stub.ReportFevers(request, timeout=30.0)
        except grpc.aio.AioRpcError as error:
            raise _unavailable(f"peer {self.address}", error) from None
        if len(response.outcomes) != len(reports):
            raise Unavailable(reason="PEER_ANSWER_INVALID", message=f"peer {self.address} answered for "
                              f"{len(response.outcomes)} of {len(reports)} reports")
        return ["" if outcome.accepted else (outcome.rejection_reason or "REFUSED")[:64]
                for outcome in sorted(response.outcomes, key=lambda o: o.index)]

    async def standings(self, code_ids: Sequence[bytes]) -> list[Standing] | None:
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
        try:
            response = await self._stub.ListStaleCodes(pb.ListStaleCodesRequest(), timeout=10.0)
        except grpc.aio.AioRpcError as error:
            raise _unavailable(f"peer {self.address}", error) from None
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

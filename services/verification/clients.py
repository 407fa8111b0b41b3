"""Calls to this deployment's status service: its signing keys, code standings and stale codes, the
colour-change feed the exporter follows, other provinces' word passed on, fevers read at checkpoints,
and traced contacts. (Other provinces' deployments are called from recognition/federation.py.)

A trace is an officer's act: status refuses it (and nothing is searched) unless the case has a
confirmed or asymptomatic diagnosis in force and the officer is a contact tracer in the case's
province with a legal basis; each contact's audit entry names the trace, the officer and the basis.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import grpc
from google.rpc import error_details_pb2, status_pb2 as rpc_status_pb2
from healthcode.status.v1 import status_pb2, status_pb2_grpc

from services.runtime import errors
from services.runtime.clients import Upstream
from services.runtime.logs import get_logger
from services.runtime.timestamps import optional_answer_datetime, to_timestamp
from services.verification.recognition.checker import SIGNS_CODES, Standing
from services.verification.recognition.exchange import RiskRecord
from services.verification.recognition.model import ColourChange, ColourChangePage, PeerFever, StaleCode
from services.verification.recognition.repository import KeyRow

log = get_logger(__name__)

AUTHORITY = "verification-tracing"  # status's authority for traced contacts' facts
BATCH = 1000  # RecordTracedContacts takes at most this many contacts a call
_CALL_TIMEOUT = 60.0  # status recomputes every person of a call in it
_STATUS_DETAILS = "grpc-status-details-bin"
_PAGE = 1000  # keys and stale codes asked of status per page


class LocalStatus:
    """This deployment's status service: its signing keys, code standings and stale codes, its colour
    changes, and what it records from other provinces and from our checkpoints."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._status = status_pb2_grpc.StatusServiceStub(channel)
        self._admin = status_pb2_grpc.StatusAdminServiceStub(channel)
        self._upstream = Upstream("status")

    async def signing_keys(self) -> list[KeyRow]:
        return await self._upstream.every_page(
            lambda token: self._admin.ListSigningKeys(status_pb2.ListSigningKeysRequest(page_size=_PAGE,
                                                                                        page_token=token)),
            lambda page: [_signing_key(key) for key in page.keys])

    async def standings(self, code_ids: Sequence[bytes]) -> list[Standing] | None:
        """None when status cannot be asked: the checkpoint then checks by hand."""
        try:
            response = await self._status.GetCodeStanding(status_pb2.GetCodeStandingRequest(
                code_ids=[code_id.hex() for code_id in code_ids]), timeout=2.0)
        except grpc.aio.AioRpcError:
            return None
        return [Standing(value) for value in response.standings]

    async def stale_codes(self) -> list[StaleCode]:
        return await self._upstream.every_page(
            lambda token: self._status.ListStaleCodes(status_pb2.ListStaleCodesRequest(page_size=_PAGE,
                                                                                       page_token=token)),
            lambda page: [StaleCode(bytes.fromhex(c.code_id), optional_answer_datetime(c, "expire_time"))
                          for c in page.codes])

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
        await self._upstream.call(self._status.RecordPeerListings(request, timeout=30.0))

    async def record_peer_fevers(self, province_code: str, fevers: Sequence[PeerFever]) -> list[str]:
        """Fevers `province_code`'s checkpoints read on our codes (at most 1000): per fever, "" when
        status recorded it (now or before), else its rejection reason. Unavailable if status did not answer."""
        request = status_pb2.RecordPeerFeversRequest(origin_province_code=province_code, fevers=[
            status_pb2.PeerFever(report_id=f.report_id, code_id=f.code_id.hex(), person_ref=f.person_ref,
                                 reading_time=to_timestamp(f.reading_time), temperature_celsius=float(f.temperature),
                                 code_expire_time=to_timestamp(f.code_expire_time)) for f in fevers])
        response = await self._upstream.call(self._status.RecordPeerFevers(request, timeout=30.0))
        return [outcome.rejection_reason for outcome in response.outcomes]

    async def colour_changes(self, after_sequence: int, page_size: int, province_codes: Sequence[str]
                             ) -> ColourChangePage:
        """One page of status's colour changes of these provinces' persons after `after_sequence` (the
        exporter keeps its position, a sequence number, in our schema: a feed, not a page token)."""
        page = await self._upstream.call(self._status.ListColourChanges(status_pb2.ListColourChangesRequest(
            after_sequence=after_sequence, page_size=page_size, province_codes=list(province_codes)), timeout=60.0))
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
        await self._upstream.call(self._status.RecordFacts(status_pb2.RecordFactsRequest(facts=[fact])))


def _signing_key(key: status_pb2.SigningKey) -> KeyRow:
    return KeyRow(bytes.fromhex(key.key_id), key.province_code, SIGNS_CODES, bytes(key.public_key),
                  optional_answer_datetime(key, "not_before_time"), optional_answer_datetime(key, "not_after_time"),
                  optional_answer_datetime(key, "revoke_time"))


class ContactKind(enum.Enum):
    """The word in the status record id, and the diagnosis it reports."""

    CLOSE = "close"
    SECONDARY = "secondary"


@dataclass(frozen=True)
class TraceMandate:
    """Who traces, and on what legal basis."""

    trace_id: str
    case_person_id: str
    tracer_id: str
    legal_basis: str


@dataclass(frozen=True)
class ContactReport:
    """What status made of the contacts: new, already known (a rerun), refused (a person it does not know)."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class ContactReporter(Protocol):
    async def authorize(self, mandate: TraceMandate) -> None:
        """Raises (PermissionDenied, FailedPrecondition, InvalidArgument...) unless the trace may start."""
        ...

    async def report(self, mandate: TraceMandate, close: Sequence[str], secondary: Sequence[str]) -> ContactReport:
        """Reports each contact once per trace id: a rerun of the same trace reports nobody twice."""
        ...


def record_id(trace_id: str, person_id: str, kind: ContactKind) -> str:
    """The status record id of one contact of one trace (with the authority, status's idempotency key)."""
    return f"{trace_id}:{person_id}:{kind.value}"


class StatusContactReporter:
    """Sends contacts to status's RecordTracedContacts, at most 1000 a call."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._status = status_pb2_grpc.StatusServiceStub(channel)
        self._upstream = Upstream("status", batch=BATCH)

    async def authorize(self, mandate: TraceMandate) -> None:
        await self._call(mandate, [], validate_only=True)

    async def report(self, mandate: TraceMandate, close: Sequence[str], secondary: Sequence[str]) -> ContactReport:
        contacts = [(person_id, True) for person_id in close] + [(person_id, False) for person_id in secondary]
        answers = await self._upstream.in_batches(
            contacts, lambda batch: self._call(mandate, batch, validate_only=False))
        report = ContactReport(sum(a.stored_count for a in answers), sum(a.duplicate_count for a in answers),
                               sum(a.rejected_count for a in answers))
        if report.rejected:
            log.warning("contact_facts_rejected", trace_id=mandate.trace_id, rejected=report.rejected)
        return report

    async def _call(self, mandate: TraceMandate, contacts: Sequence[tuple[str, bool]], *,
                    validate_only: bool) -> status_pb2.RecordTracedContactsResponse:
        """One call; a refusal keeps status's reason (the caller must tell them apart), see _domain_error."""
        try:
            return await self._status.RecordTracedContacts(status_pb2.RecordTracedContactsRequest(
                trace_id=mandate.trace_id, case_person_id=mandate.case_person_id, tracer_id=mandate.tracer_id,
                legal_basis=mandate.legal_basis,
                close_contact_person_ids=[p for p, is_close in contacts if is_close],
                secondary_contact_person_ids=[p for p, is_close in contacts if not is_close],
                validate_only=validate_only), timeout=_CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error, mandate.trace_id) from None


_PASSED_ON = {grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
              grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
              grpc.StatusCode.NOT_FOUND: errors.NotFound}


def _domain_error(error: grpc.aio.AioRpcError, trace_id: str) -> errors.DomainError:
    """Status's refusal passed on as this service's own (same reason, same field); anything else is
    UNAVAILABLE: contacts already sent are kept, and a retry with this trace id sends them again."""
    reason, violations = "", []
    for key, value in error.trailing_metadata() or ():
        if key == _STATUS_DETAILS and isinstance(value, bytes):
            for detail in rpc_status_pb2.Status.FromString(value).details:
                info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
                if detail.Unpack(info):
                    reason = info.reason
                elif detail.Unpack(bad):
                    violations = [errors.FieldViolation(v.field, v.description) for v in bad.field_violations]
    message = error.details() or ""
    if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidArgument(reason=reason or "INVALID_ARGUMENT", message=message, violations=violations)
    if error.code() in _PASSED_ON:
        return _PASSED_ON[error.code()](reason=reason or error.code().name, message=message)
    return errors.Unavailable(reason="STATUS_UNAVAILABLE",
                              message=f"status did not answer ({error.code().name}); retry with the same trace id",
                              metadata={"trace_id": trace_id})

"""Where traced contacts go: status, which records them as close or secondary contacts, over gRPC.

A trace is an officer's act: status refuses it (and nothing is searched) unless the case has a
confirmed or asymptomatic diagnosis in force and the officer is a contact tracer in the case's
province with a legal basis; each contact's audit entry names the trace, the officer and the basis.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from google.rpc import error_details_pb2, status_pb2 as rpc_status_pb2
from healthcode.status.v1 import status_pb2, status_pb2_grpc

from services.runtime import errors
from services.runtime.logs import get_logger

log = get_logger(__name__)

AUTHORITY = "verification-tracing"  # status's authority for traced contacts' facts
BATCH = 1000  # RecordTracedContacts takes at most this many contacts a call
_CALL_TIMEOUT = 60.0  # status recomputes every person of a call in it
_STATUS_DETAILS = "grpc-status-details-bin"


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

    async def authorize(self, mandate: TraceMandate) -> None:
        await self._call(mandate, [], [], validate_only=True)

    async def report(self, mandate: TraceMandate, close: Sequence[str], secondary: Sequence[str]) -> ContactReport:
        contacts = [(person_id, True) for person_id in close] + [(person_id, False) for person_id in secondary]
        stored = duplicates = rejected = 0
        for start in range(0, len(contacts), BATCH):
            batch = contacts[start:start + BATCH]
            response = await self._call(mandate, [p for p, is_close in batch if is_close],
                                        [p for p, is_close in batch if not is_close], validate_only=False)
            stored += response.stored_count
            duplicates += response.duplicate_count
            rejected += response.rejected_count
        if rejected:
            log.warning("contact_facts_rejected", trace_id=mandate.trace_id, rejected=rejected)
        return ContactReport(stored, duplicates, rejected)

    async def _call(self, mandate: TraceMandate, close: list[str], secondary: list[str], *,
                    validate_only: bool) -> status_pb2.RecordTracedContactsResponse:
        try:
            return await self._status.RecordTracedContacts(status_pb2.RecordTracedContactsRequest(
                trace_id=mandate.trace_id, case_person_id=mandate.case_person_id, tracer_id=mandate.tracer_id,
                legal_basis=mandate.legal_basis, close_contact_person_ids=close,
                secondary_contact_person_ids=secondary, validate_only=validate_only), timeout=_CALL_TIMEOUT)
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

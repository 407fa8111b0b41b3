"""Where traced contacts go: status, as diagnosis facts (close or secondary contact), over gRPC."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc

from services.runtime.errors import Unavailable
from services.runtime.logs import get_logger
from services.runtime.timestamps import to_timestamp

log = get_logger(__name__)

AUTHORITY = "verification-tracing"
BATCH = 1000  # RecordFacts takes at most this many facts a call
_CALL_TIMEOUT = 60.0  # status recomputes every person of a call in it


class ContactKind(enum.Enum):
    """The word in the status record id, and the diagnosis it reports."""

    CLOSE = "close"
    SECONDARY = "secondary"


_DIAGNOSES = {ContactKind.CLOSE: status_pb2.DIAGNOSIS_CLOSE_CONTACT,
              ContactKind.SECONDARY: status_pb2.DIAGNOSIS_SECONDARY_CONTACT}


@dataclass(frozen=True)
class ContactReport:
    """What status made of the facts: new, already known (a rerun), refused (e.g. a person it does not know)."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class ContactReporter(Protocol):
    async def report(self, trace_id: str, trace_time: datetime, close: Sequence[str],
                     secondary: Sequence[str]) -> ContactReport:
        """Reports each contact once per trace id: a rerun of the same trace reports nobody twice."""
        ...


def record_id(trace_id: str, person_id: str, kind: ContactKind) -> str:
    """The status record id of one contact of one trace (with the authority, status's idempotency key)."""
    return f"{trace_id}:{person_id}:{kind.value}"


class StatusContactReporter:
    """Sends contacts to status's RecordFacts, at most 1000 facts a call."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._status = status_pb2_grpc.StatusServiceStub(channel)

    async def report(self, trace_id: str, trace_time: datetime, close: Sequence[str],
                     secondary: Sequence[str]) -> ContactReport:
        facts = [self._fact(trace_id, trace_time, person_id, ContactKind.CLOSE) for person_id in close]
        facts += [self._fact(trace_id, trace_time, person_id, ContactKind.SECONDARY) for person_id in secondary]
        stored = duplicates = rejected = 0
        for start in range(0, len(facts), BATCH):
            try:
                response = await self._status.RecordFacts(
                    status_pb2.RecordFactsRequest(facts=facts[start:start + BATCH]), timeout=_CALL_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                # Facts already sent are kept; a retry with this trace id sends them again and status ignores them.
                raise Unavailable(reason="STATUS_UNAVAILABLE",
                                  message=f"status did not answer ({error.code().name}); retry with the same trace id",
                                  metadata={"trace_id": trace_id}) from None
            stored += response.stored_count
            duplicates += sum(1 for outcome in response.outcomes if outcome.duplicate)
            rejected += sum(1 for outcome in response.outcomes if outcome.rejection_reason)
        if rejected:
            log.warning("contact_facts_rejected", trace_id=trace_id, rejected=rejected)
        return ContactReport(stored, duplicates, rejected)

    @staticmethod
    def _fact(trace_id: str, trace_time: datetime, person_id: str, kind: ContactKind) -> status_pb2.Fact:
        return status_pb2.Fact(
            person_id=person_id, kind=status_pb2.FACT_KIND_DIAGNOSIS, authority=AUTHORITY,
            authority_record_id=record_id(trace_id, person_id, kind), source=status_pb2.FACT_SOURCE_HEALTH,
            effective_time=to_timestamp(trace_time), diagnosis=_DIAGNOSES[kind])

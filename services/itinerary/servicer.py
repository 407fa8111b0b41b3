"""gRPC transport for itinerary: the only module that touches itinerary_pb2; no rules here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from healthcode.itinerary.v1 import itinerary_pb2 as pb
from healthcode.itinerary.v1 import itinerary_pb2_grpc as pb_grpc
from services.itinerary.ledger import ItineraryLedger
from services.itinerary.model import (
    MAX_STAYS_PER_CHUNK,
    REJECTION_FIELDS,
    RiskDeclaration,
    RiskExposure,
    RiskLevel,
    Stay,
    StayKey,
    SubmittedStayCorrection,
    checked_person_id,
)
from services.runtime.errors import InvalidArgument
from services.runtime.timestamps import epoch_micros, optional_datetime, to_datetime, to_timestamp


def _text(value: str) -> str:
    # Postgres text cannot hold NUL; such a value is invalid anyway and must be judged, not crash COPY.
    return value.replace("\x00", "?") if "\x00" in value else value


def _declaration(declaration: RiskDeclaration) -> pb.RiskDeclaration:
    return pb.RiskDeclaration(
        declaration_id=declaration.declaration_id, area_code=declaration.area_code, level=int(declaration.level),
        effective_time=to_timestamp(declaration.effective_time), end_time=to_timestamp(declaration.end_time),
        authority=declaration.authority, reason=declaration.reason,
        create_time=to_timestamp(declaration.create_time))


def _exposure(exposure: RiskExposure) -> pb.RiskExposure:
    return pb.RiskExposure(
        person_id=exposure.person_id, area_code=exposure.area_code,
        arrival_time=to_timestamp(exposure.arrival_time), departure_time=to_timestamp(exposure.departure_time),
        level=int(exposure.level), declaration_id=exposure.declaration_id)


def _stay(stay: Stay) -> pb.Stay:
    return pb.Stay(area_code=stay.area_code, arrival_time=to_timestamp(stay.arrival_time),
                   departure_time=to_timestamp(stay.departure_time), source=int(stay.source),
                   source_carrier=stay.source_carrier, verified=stay.verified,
                   highest_risk_level=int(stay.highest_risk_level))


def _stay_key(holder: pb.StayCorrection, name: str, prefix: str) -> StayKey | None:
    if not holder.HasField(name):
        return None
    stay: pb.CarrierStay = getattr(holder, name)
    return (_text(stay.area_code), to_datetime(stay.arrival_time, f"{prefix}.{name}.arrival_time"),
            to_datetime(stay.departure_time, f"{prefix}.{name}.departure_time"))


def _stay_correction(index: int, correction: pb.StayCorrection) -> SubmittedStayCorrection:
    # A time out of range refuses this correction only; the others are kept.
    prefix = f"corrections[{index}]"
    try:
        stay, corrected, refused = _stay_key(correction, "stay", prefix), _stay_key(correction, "corrected", prefix), None
    except InvalidArgument as error:
        stay = corrected = None
        refused = error
    if corrected is not None and correction.corrected.person_id not in ("", correction.stay.person_id):
        refused = InvalidArgument.for_field(f"{prefix}.corrected.person_id", "a corrected stay is the same person's",
                                            reason="PERSON_CHANGED")
    return SubmittedStayCorrection(person_id=_text(correction.stay.person_id), stay=stay, action=correction.action,
                                   corrected=corrected, reason=_text(correction.reason), refused=refused)


class ItineraryServicer(pb_grpc.ItineraryServiceServicer):
    def __init__(self, ledger: ItineraryLedger) -> None:
        self._ledger = ledger

    async def IngestCarrierStays(self, request_iterator: AsyncIterator[pb.IngestCarrierStaysRequest],
                                 context: grpc.aio.ServicerContext) -> pb.IngestCarrierStaysResponse:
        chunks = aiter(request_iterator)
        first = await anext(chunks, None)
        if first is None:
            raise InvalidArgument.for_field("batch_id", "the stream carried no chunk", reason="BATCH_EMPTY")
        header = (first.batch_id, first.source_carrier)
        async with self._ledger.carrier_batch(*header) as batch:
            chunk, row = first, 0
            while chunk is not None:
                if (chunk.batch_id, chunk.source_carrier) != header:
                    raise InvalidArgument.for_field("batch_id", "every chunk of a stream must carry the same batch "
                                                    "id and carrier", reason="BATCH_HEADER_CHANGED")
                if len(chunk.stays) > MAX_STAYS_PER_CHUNK:
                    raise InvalidArgument.for_field("stays", f"at most {MAX_STAYS_PER_CHUNK} stays per chunk",
                                                    reason="CHUNK_TOO_LARGE")
                await batch.add([(row + i, checked_person_id(s.person_id), _text(s.area_code),
                                  epoch_micros(s.arrival_time), epoch_micros(s.departure_time))
                                 for i, s in enumerate(chunk.stays)])
                row += len(chunk.stays)
                chunk = await anext(chunks, None)
            result = await batch.finish()
        return pb.IngestCarrierStaysResponse(
            batch_id=result.batch_id, received=result.received, stored=result.stored,
            duplicates=result.duplicates, below_threshold=result.below_threshold, rejected=result.rejected,
            rejected_stays=[pb.RejectedStay(row=row, field=REJECTION_FIELDS[reason], reason=reason)
                            for row, reason in result.rejected_rows],
            replayed=result.replayed)

    async def DeclareItinerary(self, request: pb.DeclareItineraryRequest,
                               context: grpc.aio.ServicerContext) -> pb.DeclareItineraryResponse:
        stays = [(s.area_code, to_datetime(s.arrival_time, f"stays[{i}].arrival_time"),
                  to_datetime(s.departure_time, f"stays[{i}].departure_time")) for i, s in enumerate(request.stays)]
        return pb.DeclareItineraryResponse(stored=await self._ledger.declare_itinerary(request.person_id, stays))

    async def ListStays(self, request: pb.ListStaysRequest, context: grpc.aio.ServicerContext) -> pb.ListStaysResponse:
        return pb.ListStaysResponse(stays=[_stay(s) for s in await self._ledger.list_stays(request.person_id)])

    async def DeclareRiskArea(self, request: pb.DeclareRiskAreaRequest,
                              context: grpc.aio.ServicerContext) -> pb.DeclareRiskAreaResponse:
        level = RiskLevel(request.level) if request.level in RiskLevel._value2member_map_ else RiskLevel.NONE
        declaration, raised = await self._ledger.declare_risk_area(
            request.area_code, level, optional_datetime(request, "effective_time"), request.authority,
            request.reason, request.request_id)
        return pb.DeclareRiskAreaResponse(declaration=_declaration(declaration), raised=raised)

    async def LiftRiskArea(self, request: pb.LiftRiskAreaRequest,
                           context: grpc.aio.ServicerContext) -> pb.LiftRiskAreaResponse:
        declaration = await self._ledger.lift_risk_area(
            request.area_code, optional_datetime(request, "effective_time"), request.authority, request.reason,
            request.request_id)
        return pb.LiftRiskAreaResponse(declaration=_declaration(declaration))

    async def ListRiskAreas(self, request: pb.ListRiskAreasRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListRiskAreasResponse:
        declarations, token = await self._ledger.list_risk_areas(request.page_size, request.page_token)
        return pb.ListRiskAreasResponse(declarations=[_declaration(d) for d in declarations],
                                        next_page_token=token)

    async def ListRiskDeclarations(self, request: pb.ListRiskDeclarationsRequest,
                                   context: grpc.aio.ServicerContext) -> pb.ListRiskDeclarationsResponse:
        declarations, token = await self._ledger.list_declarations(
            optional_datetime(request, "created_after"), request.page_size, request.page_token)
        return pb.ListRiskDeclarationsResponse(declarations=[_declaration(d) for d in declarations],
                                               next_page_token=token)

    async def StreamAffectedPersons(self, request: pb.StreamAffectedPersonsRequest, context: grpc.aio.ServicerContext
                                    ) -> AsyncIterator[pb.StreamAffectedPersonsResponse]:
        async for chunk in self._ledger.affected_persons(request.declaration_id, request.after_person_id):
            yield pb.StreamAffectedPersonsResponse(person_ids=chunk)

    async def BatchGetRiskExposures(self, request: pb.BatchGetRiskExposuresRequest,
                                    context: grpc.aio.ServicerContext) -> pb.BatchGetRiskExposuresResponse:
        exposures = await self._ledger.risk_exposures(list(request.person_ids))
        return pb.BatchGetRiskExposuresResponse(exposures=[_exposure(e) for e in exposures])

    async def ListNewlyRiskyPersons(self, request: pb.ListNewlyRiskyPersonsRequest,
                                    context: grpc.aio.ServicerContext) -> pb.ListNewlyRiskyPersonsResponse:
        persons, changes, cursor = await self._ledger.risky_stay_persons(request.cursor, request.page_size)
        return pb.ListNewlyRiskyPersonsResponse(person_ids=persons, cursor=cursor, stay_changes=[pb.StayChange(
            person_id=c.person_id, correction_id=c.correction_id, source_carrier=c.source_carrier,
            action=int(c.action), changed_fields=list(c.changed_fields), reason=c.reason,
            create_time=to_timestamp(c.create_time)) for c in changes])

    async def CorrectCarrierStays(self, request: pb.CorrectCarrierStaysRequest,
                                  context: grpc.aio.ServicerContext) -> pb.CorrectCarrierStaysResponse:
        outcomes, replayed = await self._ledger.correct_carrier_stays(
            request.source_carrier, request.request_id,
            [_stay_correction(i, c) for i, c in enumerate(request.corrections)])
        return pb.CorrectCarrierStaysResponse(
            outcomes=[pb.StayCorrectionOutcome(index=index, correction_id=correction_id, rejection_reason=reason,
                                               rejection_field=field) for index, correction_id, reason, field in outcomes],
            applied_count=sum(1 for outcome in outcomes if outcome[1]), replayed=replayed)


def add_to_server(ledger: ItineraryLedger, server) -> None:
    pb_grpc.add_ItineraryServiceServicer_to_server(ItineraryServicer(ledger), server)


SERVICE_NAMES = (pb.DESCRIPTOR.services_by_name["ItineraryService"].full_name,)

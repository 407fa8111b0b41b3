"""gRPC transport of the venue RPCs (venues, visits, contact tracing); no rules here."""

from __future__ import annotations

import grpc
from healthcode.verification.v1 import verification_pb2 as pb

from services.runtime.timestamps import optional_datetime, to_timestamp
from services.verification.venues.book import VenueBook
from services.verification.venues.model import VenueRecord, VisitRecord


def _venue(venue: VenueRecord) -> pb.Venue:
    return pb.Venue(venue_id=venue.venue_id, name=venue.name, area_code=venue.area_code,
                    category=int(venue.category), create_time=to_timestamp(venue.create_time))


def _visit(visit: VisitRecord) -> pb.Visit:
    return pb.Visit(visit_id=visit.visit_id, person_id=visit.person_id, venue_id=visit.venue_id,
                    visit_time=to_timestamp(visit.visit_time), flagged=visit.flagged)


class VenueServicer:
    """VerificationService's venue RPCs: RegisterVenue, GetVenueCode, RecordVisit and TraceContacts
    (VerificationServicer hands each of them here)."""

    def __init__(self, venues: VenueBook) -> None:
        self._venues = venues

    async def RegisterVenue(self, request: pb.RegisterVenueRequest,
                            context: grpc.aio.ServicerContext) -> pb.RegisterVenueResponse:
        venue = await self._venues.register_venue(request.name, request.area_code, request.category,
                                                  request.request_id)
        return pb.RegisterVenueResponse(venue=_venue(venue))

    async def GetVenueCode(self, request: pb.GetVenueCodeRequest,
                           context: grpc.aio.ServicerContext) -> pb.GetVenueCodeResponse:
        payload, expire_time = await self._venues.venue_code(request.venue_id)
        return pb.GetVenueCodeResponse(payload=payload, expire_time=to_timestamp(expire_time))

    async def RecordVisit(self, request: pb.RecordVisitRequest,
                          context: grpc.aio.ServicerContext) -> pb.RecordVisitResponse:
        visit = await self._venues.record_visit(request.person_id, request.venue_code, request.request_id)
        return pb.RecordVisitResponse(visit=_visit(visit))

    async def TraceContacts(self, request: pb.TraceContactsRequest,
                            context: grpc.aio.ServicerContext) -> pb.TraceContactsResponse:
        close, secondary = await self._venues.trace_contacts(
            request.case_person_id, request.window_minutes, optional_datetime(request, "since_time"),
            request.include_secondary, request.trace_id, tracer_id=request.tracer_id,
            legal_basis=request.legal_basis)
        return pb.TraceContactsResponse(close_contact_person_ids=close, secondary_contact_person_ids=secondary)

"""gRPC transport for verification: the one VerificationService, each of its RPCs handed explicitly to
recognition's or venues' servicer, and the services registered on the main and the federation ports."""

from __future__ import annotations

import grpc
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc as pb_grpc

from services.verification.recognition.servicer import (FederationServicer, RecognitionAdminServicer,
                                                         RecognitionServicer)
from services.verification.venues.servicer import VenueServicer

# The main port: checkpoints, venues and operators (through the gateway). FederationService is
# never there: it has a port of its own, mutual TLS with the federation CA (add_federation_to_server).
VERIFY_PAYLOAD_FIELD = pb.VerifyCodeRequest.DESCRIPTOR.fields_by_name["payload"].full_name
SERVICE_NAMES = tuple(pb.DESCRIPTOR.services_by_name[name].full_name
                      for name in ("VerificationService", "RecognitionAdminService"))


class VerificationServicer(pb_grpc.VerificationServiceServicer):
    """The proto's one service for checkpoints, apps and venues: checkpoint RPCs go to recognition,
    venue RPCs to venues."""

    def __init__(self, recognition: RecognitionServicer, venues: VenueServicer) -> None:
        self._recognition = recognition
        self._venues = venues

    async def VerifyCode(self, request: pb.VerifyCodeRequest,
                         context: grpc.aio.ServicerContext) -> pb.VerifyCodeResponse:
        return await self._recognition.VerifyCode(request, context)

    async def GetOfflineSnapshot(self, request: pb.GetOfflineSnapshotRequest,
                                 context: grpc.aio.ServicerContext) -> pb.GetOfflineSnapshotResponse:
        return await self._recognition.GetOfflineSnapshot(request, context)

    async def GetOfflineManifest(self, request: pb.GetOfflineManifestRequest,
                                 context: grpc.aio.ServicerContext) -> pb.GetOfflineManifestResponse:
        return await self._recognition.GetOfflineManifest(request, context)

    async def GetSnapshotPartition(self, request: pb.GetSnapshotPartitionRequest,
                                   context: grpc.aio.ServicerContext) -> pb.GetSnapshotPartitionResponse:
        return await self._recognition.GetSnapshotPartition(request, context)

    async def ListSnapshotChanges(self, request: pb.ListSnapshotChangesRequest,
                                  context: grpc.aio.ServicerContext) -> pb.ListSnapshotChangesResponse:
        return await self._recognition.ListSnapshotChanges(request, context)

    async def RecordOfflineDecisions(self, request: pb.RecordOfflineDecisionsRequest,
                                     context: grpc.aio.ServicerContext) -> pb.RecordOfflineDecisionsResponse:
        return await self._recognition.RecordOfflineDecisions(request, context)

    async def RegisterVenue(self, request: pb.RegisterVenueRequest,
                            context: grpc.aio.ServicerContext) -> pb.RegisterVenueResponse:
        return await self._venues.RegisterVenue(request, context)

    async def GetVenueCode(self, request: pb.GetVenueCodeRequest,
                           context: grpc.aio.ServicerContext) -> pb.GetVenueCodeResponse:
        return await self._venues.GetVenueCode(request, context)

    async def RecordVisit(self, request: pb.RecordVisitRequest,
                          context: grpc.aio.ServicerContext) -> pb.RecordVisitResponse:
        return await self._venues.RecordVisit(request, context)

    async def TraceContacts(self, request: pb.TraceContactsRequest,
                            context: grpc.aio.ServicerContext) -> pb.TraceContactsResponse:
        return await self._venues.TraceContacts(request, context)


def add_to_server(server: grpc.aio.Server, verification: VerificationServicer,
                  admin: RecognitionAdminServicer) -> None:
    """The main port: VerificationService and RecognitionAdminService."""
    pb_grpc.add_VerificationServiceServicer_to_server(verification, server)
    pb_grpc.add_RecognitionAdminServiceServicer_to_server(admin, server)


def add_federation_to_server(server: grpc.aio.Server, federation: FederationServicer) -> None:
    """The federation port: FederationService alone (no admin service, no checkpoint service)."""
    pb_grpc.add_FederationServiceServicer_to_server(federation, server)

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


# Which of the two answers each RPC of the one VerificationService (a test holds that every RPC of the
# proto is named exactly once, so none falls through to the generated base's UNIMPLEMENTED).
RECOGNITION_RPCS = ("VerifyCode", "GetOfflineSnapshot", "GetOfflineManifest", "GetSnapshotPartition",
                    "ListSnapshotChanges", "RecordOfflineDecisions")
VENUE_RPCS = ("RegisterVenue", "GetVenueCode", "RecordVisit", "TraceContacts")


class VerificationServicer(pb_grpc.VerificationServiceServicer):
    """The proto's one service for checkpoints, apps and venues: checkpoint RPCs are recognition's
    handlers, venue RPCs venues', bound as they are (no extra call per RPC on the checkpoint's path)."""

    def __init__(self, recognition: RecognitionServicer, venues: VenueServicer) -> None:
        for name in RECOGNITION_RPCS:
            setattr(self, name, getattr(recognition, name))
        for name in VENUE_RPCS:
            setattr(self, name, getattr(venues, name))


def add_to_server(server: grpc.aio.Server, verification: VerificationServicer,
                  admin: RecognitionAdminServicer) -> None:
    """The main port: VerificationService and RecognitionAdminService."""
    pb_grpc.add_VerificationServiceServicer_to_server(verification, server)
    pb_grpc.add_RecognitionAdminServiceServicer_to_server(admin, server)


def add_federation_to_server(server: grpc.aio.Server, federation: FederationServicer) -> None:
    """The federation port: FederationService alone (no admin service, no checkpoint service)."""
    pb_grpc.add_FederationServiceServicer_to_server(federation, server)

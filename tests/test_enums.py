"""Every proto enum the services mirror as an IntEnum has the same members with the same numbers as its
descriptor (0, UNSPECIFIED, is never a member unless named below), so a renumbered proto or a stored
number read back (the database keeps these numbers) cannot drift apart silently."""

from __future__ import annotations

import enum
import re

import pytest
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2

from services.colours import Colour
from services.identity.documents import DocumentKind
from services.identity.model import ActingBasis, LinkBasis, NameCorrectionState, ProviderKind, Relation
from services.itinerary.model import RiskLevel, StayCorrectionAction, StaySource
from services.status import model as status
from services.verification.recognition.checker import Decision, KeyPurpose, Standing
from services.verification.venues.model import VenueCategory

MIRRORS = [
    (Colour, common_pb2.Colour), (RiskLevel, common_pb2.RiskLevel),
    (DocumentKind, identity_pb2.DocumentKind), (Relation, identity_pb2.Relation),
    (LinkBasis, identity_pb2.LinkBasis), (ProviderKind, identity_pb2.ProviderKind),
    (ActingBasis, identity_pb2.ActingBasis), (NameCorrectionState, identity_pb2.NameCorrectionState),
    (StaySource, itinerary_pb2.StaySource), (StayCorrectionAction, itinerary_pb2.StayCorrectionAction),
    (status.FactKind, status_pb2.FactKind), (status.Diagnosis, status_pb2.Diagnosis),
    (status.QuarantinePlace, status_pb2.QuarantinePlace), (status.TestResult, status_pb2.TestResult),
    (status.FactSource, status_pb2.FactSource), (status.Symptom, status_pb2.Symptom),
    (status.OfficerRole, status_pb2.OfficerRole), (status.AppealCategory, status_pb2.AppealCategory),
    (status.AppealState, status_pb2.AppealState), (status.OverrideState, status_pb2.OverrideState),
    (status.RecomputeState, status_pb2.RecomputeState), (status.ChangeCause, status_pb2.ChangeCause),
    (status.CorrectionKind, status_pb2.CorrectionKind),
    (Decision, verification_pb2.Decision), (VenueCategory, verification_pb2.VenueCategory),
    (KeyPurpose, verification_pb2.KeyPurpose), (Standing, verification_pb2.CodeStanding),
]
# Members standing for the proto's 0: a risk level of NONE is how a lift is stored; NONE is no acting right.
ZERO = {RiskLevel: "NONE", ActingBasis: "NONE"}


def _prefix(proto_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", proto_name).upper() + "_"


@pytest.mark.parametrize("mirror, proto", MIRRORS, ids=[m.__name__ for m, _ in MIRRORS])
def test_the_int_enum_has_the_proto_enum_s_members_and_numbers(mirror: type[enum.IntEnum], proto):
    descriptor = proto.DESCRIPTOR
    prefix = _prefix(descriptor.name)
    expected = {value.name.removeprefix(prefix): value.number for value in descriptor.values if value.number != 0}
    if mirror in ZERO:
        expected[ZERO[mirror]] = 0

    assert {member.name: member.value for member in mirror} == expected


def test_every_proto_enum_the_services_store_is_mirrored_or_read_from_the_generated_code():
    # Not mirrored: the transport reads these from *_pb2 and never stores or compares their numbers.
    unmirrored = {"status.CodeStanding"}
    mirrored = {f"{p.DESCRIPTOR.file.package.split('.')[1]}.{p.DESCRIPTOR.name}" for _, p in MIRRORS}
    declared = {f"{module.DESCRIPTOR.package.split('.')[1]}.{name}"
                for module in (common_pb2, identity_pb2, itinerary_pb2, status_pb2, verification_pb2)
                for name in module.DESCRIPTOR.enum_types_by_name}

    assert declared - mirrored == unmirrored

"""The authorisation matrix: every public RPC × every kind of caller, in and out of the province.

The expected table below is written by hand from the rules (it is the specification, not a
copy of gateway/policy.py): a cell not listed must be refused by the gateway itself
(PERMISSION_DENIED, reason CALLER_NOT_ALLOWED, domain gateway.healthcode), and a listed cell must
get past the gateway (the service may still refuse the request on its own grounds).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2 as spb
from healthcode.verification.v1 import verification_pb2 as vpb

from gateway.credentials import SessionKeys
from gateway.policy import ROUTES
from gateway.principals import FEED_SCOPES, CallerKind, Principal
from tests.support.gateway import bearer
from tests.support import FaceProvider, error_details, id_card, passport, random_key, timestamp

HUBEI_AREA, QUIET_AREA = "420102", "421127"

# Callers: a person acting for themselves and a stranger; systems, checkpoints and operators of
# Hubei (the province the requests are about), of Jiangsu, and national; a feed with every scope
# and one allowed to send only discharges.
CALLERS = {
    "person": (CallerKind.PERSON, "420000"), "stranger": (CallerKind.PERSON, "420000"),
    "system_hubei": (CallerKind.PROVINCE_SYSTEM, "420000"), "system_jiangsu": (CallerKind.PROVINCE_SYSTEM, "320000"),
    "system_national": (CallerKind.PROVINCE_SYSTEM, "000000"),
    "feed": (CallerKind.FEED, "420000"), "feed_discharges_only": (CallerKind.FEED, "420000"),
    "checkpoint_hubei": (CallerKind.CHECKPOINT, "420000"), "checkpoint_jiangsu": (CallerKind.CHECKPOINT, "320000"),
    "operator_hubei": (CallerKind.OPERATOR, "420000"), "operator_jiangsu": (CallerKind.OPERATOR, "320000"),
    "operator_national": (CallerKind.OPERATOR, "000000"),
}
SYSTEMS_OF_HUBEI = {"system_hubei", "system_national"}
OPERATORS_OF_HUBEI = {"operator_hubei", "operator_national"}
OPERATORS = OPERATORS_OF_HUBEI | {"operator_jiangsu"}
SEE_PERSON = {"person"} | SYSTEMS_OF_HUBEI
ANY_BUT_FEEDS = set(CALLERS) - {"feed", "feed_discharges_only"}
SYSTEMS_CHECKPOINTS_OPERATORS = {"system_hubei", "system_jiangsu", "system_national", "checkpoint_hubei",
                                 "checkpoint_jiangsu"} | OPERATORS

ALLOWED = {
    "IdentityService/RegisterPerson": {"person", "stranger"} | SYSTEMS_OF_HUBEI,
    "IdentityService/GetPerson": SEE_PERSON | OPERATORS_OF_HUBEI,
    "IdentityService/LookupPersonByDocument": SYSTEMS_OF_HUBEI,
    "IdentityService/BatchGetPersons": SYSTEMS_OF_HUBEI,
    "IdentityService/RecordFaceCheck": SEE_PERSON,
    "IdentityService/LinkDependent": SEE_PERSON,
    "IdentityService/UnlinkDependent": SEE_PERSON | OPERATORS_OF_HUBEI,
    "IdentityService/ListGuardians": SEE_PERSON | OPERATORS_OF_HUBEI,
    "IdentityService/ListCorrections": SEE_PERSON | OPERATORS_OF_HUBEI,
    "IdentityService/ListDependents": SEE_PERSON,
    "IdentityService/CorrectName": {"person"},
    "IdentityService/ListNameCorrections": OPERATORS_OF_HUBEI,
    "IdentityService/DecideNameCorrection": OPERATORS,
    "IdentityService/RevokeSessions": {"person"} | OPERATORS_OF_HUBEI,
    "FaceProviderAdminService/RegisterFaceProviderKey": {"operator_national"},
    "FaceProviderAdminService/RevokeFaceProviderKey": {"operator_national"},
    "FaceProviderAdminService/ListFaceProviderKeys": OPERATORS,
    "ItineraryService/IngestCarrierStays": {"feed"},
    "ItineraryService/CorrectCarrierStays": {"feed"},
    "ItineraryService/DeclareItinerary": SEE_PERSON,
    "ItineraryService/ListStays": SEE_PERSON,
    "ItineraryService/DeclareRiskArea": SYSTEMS_OF_HUBEI | OPERATORS_OF_HUBEI,
    "ItineraryService/LiftRiskArea": SYSTEMS_OF_HUBEI | OPERATORS_OF_HUBEI,
    "ItineraryService/ListRiskAreas": ANY_BUT_FEEDS,
    "StatusService/GetStatus": SEE_PERSON | OPERATORS_OF_HUBEI,
    "StatusService/WatchStatus": SEE_PERSON,
    "StatusService/ListStatusChanges": SEE_PERSON | OPERATORS_OF_HUBEI,
    "StatusService/RecordFacts": {"feed"},
    # Status finds the fact's own authority (another's is FACT_OF_ANOTHER_AUTHORITY), so any feed reaches it.
    "StatusService/RetractFact": {"feed", "feed_discharges_only"},
    "StatusService/AmendFact": {"feed"},
    "StatusService/RecordCheckIn": SEE_PERSON,
    "StatusService/AcknowledgePopup": SEE_PERSON,
    "StatusService/IssueCode": SEE_PERSON,
    "StatusService/FileAppeal": SEE_PERSON,
    "StatusService/GetAppeal": {"person"} | OPERATORS_OF_HUBEI,
    "StatusService/ListAppeals": OPERATORS_OF_HUBEI,
    "StatusService/DecideAppeal": OPERATORS,
    "StatusService/ProposeOverride": OPERATORS_OF_HUBEI,
    "StatusService/DecideOverride": OPERATORS,
    "StatusService/ListOverrides": OPERATORS_OF_HUBEI,
    "StatusAdminService/PublishRuleSet": OPERATORS_OF_HUBEI,
    "StatusAdminService/ListRuleSets": OPERATORS_OF_HUBEI,
    "StatusAdminService/CreateSigningKey": OPERATORS_OF_HUBEI,
    "StatusAdminService/ListSigningKeys": OPERATORS_OF_HUBEI,
    "StatusAdminService/RevokeSigningKey": OPERATORS_OF_HUBEI,
    "StatusAdminService/SetOfficerRoles": OPERATORS_OF_HUBEI,
    "StatusAdminService/StartRecompute": OPERATORS_OF_HUBEI,
    "StatusAdminService/ListRecomputeRuns": OPERATORS_OF_HUBEI,
    "VerificationService/VerifyCode": {"checkpoint_hubei"},
    "VerificationService/GetOfflineSnapshot": {"checkpoint_hubei", "checkpoint_jiangsu"},
    "VerificationService/GetOfflineManifest": {"checkpoint_hubei", "checkpoint_jiangsu"},
    "VerificationService/GetSnapshotPartition": {"checkpoint_hubei", "checkpoint_jiangsu"},
    "VerificationService/ListSnapshotChanges": {"checkpoint_hubei", "checkpoint_jiangsu"},
    "VerificationService/RecordOfflineDecisions": {"checkpoint_hubei"},
    "VerificationService/RegisterVenue": SYSTEMS_OF_HUBEI | OPERATORS_OF_HUBEI,
    "VerificationService/GetVenueCode": SYSTEMS_CHECKPOINTS_OPERATORS,
    "VerificationService/RecordVisit": {"person"},
    "VerificationService/TraceContacts": OPERATORS_OF_HUBEI,
    "RecognitionAdminService/SetAgreement": OPERATORS_OF_HUBEI,
    "RecognitionAdminService/ListAgreements": SYSTEMS_CHECKPOINTS_OPERATORS,
    "RecognitionAdminService/PublishRiskList": OPERATORS_OF_HUBEI,
    "RecognitionAdminService/SyncTrustList": OPERATORS_OF_HUBEI,
    "RecognitionAdminService/ImportDccSigners": OPERATORS_OF_HUBEI,
}


@dataclass
class Subject:
    """The Hubei person every request is about, and an appeal of theirs."""

    person_id: str
    document: identity_pb2.Document
    appeal_id: str


def _requests(s: Subject, now) -> dict[str, object]:
    """A well-formed request per RPC, about the subject, a Hubei area or Hubei itself."""
    later = timestamp(now + timedelta(days=300))
    return {
        "IdentityService/RegisterPerson": identity_pb2.RegisterPersonRequest(
            name="王五", document=passport(), home_province_code="420000"),
        "IdentityService/GetPerson": identity_pb2.GetPersonRequest(person_id=s.person_id),
        "IdentityService/LookupPersonByDocument": identity_pb2.LookupPersonByDocumentRequest(document=s.document),
        "IdentityService/BatchGetPersons": identity_pb2.BatchGetPersonsRequest(person_ids=[s.person_id]),
        "IdentityService/RecordFaceCheck": identity_pb2.RecordFaceCheckRequest(person_id=s.person_id),
        "IdentityService/LinkDependent": identity_pb2.LinkDependentRequest(
            holder_person_id=s.person_id, dependent_person_id=s.person_id, relation=identity_pb2.RELATION_PARENT),
        "IdentityService/UnlinkDependent": identity_pb2.UnlinkDependentRequest(
            holder_person_id=s.person_id, dependent_person_id=s.person_id),
        "IdentityService/ListDependents": identity_pb2.ListDependentsRequest(holder_person_id=s.person_id),
        "IdentityService/ListGuardians": identity_pb2.ListGuardiansRequest(dependent_person_id=s.person_id),
        "IdentityService/ListCorrections": identity_pb2.ListCorrectionsRequest(person_id=s.person_id),
        "IdentityService/CorrectName": identity_pb2.CorrectNameRequest(
            person_id=s.person_id, name="赵七", basis="matrix", request_id=secrets.token_hex(8),
            face_attestation=identity_pb2.FaceAttestation(claims=b"x", signature=b"y")),
        "IdentityService/ListNameCorrections": identity_pb2.ListNameCorrectionsRequest(province_code="420000"),
        "IdentityService/DecideNameCorrection": identity_pb2.DecideNameCorrectionRequest(
            correction_id=str(uuid.uuid4()), reason="matrix"),
        "IdentityService/RevokeSessions": identity_pb2.RevokeSessionsRequest(person_id=s.person_id, reason="LOGOUT"),
        "FaceProviderAdminService/RegisterFaceProviderKey": identity_pb2.RegisterFaceProviderKeyRequest(
            provider_id="matrix", key_id="k1", public_key_der=b"not a key"),
        "FaceProviderAdminService/RevokeFaceProviderKey": identity_pb2.RevokeFaceProviderKeyRequest(
            provider_id="matrix", key_id="nope"),
        "FaceProviderAdminService/ListFaceProviderKeys": identity_pb2.ListFaceProviderKeysRequest(),
        "ItineraryService/DeclareItinerary": itinerary_pb2.DeclareItineraryRequest(
            person_id=s.person_id, request_id=secrets.token_hex(8)),
        "ItineraryService/ListStays": itinerary_pb2.ListStaysRequest(person_id=s.person_id),
        "ItineraryService/CorrectCarrierStays": itinerary_pb2.CorrectCarrierStaysRequest(
            request_id=secrets.token_hex(8), corrections=[itinerary_pb2.StayCorrection(
                stay=itinerary_pb2.CarrierStay(person_id=s.person_id, area_code=HUBEI_AREA),
                action=itinerary_pb2.STAY_CORRECTION_ACTION_WITHDRAW, reason="matrix")]),
        "ItineraryService/DeclareRiskArea": itinerary_pb2.DeclareRiskAreaRequest(
            area_code=QUIET_AREA, level=common_pb2.RISK_LEVEL_LOW, effective_time=later,
            reason="matrix", request_id=secrets.token_hex(8)),
        "ItineraryService/LiftRiskArea": itinerary_pb2.LiftRiskAreaRequest(
            area_code=QUIET_AREA, effective_time=later, reason="matrix",
            request_id=secrets.token_hex(8)),
        "ItineraryService/ListRiskAreas": itinerary_pb2.ListRiskAreasRequest(),
        "StatusService/GetStatus": spb.GetStatusRequest(person_id=s.person_id),
        "StatusService/ListStatusChanges": spb.ListStatusChangesRequest(person_id=s.person_id),
        "StatusService/RecordFacts": spb.RecordFactsRequest(facts=[spb.Fact(
            person_id=s.person_id, kind=spb.FACT_KIND_NUCLEIC_ACID_TEST, authority_record_id=secrets.token_hex(6),
            effective_time=timestamp(now - timedelta(hours=1)))]),
        "StatusService/RetractFact": spb.RetractFactRequest(
            person_id=s.person_id, authority_record_id="matrix", reason="matrix", legal_basis="matrix",
            request_id=secrets.token_hex(8)),
        "StatusService/AmendFact": spb.AmendFactRequest(
            person_id=s.person_id, authority_record_id="matrix", reason="matrix", legal_basis="matrix",
            request_id=secrets.token_hex(8), fact=spb.Fact(kind=spb.FACT_KIND_DIAGNOSIS)),
        "StatusService/RecordCheckIn": spb.RecordCheckInRequest(
            person_id=s.person_id, temperature_celsius=36.5, request_id=secrets.token_hex(8)),
        "StatusService/AcknowledgePopup": spb.AcknowledgePopupRequest(
            person_id=s.person_id, request_id=secrets.token_hex(8)),
        "StatusService/IssueCode": spb.IssueCodeRequest(person_id=s.person_id),
        "StatusService/FileAppeal": spb.FileAppealRequest(
            person_id=s.person_id, category=spb.APPEAL_CATEGORY_OTHER, statement="matrix",
            request_id=secrets.token_hex(8)),
        "StatusService/GetAppeal": spb.GetAppealRequest(appeal_id=s.appeal_id),
        "StatusService/ListAppeals": spb.ListAppealsRequest(province_code="420000"),
        "StatusService/DecideAppeal": spb.DecideAppealRequest(appeal_id=s.appeal_id, approve=False,
                                                              decision_reason="matrix"),
        "StatusService/ProposeOverride": spb.ProposeOverrideRequest(
            person_id=s.person_id, colour=common_pb2.COLOUR_GREEN, reason_code="MATRIX", legal_basis="matrix",
            request_id=secrets.token_hex(8)),
        "StatusService/DecideOverride": spb.DecideOverrideRequest(override_id=str(uuid.uuid4()), approve=False),
        "StatusService/ListOverrides": spb.ListOverridesRequest(province_code="420000"),
        "StatusAdminService/PublishRuleSet": spb.PublishRuleSetRequest(province_code="420000"),
        "StatusAdminService/ListRuleSets": spb.ListRuleSetsRequest(province_code="420000"),
        # In force only in 300 days, so it signs nothing the other tests see.
        "StatusAdminService/CreateSigningKey": spb.CreateSigningKeyRequest(province_code="420000",
                                                                          not_before_time=later),
        "StatusAdminService/ListSigningKeys": spb.ListSigningKeysRequest(province_code="420000"),
        "StatusAdminService/RevokeSigningKey": spb.RevokeSigningKeyRequest(key_id="no-such-key"),
        "StatusAdminService/SetOfficerRoles": spb.SetOfficerRolesRequest(officer_id="matrix-officer",
                                                                        province_code="420000"),
        "StatusAdminService/StartRecompute": spb.StartRecomputeRequest(declaration_id=str(uuid.uuid4())),
        "StatusAdminService/ListRecomputeRuns": spb.ListRecomputeRunsRequest(),
        "VerificationService/VerifyCode": vpb.VerifyCodeRequest(payload="HCN1:NOT-A-CODE", area_code=HUBEI_AREA),
        "VerificationService/GetOfflineSnapshot": vpb.GetOfflineSnapshotRequest(),
        "VerificationService/GetOfflineManifest": vpb.GetOfflineManifestRequest(),
        "VerificationService/GetSnapshotPartition": vpb.GetSnapshotPartitionRequest(partition=7),
        "VerificationService/ListSnapshotChanges": vpb.ListSnapshotChangesRequest(),
        "VerificationService/RecordOfflineDecisions": vpb.RecordOfflineDecisionsRequest(area_code=HUBEI_AREA),
        "VerificationService/RegisterVenue": vpb.RegisterVenueRequest(
            name="matrix", area_code=HUBEI_AREA, request_id=secrets.token_hex(8)),
        "VerificationService/GetVenueCode": vpb.GetVenueCodeRequest(venue_id=str(uuid.uuid4())),
        "VerificationService/RecordVisit": vpb.RecordVisitRequest(person_id=s.person_id, venue_code="nope",
                                                                 request_id=secrets.token_hex(8)),
        "VerificationService/TraceContacts": vpb.TraceContactsRequest(case_person_id=s.person_id),
        "RecognitionAdminService/SetAgreement": vpb.SetAgreementRequest(),
        "RecognitionAdminService/ListAgreements": vpb.ListAgreementsRequest(),
        "RecognitionAdminService/PublishRiskList": vpb.PublishRiskListRequest(batch_id=secrets.token_hex(8)),
        "RecognitionAdminService/SyncTrustList": vpb.SyncTrustListRequest(),
        "RecognitionAdminService/ImportDccSigners": vpb.ImportDccSignersRequest(
            signers=[vpb.DccSigner(certificate=b"not a certificate")]),
    }


def _refused_by_gateway(error: grpc.aio.AioRpcError) -> bool:
    if error.code() != grpc.StatusCode.PERMISSION_DENIED:
        return False
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return (info.reason, info.domain) == ("CALLER_NOT_ALLOWED", "gateway.healthcode")
    return False


@pytest.fixture(scope="module")
async def subject(platform) -> Subject:
    hubei = platform.hubei.deployment
    document = passport("FRA")
    person = (await hubei.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="赵六", document=document, home_province_code="420000"))).person.person_id
    appeal = await hubei.status.FileAppeal(spb.FileAppealRequest(
        person_id=person, category=spb.APPEAL_CATEGORY_OTHER, statement="matrix", request_id=secrets.token_hex(8)))
    return Subject(person, document, appeal.appeal.appeal_id)


def test_every_public_rpc_is_in_the_expected_matrix():
    assert {method.split(".v1.")[1] for method in ROUTES} == set(ALLOWED)


async def _call(front, route, request, token: str):
    channel = front.channel("hubei-system")  # a system's connection relaying the caller's session
    metadata = bearer(token)
    if route.client_streaming:
        async def one():
            yield request
        return await channel.stream_unary(route.method, request_serializer=route.request.SerializeToString,
                                          response_deserializer=route.response.FromString)(one(), metadata=metadata)
    if route.server_streaming:
        call = channel.unary_stream(route.method, request_serializer=route.request.SerializeToString,
                                    response_deserializer=route.response.FromString)(request, metadata=metadata,
                                                                                     timeout=5)
        try:
            return await call.read()
        finally:
            call.cancel()
    return await channel.unary_unary(route.method, request_serializer=route.request.SerializeToString,
                                     response_deserializer=route.response.FromString)(request, metadata=metadata)


async def test_every_forbidden_cell_is_denied_and_every_allowed_cell_gets_through(platform, subject):
    front = platform.hubei
    now = front.deployment.clock.now()
    stranger = await front.deployment.resident()
    requests = _requests(subject, now)
    requests["StatusService/WatchStatus"] = spb.WatchStatusRequest(person_id=subject.person_id)
    requests["ItineraryService/IngestCarrierStays"] = itinerary_pb2.IngestCarrierStaysRequest(
        batch_id=secrets.token_hex(6))  # source_carrier: filled in with the feed's own name
    tokens = {}
    for name, (kind, province) in CALLERS.items():
        subject_id = {"person": subject.person_id, "stranger": stranger}.get(name, f"matrix-{name}")
        scopes = {"feed": FEED_SCOPES, "feed_discharges_only": frozenset({"DISCHARGE"})}.get(name, frozenset())
        tokens[name] = front.token(kind, subject_id, province, scopes)

    wrong = []
    for method, route in sorted(ROUTES.items()):
        short = method.split(".v1.")[1]
        for caller in CALLERS:
            request = type(requests[short])()
            request.CopyFrom(requests[short])
            try:
                await _call(front, route, request, tokens[caller])
                refused = False
            except grpc.aio.AioRpcError as error:
                refused = _refused_by_gateway(error)
                if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                    wrong.append((short, caller, "UNAUTHENTICATED"))
            if refused == (caller in ALLOWED[short]):
                wrong.append((short, caller, "refused" if refused else "let through"))
    assert wrong == []


async def test_a_person_may_act_for_a_dependent_and_no_one_else(platform, http):
    hubei = platform.hubei
    parent, stranger = [await hubei.deployment.resident() for _ in range(2)]
    child_document = id_card(date(2020, 2, 2))
    child = (await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="赵小六", document=child_document, home_province_code="420000"))).person.person_id
    # Linked on the child's own face check (the household register has tests of its own).
    provider = FaceProvider()
    await identity_pb2_grpc.FaceProviderAdminServiceStub(hubei.channel("national-operator")).RegisterFaceProviderKey(
        identity_pb2.RegisterFaceProviderKeyRequest(
            provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=provider.public_key_der,
            valid_from_time=timestamp(hubei.deployment.clock.now() - timedelta(days=1))))
    await hubei.deployment.persons.LinkDependent(identity_pb2.LinkDependentRequest(
        holder_person_id=parent, dependent_person_id=child, relation=identity_pb2.RELATION_PARENT,
        dependent_face_attestation=provider.attest(child_document, hubei.deployment.clock.now())))
    token = {"Authorization": "Bearer " + hubei.token(CallerKind.PERSON, parent, "420000")}
    answers = {}
    for whom in ("me", child, stranger):
        async with http.get(f"{hubei.url}/v1/persons/{whom}/status", headers=token) as response:
            answers[whom] = (response.status, (await response.json()).get("error", {}).get("reason", ""))
    assert answers == {"me": (200, ""), child: (200, ""), stranger: (403, "CALLER_NOT_ALLOWED")}


async def test_a_call_without_credentials_is_unauthenticated(platform, http):
    for method, route in ROUTES.items():
        if route.client_streaming or route.server_streaming:
            continue
        service, name = method.strip("/").split("/")
        async with http.post(f"{platform.hubei.url}/v1/rpc/{service}/{name}", json={}) as response:
            assert response.status == 401, method
            assert (await response.json())["error"]["code"] == "UNAUTHENTICATED"


async def test_a_forged_or_expired_session_is_unauthenticated(platform):
    forged = SessionKeys({"s1": base64.b64decode(random_key())}).mint(
        Principal(CallerKind.OPERATOR, "intruder", "000000"), 3600)
    expired = platform.hubei.keys.mint(Principal(CallerKind.OPERATOR, "late", "000000"), -120)
    route = ROUTES["/healthcode.status.v1.StatusAdminService/ListRecomputeRuns"]
    reasons = []
    for token in (forged, expired, "not-a-token"):
        try:
            await _call(platform.hubei, route, spb.ListRecomputeRunsRequest(), token)
        except grpc.aio.AioRpcError as error:
            reasons.append((error.code(), error_details(error)[0]))
    assert reasons == [(grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID"),
                       (grpc.StatusCode.UNAUTHENTICATED, "SESSION_EXPIRED"),
                       (grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID")]


async def test_a_hotel_registration_feed_sends_hotel_registrations_and_nothing_else(platform):
    front = platform.hubei
    person = await front.deployment.resident()
    token = front.token(CallerKind.FEED, "hubei-police-hotels", "420000", frozenset({"HOTEL_REGISTRATION"}))
    route = ROUTES["/healthcode.status.v1.StatusService/RecordFacts"]
    now = front.deployment.clock.now()

    def fact(kind: int, source: int) -> spb.Fact:
        return spb.Fact(person_id=person, kind=kind, authority_record_id=secrets.token_hex(6), source=source,
                        effective_time=timestamp(now - timedelta(hours=1)))

    stored = await _call(front, route, spb.RecordFactsRequest(facts=[
        fact(spb.FACT_KIND_HOTEL_REGISTRATION, spb.FACT_SOURCE_POLICE)]), token)
    assert (stored.stored_count, stored.outcomes[0].rejection_reason) == (1, "")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _call(front, route, spb.RecordFactsRequest(facts=[
            fact(spb.FACT_KIND_FEVER_MEDICINE_PURCHASE, spb.FACT_SOURCE_MARKET_REGULATION)]), token)
    assert _refused_by_gateway(refused.value)

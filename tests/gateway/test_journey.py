"""A person's whole journey, through the gateways only: Hubei's for the person, its feeds and its
operator; Jiangsu's for the checkpoint at the other end of the trip."""

from __future__ import annotations

import asyncio
import base64
import secrets
from datetime import date, timedelta

import grpc
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2, itinerary_pb2_grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc
from healthcode.verification.v1 import verification_pb2

from gateway.principals import CallerKind
from tests.support.gateway import bearer
from tests.support import FaceProvider, HouseholdRegister, id_card, timestamp

WUHAN_DISTRICT = "420106"


def _json_attestation(attestation: identity_pb2.FaceAttestation) -> dict:
    return {"claims": base64.b64encode(attestation.claims).decode(),
            "signature": base64.b64encode(attestation.signature).decode()}


async def _ok(response) -> dict:
    body = await response.json()
    assert response.status == 200, body
    return body


async def test_a_person_from_registration_to_a_checkpoint_in_another_province(platform, http):
    hubei, jiangsu = platform.hubei, platform.jiangsu
    now = hubei.deployment.clock.now()

    # The national operator registers a face-check provider (mutual TLS, a development certificate).
    provider = FaceProvider()
    admin = identity_pb2_grpc.FaceProviderAdminServiceStub(hubei.channel("national-operator"))
    await admin.RegisterFaceProviderKey(identity_pb2.RegisterFaceProviderKeyRequest(
        provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=provider.public_key_der,
        valid_from_time=timestamp(now - timedelta(days=1))))

    # A parent registers in the app with a face check answering the gateway's challenge, and is signed in.
    document = id_card(date(1985, 5, 5))
    challenge = (await _ok(await http.post(f"{hubei.url}/v1/sign-in-challenges")))["challenge"]
    session = await _ok(await http.post(f"{hubei.url}/v1/persons", json={
        "name": "张小三", "document": {"kind": "DOCUMENT_KIND_RESIDENT_ID_CARD", "number": document.number},
        "home_province_code": "420000",
        "face_attestation": _json_attestation(provider.attest(document, hubei.deployment.clock.now(), nonce=challenge))}))
    parent_id = session["person"]["person_id"]
    assert session["person"]["masked_name"] == "张*三"
    assert document.number not in str(session)
    me = {"Authorization": f"Bearer {session['token']}"}

    # ... registers their child with the child's own face check, and links the child as a dependent on
    # the household register's attestation that they are the parent (a registered provider too).
    register = HouseholdRegister()
    await admin.RegisterFaceProviderKey(register.key_request(now - timedelta(days=1)))
    child_document = id_card(date(2019, 3, 3))
    child = await _ok(await http.post(f"{hubei.url}/v1/persons", headers=me, json={
        "name": "张小宝", "home_province_code": "420000",
        "document": {"kind": "DOCUMENT_KIND_RESIDENT_ID_CARD", "number": child_document.number},
        "face_attestation": _json_attestation(provider.attest(child_document, hubei.deployment.clock.now()))}))
    child_id = child["person"]["person_id"]
    relation = register.relation(document, child_document, hubei.deployment.clock.now())
    link = await _ok(await http.post(f"{hubei.url}/v1/persons/me/dependents", headers=me, json={
        "dependent_person_id": child_id, "relation": "RELATION_PARENT",
        "relation_attestation": _json_attestation(relation)}))
    assert link["link"]["basis"] == "LINK_BASIS_ATTESTED_GUARDIANSHIP"
    dependents = await _ok(await http.get(f"{hubei.url}/v1/persons/me/dependents", headers=me))
    assert [entry["dependent"]["person_id"] for entry in dependents["links"]] == [child_id]

    # A carrier reports the parent's six hours in a Wuhan district (its own certificate, STAYS scope).
    carrier = itinerary_pb2_grpc.ItineraryServiceStub(hubei.channel("carrier-feed"))

    async def stays():
        yield itinerary_pb2.IngestCarrierStaysRequest(
            batch_id=f"b-{secrets.token_hex(6)}", source_carrier="china-mobile",
            stays=[itinerary_pb2.CarrierStay(person_id=parent_id, area_code=WUHAN_DISTRICT,
                                             arrival_time=timestamp(now - timedelta(days=2)),
                                             departure_time=timestamp(now - timedelta(days=2) + timedelta(hours=6)))])
    assert (await carrier.IngestCarrierStays(stays())).stored == 1

    # Hubei's app backend relays the parent's session to watch their colour over gRPC; it starts green.
    person_status = status_pb2_grpc.StatusServiceStub(hubei.channel("hubei-system"))
    watch = person_status.WatchStatus(status_pb2.WatchStatusRequest(person_id=parent_id),
                                      metadata=bearer(session["token"]))
    first = await asyncio.wait_for(watch.read(), 10)
    assert first.status.colour == common_pb2.COLOUR_GREEN

    # Hubei's operator declares the district high-risk; status follows the declaration by itself.
    operator = itinerary_pb2_grpc.ItineraryServiceStub(hubei.channel("hubei-operator"))
    await operator.DeclareRiskArea(itinerary_pb2.DeclareRiskAreaRequest(
        area_code=WUHAN_DISTRICT, level=common_pb2.RISK_LEVEL_HIGH, effective_time=timestamp(now - timedelta(days=3)),
        reason="cluster", request_id=secrets.token_hex(8)))
    changed = await asyncio.wait_for(watch.read(), 15)
    watch.cancel()
    assert changed.status.colour == common_pb2.COLOUR_RED
    assert [reason.code for reason in changed.status.reasons] == ["HIGH_RISK_STAY"]

    # The app shows both codes: the parent's red, the child's green.
    parent_code = await _ok(await http.get(f"{hubei.url}/v1/persons/me/code", headers=me))
    child_code = await _ok(await http.get(f"{hubei.url}/v1/persons/{child_id}/code", headers=me))
    assert (parent_code["colour"], child_code["colour"]) == ("COLOUR_RED", "COLOUR_GREEN")
    assert parent_code["qr_svg"].startswith("<svg") and parent_code["masked_name"] == "张*三"
    assert 0 < parent_code["refresh_in_seconds"] <= 60

    # In Jiangsu: its operator accepts Hubei's codes, and a station checkpoint scans both.
    jiangsu_operator = {"Authorization": "Bearer " + jiangsu.token(CallerKind.OPERATOR, "js-operator", "320000")}
    await _ok(await http.post(f"{jiangsu.url}/v1/rpc/healthcode.verification.v1.RecognitionAdminService/SetAgreement",
                              headers=jiangsu_operator, json={"agreement": {
                                  "issuer_province_code": "420000",
                                  "accepted_since_time": (now - timedelta(days=1)).isoformat()}}))
    gate = {"Authorization": "Bearer " + jiangsu.token(CallerKind.CHECKPOINT, "nanjing-south-3", "320000")}
    verdicts = [await _ok(await http.post(f"{jiangsu.url}/v1/verifications", headers=gate, json={
        "payload": code["payload"], "area_code": "320114"})) for code in (parent_code, child_code)]
    assert [(v["decision"], v["colour"], v["issuer_province_code"]) for v in verdicts] == [
        ("DECISION_DENY", "COLOUR_RED", "420000"), ("DECISION_PASS", "COLOUR_GREEN", "420000")]

    # The parent appeals, and sees why their colour changed: the audit trail of their status.
    appeal = await _ok(await http.post(f"{hubei.url}/v1/persons/me/appeals", headers=me, json={
        "category": "APPEAL_CATEGORY_ITINERARY", "statement": "I drove through without stopping",
        "request_id": secrets.token_hex(8)}))
    assert appeal["appeal"]["filer_person_id"] == parent_id
    assert appeal["appeal"]["state"] == "APPEAL_STATE_PENDING"
    history = await _ok(await http.get(f"{hubei.url}/v1/persons/me/status-changes", headers=me))
    latest = history["changes"][0]
    assert (latest["previous_colour"], latest["colour"], latest["cause"]) == (
        "COLOUR_GREEN", "COLOUR_RED", "CHANGE_CAUSE_RISK_DECLARATION")
    assert latest["reasons"][0]["code"] == "HIGH_RISK_STAY"


async def test_a_province_system_shows_its_residents_codes_over_grpc_with_its_certificate(platform):
    hubei = platform.hubei
    resident = await hubei.deployment.resident()
    system = status_pb2_grpc.StatusServiceStub(hubei.channel("hubei-system"))
    issued = await system.IssueCode(status_pb2.IssueCodeRequest(person_id=resident))
    assert issued.payload.startswith("HCN1:")
    checkpoint = hubei.channel("wuhan-checkpoint")
    verdict = await checkpoint.unary_unary(
        "/healthcode.verification.v1.VerificationService/VerifyCode",
        request_serializer=verification_pb2.VerifyCodeRequest.SerializeToString,
        response_deserializer=verification_pb2.VerifyCodeResponse.FromString)(
        verification_pb2.VerifyCodeRequest(payload=issued.payload, area_code="420102"))
    assert verdict.decision == verification_pb2.DECISION_PASS


async def test_service_errors_pass_through_the_gateway_with_their_details(platform):
    from tests.support import error_details

    system = identity_pb2_grpc.IdentityServiceStub(platform.hubei.channel("hubei-system"))
    try:
        await system.RegisterPerson(identity_pb2.RegisterPersonRequest(
            name="李四", home_province_code="420000",
            document=identity_pb2.Document(kind=identity_pb2.DOCUMENT_KIND_RESIDENT_ID_CARD, number="123")))
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "document.number" in error_details(error)[1]
    else:
        raise AssertionError("a malformed ID card number was accepted")

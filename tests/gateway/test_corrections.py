"""Correcting data through the gateway (issue 15, GB/T 38963 "correct data"): an authority retracts or
amends only its own fact, a carrier corrects only its own stays, a person corrects their own name
(once at once, then by an officer of their province), and each correction shows in the history."""

from __future__ import annotations

import secrets
from datetime import timedelta

import grpc
import pytest

from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2, itinerary_pb2_grpc

from gateway.principals import CallerKind
from tests.support.gateway import as_json, bearer
from tests.support.gateway import HUBEI, ITINERARY, JIANGSU, STATUS, Caller, reason
from tests.support import FaceProvider, error_details, id_card, timestamp

IDENTITY = "healthcode.identity.v1.IdentityService"

BASIS = "《传染病防治法》第三十八条"


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _diagnosed(front, http, cdc: Caller) -> tuple[str, str]:
    person = await front.deployment.resident()
    record_id = secrets.token_hex(6)
    answer = await cdc.rpc(STATUS, "RecordFacts", {"facts": [{
        "person_id": person, "kind": "FACT_KIND_DIAGNOSIS", "authority_record_id": record_id,
        "source": "FACT_SOURCE_HEALTH", "effective_time": _iso(front.deployment.clock.now() - timedelta(hours=1)),
        "diagnosis": "DIAGNOSIS_CONFIRMED"}]})
    assert answer[0] == 200 and answer[1]["stored_count"] == 1, answer
    return person, record_id


async def test_only_the_recording_authority_retracts_its_fact_and_the_person_sees_why(platform, http):
    front = platform.hubei
    cdc = Caller(front, http, CallerKind.FEED, "wuhan-cdc", scopes=frozenset({"DIAGNOSIS"}))
    other = Caller(front, http, CallerKind.FEED, "yichang-cdc", scopes=frozenset({"DIAGNOSIS"}))
    person, record_id = await _diagnosed(front, http, cdc)
    body = {"person_id": person, "authority_record_id": record_id, "reason": "wrong person",
            "legal_basis": BASIS, "request_id": secrets.token_hex(6)}
    assert reason(await other.rpc(STATUS, "RetractFact", body)) == (403, "FACT_OF_ANOTHER_AUTHORITY")
    # Naming the recording authority in the field does not help another feed.
    assert reason(await other.rpc(STATUS, "RetractFact", body | {"authority": f"{HUBEI}.wuhan-cdc"})) == (
        403, "CALLER_NOT_ALLOWED")
    status, answer = await cdc.rpc(STATUS, "RetractFact", body)
    assert (status, answer["status"]["colour"]) == (200, "COLOUR_GREEN"), answer
    owner = Caller(front, http, CallerKind.PERSON, person)
    status, history = await owner.get("/v1/persons/me/status-changes")
    assert status == 200, history
    latest = history["changes"][0]
    assert latest["cause"] == "CHANGE_CAUSE_CORRECTION"
    assert (latest["correction"]["actor"], latest["correction"]["legal_basis"], latest["officer_ids"]) == (
        f"{HUBEI}.wuhan-cdc", BASIS, [f"{HUBEI}.wuhan-cdc"])


async def test_a_feed_amends_only_into_a_kind_it_may_send(platform, http):
    front = platform.hubei
    cdc = Caller(front, http, CallerKind.FEED, "wuhan-cdc", scopes=frozenset({"DIAGNOSIS"}))
    person, record_id = await _diagnosed(front, http, cdc)
    body = {"person_id": person, "authority_record_id": record_id, "reason": "typed the wrong hour",
            "legal_basis": BASIS, "request_id": secrets.token_hex(6),
            "fact": {"kind": "FACT_KIND_DIAGNOSIS", "source": "FACT_SOURCE_HEALTH", "diagnosis": "DIAGNOSIS_CONFIRMED",
                     "effective_time": _iso(front.deployment.clock.now() - timedelta(hours=5))}}
    status, answer = await cdc.rpc(STATUS, "AmendFact", body)
    assert (status, answer["correction"]["changed_fields"]) == (200, ["effective_time"]), answer
    tests_only = Caller(front, http, CallerKind.FEED, "wuhan-cdc", scopes=frozenset({"NUCLEIC_ACID_TEST"}))
    assert reason(await tests_only.rpc(STATUS, "AmendFact", body | {"request_id": secrets.token_hex(6)})) == (
        403, "CALLER_NOT_ALLOWED")
    bad = body | {"request_id": secrets.token_hex(6), "fact": body["fact"] | {"effective_time": "not a time"}}
    status, answer = await cdc.rpc(STATUS, "AmendFact", bad)
    assert status == 400, answer


async def test_a_feed_of_another_province_corrects_nothing_of_hubei(platform, http):
    front = platform.hubei
    cdc = Caller(front, http, CallerKind.FEED, "wuhan-cdc", scopes=frozenset({"DIAGNOSIS"}))
    person, record_id = await _diagnosed(front, http, cdc)
    jiangsu = Caller(front, http, CallerKind.FEED, "wuhan-cdc", JIANGSU, frozenset({"DIAGNOSIS"}))
    assert reason(await jiangsu.rpc(STATUS, "RetractFact", {
        "person_id": person, "authority_record_id": record_id, "reason": "x", "legal_basis": BASIS,
        "request_id": secrets.token_hex(6)})) == (403, "CALLER_NOT_ALLOWED")


async def test_a_carrier_sends_stays_under_its_own_name_only_in_every_chunk(platform):
    front = platform.hubei
    person = await front.deployment.resident()
    token = bearer(front.token(CallerKind.FEED, "china-mobile", HUBEI, frozenset({"STAYS"})))
    arrival = front.deployment.clock.now() - timedelta(days=2)
    one_stay = itinerary_pb2.CarrierStay(person_id=person, area_code="420102", arrival_time=timestamp(arrival),
                                         departure_time=timestamp(arrival + timedelta(hours=6)))
    carrier = itinerary_pb2_grpc.ItineraryServiceStub(front.channel("hubei-system"))

    def upload(*names: str):
        batch_id = secrets.token_hex(6)

        async def chunks():
            for name in names:
                yield itinerary_pb2.IngestCarrierStaysRequest(batch_id=batch_id, source_carrier=name,
                                                              stays=[one_stay])
        return carrier.IngestCarrierStays(chunks(), metadata=token)

    for names in (("china-unicom",), ("china-mobile", "china-unicom")):  # another's name, first or midway
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await upload(*names)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_details(refused.value)[0] == "CALLER_NOT_ALLOWED"
    listed = carrier  # Hubei's system (the certificate, no feed token) reads its residents' stays
    assert not (await listed.ListStays(itinerary_pb2.ListStaysRequest(person_id=person))).stays  # nothing kept

    # Left empty, the name is the credential's own, in every chunk.
    assert (await upload("", "")).stored == 1
    stays = (await listed.ListStays(itinerary_pb2.ListStaysRequest(person_id=person))).stays
    assert [s.source_carrier for s in stays] == ["china-mobile"]


async def test_a_carrier_corrects_only_stays_it_sent_under_its_own_name(platform, http):
    front = platform.hubei
    person = await front.deployment.resident()
    token = front.token(CallerKind.FEED, "china-mobile", HUBEI, frozenset({"STAYS"}))
    arrival = front.deployment.clock.now() - timedelta(days=2)
    sent = itinerary_pb2.CarrierStay(person_id=person, area_code="420102", arrival_time=timestamp(arrival),
                                     departure_time=timestamp(arrival + timedelta(hours=6)))

    async def stays():
        yield itinerary_pb2.IngestCarrierStaysRequest(batch_id=secrets.token_hex(6), source_carrier="china-mobile",
                                                      stays=[sent])
    carrier = itinerary_pb2_grpc.ItineraryServiceStub(front.channel("hubei-system"))
    assert (await carrier.IngestCarrierStays(stays(), metadata=bearer(token))).stored == 1

    body = {"request_id": secrets.token_hex(6), "corrections": [{
        "stay": {"person_id": person, "area_code": "420102", "arrival_time": _iso(arrival),
                 "departure_time": _iso(arrival + timedelta(hours=6))},
        "action": "STAY_CORRECTION_ACTION_WITHDRAW", "reason": "another subscriber's record"}]}
    other = Caller(front, http, CallerKind.FEED, "china-telecom", scopes=frozenset({"STAYS"}))
    assert reason(await other.rpc(ITINERARY, "CorrectCarrierStays", body | {"source_carrier": "china-mobile"})) == (
        403, "CALLER_NOT_ALLOWED")
    status, answer = await other.rpc(ITINERARY, "CorrectCarrierStays", body)
    assert (status, answer["outcomes"][0]["rejection_reason"]) == (200, "STAY_NOT_FOUND"), answer
    facts_feed = Caller(front, http, CallerKind.FEED, "china-mobile", scopes=frozenset({"DIAGNOSIS"}))
    assert reason(await facts_feed.rpc(ITINERARY, "CorrectCarrierStays", body)) == (403, "CALLER_NOT_ALLOWED")
    mobile = Caller(front, http, CallerKind.FEED, "china-mobile", scopes=frozenset({"STAYS"}))
    status, answer = await mobile.rpc(ITINERARY, "CorrectCarrierStays", body | {"request_id": secrets.token_hex(6)})
    assert (status, answer["applied_count"]) == (200, 1), answer
    status, bad = await mobile.rpc(ITINERARY, "CorrectCarrierStays", {"request_id": "x", "corrections": []})
    assert (status, bad["error"]["reason"]) == (400, "CORRECTIONS_COUNT_INVALID"), bad


async def test_a_person_corrects_their_own_name_once_then_an_officer_of_their_province_decides(platform, http):
    front = platform.hubei
    provider = FaceProvider()
    await identity_pb2_grpc.FaceProviderAdminServiceStub(front.channel("national-operator")).RegisterFaceProviderKey(
        identity_pb2.RegisterFaceProviderKeyRequest(
            provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=provider.public_key_der,
            valid_from_time=timestamp(front.deployment.clock.now() - timedelta(days=1))))
    document = id_card()
    person = (await front.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="刘小红", document=document, home_province_code=HUBEI))).person.person_id
    me = {"Authorization": f"Bearer {front.token(CallerKind.PERSON, person, HUBEI)}"}

    async def correct(name: str, whom: str = "me") -> tuple[int, dict]:
        async with http.post(f"{front.url}/v1/persons/{whom}/name-corrections", headers=me, json={
                "name": name, "basis": "户口本姓名有误", "request_id": secrets.token_hex(6),
                "face_attestation": as_json(provider.attest(document, front.deployment.clock.now()))}) as response:
            return response.status, await response.json()

    status, first = await correct("刘晓红")
    assert (status, first["correction"]["state"], first["person"]["masked_name"]) == (
        200, "NAME_CORRECTION_STATE_APPLIED", "刘*红"), first
    assert "刘晓红" not in str(first)
    status, second = await correct("柳晓红")
    assert (status, second["correction"]["state"]) == (200, "NAME_CORRECTION_STATE_PENDING"), second
    # Someone else's name is not the caller's to correct, face check or not.
    stranger = await front.deployment.resident()
    assert reason(await correct("李四", stranger)) == (403, "CALLER_NOT_ALLOWED")
    async with http.post(f"{front.url}/v1/persons/me/name-corrections", headers=me,
                         json={"name": "刘三", "basis": "x", "request_id": "r1"}) as response:
        assert (response.status, (await response.json())["error"]["reason"]) == (400, "FACE_CHECK_REQUIRED")

    correction_id = second["correction"]["correction_id"]
    jiangsu = Caller(front, http, CallerKind.OPERATOR, "identity-officer", JIANGSU)
    assert reason(await jiangsu.rpc(IDENTITY, "ListNameCorrections", {"province_code": HUBEI})) == (
        403, "CALLER_NOT_ALLOWED")
    assert reason(await jiangsu.rpc(IDENTITY, "DecideNameCorrection", {
        "correction_id": correction_id, "approve": True, "reason": "ok"})) == (403, "NOT_AN_OFFICER_OF_PROVINCE")
    the_person = Caller(front, http, CallerKind.PERSON, person)
    assert reason(await the_person.rpc(IDENTITY, "DecideNameCorrection", {
        "correction_id": correction_id, "approve": True, "reason": "mine"})) == (403, "CALLER_NOT_ALLOWED")
    officer = Caller(front, http, CallerKind.OPERATOR, "identity-officer")
    status, queue = await officer.rpc(IDENTITY, "ListNameCorrections", {"province_code": HUBEI, "page_size": 1000})
    assert status == 200 and correction_id in [c["correction_id"] for c in queue["corrections"]], queue
    status, decided = await officer.rpc(IDENTITY, "DecideNameCorrection", {
        "correction_id": correction_id, "approve": True, "reason": "户籍核实"})
    assert (status, decided["correction"]["reviewer_id"], decided["person"]["masked_name"]) == (
        200, f"{HUBEI}.identity-officer", "柳*红"), decided

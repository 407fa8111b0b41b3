"""Correcting data through the gateway (issue 15, GB/T 38963 "correct data"): an authority retracts or
amends only its own fact, a carrier corrects only its own stays, a person corrects their own name
(once at once, then by an officer of their province), and each correction shows in the history."""

from __future__ import annotations

import secrets
from datetime import timedelta

from healthcode.itinerary.v1 import itinerary_pb2, itinerary_pb2_grpc

from gateway.principals import CallerKind
from tests.gateway.conftest import bearer
from tests.gateway.test_authority import HUBEI, ITINERARY, JIANGSU, STATUS, Caller, reason
from tests.support import timestamp

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

"""Correcting data through the gateway (issue 15, GB/T 38963 "correct data"): an authority retracts or
amends only its own fact, a carrier corrects only its own stays, a person corrects their own name
(once at once, then by an officer of their province), and each correction shows in the history."""

from __future__ import annotations

import secrets
from datetime import timedelta

from gateway.principals import CallerKind
from tests.gateway.test_authority import HUBEI, JIANGSU, STATUS, Caller, reason

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

"""Only an authority changes a colour, within its powers (issue 16), tried through the gateway as an
attacker would: tracing from a person never diagnosed, granting oneself roles, a credential of one
province passing for an officer, checkpoint or authority of another, a feed reaching other
provinces' residents."""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
import zlib
from datetime import timedelta

import base45
import cbor2
import grpc
import pytest
from healthcode.identity.v1 import identity_pb2
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2 as spb

from gateway.policy import ROUTES
from gateway.principals import CallerKind
from services.codes import P256_ORDER, PREFIX
from services.runtime.metrics import CLIENT_STARTED
from services.status.casework import bootstrap_administrator
from tests.support.gateway import bearer, start_front
from tests.support import error_details, passport
from tests.support.gateway import (ADMIN_SERVICE, Caller, HUBEI, ITINERARY, JIANGSU, NATIONAL, STATUS, VERIFICATION,
                                   reason)

ADMIN = "hubei-admin"  # its acting id through the gateway: 420000.hubei-admin
BASIS = "《传染病防治法》第十二条; 湖北省卫健委流调令 2026-3"


@pytest.fixture(scope="module")
async def hubei_admin(platform) -> str:
    deployment = platform.hubei.deployment
    await bootstrap_administrator(deployment.status_parts.repository, f"{HUBEI}.{ADMIN}", HUBEI,
                                  deployment.clock.now())
    return ADMIN


async def grant(front, http, officer: str, *roles: str, province: str = HUBEI) -> tuple[int, dict]:
    return await Caller(front, http, CallerKind.OPERATOR, ADMIN).rpc(
        ADMIN_SERVICE, "SetOfficerRoles", {"officer_id": officer, "province_code": province, "roles": list(roles)})


async def diagnose(front, http, person_id: str, diagnosis: str = "DIAGNOSIS_CONFIRMED") -> None:
    cdc = Caller(front, http, CallerKind.FEED, "wuhan-cdc", scopes=frozenset({"DIAGNOSIS"}))
    moment = (front.deployment.clock.now() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    answer = await cdc.rpc(STATUS, "RecordFacts", {"facts": [{
        "person_id": person_id, "kind": "FACT_KIND_DIAGNOSIS", "authority_record_id": secrets.token_hex(6),
        "source": "FACT_SOURCE_HEALTH", "effective_time": moment, "diagnosis": diagnosis}]})
    assert answer[0] == 200 and answer[1]["stored_count"] == 1, answer


async def met_at_a_venue(front, http, *person_ids: str) -> None:
    operator = Caller(front, http, CallerKind.OPERATOR, "venues")
    status, venue = await operator.rpc(VERIFICATION, "RegisterVenue", {
        "name": "汉口站", "area_code": "420102", "category": "VENUE_CATEGORY_TRANSPORT",
        "request_id": secrets.token_hex(6)})
    assert status == 200, venue
    _, code = await operator.rpc(VERIFICATION, "GetVenueCode", {"venue_id": venue["venue"]["venue_id"]})
    for person_id in person_ids:
        visitor = Caller(front, http, CallerKind.PERSON, person_id)
        async with http.post(f"{front.url}/v1/persons/me/visits", json={"venue_code": code["payload"]},
                             headers=visitor._headers) as response:
            assert response.status == 200, await response.text()


async def colour(front, http, person_id: str) -> str:
    _, answer = await Caller(front, http, CallerKind.PERSON, person_id).get("/v1/persons/me/status")
    return answer["status"]["colour"]


# 1. Tracing is an authority's act

async def test_a_trace_starts_only_from_a_diagnosed_case_by_a_tracer_of_its_province_with_a_basis(
        platform, http, hubei_admin):
    front = platform.hubei
    case, visitor = [await front.deployment.resident() for _ in range(2)]
    await met_at_a_venue(front, http, case, visitor)
    assert (await grant(front, http, f"{HUBEI}.tracer-li", "OFFICER_ROLE_CONTACT_TRACER"))[0] == 200
    tracer = Caller(front, http, CallerKind.OPERATOR, "tracer-li")
    request = {"case_person_id": case, "legal_basis": BASIS, "trace_id": f"t-{secrets.token_hex(4)}"}

    # Never diagnosed: refused, and the co-visitor stays green.
    assert reason(await tracer.rpc(VERIFICATION, "TraceContacts", request)) == (400, "CASE_NOT_DIAGNOSED")
    assert await colour(front, http, visitor) == "COLOUR_GREEN"

    await diagnose(front, http, case)
    system = Caller(front, http, CallerKind.PROVINCE_SYSTEM, "hubei-app")
    not_a_tracer = Caller(front, http, CallerKind.OPERATOR, "clerk-wang")
    jiangsu_tracer = Caller(front, http, CallerKind.OPERATOR, "tracer-li", JIANGSU)
    assert reason(await system.rpc(VERIFICATION, "TraceContacts", request)) == (403, "CALLER_NOT_ALLOWED")
    assert reason(await not_a_tracer.rpc(VERIFICATION, "TraceContacts", request)) == (403, "OFFICER_ROLE_MISSING")
    assert reason(await jiangsu_tracer.rpc(VERIFICATION, "TraceContacts", request)) == (403, "CALLER_NOT_ALLOWED")
    assert reason(await tracer.rpc(VERIFICATION, "TraceContacts", request | {"tracer_id": "420000.someone"})) == (
        403, "CALLER_NOT_ALLOWED")
    status, answer = await tracer.rpc(VERIFICATION, "TraceContacts", request | {"legal_basis": ""})
    assert (status, [v["field"] for v in answer["error"]["field_violations"]]) == (400, ["legal_basis"])
    assert await colour(front, http, visitor) == "COLOUR_GREEN"

    status, answer = await tracer.rpc(VERIFICATION, "TraceContacts", request)
    assert (status, answer["close_contact_person_ids"]) == (200, [visitor])
    _, changes = await Caller(front, http, CallerKind.PERSON, visitor).get("/v1/persons/me/status-changes")
    latest = changes["changes"][0]
    assert (latest["cause"], latest["colour"], latest["trace_id"], latest["officer_ids"], latest["legal_basis"]) == (
        "CHANGE_CAUSE_CONTACT_TRACE", "COLOUR_RED", request["trace_id"], [f"{HUBEI}.tracer-li"], BASIS)


async def test_an_asymptomatic_case_may_be_traced(platform, http, hubei_admin):
    front = platform.hubei
    case = await front.deployment.resident()
    await diagnose(front, http, case, "DIAGNOSIS_ASYMPTOMATIC")
    assert (await grant(front, http, f"{HUBEI}.tracer-zhou", "OFFICER_ROLE_CONTACT_TRACER"))[0] == 200
    status, answer = await Caller(front, http, CallerKind.OPERATOR, "tracer-zhou").rpc(
        VERIFICATION, "TraceContacts", {"case_person_id": case, "legal_basis": BASIS})
    assert (status, answer.get("close_contact_person_ids", [])) == (200, [])


# 2. Roles and identities bound to provinces

async def test_roles_are_granted_by_an_administrator_who_is_not_the_grantee(platform, http, hubei_admin):
    front = platform.hubei
    officer = Caller(front, http, CallerKind.OPERATOR, "officer-self")
    both = ["OFFICER_ROLE_OVERRIDE_OFFICER", "OFFICER_ROLE_APPEAL_REVIEWER"]
    # An operator granting itself both override roles: not an administrator.
    assert reason(await officer.rpc(ADMIN_SERVICE, "SetOfficerRoles", {
        "officer_id": f"{HUBEI}.officer-self", "province_code": HUBEI, "roles": both})) == (403, "SELF_GRANT")
    assert reason(await officer.rpc(ADMIN_SERVICE, "SetOfficerRoles", {
        "officer_id": f"{HUBEI}.officer-other", "province_code": HUBEI, "roles": both})) == (
        403, "ADMINISTRATOR_REQUIRED")
    # The administrator cannot grant itself more either, nor name another granter.
    assert reason(await grant(front, http, f"{HUBEI}.{ADMIN}", "OFFICER_ROLE_OVERRIDE_OFFICER")) == (
        403, "SELF_GRANT")
    assert reason(await officer.rpc(ADMIN_SERVICE, "SetOfficerRoles", {
        "officer_id": f"{HUBEI}.officer-other", "province_code": HUBEI, "roles": both,
        "granted_by_id": f"{HUBEI}.{ADMIN}"})) == (403, "CALLER_NOT_ALLOWED")
    status, answer = await grant(front, http, f"{HUBEI}.officer-self", *both)
    assert (status, answer["roles"]) == (200, ["OFFICER_ROLE_APPEAL_REVIEWER", "OFFICER_ROLE_OVERRIDE_OFFICER"])


async def test_a_credential_of_another_province_named_like_a_hubei_officer_decides_nothing(
        platform, http, hubei_admin):
    front = platform.hubei
    assert (await grant(front, http, f"{HUBEI}.hubei-operator", "OFFICER_ROLE_APPEAL_REVIEWER"))[0] == 200
    # An administrator cannot grant Hubei roles to another province's officer either.
    assert reason(await grant(front, http, f"{JIANGSU}.hubei-operator", "OFFICER_ROLE_APPEAL_REVIEWER")) == (
        400, "OFFICER_PROVINCE_MISMATCH")
    person = await front.deployment.resident()
    appeal = (await front.deployment.status.FileAppeal(spb.FileAppealRequest(
        person_id=person, category=spb.APPEAL_CATEGORY_OTHER, statement="不是我", request_id=secrets.token_hex(6)
    ))).appeal.appeal_id
    impostor = Caller(front, http, CallerKind.OPERATOR, "hubei-operator", JIANGSU)
    decision = {"appeal_id": appeal, "approve": False, "decision_reason": "no"}
    assert reason(await impostor.rpc(STATUS, "DecideAppeal", decision)) == (403, "OFFICER_PROVINCE_MISMATCH")
    assert reason(await impostor.rpc(STATUS, "DecideAppeal", decision | {"reviewer_id": "420000.hubei-operator"})
                  ) == (403, "CALLER_NOT_ALLOWED")
    status, answer = await Caller(front, http, CallerKind.OPERATOR, "hubei-operator").rpc(
        STATUS, "DecideAppeal", decision)
    assert (status, answer["appeal"]["reviewer_id"]) == (200, f"{HUBEI}.hubei-operator")


async def test_a_checkpoint_verifies_only_under_its_own_province_qualified_id(platform, http):
    front = platform.hubei
    code = await front.deployment.code(await front.deployment.resident())
    jiangsu_device = Caller(front, http, CallerKind.CHECKPOINT, "wuhan-station-1", JIANGSU)
    for claimed in ("wuhan-station-1", f"{HUBEI}.wuhan-station-1"):
        assert reason(await jiangsu_device.rpc(VERIFICATION, "VerifyCode", {
            "payload": code, "checkpoint_id": claimed, "area_code": "320102"})) == (403, "CALLER_NOT_ALLOWED")
    assert reason(await jiangsu_device.rpc(VERIFICATION, "VerifyCode", {"payload": code, "area_code": "420102"})
                  ) == (403, "CALLER_NOT_ALLOWED")
    status, answer = await Caller(front, http, CallerKind.CHECKPOINT, "wuhan-station-1").rpc(
        VERIFICATION, "VerifyCode", {"payload": code, "area_code": "420102"})
    assert (status, answer["decision"]) == (200, "DECISION_PASS")
    await front.deployment.parts.checkpoint.decisions.flush()  # written in batches after the answer
    recorded = await front.deployment.status_parts.repository.pool.fetchval(
        "SELECT checkpoint_id FROM verification.decisions WHERE verification_id::text = $1",
        answer["verification_id"])
    assert recorded == f"{HUBEI}.wuhan-station-1"


async def test_a_risk_declarations_authority_is_the_caller(platform, http):
    front = platform.hubei
    system = Caller(front, http, CallerKind.PROVINCE_SYSTEM, "hubei-hc")
    def later(days: int) -> str:
        return (front.deployment.clock.now() + timedelta(days=days)).isoformat().replace("+00:00", "Z")

    for method, days in (("DeclareRiskArea", 400), ("LiftRiskArea", 401)):
        body = {"area_code": "420111", "effective_time": later(days), "reason": "drill"}
        if method == "DeclareRiskArea":
            body["level"] = "RISK_LEVEL_LOW"
        assert reason(await system.rpc(ITINERARY, method, body | {
            "authority": "national-health-commission", "request_id": secrets.token_hex(6)})) == (
            403, "CALLER_NOT_ALLOWED")
        status, answer = await system.rpc(ITINERARY, method, body | {"request_id": secrets.token_hex(6)})
        assert (status, answer.get("declaration", {}).get("authority")) == (200, f"{HUBEI}.hubei-hc"), answer


async def test_a_feed_reaches_persons_of_its_own_province_unless_national(platform, http):
    front = platform.hubei
    jiangsu_resident = (await front.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="江苏人", document=passport(), home_province_code=JIANGSU))).person.person_id
    moment = (front.deployment.clock.now() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")

    def facts() -> dict:
        return {"facts": [{"person_id": jiangsu_resident, "kind": "FACT_KIND_DIAGNOSIS",
                           "authority_record_id": secrets.token_hex(6), "source": "FACT_SOURCE_HEALTH",
                           "effective_time": moment, "diagnosis": "DIAGNOSIS_CONFIRMED"}]}

    hubei_feed = Caller(front, http, CallerKind.FEED, "wuhan-cdc", scopes=frozenset({"DIAGNOSIS"}))
    assert reason(await hubei_feed.rpc(STATUS, "RecordFacts", facts())) == (403, "CALLER_NOT_ALLOWED")
    national_feed = Caller(front, http, CallerKind.FEED, "china-cdc", NATIONAL, frozenset({"DIAGNOSIS"}))
    status, answer = await national_feed.rpc(STATUS, "RecordFacts", facts())
    assert (status, answer["stored_count"]) == (200, 1)
    stored = await front.deployment.status_parts.repository.pool.fetchval(
        "SELECT authority FROM status.facts WHERE person_id = $1", jiangsu_resident)
    assert stored == f"{NATIONAL}.china-cdc"


# 4. One spelling of a code, an attestation, a session token

def _high_s_twin_of_code(payload: str) -> str:
    cose = cbor2.loads(zlib.decompress(base45.b45decode(payload[len(PREFIX):])))
    protected, unprotected, claims, signature = cose.value
    s = P256_ORDER - int.from_bytes(signature[32:], "big")
    twin = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, claims, signature[:32] + s.to_bytes(32, "big")]))
    return PREFIX + base45.b45encode(zlib.compress(twin, 9)).decode("ascii")


async def test_a_code_re_encoded_with_its_high_s_signature_is_denied_at_the_door(platform, http):
    front = platform.hubei
    code = await front.deployment.code(await front.deployment.resident())
    checkpoint = Caller(front, http, CallerKind.CHECKPOINT, "hankou-gate")
    status, twin = await checkpoint.rpc(VERIFICATION, "VerifyCode", {
        "payload": _high_s_twin_of_code(code), "area_code": "420102"})
    assert (status, twin["decision"], twin["reason"]) == (200, "DECISION_DENY", "SIGNATURE_INVALID")
    _, genuine = await checkpoint.rpc(VERIFICATION, "VerifyCode", {"payload": code, "area_code": "420102"})
    assert genuine["decision"] == "DECISION_PASS"


async def test_a_session_token_in_another_spelling_is_unauthenticated(platform, http):
    front = platform.hubei
    person = await front.deployment.resident()
    token = front.token(CallerKind.PERSON, person, HUBEI)
    head, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    s = int.from_bytes(raw[32:], "big")
    assert s <= P256_ORDER // 2  # minted low-S
    high = base64.urlsafe_b64encode(raw[:32] + (P256_ORDER - s).to_bytes(32, "big")).rstrip(b"=").decode()
    # 64 bytes are 86 base64url characters with 4 bits to spare: the same bytes, another spelling.
    last = signature[-1]
    stray = signature[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(last) | 1]
    assert base64.urlsafe_b64decode(stray + "==") == raw and stray != signature
    answers = []
    for spelling in (signature, high, stray):
        async with http.get(f"{front.url}/v1/persons/me/status",
                            headers={"Authorization": f"Bearer {head}.{spelling}"}) as response:
            answers.append((response.status, (await response.json()).get("error", {}).get("reason", "")))
    assert answers == [(200, ""), (401, "SESSION_INVALID"), (401, "SESSION_INVALID")]


# 5. Headers fit for pages and answers holding personal data

async def test_pages_and_answers_carry_headers_for_personal_data_and_no_server_banner(platform, http):
    front = platform.hubei
    person = await front.deployment.resident()
    signed_in = {"Authorization": f"Bearer {front.token(CallerKind.PERSON, person, HUBEI)}"}
    seen = {}
    for path, headers in (("/", {}), ("/checkpoint", {}), ("/v1/persons/me/status", signed_in),
                          ("/v1/persons/me/code", signed_in), ("/v1/persons/me/status", {}),
                          ("/no-such-page", {}), ("/static/app.css", {})):
        async with http.get(f"{front.url}{path}", headers=headers) as response:
            seen[path, bool(headers)] = (response.status, response.headers)
    for (path, _), (status, headers) in seen.items():
        assert "Server" not in headers, path
        assert (headers["X-Content-Type-Options"], headers["Referrer-Policy"], headers["X-Frame-Options"]) == (
            "nosniff", "no-referrer", "DENY"), path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        if not path.startswith("/static/"):
            assert headers["Cache-Control"] == "no-store", path
    assert [seen[key][0] for key in seen] == [200, 200, 200, 200, 401, 404, 200]
    page_policy = seen["/", False][1]["Content-Security-Policy"]
    assert "script-src 'self'" in page_policy and "unsafe-inline" not in page_policy
    assert seen["/v1/persons/me/code", True][1]["Content-Security-Policy"].startswith("default-src 'none'")


# 3. Fair shares

@pytest.fixture(scope="module")
async def fair_front(platform, tmp_path_factory):
    """A gateway in front of Hubei with 8 heavy slots, 2 per caller, uploads idle for at most 0.5 s
    and 3 watches a person."""
    front = await start_front(platform.hubei.deployment, tmp_path_factory.mktemp("fair-pki"),
                              HEALTHCODE_GATEWAY_MAX_HEAVY_IN_FLIGHT="8", HEALTHCODE_GATEWAY_MAX_HEAVY_PER_CALLER="2",
                              HEALTHCODE_GATEWAY_STREAM_IDLE_SECONDS="0.5",
                              HEALTHCODE_GATEWAY_MAX_WATCHES_PER_PERSON="3")
    yield front
    await front.stop()


def _grpc_reason(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str]:
    return error.code(), error_details(error)[0]


async def test_idle_upload_streams_of_one_carrier_starve_nobody_and_end(fair_front, http):
    front = fair_front
    route = ROUTES["/healthcode.itinerary.v1.ItineraryService/IngestCarrierStays"]
    channel = front.channel("hubei-system")
    carrier = bearer(front.token(CallerKind.FEED, "rail-12306", NATIONAL, frozenset({"STAYS"})))
    upload = channel.stream_unary(route.method, request_serializer=route.request.SerializeToString,
                                  response_deserializer=route.response.FromString)
    never = asyncio.Event()

    async def idle():
        yield itinerary_pb2.IngestCarrierStaysRequest(batch_id=secrets.token_hex(6), source_carrier="rail-12306")
        await never.wait()  # holds the stream open and sends nothing more

    calls = [asyncio.ensure_future(upload(idle(), metadata=carrier)) for _ in range(16)]
    # The carrier's share is two streams: the other fourteen are refused at once; read what is held
    # once they are (a wait for an event, not a time).
    await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
    for _ in range(600):
        if sum(call.done() for call in calls) >= 14:
            break
        await asyncio.sleep(0.05)
    held = front.started.forwarder.shedder.heavy_in_flight
    # Meanwhile every other caller's heavy calls still get in.
    operators = [Caller(front, http, CallerKind.OPERATOR, f"ops-{i}") for i in range(6)]
    others = await asyncio.gather(*(operator.rpc(ADMIN_SERVICE, "ListRuleSets", {"province_code": HUBEI})
                                    for operator in operators))
    outcomes = []
    for call in calls:
        try:
            await call
            outcomes.append(("OK", ""))
        except grpc.aio.AioRpcError as error:
            outcomes.append(_grpc_reason(error))
    never.set()

    assert held == 2
    assert [status for status, _ in others] == [200] * 6
    assert sorted(outcomes, key=str) == sorted(
        [(grpc.StatusCode.DEADLINE_EXCEEDED, "STREAM_IDLE")] * 2
        + [(grpc.StatusCode.RESOURCE_EXHAUSTED, "CALLER_SHARE_EXHAUSTED")] * 14, key=str)
    assert front.started.forwarder.shedder.heavy_in_flight == 0


def _identity_calls() -> float:
    """BatchGetPersons calls made to identity from this process (the gateway's forwarding and every other
    client): the other calls to identity (status following name changes, sessions checked) go on in the
    background meanwhile and are not the call this counts."""
    return sum(sample.value for metric in CLIENT_STARTED.collect() for sample in metric.samples
               if sample.name.endswith("_total")
               and sample.labels.get("grpc_service") == "healthcode.identity.v1.IdentityService"
               and sample.labels.get("grpc_method") == "BatchGetPersons")


async def test_a_list_longer_than_the_service_takes_is_refused_before_any_identity_call(platform):
    front = platform.hubei
    route = ROUTES["/healthcode.identity.v1.IdentityService/BatchGetPersons"]
    batch = front.channel("hubei-system").unary_unary(  # the province system's own certificate
        route.method, request_serializer=route.request.SerializeToString, response_deserializer=route.response.FromString)
    ids = [str(uuid.UUID(int=i, version=4)) for i in range(200_000)]
    # Status's background work may call BatchGetPersons during a window too: a forwarded list would
    # show in every window, so one window in three with no call at all is the proof.
    calls_made = []
    for _ in range(3):
        before = _identity_calls()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await batch(identity_pb2.BatchGetPersonsRequest(person_ids=ids), timeout=30)
        calls_made.append(_identity_calls() - before)
        assert (refused.value.code(), error_details(refused.value)) == (
            grpc.StatusCode.INVALID_ARGUMENT, ("LIST_TOO_LONG", ["person_ids"]))
    one = await front.deployment.resident()
    found = await batch(identity_pb2.BatchGetPersonsRequest(person_ids=[one]), timeout=30)

    assert min(calls_made) == 0  # no BatchGetPersons call for the refused list
    assert [person.person_id for person in found.persons] == [one]


async def test_a_person_holds_at_most_their_share_of_watches(fair_front):
    front = fair_front
    person = await front.deployment.resident()
    route = ROUTES["/healthcode.status.v1.StatusService/WatchStatus"]
    channel = front.channel("hubei-system")
    watch = channel.unary_stream(route.method, request_serializer=route.request.SerializeToString,
                                 response_deserializer=route.response.FromString)
    me = bearer(front.token(CallerKind.PERSON, person, HUBEI))
    opened = []
    for _ in range(3):
        call = watch(spb.WatchStatusRequest(person_id=person), metadata=me)
        assert (await call.read()).status.person_id == person
        opened.append(call)
    fourth = watch(spb.WatchStatusRequest(person_id=person), metadata=me)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await fourth.read()
    other = await front.deployment.resident()
    others = watch(spb.WatchStatusRequest(person_id=other), metadata=bearer(front.token(CallerKind.PERSON, other,
                                                                                         HUBEI)))
    assert (await others.read()).status.person_id == other
    opened[0].cancel()
    for _ in range(50):  # the gateway notices the cancelled watch and gives its share back
        if front.started.forwarder.watches.open_for(f"person:{HUBEI}:{person}") < 3:
            break
        await asyncio.sleep(0.02)
    again = watch(spb.WatchStatusRequest(person_id=person), metadata=me)
    assert (await again.read()).status.person_id == person
    for call in opened[1:] + [others, again]:
        call.cancel()

    assert _grpc_reason(refused.value) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "CALLER_SHARE_EXHAUSTED")

"""Risk areas over time: history kept, stays judged by the levels in force while there, the affected streamed."""

from __future__ import annotations

import secrets
from datetime import timedelta

import grpc
import pytest

from healthcode.common.v1 import common_pb2
from healthcode.itinerary.v1 import itinerary_pb2 as pb
from tests.support import counties_of_distinct_cities, error_details, ingest_one_stay, register_persons, timestamp

HIGH, MEDIUM, LOW, NONE = (common_pb2.RISK_LEVEL_HIGH, common_pb2.RISK_LEVEL_MEDIUM, common_pb2.RISK_LEVEL_LOW,
                           common_pb2.RISK_LEVEL_UNSPECIFIED)

# Each call gives a county in a city of its own, so one test's city declarations never
# cover another test's stays (Hubei's codes; Hunan is left to the province-wide test).
_counties = counties_of_distinct_cities("42")


def county() -> str:
    return next(_counties)


async def declare(env, area, level, at, request_id=""):
    return await env.stub.DeclareRiskArea(pb.DeclareRiskAreaRequest(
        area_code=area, level=level, effective_time=timestamp(at), authority="hubei-health",
        reason="notice 2022-17", request_id=request_id))


async def lift(env, area, at):
    return await env.stub.LiftRiskArea(pb.LiftRiskAreaRequest(
        area_code=area, effective_time=timestamp(at), authority="hubei-health", reason="notice 2022-18"))


async def stay_at(env, person, area, arrival):
    await ingest_one_stay(env.stub, person, area, arrival)


async def levels(env, person):
    stays = (await env.stub.ListStays(pb.ListStaysRequest(person_id=person))).stays
    return [(s.area_code, s.highest_risk_level) for s in stays]


async def affected(env, declaration_id):
    found = []
    async for chunk in env.stub.StreamAffectedPersons(pb.StreamAffectedPersonsRequest(declaration_id=declaration_id)):
        found += chunk.person_ids
    return found


async def test_a_stay_takes_the_highest_level_in_force_while_the_person_was_there(
        identity_env, itinerary_env, clock):
    area, now = county(), clock.now()
    before, during, after = await register_persons(identity_env.persons, 3)
    await declare(itinerary_env, area, MEDIUM, now - timedelta(days=6))
    await declare(itinerary_env, area, HIGH, now - timedelta(days=4))
    await lift(itinerary_env, area, now - timedelta(days=2))

    await stay_at(itinerary_env, before, area, now - timedelta(days=8))        # before any declaration
    await stay_at(itinerary_env, during, area, now - timedelta(days=4, hours=3))  # MEDIUM then HIGH
    await stay_at(itinerary_env, after, area, now - timedelta(days=1))          # after the lift

    assert await levels(itinerary_env, before) == [(area, NONE)]
    assert await levels(itinerary_env, during) == [(area, HIGH)]
    assert await levels(itinerary_env, after) == [(area, NONE)]


async def test_a_city_or_province_declaration_covers_its_counties(identity_env, itinerary_env, clock):
    area, now = "430102", clock.now()
    city, province = area[:4] + "00", area[:2] + "0000"
    person = (await register_persons(identity_env.persons, 1))[0]
    await stay_at(itinerary_env, person, area, now - timedelta(days=3))

    await declare(itinerary_env, city, LOW, now - timedelta(days=5))
    assert await levels(itinerary_env, person) == [(area, LOW)]
    await declare(itinerary_env, province, MEDIUM, now - timedelta(days=5), request_id=secrets.token_hex(4))
    assert await levels(itinerary_env, person) == [(area, MEDIUM)]


async def test_history_is_kept_and_only_current_areas_are_listed(itinerary_env, clock):
    area, now = county(), clock.now()
    first = (await declare(itinerary_env, area, HIGH, now - timedelta(days=3))).declaration
    lifted = (await lift(itinerary_env, area, now - timedelta(days=1))).declaration
    still = county()
    await declare(itinerary_env, still, MEDIUM, now - timedelta(hours=1))

    listed = await _all_current(itinerary_env)

    assert still in listed and area not in listed
    stream_of_first = await affected(itinerary_env, first.declaration_id)  # history still answers
    assert stream_of_first == []
    assert lifted.level == NONE


async def _all_current(env):
    codes, token = [], ""
    while True:
        page = await env.stub.ListRiskAreas(pb.ListRiskAreasRequest(page_size=2, page_token=token))
        codes += [d.area_code for d in page.declarations]
        token = page.next_page_token
        if not token:
            return codes


async def test_a_retroactive_declaration_ends_where_the_next_one_begins(itinerary_env, clock):
    area, now = county(), clock.now()
    await declare(itinerary_env, area, LOW, now - timedelta(days=2))

    earlier = (await declare(itinerary_env, area, HIGH, now - timedelta(days=5))).declaration

    assert earlier.end_time == timestamp(now - timedelta(days=2))


async def test_raising_is_reported_and_lowering_is_not(itinerary_env, clock):
    area, now = county(), clock.now()

    up = await declare(itinerary_env, area, MEDIUM, now - timedelta(days=2))
    higher = await declare(itinerary_env, area, HIGH, now - timedelta(days=1))
    lower = await declare(itinerary_env, area, LOW, now - timedelta(hours=1))

    assert (up.raised, higher.raised, lower.raised) == (True, True, False)


async def test_a_retried_declaration_is_stored_once_and_answered_the_same(itinerary_env, clock):
    area, request_id = county(), secrets.token_hex(8)

    first = await declare(itinerary_env, area, HIGH, clock.now() - timedelta(hours=2), request_id)
    retry = await declare(itinerary_env, area, HIGH, clock.now() - timedelta(hours=1), request_id)

    assert retry.declaration.declaration_id == first.declaration.declaration_id
    assert retry.raised == first.raised is True


async def test_a_request_id_reused_for_another_declaration_is_refused(itinerary_env, clock):
    request_id = secrets.token_hex(8)
    await declare(itinerary_env, county(), HIGH, clock.now(), request_id)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await declare(itinerary_env, county(), HIGH, clock.now(), request_id)

    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(("area", "level", "reason", "field"), [
    ("990101", HIGH, "AREA_UNKNOWN", "area_code"),
    ("4201", HIGH, "AREA_UNKNOWN", "area_code"),
    ("420199", HIGH, "AREA_UNKNOWN", "area_code"),  # under a real city, but never assigned
    ("420101", NONE, "RISK_LEVEL_INVALID", "level"),
])
async def test_an_invalid_declaration_names_its_field(itinerary_env, clock, area, level, reason, field):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await declare(itinerary_env, area, level, clock.now())

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(refused.value) == (reason, [field])


async def test_the_affected_are_those_there_during_the_risk_within_the_window(identity_env, itinerary_env, clock):
    area, now = county(), clock.now()
    window = itinerary_env.settings.policy.window
    inside, before_risk, elsewhere, neighbour_county = await register_persons(identity_env.persons, 4)
    other = area[:4] + "02"  # another county of the same city
    await stay_at(itinerary_env, inside, area, now - timedelta(days=2))
    await stay_at(itinerary_env, inside, area, now - timedelta(days=1))     # twice, reported once
    await stay_at(itinerary_env, before_risk, area, now - timedelta(days=6))
    await stay_at(itinerary_env, elsewhere, "110105", now - timedelta(days=2))
    await stay_at(itinerary_env, neighbour_county, other, now - timedelta(days=2))

    declared = await declare(itinerary_env, area, HIGH, now - timedelta(days=3))
    city = await declare(itinerary_env, area[:4] + "00", MEDIUM, now - window - timedelta(days=1),
                         request_id=secrets.token_hex(4))

    assert declared.raised
    assert await affected(itinerary_env, declared.declaration.declaration_id) == [inside]
    assert set(await affected(itinerary_env, city.declaration.declaration_id)) == {
        inside, before_risk, neighbour_county}


async def test_many_affected_persons_arrive_in_chunks_each_once(identity_env, itinerary_env, clock):
    area, now = county(), clock.now()
    people = await register_persons(identity_env.persons, 1200)

    async def requests():
        for start in range(0, len(people), 500):
            yield pb.IngestCarrierStaysRequest(
                batch_id="many-" + area, source_carrier="china-telecom",
                stays=[pb.CarrierStay(person_id=p, area_code=area, arrival_time=timestamp(now - timedelta(days=1)),
                                      departure_time=timestamp(now - timedelta(hours=12)))
                       for p in people[start:start + 500]])
    assert (await itinerary_env.stub.IngestCarrierStays(requests())).stored == 1200
    declared = await declare(itinerary_env, area, HIGH, now - timedelta(days=2))

    chunks = [list(c.person_ids) async for c in itinerary_env.stub.StreamAffectedPersons(
        pb.StreamAffectedPersonsRequest(declaration_id=declared.declaration.declaration_id))]

    assert [len(c) for c in chunks] == [1000, 200]
    assert sorted(p for c in chunks for p in c) == sorted(people)


async def test_an_unknown_declaration_is_not_found(itinerary_env):
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await affected(itinerary_env, "00000000-0000-4000-8000-000000000000")

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

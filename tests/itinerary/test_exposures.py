"""What the status service reads: risk exposures for many persons, the declarations in record order,
and the persons a raise or a lift may have changed, streamed in order and resumable."""

from __future__ import annotations

import uuid
from datetime import timedelta

import grpc
import pytest

from healthcode.common.v1 import common_pb2
from healthcode.itinerary.v1 import itinerary_pb2 as pb
from tests.support import (
    counties_of_distinct_cities,
    error_details,
    ingest_one_stay,
    refused,
    register_persons,
    timestamp,
)

HIGH, MEDIUM, LOW, NONE = (common_pb2.RISK_LEVEL_HIGH, common_pb2.RISK_LEVEL_MEDIUM, common_pb2.RISK_LEVEL_LOW,
                           common_pb2.RISK_LEVEL_UNSPECIFIED)

# Each call gives a county in a Ningxia city of its own, so one test's declarations never cover
# another test's stays; Tibet is left to the province-wide test (no other test uses either).
_counties = counties_of_distinct_cities("13")
PROVINCE_OF_ITS_OWN = "540000"


def county() -> str:
    return next(_counties)


def city_of(area: str) -> str:
    return area[:4] + "00"


async def declare(env, area, level, at):
    return (await env.stub.DeclareRiskArea(pb.DeclareRiskAreaRequest(
        area_code=area, level=level, effective_time=timestamp(at), authority="hebei-health",
        reason="notice 2022-31"))).declaration


async def lift(env, area, at):
    return (await env.stub.LiftRiskArea(pb.LiftRiskAreaRequest(
        area_code=area, effective_time=timestamp(at), authority="hebei-health", reason="notice 2022-32"))
            ).declaration


async def exposures(env, *person_ids):
    response = await env.stub.BatchGetRiskExposures(pb.BatchGetRiskExposuresRequest(person_ids=person_ids))
    return [(e.person_id, e.area_code, e.level, e.declaration_id) for e in response.exposures]


async def affected(env, declaration, after_person_id=""):
    found = []
    async for chunk in env.stub.StreamAffectedPersons(pb.StreamAffectedPersonsRequest(
            declaration_id=declaration.declaration_id, after_person_id=after_person_id)):
        found += chunk.person_ids
    return found


# BatchGetRiskExposures

async def test_stays_in_high_or_medium_areas_are_exposures_and_low_or_no_risk_are_not(
        identity_env, itinerary_env, clock):
    now = clock.now()
    high, medium, low, calm = county(), county(), county(), county()
    traveller, stayed_low = await register_persons(identity_env.persons, 2)
    high_declared = await declare(itinerary_env, high, HIGH, now - timedelta(days=5))
    medium_declared = await declare(itinerary_env, medium, MEDIUM, now - timedelta(days=5))
    await declare(itinerary_env, low, LOW, now - timedelta(days=5))
    await ingest_one_stay(itinerary_env.stub, traveller, high, now - timedelta(days=4))
    await ingest_one_stay(itinerary_env.stub, traveller, low, now - timedelta(days=3))
    await ingest_one_stay(itinerary_env.stub, traveller, medium, now - timedelta(days=2))
    await ingest_one_stay(itinerary_env.stub, traveller, calm, now - timedelta(days=1))
    await ingest_one_stay(itinerary_env.stub, stayed_low, low, now - timedelta(days=1))

    response = await itinerary_env.stub.BatchGetRiskExposures(
        pb.BatchGetRiskExposuresRequest(person_ids=[traveller, stayed_low]))

    assert [(e.person_id, e.area_code, e.level, e.declaration_id) for e in response.exposures] == [
        (traveller, high, HIGH, high_declared.declaration_id),
        (traveller, medium, MEDIUM, medium_declared.declaration_id)]
    first = response.exposures[0]
    assert (first.arrival_time, first.departure_time) == (
        timestamp(now - timedelta(days=4)), timestamp(now - timedelta(days=4) + timedelta(hours=6)))


async def test_a_city_or_province_declaration_covers_a_county_stay(identity_env, itinerary_env, clock):
    now = clock.now()
    in_city, in_province = county()[:4] + "02", PROVINCE_OF_ITS_OWN[:2] + "0102"
    city_traveller, province_traveller = await register_persons(identity_env.persons, 2)
    await ingest_one_stay(itinerary_env.stub, city_traveller, in_city, now - timedelta(days=3))
    await ingest_one_stay(itinerary_env.stub, province_traveller, in_province, now - timedelta(days=3))

    city = await declare(itinerary_env, city_of(in_city), MEDIUM, now - timedelta(days=5))
    province = await declare(itinerary_env, PROVINCE_OF_ITS_OWN, HIGH, now - timedelta(days=5))

    assert await exposures(itinerary_env, city_traveller, province_traveller) == sorted([
        (city_traveller, in_city, MEDIUM, city.declaration_id),
        (province_traveller, in_province, HIGH, province.declaration_id)])


async def test_of_several_declarations_at_the_highest_level_the_latest_in_force_is_named(
        identity_env, itinerary_env, clock):
    now, area = clock.now(), county()
    person = (await register_persons(identity_env.persons, 1))[0]
    await ingest_one_stay(itinerary_env.stub, person, area, now - timedelta(days=3))
    await declare(itinerary_env, area, HIGH, now - timedelta(days=6))
    city = await declare(itinerary_env, city_of(area), HIGH, now - timedelta(days=4))
    await declare(itinerary_env, area, MEDIUM, now - timedelta(days=3) + timedelta(hours=1))  # lower, later

    assert await exposures(itinerary_env, person) == [(person, area, HIGH, city.declaration_id)]


async def test_the_level_in_force_during_the_stay_counts_though_it_was_lifted_since(
        identity_env, itinerary_env, clock):
    now, area = clock.now(), county()
    during, after = await register_persons(identity_env.persons, 2)
    declared = await declare(itinerary_env, area, HIGH, now - timedelta(days=5))
    await ingest_one_stay(itinerary_env.stub, during, area, now - timedelta(days=3))
    await ingest_one_stay(itinerary_env.stub, after, area, now - timedelta(hours=12))

    await lift(itinerary_env, area, now - timedelta(days=1))

    assert await exposures(itinerary_env, during, after) == [(during, area, HIGH, declared.declaration_id)]


async def test_stays_that_departed_before_the_window_are_not_exposures(identity_env, itinerary_env, clock):
    now, area = clock.now(), county()
    window = itinerary_env.settings.policy.window
    person = (await register_persons(identity_env.persons, 1))[0]
    declared = await declare(itinerary_env, area, HIGH, now - window - timedelta(days=2))
    await ingest_one_stay(itinerary_env.stub, person, area, now - window + timedelta(hours=6))  # leaves 12 h in
    await ingest_one_stay(itinerary_env.stub, person, area, now - timedelta(days=2))

    clock.advance(timedelta(days=1))
    try:
        found = await itinerary_env.stub.BatchGetRiskExposures(pb.BatchGetRiskExposuresRequest(person_ids=[person]))
    finally:
        clock.set(now)

    assert [(e.arrival_time, e.declaration_id) for e in found.exposures] == [
        (timestamp(now - timedelta(days=2)), declared.declaration_id)]


async def test_a_declared_stay_is_an_exposure_and_one_also_reported_counts_once(
        identity_env, itinerary_env, clock):
    now, area = clock.now(), county()
    person = (await register_persons(identity_env.persons, 1))[0]
    arrival = now - timedelta(days=2)
    declared = await declare(itinerary_env, city_of(area), HIGH, now - timedelta(days=3))
    await ingest_one_stay(itinerary_env.stub, person, area, arrival, hours=8)
    await itinerary_env.stub.DeclareItinerary(pb.DeclareItineraryRequest(person_id=person, stays=[
        pb.DeclaredStay(area_code=area, arrival_time=timestamp(arrival),
                        departure_time=timestamp(arrival + timedelta(hours=8))),
        pb.DeclaredStay(area_code=city_of(area), arrival_time=timestamp(arrival + timedelta(hours=9)),
                        departure_time=timestamp(arrival + timedelta(hours=15)))]))

    assert await exposures(itinerary_env, person) == [(person, area, HIGH, declared.declaration_id),
                                                      (person, city_of(area), HIGH, declared.declaration_id)]


async def test_repeated_persons_are_answered_once_and_unknown_ones_have_none(identity_env, itinerary_env, clock):
    now, area = clock.now(), county()
    person = (await register_persons(identity_env.persons, 1))[0]
    declared = await declare(itinerary_env, area, MEDIUM, now - timedelta(days=3))
    await ingest_one_stay(itinerary_env.stub, person, area, now - timedelta(days=2))

    assert await exposures(itinerary_env, person, str(uuid.uuid4()), person) == [
        (person, area, MEDIUM, declared.declaration_id)]


@pytest.mark.parametrize(("person_ids", "reason", "field"), [
    ([], "PERSON_IDS_COUNT_INVALID", "person_ids"),
    ([str(uuid.uuid4()) for _ in range(1001)], "PERSON_IDS_COUNT_INVALID", "person_ids"),
    ([str(uuid.uuid4()), "not-a-person"], "PERSON_ID_INVALID", "person_ids[1]"),
    ([str(uuid.uuid4()).upper()], "PERSON_ID_INVALID", "person_ids[0]"),
])
async def test_an_invalid_exposure_request_names_its_field(itinerary_env, person_ids, reason, field):
    error = await refused(itinerary_env.stub.BatchGetRiskExposures(
        pb.BatchGetRiskExposuresRequest(person_ids=person_ids)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == (reason, [field])


# ListRiskDeclarations

async def _listed(env, created_after, page_size):
    declarations, token = [], ""
    while True:
        page = await env.stub.ListRiskDeclarations(pb.ListRiskDeclarationsRequest(
            created_after=created_after, page_size=page_size, page_token=token))
        assert len(page.declarations) <= page_size
        declarations += page.declarations
        token = page.next_page_token
        if not token:
            return declarations


async def test_declarations_lifts_included_are_listed_in_record_order_from_created_after_on(
        itinerary_env, clock):
    real_now, area, other = clock.now(), county(), county()
    # A minute of its own, ahead of every other test's declarations (they are recorded at real_now).
    clock.advance(timedelta(minutes=1))
    try:
        earlier = await declare(itinerary_env, area, MEDIUM, real_now - timedelta(days=3))
        clock.advance(timedelta(seconds=1))
        created_after = clock.now()
        same_moment = [await declare(itinerary_env, area, HIGH, real_now - timedelta(days=2)),
                       await declare(itinerary_env, other, LOW, real_now - timedelta(days=2))]
        clock.advance(timedelta(seconds=1))
        lifted = await lift(itinerary_env, area, real_now - timedelta(days=1))
    finally:
        clock.set(real_now)

    listed = await _listed(itinerary_env, timestamp(created_after), page_size=2)

    wanted = sorted(d.declaration_id for d in same_moment) + [lifted.declaration_id]
    assert [d.declaration_id for d in listed if d.declaration_id in wanted] == wanted
    assert earlier.declaration_id not in {d.declaration_id for d in listed}
    assert all(d.create_time.ToDatetime(tzinfo=created_after.tzinfo) >= created_after for d in listed)
    assert lifted in listed and lifted.level == NONE
    assert lifted.create_time == timestamp(created_after + timedelta(seconds=1))


async def test_every_declaration_is_listed_once_in_record_order_across_pages(itinerary_env, db):
    recorded = [str(r[0]) for r in await db.fetch(
        "SELECT declaration_id FROM itinerary.risk_declarations ORDER BY create_time, declaration_id")]

    listed = await _listed(itinerary_env, None, page_size=3)

    assert [d.declaration_id for d in listed] == recorded


async def test_a_page_token_this_service_did_not_issue_is_refused(itinerary_env):
    error = await refused(itinerary_env.stub.ListRiskDeclarations(
        pb.ListRiskDeclarationsRequest(page_token="bm90LWEtdG9rZW4=")))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("PAGE_TOKEN_INVALID", ["page_token"])


# StreamAffectedPersons

async def test_the_affected_stream_is_in_id_order_and_resumes_after_a_person(identity_env, itinerary_env, clock):
    now, area = clock.now(), county()
    people = sorted(await register_persons(identity_env.persons, 5))
    for person in people:
        await ingest_one_stay(itinerary_env.stub, person, area, now - timedelta(days=2))
    declared = await declare(itinerary_env, area, HIGH, now - timedelta(days=3))

    assert await affected(itinerary_env, declared) == people
    assert await affected(itinerary_env, declared, after_person_id=people[1]) == people[2:]
    assert await affected(itinerary_env, declared, after_person_id=people[-1]) == []


async def test_a_lift_streams_everyone_there_within_the_window_before_it_and_since(
        identity_env, itinerary_env, clock):
    now, area = clock.now(), county()
    before_risk, during, since, next_door = await register_persons(identity_env.persons, 4)
    await ingest_one_stay(itinerary_env.stub, before_risk, area, now - timedelta(days=6))
    await ingest_one_stay(itinerary_env.stub, during, area, now - timedelta(days=3))
    await ingest_one_stay(itinerary_env.stub, since, area, now - timedelta(hours=12))
    await ingest_one_stay(itinerary_env.stub, next_door, area[:4] + "02", now - timedelta(days=3))
    await declare(itinerary_env, area, HIGH, now - timedelta(days=5))

    lifted = await lift(itinerary_env, area, now - timedelta(days=1))

    assert await affected(itinerary_env, lifted) == sorted([before_risk, during, since])


async def test_a_lowered_level_streams_those_there_until_the_next_declaration(identity_env, itinerary_env, clock):
    now, area = clock.now(), county()
    before, during, after_next = await register_persons(identity_env.persons, 3)
    await ingest_one_stay(itinerary_env.stub, before, area, now - timedelta(days=4))
    await ingest_one_stay(itinerary_env.stub, during, area, now - timedelta(days=2))
    await ingest_one_stay(itinerary_env.stub, after_next, area, now - timedelta(hours=12))
    await declare(itinerary_env, area, HIGH, now - timedelta(days=5))
    lowered = await declare(itinerary_env, area, LOW, now - timedelta(days=3))
    await declare(itinerary_env, area, HIGH, now - timedelta(days=1))

    assert await affected(itinerary_env, lowered) == sorted([before, during])


async def test_resuming_after_something_that_is_not_a_person_id_is_refused(itinerary_env, clock):
    declared = await declare(itinerary_env, county(), HIGH, clock.now() - timedelta(days=1))

    error = await refused(affected(itinerary_env, declared, after_person_id="somebody"))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("PERSON_ID_INVALID", ["after_person_id"])


async def test_a_page_token_of_the_risk_areas_list_is_refused_by_the_declarations_list(itinerary_env):
    # The module's declarations are in force: more than one area is at risk.
    areas_token = (await itinerary_env.stub.ListRiskAreas(pb.ListRiskAreasRequest(page_size=1))).next_page_token

    error = await refused(itinerary_env.stub.ListRiskDeclarations(
        pb.ListRiskDeclarationsRequest(page_token=areas_token)))

    assert areas_token
    assert error_details(error) == ("PAGE_TOKEN_INVALID", ["page_token"])

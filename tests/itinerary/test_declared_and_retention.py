"""Travellers' own declarations (checked against carrier data) and the purge of old stays by partition."""

from __future__ import annotations

import uuid
from datetime import timedelta

import grpc
import pytest

from healthcode.itinerary.v1 import itinerary_pb2 as pb
from services.itinerary.ledger import ItineraryLedger
from services.itinerary.clients import RegisteredPersons
from services.itinerary.repository import ItineraryRepository
from tests.support import error_details, ingest_one_stay, register_persons, timestamp


def declared(area, arrival, hours=8):
    return pb.DeclaredStay(area_code=area, arrival_time=timestamp(arrival),
                           departure_time=timestamp(arrival + timedelta(hours=hours)))


async def carrier_stay(env, person, area, arrival):
    await ingest_one_stay(env.stub, person, area, arrival)


async def test_a_declared_city_is_verified_by_an_overlapping_carrier_stay_in_that_city(
        identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]
    day = clock.now() - timedelta(days=3)
    await carrier_stay(itinerary_env, person, "320106", day + timedelta(hours=2))   # a county of Nanjing

    response = await itinerary_env.stub.DeclareItinerary(pb.DeclareItineraryRequest(
        person_id=person, stays=[declared("320100", day), declared("330100", day + timedelta(days=1))]))

    stays = (await itinerary_env.stub.ListStays(pb.ListStaysRequest(person_id=person))).stays
    by_source = {(s.area_code, s.source): s.verified for s in stays}
    assert response.stored == 2
    assert by_source == {("320100", pb.STAY_SOURCE_DECLARED): True, ("320106", pb.STAY_SOURCE_CARRIER): True,
                         ("330100", pb.STAY_SOURCE_DECLARED): False}


async def test_declaring_the_same_stays_again_stores_nothing(identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]
    request = pb.DeclareItineraryRequest(person_id=person, stays=[declared("440300", clock.now() - timedelta(days=2))])

    first = await itinerary_env.stub.DeclareItinerary(request)
    again = await itinerary_env.stub.DeclareItinerary(request)

    assert (first.stored, again.stored) == (1, 0)


@pytest.mark.parametrize(("stay", "reason", "field"), [
    (lambda now: declared("999900", now - timedelta(days=1)), "AREA_UNKNOWN", "stays[0].area_code"),
    (lambda now: declared("440300", now - timedelta(days=1), hours=2), "STAY_TOO_SHORT", "stays[0].departure_time"),
    (lambda now: declared("440300", now + timedelta(hours=1)), "TIME_IN_FUTURE", "stays[0].departure_time"),
    (lambda now: declared("440300", now - timedelta(days=30)), "TIME_BEFORE_WINDOW", "stays[0].departure_time"),
])
async def test_an_impossible_declared_stay_is_refused_naming_it(identity_env, itinerary_env, clock, stay, reason,
                                                                 field):
    person = (await register_persons(identity_env.persons, 1))[0]

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await itinerary_env.stub.DeclareItinerary(pb.DeclareItineraryRequest(person_id=person,
                                                                             stays=[stay(clock.now())]))

    assert error_details(refused.value) == (reason, [field])


async def test_a_declaration_for_an_unknown_person_is_not_found(itinerary_env, clock):
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await itinerary_env.stub.DeclareItinerary(pb.DeclareItineraryRequest(
            person_id=str(uuid.uuid4()), stays=[declared("440300", clock.now() - timedelta(days=1))]))

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_purge_drops_partitions_past_retention_and_keeps_the_rest(
        identity_env, itinerary_env, clock, db):
    person = (await register_persons(identity_env.persons, 1))[0]
    policy = itinerary_env.settings.policy
    # Stays at fixed hours (08:00-14:00 UTC), so neither crosses midnight into the next day's partition
    # whatever the hour the suite runs at.
    morning = clock.now().replace(hour=8, minute=0, second=0)
    await carrier_stay(itinerary_env, person, "510107", morning - timedelta(days=10))
    await carrier_stay(itinerary_env, person, "510107", morning - timedelta(days=1))
    ledger = ItineraryLedger(ItineraryRepository(db), RegisteredPersons(identity_env.channel), policy, clock, 1)
    repository = ItineraryRepository(db)
    old_day = (morning - timedelta(days=10)).date()
    recent_day = (morning - timedelta(days=1)).date()
    real_now = clock.now()
    try:
        # Ten days on, the older stay's day is past the window and the grace period.
        clock.advance(policy.window + policy.grace - timedelta(days=10) + timedelta(days=1, hours=1))
        ahead = (clock.now() + timedelta(days=2)).date()
        dropped = await ledger.maintain_partitions()
        partitions = await repository.partitions()
        remaining = await db.fetchval("SELECT count(*) FROM itinerary.stays WHERE person_id = $1", uuid.UUID(person))
    finally:
        clock.set(real_now)
        await ledger.maintain_partitions()  # today's partitions again for the tests that follow

    assert f"stays_p{old_day:%Y%m%d}" in dropped
    assert f"stays_p{recent_day:%Y%m%d}" in partitions
    assert f"stays_p{ahead:%Y%m%d}" in partitions  # made ahead of time
    assert remaining == 1


async def test_partitions_exist_for_every_day_a_stay_may_still_arrive(itinerary_env, clock, db):
    partitions = await ItineraryRepository(db).partitions()
    policy = itinerary_env.settings.policy

    days = [(clock.now() - policy.window + timedelta(days=d)).date() for d in range(policy.window.days + 2)]

    assert all(f"stays_p{day:%Y%m%d}" in partitions for day in days)

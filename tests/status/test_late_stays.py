"""New stays move the colour: a stay that lands in an area already at risk while the person was there
reaches status through itinerary's feed, set-based, and nothing is lost across a restart or a race."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.status.recompute import Recomputation
from tests.support.status import NATIONAL_ONLY, person_in, status_of
from tests.support import ingest_one_stay, timestamp
from tests.support.status import GREEN, RED, declared_high, recompute


async def test_a_late_carrier_stay_in_a_high_risk_county_turns_the_person_red(
        status_env, identity_env, itinerary_env, clock):
    await recompute(status_env, await declared_high(itinerary_env, clock, "650103"))
    person = await person_in(identity_env, NATIONAL_ONLY)
    assert (await status_of(status_env, person)).colour == GREEN  # stored, valid for hours

    await ingest_one_stay(itinerary_env.stub, person, "650103", clock.now() - timedelta(days=3))
    await status_env.parts.recomputation.follow_stays()

    status = await status_of(status_env, person)
    assert (status.colour, [r.code for r in status.reasons]) == (RED, ["HIGH_RISK_STAY"])
    latest = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes[0]
    assert (latest.cause, latest.previous_colour, latest.colour) == (pb.CHANGE_CAUSE_STAY, GREEN, RED)


async def test_a_travellers_declared_stay_in_a_high_risk_county_turns_them_red(
        status_env, identity_env, itinerary_env, clock):
    await declared_high(itinerary_env, clock, "650104")
    person = await person_in(identity_env, NATIONAL_ONLY)
    assert (await status_of(status_env, person)).colour == GREEN
    arrival = clock.now() - timedelta(days=4)

    await itinerary_env.stub.DeclareItinerary(itinerary_pb2.DeclareItineraryRequest(
        person_id=person, stays=[itinerary_pb2.DeclaredStay(area_code="650104", arrival_time=timestamp(arrival),
                                                            departure_time=timestamp(arrival + timedelta(hours=9)))]))
    await status_env.parts.recomputation.follow_stays()

    assert (await status_of(status_env, person)).colour == RED


async def test_a_stay_outside_any_risk_period_is_not_in_the_feed(status_env, identity_env, itinerary_env, clock):
    await declared_high(itinerary_env, clock, "650105", days_ago=2)
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_env.parts.recomputation.follow_stays()  # catch up with other tests' stays
    cursor = await status_env.parts.repository.stay_feed_cursor()

    await ingest_one_stay(itinerary_env.stub, person, "650105", clock.now() - timedelta(days=6))  # before it
    page = await itinerary_env.stub.ListNewlyRiskyPersons(itinerary_pb2.ListNewlyRiskyPersonsRequest(cursor=cursor))

    assert person not in page.person_ids
    assert (await status_of(status_env, person)).colour == GREEN


async def test_a_restarted_status_resumes_the_feed_where_it_stopped(status_env, identity_env, itinerary_env, clock):
    await declared_high(itinerary_env, clock, "650106")
    await status_env.parts.recomputation.follow_stays()
    persons = [await person_in(identity_env, NATIONAL_ONLY) for _ in range(3)]
    for person in persons:
        assert (await status_of(status_env, person)).colour == GREEN

    # The stays are ingested while status is down; a new process follows from the stored cursor.
    await asyncio.gather(*(ingest_one_stay(itinerary_env.stub, p, "650106", clock.now() - timedelta(days=2))
                           for p in persons))
    parts = status_env.parts
    restarted = Recomputation(parts.decider, parts.repository, parts.itinerary, timedelta(days=1))
    await restarted.follow_stays()

    assert [(await status_of(status_env, p)).colour for p in persons] == [RED] * 3
    assert await restarted.follow_stays() == 0  # nothing left, nothing decided twice


async def test_stays_merged_while_their_area_is_declared_are_never_missed(
        status_env, identity_env, itinerary_env, clock):
    """Each stay commits either before the declaration (its recomputation sees the stay) or after it
    (the stay's own merge sees the declaration and feeds status): never in neither."""
    await status_env.parts.recomputation.follow_stays()
    persons = [await person_in(identity_env, NATIONAL_ONLY) for _ in range(20)]
    for person in persons:
        await status_of(status_env, person)

    declaration, *_ = await asyncio.gather(
        declared_high(itinerary_env, clock, "650107"),
        *(ingest_one_stay(itinerary_env.stub, p, "650107", clock.now() - timedelta(days=1)) for p in persons))
    await recompute(status_env, declaration)
    await status_env.parts.recomputation.follow_stays()

    assert [(await status_of(status_env, p)).colour for p in persons] == [RED] * 20


async def test_two_replicas_following_at_once_decide_each_change_once(
        status_env, identity_env, itinerary_env, clock, db):
    await declared_high(itinerary_env, clock, "650109")
    await status_env.parts.recomputation.follow_stays()
    persons = [await person_in(identity_env, NATIONAL_ONLY) for _ in range(10)]
    for person in persons:
        await status_of(status_env, person)
    await asyncio.gather(*(ingest_one_stay(itinerary_env.stub, p, "650109", clock.now() - timedelta(days=1))
                           for p in persons))
    parts = status_env.parts
    replicas = [Recomputation(parts.decider, parts.repository, parts.itinerary, timedelta(days=1)) for _ in range(2)]

    await asyncio.gather(*(replica.follow_stays() for replica in replicas))
    await asyncio.gather(*(replica.follow_stays() for replica in replicas))

    versions = await db.fetch("SELECT person_id::text, array_agg(version ORDER BY seq) AS versions "
                              "FROM status.audit_log WHERE person_id = ANY($1::uuid[]) GROUP BY 1", persons)
    assert {row["person_id"]: list(row["versions"]) for row in versions} == {p: [1, 2] for p in persons}


async def test_a_bad_feed_cursor_is_refused_with_its_field(itinerary_env):
    from tests.support import error_details, refused

    for cursor in ("x", "1.2.3", "9" * 30 + ".1", "18446744073709551616.0", "１.2", "1.2\n"):
        error = await refused(itinerary_env.stub.ListNewlyRiskyPersons(
            itinerary_pb2.ListNewlyRiskyPersonsRequest(cursor=cursor)))
        assert error_details(error) == ("CURSOR_INVALID", ["cursor"]), cursor

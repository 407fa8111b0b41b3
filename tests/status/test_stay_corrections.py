"""A carrier's stay correction moves the colour both ways through itinerary's feed: a stay moved out of
a risky area lifts the colour it caused, one moved into a risky area raises it; each is in the
person's history with the carrier and its reason."""

from __future__ import annotations

from datetime import timedelta

from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2 as pb

from tests.support.status import NATIONAL_ONLY, person_in, status_of
from tests.support.status import GREEN, RED, declared_high, recompute
from tests.support import ingest_one_stay, timestamp

CARRIER = "china-unicom"  # ingest_one_stay's


async def stay_at(itinerary_env, person: str, area: str, clock) -> itinerary_pb2.CarrierStay:
    arrival = clock.now() - timedelta(days=3)
    await ingest_one_stay(itinerary_env.stub, person, area, arrival)
    return itinerary_pb2.CarrierStay(person_id=person, area_code=area, arrival_time=timestamp(arrival),
                                     departure_time=timestamp(arrival + timedelta(hours=6)))


async def correct(itinerary_env, correction: itinerary_pb2.StayCorrection) -> None:
    response = await itinerary_env.stub.CorrectCarrierStays(itinerary_pb2.CorrectCarrierStaysRequest(
        source_carrier=CARRIER, request_id=f"c-{correction.stay.person_id}", corrections=[correction]))
    assert response.applied_count == 1, response


def moved(sent: itinerary_pb2.CarrierStay, area: str) -> itinerary_pb2.StayCorrection:
    replacement = itinerary_pb2.CarrierStay()
    replacement.CopyFrom(sent)
    replacement.area_code = area
    return itinerary_pb2.StayCorrection(stay=sent, action=itinerary_pb2.STAY_CORRECTION_ACTION_CORRECT,
                                        corrected=replacement, reason="cell tower misattributed")


async def test_a_stay_corrected_out_of_a_risky_area_lifts_the_colour_it_caused(
        status_env, identity_env, itinerary_env, clock):
    await recompute(status_env, await declared_high(itinerary_env, clock, "650202"))
    person = await person_in(identity_env, NATIONAL_ONLY)
    sent = await stay_at(itinerary_env, person, "650202", clock)
    await status_env.parts.recomputation.follow_stays()
    assert (await status_of(status_env, person)).colour == RED

    await correct(itinerary_env, moved(sent, "110105"))
    await status_env.parts.recomputation.follow_stays()

    assert (await status_of(status_env, person)).colour == GREEN
    latest = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes[0]
    assert (latest.cause, latest.previous_colour, latest.colour) == (pb.CHANGE_CAUSE_CORRECTION, RED, GREEN)
    assert (latest.correction.kind, latest.correction.actor, list(latest.correction.changed_fields),
            latest.correction.reason) == (pb.CORRECTION_KIND_STAY_CORRECTED, CARRIER, ["area_code"],
                                          "cell tower misattributed")


async def test_a_stay_corrected_into_a_risky_area_raises_the_colour(status_env, identity_env, itinerary_env, clock):
    await recompute(status_env, await declared_high(itinerary_env, clock, "650203"))
    person = await person_in(identity_env, NATIONAL_ONLY)
    sent = await stay_at(itinerary_env, person, "110105", clock)
    await status_env.parts.recomputation.follow_stays()
    assert (await status_of(status_env, person)).colour == GREEN

    await correct(itinerary_env, moved(sent, "650203"))
    await status_env.parts.recomputation.follow_stays()

    status = await status_of(status_env, person)
    assert (status.colour, [r.code for r in status.reasons]) == (RED, ["HIGH_RISK_STAY"])


async def test_a_withdrawn_stay_lifts_its_colour_and_a_replayed_page_records_it_once(
        status_env, identity_env, itinerary_env, clock):
    await recompute(status_env, await declared_high(itinerary_env, clock, "650204"))
    person = await person_in(identity_env, NATIONAL_ONLY)
    sent = await stay_at(itinerary_env, person, "650204", clock)
    await status_env.parts.recomputation.follow_stays()
    cursor = await status_env.parts.repository.stay_feed_cursor()

    await correct(itinerary_env, itinerary_pb2.StayCorrection(
        stay=sent, action=itinerary_pb2.STAY_CORRECTION_ACTION_WITHDRAW, reason="another subscriber's record"))
    await status_env.parts.recomputation.follow_stays()
    # As after a crash before the cursor moved: the page is decided again.
    await status_env.parts.repository.move_stay_feed_cursor(cursor)
    await status_env.parts.recomputation.follow_stays()

    assert (await status_of(status_env, person)).colour == GREEN
    pool = status_env.parts.repository.pool
    assert await pool.fetchval("SELECT count(*) FROM status.corrections WHERE person_id = $1", person) == 1
    assert await pool.fetchval(
        "SELECT count(*) FROM status.audit_log WHERE person_id = $1 AND cause = 20", person) == 1

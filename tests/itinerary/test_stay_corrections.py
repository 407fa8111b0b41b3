"""A carrier corrects or withdraws stays it sent, named by the stay as sent: only its own stays, the
bad corrections of a call reported and the good ones kept, retries answered once, and every person
concerned put on the feed status follows."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import grpc

from healthcode.itinerary.v1 import itinerary_pb2 as pb
from tests.support.itinerary import ingest, listed, stay
from tests.support import error_details, register_persons, timestamp

CORRECT, WITHDRAW = pb.STAY_CORRECTION_ACTION_CORRECT, pb.STAY_CORRECTION_ACTION_WITHDRAW


def corrected(sent: pb.CarrierStay, area: str | None = None, hours: float | None = None) -> pb.StayCorrection:
    replacement = pb.CarrierStay()
    replacement.CopyFrom(sent)
    if area:
        replacement.area_code = area
    if hours:
        replacement.departure_time.CopyFrom(timestamp(sent.arrival_time.ToDatetime() + timedelta(hours=hours)))
    return pb.StayCorrection(stay=sent, action=CORRECT, corrected=replacement, reason="cell tower misattributed")


def withdrawn(sent: pb.CarrierStay) -> pb.StayCorrection:
    return pb.StayCorrection(stay=sent, action=WITHDRAW, reason="roaming record of another subscriber")


async def correct(env, *corrections, carrier="china-mobile", request_id=None) -> pb.CorrectCarrierStaysResponse:
    return await env.stub.CorrectCarrierStays(pb.CorrectCarrierStaysRequest(
        source_carrier=carrier, request_id=request_id or f"c-{secrets.token_hex(6)}", corrections=list(corrections)))


async def sent_stay(identity_env, itinerary_env, clock, area="420106") -> pb.CarrierStay:
    person = (await register_persons(identity_env.persons, 1))[0]
    sent = stay(person, area, clock=clock)
    assert (await ingest(itinerary_env, [sent])).stored == 1
    return sent


async def test_a_corrected_stay_replaces_the_one_sent(identity_env, itinerary_env, clock):
    sent = await sent_stay(identity_env, itinerary_env, clock)
    response = await correct(itinerary_env, corrected(sent, area="110105"))
    assert response.applied_count == 1 and response.outcomes[0].correction_id
    assert [s.area_code for s in await listed(itinerary_env, sent.person_id)] == ["110105"]


async def test_a_withdrawn_stay_is_gone(identity_env, itinerary_env, clock):
    sent = await sent_stay(identity_env, itinerary_env, clock)
    assert (await correct(itinerary_env, withdrawn(sent))).applied_count == 1
    assert await listed(itinerary_env, sent.person_id) == []


async def test_a_carrier_finds_only_its_own_stays(identity_env, itinerary_env, clock):
    sent = await sent_stay(identity_env, itinerary_env, clock)
    response = await correct(itinerary_env, withdrawn(sent), carrier="china-telecom")
    assert (response.applied_count, response.outcomes[0].rejection_reason) == (0, "STAY_NOT_FOUND")
    assert len(await listed(itinerary_env, sent.person_id)) == 1


async def test_bad_corrections_are_reported_and_the_good_ones_kept(identity_env, itinerary_env, clock):
    good = await sent_stay(identity_env, itinerary_env, clock)
    other = await sent_stay(identity_env, itinerary_env, clock)
    unknown_area = corrected(other, area="429999")
    too_short = corrected(other, hours=1)
    unchanged = corrected(other)
    future = corrected(other)
    future.corrected.departure_time.CopyFrom(timestamp(clock.now() + timedelta(days=3)))
    other_person = corrected(other, area="110105")
    other_person.corrected.person_id = good.person_id
    no_reason = withdrawn(other)
    no_reason.reason = ""
    response = await correct(itinerary_env, unknown_area, withdrawn(good), too_short, unchanged, future,
                             other_person, no_reason, pb.StayCorrection(stay=other, reason="x"))
    assert [(o.index, o.rejection_reason, o.rejection_field) for o in response.outcomes if o.rejection_reason] == [
        (0, "AREA_UNKNOWN", "corrections[0].corrected.area_code"),
        (2, "STAY_TOO_SHORT", "corrections[2].corrected.departure_time"),
        (3, "STAY_UNCHANGED", "corrections[3].corrected"),
        (4, "TIME_IN_FUTURE", "corrections[4].corrected.departure_time"),
        (5, "PERSON_CHANGED", "corrections[5].corrected.person_id"),
        (6, "REASON_INVALID", "corrections[6].reason"),
        (7, "ACTION_INVALID", "corrections[7].action")]
    assert response.applied_count == 1 and response.outcomes[1].correction_id
    assert await listed(itinerary_env, good.person_id) == []
    assert len(await listed(itinerary_env, other.person_id)) == 1


async def test_a_retried_request_gets_the_first_answer_and_applies_once(identity_env, itinerary_env, clock):
    sent = await sent_stay(identity_env, itinerary_env, clock)
    request_id = f"retry-{secrets.token_hex(6)}"
    first, second = await asyncio.gather(correct(itinerary_env, corrected(sent, area="110105"), request_id=request_id),
                                         correct(itinerary_env, corrected(sent, area="110105"), request_id=request_id))
    assert sorted([first.replayed, second.replayed]) == [False, True]
    assert first.outcomes[0].correction_id == second.outcomes[0].correction_id
    assert [s.area_code for s in await listed(itinerary_env, sent.person_id)] == ["110105"]


async def test_of_two_concurrent_corrections_of_one_stay_one_wins(identity_env, itinerary_env, clock):
    sent = await sent_stay(identity_env, itinerary_env, clock)
    answers = await asyncio.gather(correct(itinerary_env, corrected(sent, area="110105")),
                                   correct(itinerary_env, withdrawn(sent)))
    assert sorted(a.applied_count for a in answers) == [0, 1]
    loser = next(a for a in answers if not a.applied_count)
    assert loser.outcomes[0].rejection_reason == "STAY_NOT_FOUND"
    corrected_won = answers[0].applied_count == 1
    stays = await listed(itinerary_env, sent.person_id)
    assert [s.area_code for s in stays] == (["110105"] if corrected_won else [])


async def test_a_correction_goes_to_the_feed_with_what_changed(identity_env, itinerary_env, clock):
    sent = await sent_stay(identity_env, itinerary_env, clock)
    response = await correct(itinerary_env, corrected(sent, area="110105"))
    cursor, changes = "", []
    while True:
        page = await itinerary_env.stub.ListNewlyRiskyPersons(pb.ListNewlyRiskyPersonsRequest(cursor=cursor))
        changes += page.stay_changes
        if page.cursor == cursor:
            break
        cursor = page.cursor
    mine = [c for c in changes if c.correction_id == response.outcomes[0].correction_id]
    assert [(c.person_id, c.source_carrier, c.action, list(c.changed_fields)) for c in mine] == [
        (sent.person_id, "china-mobile", CORRECT, ["area_code"])]


async def test_a_bad_request_names_its_field(itinerary_env):
    for request, field in [
            (pb.CorrectCarrierStaysRequest(source_carrier="china-mobile", request_id="r"), "corrections"),
            (pb.CorrectCarrierStaysRequest(source_carrier="China Mobile", request_id="r"), "source_carrier"),
            (pb.CorrectCarrierStaysRequest(source_carrier="china-mobile", request_id="",
                                           corrections=[pb.StayCorrection()]), "request_id")]:
        try:
            await itinerary_env.stub.CorrectCarrierStays(request)
            raise AssertionError("accepted")
        except grpc.aio.AioRpcError as error:
            assert (error.code(), error_details(error)[1]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])

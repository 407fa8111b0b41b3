"""Tianjin's and Hebei's residents entering Beijing (001): the pop-up, the press of "continue" and the
query of their 14-day itinerary, against real identity, itinerary and status services."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import grpc
import pytest
from healthcode.common.v1 import common_pb2
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.status.intake import POPUP_AUTHORITY
from tests.support.status import fact, later, person_in, record, status_of
from tests.support import error_details, ingest_one_stay, refused, timestamp

GREEN, YELLOW = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW
BEIJING, TIANJIN, HEBEI = "110000", "120000", "130000"
DONGCHENG = "110101"      # the Beijing district of the hotel
XUSHUI = "130609"         # a Hebei county only these tests declare at medium risk
PUDONG, HEPING = "310115", "120101"  # low-risk stays in Shanghai and in Tianjin


def beijing_hotel(person_id: str, at, until) -> pb.Fact:
    message = fact(person_id, pb.FACT_KIND_HOTEL_REGISTRATION, at, end=until, area_code=DONGCHENG)
    message.source = pb.FACT_SOURCE_POLICE
    message.authority = "110000.hotel-registry"
    return message


def shown(status: pb.Status) -> tuple[int, str, list[str]]:
    return status.colour, status.display_colour, [reason.code for reason in status.reasons]


async def press_continue(status_env, person_id: str, request_id: str = "", actor: str = "") -> pb.Status:
    return (await status_env.stub.AcknowledgePopup(pb.AcknowledgePopupRequest(
        person_id=person_id, actor_person_id=actor, request_id=request_id))).status


async def presses(status_env, person_id: str) -> int:
    return await status_env.parts.repository.pool.fetchval(
        "SELECT count(*) FROM status.facts WHERE person_id = $1 AND authority = $2", person_id, POPUP_AUTHORITY)


@pytest.mark.parametrize("province", [TIANJIN, HEBEI], ids=["tianjin", "hebei"])
async def test_a_resident_in_a_beijing_hotel_sees_the_pop_up_and_gets_no_abnormality_after_continue(
        status_env, identity_env, clock, province):
    person = await person_in(identity_env, province)
    now = clock.now()
    await record(status_env, beijing_hotel(person, now - timedelta(hours=2), now + timedelta(days=2)))
    before = await status_of(status_env, person)
    assert shown(before) == (YELLOW, "popup", ["HOTEL_STAY"])
    assert before.rule_set_province_code == province

    after = await press_continue(status_env, person, request_id=str(uuid.uuid4()))

    assert shown(after) == (GREEN, "green", [])
    assert after.version == before.version + 1
    change = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes[0]
    assert (change.colour, change.cause) == (GREEN, pb.CHANGE_CAUSE_FACT)
    # Still 未見異常 after check-out, while the registration's 14 days run.
    with later(clock, timedelta(days=5)):
        assert shown(await status_of(status_env, person)) == (GREEN, "green", [])


async def test_continue_after_a_medium_risk_stay_in_the_fourteen_days_keeps_the_pop_up(
        status_env, identity_env, itinerary_env, clock):
    person = await person_in(identity_env, HEBEI)
    now = clock.now()
    await ingest_one_stay(itinerary_env.stub, person, XUSHUI, now - timedelta(days=5))
    await itinerary_env.stub.DeclareRiskArea(itinerary_pb2.DeclareRiskAreaRequest(
        area_code=XUSHUI, level=common_pb2.RISK_LEVEL_MEDIUM, effective_time=timestamp(now - timedelta(days=6)),
        authority="130000.hebei-hc", reason="test"))
    await record(status_env, beijing_hotel(person, now - timedelta(hours=1), now + timedelta(days=20)))

    pressed = await press_continue(status_env, person)

    assert shown(pressed) == (YELLOW, "yellow", ["MEDIUM_RISK_STAY", "HOTEL_STAY"])
    # Ten days on the medium-risk stay is over, but the press was not clean: the pop-up stays.
    with later(clock, timedelta(days=10)):
        assert shown(await status_of(status_env, person)) == (YELLOW, "popup", ["HOTEL_STAY"])
        # A press now queries the itinerary again: 14 days without a risky stay.
        assert shown(await press_continue(status_env, person)) == (GREEN, "green", [])


@pytest.mark.parametrize(("province", "away", "after"), [
    (TIANJIN, PUDONG, (YELLOW, "popup", ["HOTEL_STAY"])),   # not 14 days in Tianjin and Hebei
    (BEIJING, HEPING, (GREEN, "green", [])),                # «本市往返天津、河北低風險地區的人員»
    (BEIJING, PUDONG, (YELLOW, "popup", ["HOTEL_STAY"])),   # back from Shanghai: the hotel rule's test
], ids=["tianjin-back-from-shanghai", "beijing-back-from-tianjin", "beijing-back-from-shanghai"])
async def test_the_press_asks_where_the_fourteen_days_were_spent(status_env, identity_env, itinerary_env, clock,
                                                                province, away, after):
    person = await person_in(identity_env, province)
    now = clock.now()
    await ingest_one_stay(itinerary_env.stub, person, away, now - timedelta(days=3))
    await record(status_env, beijing_hotel(person, now - timedelta(hours=1), now + timedelta(days=2)))
    assert shown(await status_of(status_env, person)) == (YELLOW, "popup", ["HOTEL_STAY"])

    assert shown(await press_continue(status_env, person)) == after


async def test_a_retried_press_is_recorded_once_and_concurrent_presses_lose_nothing(status_env, identity_env, clock):
    person = await person_in(identity_env, TIANJIN)
    now = clock.now()
    await record(status_env, beijing_hotel(person, now - timedelta(hours=1), now + timedelta(days=1)))
    start = (await status_of(status_env, person)).version
    request_id = str(uuid.uuid4())

    answers = await asyncio.gather(*(press_continue(status_env, person, request_id=request_id) for _ in range(4)),
                                   *(press_continue(status_env, person) for _ in range(3)))

    assert all(shown(answer) == (GREEN, "green", []) for answer in answers)
    assert await presses(status_env, person) == 1 + 3
    # One change, to green: the other decisions found the same outcome and wrote no version.
    status = await status_of(status_env, person)
    assert status.version == start + 1
    changes = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes
    assert [c.version for c in changes] == sorted({c.version for c in changes}, reverse=True)


async def test_only_the_person_or_a_guardian_may_press_and_a_bad_id_names_its_field(status_env, identity_env):
    person, stranger = await person_in(identity_env, TIANJIN), await person_in(identity_env, TIANJIN)

    error = await refused(press_continue(status_env, person, actor=stranger))
    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "NO_ACTING_RIGHT")
    error = await refused(press_continue(status_env, "not-a-person"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("PERSON_ID_INVALID", ["person_id"])
    error = await refused(press_continue(status_env, str(uuid.uuid4())))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert await presses(status_env, person) == 0


async def test_no_feed_may_state_a_press_for_a_person(status_env, identity_env, clock):
    person = await person_in(identity_env, TIANJIN)

    response = await record(status_env, fact(person, pb.FACT_KIND_POPUP_ACKNOWLEDGEMENT, clock.now()))

    assert (response.outcomes[0].rejection_reason, response.outcomes[0].rejection_field) == (
        "FACT_KIND_RESERVED", "facts[0].kind")
    assert await presses(status_env, person) == 0


async def test_a_press_is_sealed_at_rest_and_deleted_with_the_registrations_it_waives(status_env, identity_env,
                                                                                     clock):
    person = await person_in(identity_env, TIANJIN)
    await press_continue(status_env, person)
    pool = status_env.parts.repository.pool
    row = await pool.fetchrow("SELECT sealed, retain_until, record_time FROM status.facts "
                              "WHERE person_id = $1 AND authority = $2", person, POPUP_AUTHORITY)
    assert b"risky" not in bytes(row["sealed"])
    assert row["retain_until"] == row["record_time"] + timedelta(days=60)
    with later(clock, timedelta(days=60, seconds=1)):
        await status_env.parts.retention.purge()
        assert await presses(status_env, person) == 0

"""The status service decides colours from facts, check-ins, stays and time, over gRPC."""

from __future__ import annotations

import json
from datetime import timedelta

import grpc
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.status.rules import SHIPPED
from tests.support.status import (
    BEIJING,
    HUBEI,
    NATIONAL_ONLY,
    diagnosis,
    fact,
    guardian_and_child,
    later,
    person_in,
    record,
    status_of,
)
from tests.support import error_details, ingest_one_stay, refused, timestamp

GREEN, YELLOW, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED


async def test_a_new_person_is_green_under_their_provinces_rules(status_env, identity_env):
    person = await person_in(identity_env, HUBEI)
    status = await status_of(status_env, person)
    assert (status.colour, status.display_colour, status.version) == (GREEN, "green", 1)
    assert (status.province_code, status.rule_set_province_code) == (HUBEI, HUBEI)
    assert list(status.reasons) == []


async def test_a_province_without_rules_of_its_own_uses_the_national_default(status_env, identity_env):
    status = await status_of(status_env, await person_in(identity_env, NATIONAL_ONLY))
    assert (status.rule_set_province_code, status.colour) == ("000000", GREEN)


async def test_an_unknown_person_is_not_found_and_a_malformed_id_names_the_field(status_env):
    error = await refused(status_env.stub.GetStatus(pb.GetStatusRequest(person_id="7c1f7a36-0c4e-4e8e-9d55-000000000000")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await refused(status_env.stub.GetStatus(pb.GetStatusRequest(person_id="nope")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("PERSON_ID_INVALID", ["person_id"])


async def test_a_confirmed_diagnosis_turns_the_code_red_with_a_readable_reason(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    response = await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now()))
    assert response.stored_count == 1
    status = await status_of(status_env, person)
    assert (status.colour, status.version) == (RED, 2)
    assert [r.code for r in status.reasons] == ["CONFIRMED"]
    assert status.reasons[0].finding_key == f"fact:{response.outcomes[0].fact_id}"


async def test_a_resent_fact_is_stored_once(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    message = diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now())
    first = await record(status_env, message)
    second = await record(status_env, message)
    assert (first.stored_count, second.stored_count) == (1, 0)
    assert second.outcomes[0].duplicate and second.outcomes[0].fact_id == first.outcomes[0].fact_id
    assert (await status_of(status_env, person)).version == 1  # enrolled red by the first; the resend changed nothing


async def test_a_bad_fact_in_a_batch_is_reported_and_the_good_ones_are_kept(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    good = diagnosis(person, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now())
    future = diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now() + timedelta(days=1))
    no_diagnosis = fact(person, pb.FACT_KIND_DIAGNOSIS, clock.now())
    reserved = fact(person, pb.FACT_KIND_MANUAL_OVERRIDE, clock.now())
    stranger = diagnosis("7c1f7a36-0c4e-4e8e-9d55-000000000001", pb.DIAGNOSIS_CONFIRMED, clock.now())
    response = await record(status_env, good, future, no_diagnosis, reserved, stranger)
    assert response.stored_count == 1
    assert [(o.rejection_reason, o.rejection_field) for o in response.outcomes] == [
        ("", ""),
        ("EFFECTIVE_TIME_IN_FUTURE", "facts[1].effective_time"),
        ("DIAGNOSIS_INVALID", "facts[2].diagnosis"),
        ("FACT_KIND_RESERVED", "facts[3].kind"),
        ("PERSON_NOT_FOUND", "facts[4].person_id"),
    ]
    assert (await status_of(status_env, person)).colour == YELLOW


async def test_an_empty_or_oversized_batch_is_refused(status_env):
    error = await refused(status_env.stub.RecordFacts(pb.RecordFactsRequest()))
    assert error_details(error) == ("FACTS_COUNT_INVALID", ["facts"])


async def test_a_fever_check_in_turns_yellow_and_a_normal_one_turns_back(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    fever = await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person, temperature_celsius=37.3))
    assert (fever.status.colour, [r.code for r in fever.status.reasons]) == (YELLOW, ["FEVER_CHECK_IN"])
    with later(clock, timedelta(hours=1)):
        cough = await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(
            person_id=person, temperature_celsius=36.5, symptoms=[pb.SYMPTOM_COUGH]))
        assert cough.status.colour == YELLOW
        with later(clock, timedelta(hours=1)):
            normal = await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person,
                                                                                 temperature_celsius=36.6))
            assert normal.status.colour == GREEN


async def test_a_retried_check_in_is_stored_once(status_env, identity_env, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    request = pb.RecordCheckInRequest(person_id=person, temperature_celsius=36.6, request_id="morning-1")
    await status_env.stub.RecordCheckIn(request)
    await status_env.stub.RecordCheckIn(request)
    assert await db.fetchval("SELECT count(*) FROM status.check_ins WHERE person_id = $1", person) == 1


async def test_check_in_readings_are_checked_and_sealed_at_rest(status_env, identity_env, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    error = await refused(status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person,
                                                                                temperature_celsius=45)))
    assert error_details(error) == ("TEMPERATURE_INVALID", ["temperature_celsius"])
    error = await refused(status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(
        person_id=person, temperature_celsius=36.5, symptoms=[99])))
    assert error_details(error) == ("SYMPTOM_INVALID", ["symptoms[0]"])
    await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person, temperature_celsius=38.4))
    sealed = await db.fetchval("SELECT sealed FROM status.check_ins WHERE person_id = $1", person)
    assert b"38.4" not in sealed


async def test_facts_are_sealed_at_rest(status_env, identity_env, db, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now()))
    row = await db.fetchrow("SELECT * FROM status.facts WHERE person_id = $1", person)
    assert b"diagnosis" not in row["sealed"] and b"CONFIRMED" not in row["sealed"]


async def test_a_guardian_checks_in_for_a_dependent_but_a_stranger_may_not(status_env, identity_env, clock):
    guardian, child = await guardian_and_child(identity_env, clock)
    response = await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(
        person_id=child, reporter_person_id=guardian, temperature_celsius=36.5))
    assert response.status.person_id == child
    stranger = await person_in(identity_env, NATIONAL_ONLY)
    error = await refused(status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(
        person_id=child, reporter_person_id=stranger, temperature_celsius=36.5)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_details(error)[0] == "NO_ACTING_RIGHT"


async def test_a_high_risk_stay_turns_red_and_time_alone_turns_it_green(status_env, identity_env, itinerary_env,
                                                                       clock):
    from healthcode.itinerary.v1 import itinerary_pb2

    person = await person_in(identity_env, NATIONAL_ONLY)
    await ingest_one_stay(itinerary_env.stub, person, "650102", clock.now() - timedelta(hours=10))
    await itinerary_env.stub.DeclareRiskArea(itinerary_pb2.DeclareRiskAreaRequest(
        area_code="650102", level=common_pb2.RISK_LEVEL_HIGH, effective_time=timestamp(clock.now() - timedelta(days=1)),
        authority="xinjiang-hc", reason="test"))
    await status_env.parts.decider.decide([person], 5)
    status = await status_of(status_env, person)
    assert (status.colour, [r.code for r in status.reasons], status.reasons[0].detail) == (
        RED, ["HIGH_RISK_STAY"], "650102")
    departure = clock.now() - timedelta(hours=4)
    assert status.reasons[0].until_time.ToDatetime(tzinfo=departure.tzinfo) == departure + timedelta(days=14)
    with later(clock, timedelta(days=14, hours=1)):
        assert await status_env.parts.retention.review_due() >= 1
        row = await status_env.parts.repository.enrolled([person])
        assert row[person][1].decision.colour == 1  # green again, decided by the scheduler


async def test_beijing_statuses_are_valid_until_local_midnight(status_env, identity_env, clock):
    status = await status_of(status_env, await person_in(identity_env, BEIJING))
    valid_until = status.valid_until_time.ToDatetime()
    assert valid_until.hour == 16 and valid_until.minute == 0  # 24:00 in UTC+8
    assert timedelta(0) < valid_until - clock.now().replace(tzinfo=None) <= timedelta(days=1)


async def test_a_hubei_green_lapses_to_yellow_without_a_check_in_for_72_hours(status_env, identity_env, clock):
    person = await person_in(identity_env, HUBEI)
    await status_of(status_env, person)
    with later(clock, timedelta(hours=73)):
        await status_env.parts.retention.review_due()
        status = await status_of(status_env, person)
        assert (status.colour, [r.code for r in status.reasons]) == (YELLOW, ["CHECK_IN_OVERDUE"])
        checked_in = await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person,
                                                                                  temperature_celsius=36.4))
        assert checked_in.status.colour == GREEN


async def test_a_new_rule_set_version_decides_from_its_effective_time(status_env, identity_env, clock):
    province = "640000"  # Ningxia: only this test publishes rules for it
    person = await person_in(identity_env, province)
    await status_of(status_env, person)
    document = json.loads((SHIPPED / "national.json").read_text())
    document.update(province_code=province, name="Ningxia test", validity={"hours": 12})
    published = await status_env.admin.PublishRuleSet(pb.PublishRuleSetRequest(
        province_code=province, effective_time=timestamp(clock.now()), document=json.dumps(document)))
    assert published.rule_set.version == 1
    status = await status_of(status_env, person)
    assert (status.rule_set_province_code, status.rule_set_version) == (province, 1)
    listed = await status_env.admin.ListRuleSets(pb.ListRuleSetsRequest(province_code=province))
    assert [r.version for r in listed.rule_sets] == [1]


async def test_a_bad_rule_set_is_refused_with_the_field_named(status_env, clock):
    document = json.loads((SHIPPED / "national.json").read_text())
    document["findings"]["CLOSE_CONTACT"].pop("days")
    document["province_code"] = "650000"
    error = await refused(status_env.admin.PublishRuleSet(pb.PublishRuleSetRequest(
        province_code="650000", effective_time=timestamp(clock.now()), document=json.dumps(document))))
    assert error_details(error) == ("RULE_SET_INVALID", ["rule_set.findings.CLOSE_CONTACT.days"])
    error = await refused(status_env.admin.PublishRuleSet(pb.PublishRuleSetRequest(
        province_code="650000", effective_time=timestamp(clock.now() - timedelta(days=1)),
        document=json.dumps(document))))
    assert error_details(error) == ("EFFECTIVE_TIME_IN_PAST", ["effective_time"])


async def test_watch_status_streams_each_new_version(status_env, identity_env, clock):
    import asyncio

    person = await person_in(identity_env, NATIONAL_ONLY)
    stream = status_env.stub.WatchStatus(pb.WatchStatusRequest(person_id=person))
    first = await asyncio.wait_for(stream.read(), 10)
    assert (first.status.version, first.status.colour) == (1, GREEN)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_SUSPECTED, clock.now()))
    second = await asyncio.wait_for(stream.read(), 10)
    assert (second.status.version, second.status.colour) == (2, RED)
    stream.cancel()


async def test_personal_data_past_retention_is_purged_but_an_open_case_is_kept(status_env, identity_env, clock, db):
    settled = await person_in(identity_env, NATIONAL_ONLY)
    await record(status_env, diagnosis(settled, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now()))
    still_ill = await person_in(identity_env, NATIONAL_ONLY)
    await record(status_env, diagnosis(still_ill, pb.DIAGNOSIS_CONFIRMED, clock.now()))
    await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=settled, temperature_celsius=36.5))
    with later(clock, timedelta(days=181)):
        await status_env.parts.retention.review_due()
        await status_env.parts.retention.purge()
        remaining = await db.fetch("SELECT person_id::text FROM status.facts WHERE person_id = ANY($1::uuid[])",
                                   [settled, still_ill])
        assert [row[0] for row in remaining] == [still_ill]
        assert await db.fetchval("SELECT count(*) FROM status.check_ins WHERE person_id = $1", settled) == 0
        assert (await status_of(status_env, still_ill)).colour == RED


async def test_a_check_in_counts_in_the_decision_it_causes_on_a_running_clock(status_env, identity_env, clock):
    """A real clock moves between the check-in's time and the decision's: the decision must see it."""
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    start, clock.tick = clock.now(), timedelta(microseconds=1)
    try:
        response = await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(
            person_id=person, temperature_celsius=36.6, symptoms=[pb.SYMPTOM_COUGH]))
    finally:
        clock.tick = timedelta(0)
        clock.set(start)
    assert (response.status.colour, [r.code for r in response.status.reasons]) == (YELLOW, ["FEVER_CHECK_IN"])

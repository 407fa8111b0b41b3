"""The seeds' facts through RecordFacts against a real status service: provenance per source, areas,
retention, the latest negative test in the status and the code, and the seeds' symptoms."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.codes import read_code
from tests.support.status import NATIONAL_ONLY, fact, later, person_in, record, status_of
from tests.support import error_details, refused

RED, YELLOW, GREEN = common_pb2.COLOUR_RED, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_GREEN
FIVE_COLOUR_PROVINCE = "460000"  # Hainan ships the five-colour set


def lab_result(person_id: str, result: int, at, source: int = pb.FACT_SOURCE_LABORATORY) -> pb.Fact:
    message = fact(person_id, pb.FACT_KIND_NUCLEIC_ACID_TEST, at, test_result=result)
    message.source = source
    message.authority = "wuhan-lab-3"
    return message


def of_source(message: pb.Fact, source: int, **fields) -> pb.Fact:
    message.source = source
    for name, value in fields.items():
        setattr(message, name, value)
    return message


async def test_each_new_fact_kind_is_accepted_only_from_its_authority_and_bad_rows_are_reported(
        status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    now = clock.now()
    bad_end = of_source(fact(person, pb.FACT_KIND_HOTEL_REGISTRATION, now, end=now - timedelta(hours=1)),
                        pb.FACT_SOURCE_POLICE)
    response = await record(
        status_env,
        of_source(fact(person, pb.FACT_KIND_CLOSED_AREA_RESIDENCE, now - timedelta(hours=2)), pb.FACT_SOURCE_COMMUNITY,
                  area_code="130104"),
        of_source(fact(person, pb.FACT_KIND_FEVER_MEDICINE_PURCHASE, now), pb.FACT_SOURCE_HEALTH),
        of_source(fact(person, pb.FACT_KIND_CASE_REPORTED_STAY, now, end=now + timedelta(hours=1)),
                  pb.FACT_SOURCE_HEALTH),
        of_source(fact(person, pb.FACT_KIND_DIAGNOSIS, now, diagnosis=pb.DIAGNOSIS_SUSPECTED), pb.FACT_SOURCE_HEALTH,
                  area_code="130104"),
        bad_end,
        lab_result(person, pb.TEST_RESULT_NEGATIVE, now, source=pb.FACT_SOURCE_RAIL),
        of_source(fact(person, pb.FACT_KIND_FEVER_CLINIC_VISIT, now), pb.FACT_SOURCE_HEALTH),
        of_source(fact(person, pb.FACT_KIND_CASE_REPORTED_STAY, now), pb.FACT_SOURCE_HEALTH, area_code="99"),
    )
    outcomes = [(o.rejection_reason, o.rejection_field) for o in response.outcomes]
    assert outcomes == [
        ("", ""),
        ("FACT_SOURCE_NOT_ALLOWED", "facts[1].source"),
        ("AREA_CODE_MISSING", "facts[2].area_code"),
        ("AREA_CODE_UNEXPECTED", "facts[3].area_code"),
        ("END_TIME_INVALID", "facts[4].end_time"),
        ("FACT_SOURCE_NOT_ALLOWED", "facts[5].source"),
        ("", ""),
        ("AREA_CODE_INVALID", "facts[7].area_code"),
    ]
    assert response.stored_count == 2
    status = await status_of(status_env, person)
    # The national default counts closed-area residents red (002 ❷) and fever-clinic visits not at all.
    assert (status.colour, [(r.code, r.detail) for r in status.reasons]) == (
        RED, [("CLOSED_AREA_RESIDENCE", "130104")])


async def test_a_case_reported_county_stay_is_red_in_the_national_default(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    arrival = clock.now() - timedelta(days=3)
    await record(status_env, of_source(fact(person, pb.FACT_KIND_CASE_REPORTED_STAY, arrival,
                                            end=arrival + timedelta(days=1)),
                                       pb.FACT_SOURCE_HEALTH, area_code="130104"))

    status = await status_of(status_env, person)
    assert (status.colour, [r.code for r in status.reasons]) == (RED, ["CASE_REPORTED_STAY"])
    assert status.reasons[0].until_time.ToDatetime() == (arrival + timedelta(days=15)).replace(tzinfo=None)


async def test_the_latest_negative_test_is_in_the_status_and_in_the_code_and_a_later_positive_removes_it(
        status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    before = await status_of(status_env, person)
    assert not before.HasField("latest_negative_test_time")
    sampled = clock.now() - timedelta(hours=30, microseconds=250)
    await record(status_env, lab_result(person, pb.TEST_RESULT_NEGATIVE, sampled - timedelta(days=2)),
                 lab_result(person, pb.TEST_RESULT_NEGATIVE, sampled))

    status = await status_of(status_env, person)
    assert (status.colour, status.version) == (GREEN, before.version + 1)
    assert status.latest_negative_test_time.ToDatetime() == sampled.replace(tzinfo=None)
    claims = read_code((await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person))).payload).claims
    assert claims.negative_test_time == sampled.replace(microsecond=0)

    await record(status_env, lab_result(person, pb.TEST_RESULT_POSITIVE, clock.now() - timedelta(hours=1)))
    status = await status_of(status_env, person)
    assert status.colour == RED and not status.HasField("latest_negative_test_time")
    claims = read_code((await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person))).payload).claims
    assert claims.negative_test_time is None


async def test_concurrent_test_results_for_one_person_keep_the_latest_and_duplicate_nothing(
        status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    now = clock.now()
    facts = [lab_result(person, pb.TEST_RESULT_NEGATIVE, now - timedelta(hours=h)) for h in range(1, 9)]

    # Every fact sent twice, all at once: eight stored, each exactly once.
    responses = await asyncio.gather(*(record(status_env, message) for message in facts + facts))

    assert sum(r.stored_count for r in responses) == 8
    stored = await status_env.parts.repository.pool.fetchval(
        "SELECT count(*) FROM status.facts WHERE person_id = $1", person)
    assert stored == 8
    status = await status_of(status_env, person)
    assert status.latest_negative_test_time.ToDatetime() == (now - timedelta(hours=1)).replace(tzinfo=None)
    changes = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes
    versions = [c.version for c in changes]
    assert versions == sorted(set(versions), reverse=True) and versions[0] == status.version


async def test_a_fever_medicine_purchase_is_deleted_after_its_retention_and_the_status_decided_again(
        status_env, identity_env, clock):
    person = await person_in(identity_env, FIVE_COLOUR_PROVINCE)
    bought = clock.now()
    purchase = of_source(fact(person, pb.FACT_KIND_FEVER_MEDICINE_PURCHASE, bought), pb.FACT_SOURCE_MARKET_REGULATION)
    await record(status_env, purchase)
    status = await status_of(status_env, person)
    assert (status.colour, status.display_colour, [r.code for r in status.reasons]) == (
        YELLOW, "orange", ["FEVER_MEDICINE_PURCHASE"])
    pool = status_env.parts.repository.pool
    kept = await pool.fetchval("SELECT retain_until FROM status.facts WHERE person_id = $1", person)
    assert kept == bought + timedelta(days=30)

    with later(clock, timedelta(days=29)):
        await status_env.parts.retention.purge()
        assert await pool.fetchval("SELECT count(*) FROM status.facts WHERE person_id = $1", person) == 1
        assert (await status_of(status_env, person)).colour == GREEN   # orange for 4 days only
    with later(clock, timedelta(days=30, seconds=1)):
        await status_env.parts.retention.purge()
        assert await pool.fetchval("SELECT count(*) FROM status.facts WHERE person_id = $1", person) == 0
        assert (await status_of(status_env, person)).colour == GREEN


async def test_the_seeds_symptoms_turn_a_check_in_yellow_and_an_unknown_one_is_refused(
        status_env, identity_env, clock):
    for symptom in (pb.SYMPTOM_HEADACHE, pb.SYMPTOM_NAUSEA_OR_VOMITING, pb.SYMPTOM_CONJUNCTIVAL_CONGESTION,
                    pb.SYMPTOM_NASAL_CONGESTION, pb.SYMPTOM_ABDOMINAL_PAIN):
        person = await person_in(identity_env, NATIONAL_ONLY)
        response = await status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(
            person_id=person, temperature_celsius=36.6, symptoms=[symptom], request_id=str(uuid.uuid4())))
        assert (response.status.colour, [r.code for r in response.status.reasons]) == (YELLOW, ["FEVER_CHECK_IN"])
    person = await person_in(identity_env, NATIONAL_ONLY)
    error = await refused(status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(
        person_id=person, temperature_celsius=36.6, symptoms=[20])))
    assert error_details(error) == ("SYMPTOM_INVALID", ["symptoms[0]"])

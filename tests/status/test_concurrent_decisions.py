"""Concurrent decisions for one person are serialised: versions grow by exactly one per change, never go
back, every change has exactly one audit entry with the right previous colour, one enrolment per person."""

from __future__ import annotations

import asyncio
import uuid

from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.status.model import ChangeCause
from tests.support.status import NATIONAL_ONLY, diagnosis, grant, person_in, record, status_of

GREEN, YELLOW, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED


async def assert_one_history(status_env, db, person: str, versions: int) -> list:
    """The person's audit entries are versions 1..`versions`, each once, each following the one before,
    and the stored status is the last of them; deciding again changes nothing."""
    entries = await db.fetch(
        """SELECT seq, version, previous_colour, colour, cause FROM status.audit_log WHERE person_id = $1
           ORDER BY seq""", uuid.UUID(person))
    assert [e["version"] for e in entries] == list(range(1, versions + 1))
    assert [e["cause"] for e in entries].count(int(ChangeCause.ENROLMENT)) == 1
    assert entries[0]["previous_colour"] == 0
    assert all(later["previous_colour"] == earlier["colour"] for earlier, later in zip(entries, entries[1:]))
    stored = await db.fetchrow("SELECT version, colour, audit_seq FROM status.statuses WHERE person_id = $1",
                               uuid.UUID(person))
    assert (stored["version"], stored["colour"], stored["audit_seq"]) == (
        versions, entries[-1]["colour"], entries[-1]["seq"])
    again = await status_env.parts.decider.decide([person], ChangeCause.REVALIDATION)
    assert again.changed == 0
    return entries


async def test_twenty_simultaneous_first_reads_enrol_once(status_env, identity_env, db):
    person = await person_in(identity_env, NATIONAL_ONLY)

    statuses = await asyncio.gather(*(status_of(status_env, person) for _ in range(20)))

    assert {s.version for s in statuses} == {1}
    await assert_one_history(status_env, db, person, 1)


async def test_twenty_concurrent_facts_make_twenty_versions(status_env, identity_env, clock, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)

    # Each close-contact fact is a reason of its own, so each is a change.
    await asyncio.gather(*(record(status_env, diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now()))
                           for _ in range(20)))

    status = await status_of(status_env, person)
    assert (status.version, status.colour, len(status.reasons)) == (21, RED, 20)
    await assert_one_history(status_env, db, person, 21)


async def test_concurrent_fever_and_normal_check_ins_leave_the_last_word_and_a_true_history(
        status_env, identity_env, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)

    for _ in range(10):
        await asyncio.gather(
            status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person, temperature_celsius=38.2)),
            status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person, temperature_celsius=36.5)))

    entries = await db.fetch("SELECT version FROM status.audit_log WHERE person_id = $1", uuid.UUID(person))
    await assert_one_history(status_env, db, person, len(entries))


async def test_concurrent_appeal_approvals_each_dismiss_their_own_finding(status_env, identity_env, clock, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    await record(status_env, *(diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now()) for _ in range(20)))
    keys = [r.finding_key for r in (await status_of(status_env, person)).reasons]
    appeals = [(await status_env.stub.FileAppeal(pb.FileAppealRequest(
        person_id=person, category=pb.APPEAL_CATEGORY_DIAGNOSIS, statement="不是我"))).appeal for _ in keys]
    await grant(status_env, "reviewer.concurrent", NATIONAL_ONLY, pb.OFFICER_ROLE_APPEAL_REVIEWER)

    await asyncio.gather(*(status_env.stub.DecideAppeal(pb.DecideAppealRequest(
        appeal_id=appeal.appeal_id, reviewer_id="reviewer.concurrent", approve=True, decision_reason="wrong match",
        dismissed_finding_keys=[key])) for appeal, key in zip(appeals, keys)))

    status = await status_of(status_env, person)
    assert (status.version, status.colour, list(status.reasons)) == (22, GREEN, [])
    await assert_one_history(status_env, db, person, 22)


async def test_two_hundred_persons_at_once_each_keep_one_history(status_env, identity_env, clock, db):
    persons = [await person_in(identity_env, NATIONAL_ONLY) for _ in range(200)]
    # 50 persons rushed at a time (200 calls in flight): enough for every race, bounded so a loaded
    # machine does not turn it into a test of identity's deadlines.
    in_flight = asyncio.Semaphore(50)

    async def rush(person: str) -> None:
        # A first read, a fever, a normal check-in and a fact, all at once.
        async with in_flight:
            await asyncio.gather(
                status_of(status_env, person),
                status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person, temperature_celsius=38.5)),
                status_env.stub.RecordCheckIn(pb.RecordCheckInRequest(person_id=person, temperature_celsius=36.4)),
                record(status_env, diagnosis(person, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now())))

    await asyncio.gather(*(rush(person) for person in persons))

    counts = dict(await db.fetch(
        "SELECT person_id::text, count(*) FROM status.audit_log WHERE person_id = ANY($1::uuid[]) GROUP BY 1",
        persons))
    for person in persons:
        entries = await assert_one_history(status_env, db, person, counts[person])
        assert entries[-1]["colour"] in (YELLOW, RED)  # the secondary contact holds whatever the check-ins say

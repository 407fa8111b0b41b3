"""Midnight is not a storm: a Beijing status whose decision does not change at midnight is renewed in
the evening, so the first read after midnight is a stored read; one that does change is left to lapse."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.status.renewal import Renewal
from tests.support.status import BEIJING, diagnosis, fact, person_in, record, status_of

GREEN, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_RED
HORIZON = timedelta(hours=3)


def beijing(clock, hour: int, minute: int = 0, days: int = 0) -> datetime:
    """A Beijing wall-clock time (UTC+8) on the clock's current Beijing day, as UTC."""
    local_day = (clock.now() + timedelta(hours=8)).date() + timedelta(days=days)
    return datetime(local_day.year, local_day.month, local_day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def renewal(status_env) -> Renewal:
    return Renewal(status_env.parts.decider, HORIZON, rate=100_000, interval=1.0)


async def audit_versions(db, person: str) -> list[int]:
    return [r[0] for r in await db.fetch("SELECT version FROM status.audit_log WHERE person_id = $1 ORDER BY seq",
                                         uuid.UUID(person))]


async def test_a_status_that_stays_the_same_is_renewed_before_midnight_and_read_stored_after_it(
        status_env, identity_env, clock, db):
    person = await person_in(identity_env, BEIJING)
    with clock.at(beijing(clock, 20)):
        first = await status_of(status_env, person)
    assert first.valid_until_time.ToDatetime(UTC) == beijing(clock, 0, days=1)

    with clock.at(beijing(clock, 22)):
        assert await renewal(status_env).run() >= 1
    with clock.at(beijing(clock, 0, 30, days=1)):
        after_midnight = await status_of(status_env, person)

    assert (after_midnight.colour, after_midnight.version) == (GREEN, 1)
    assert after_midnight.compute_time.ToDatetime(UTC) == beijing(clock, 22)  # stored at renewal, not decided now
    assert after_midnight.valid_until_time.ToDatetime(UTC) == beijing(clock, 0, days=2)
    assert await audit_versions(db, person) == [1]  # a renewal is no change


async def test_a_status_whose_finding_ends_at_midnight_is_left_to_lapse(status_env, identity_env, clock):
    person = await person_in(identity_env, BEIJING)
    with clock.at(beijing(clock, 12)):
        await record(status_env, fact(person, pb.FACT_KIND_QUARANTINE_ORDER, beijing(clock, 0, days=-6),
                                      place=pb.QUARANTINE_PLACE_HOME, end=beijing(clock, 0, days=1)))
        assert (await status_of(status_env, person)).colour != GREEN

    with clock.at(beijing(clock, 22)):
        await renewal(status_env).run()
        stored = await status_of(status_env, person)
    assert stored.valid_until_time.ToDatetime(UTC) == beijing(clock, 0, days=1)  # not renewed: the order ends then
    with clock.at(beijing(clock, 0, 30, days=1)):
        assert (await status_of(status_env, person)).colour == GREEN


async def test_a_status_lapsing_beyond_the_horizon_is_not_renewed_yet(status_env, identity_env, clock):
    person = await person_in(identity_env, BEIJING)
    with clock.at(beijing(clock, 12)):
        await status_of(status_env, person)
        await renewal(status_env).run()
        assert (await status_of(status_env, person)).compute_time.ToDatetime(UTC) == beijing(clock, 12)
        stored = await status_of(status_env, person)
    assert stored.valid_until_time.ToDatetime(UTC) == beijing(clock, 0, days=1)


async def test_renewals_in_two_replicas_and_a_new_fact_at_once_lose_nothing(status_env, identity_env, clock, db):
    persons = [await person_in(identity_env, BEIJING) for _ in range(20)]
    with clock.at(beijing(clock, 20)):
        for person in persons:
            await status_of(status_env, person)

    with clock.at(beijing(clock, 22)):
        await asyncio.gather(renewal(status_env).run(), renewal(status_env).run(),
                             record(status_env, diagnosis(persons[0], pb.DIAGNOSIS_CONFIRMED, beijing(clock, 22))))
        statuses = [await status_of(status_env, p) for p in persons]

    assert (statuses[0].colour, statuses[0].version) == (RED, 2)
    assert await audit_versions(db, persons[0]) == [1, 2]
    for person, status in zip(persons[1:], statuses[1:]):
        assert (status.colour, status.version, status.valid_until_time.ToDatetime(UTC)) == (
            GREEN, 1, beijing(clock, 0, days=2))
        assert await audit_versions(db, person) == [1]

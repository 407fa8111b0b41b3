"""A risk declaration recomputes everyone it affects: in batches, resumably, with progress."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from healthcode.common.v1 import common_pb2
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2 as pb
from prometheus_client import REGISTRY

from tests.support.status import NATIONAL_ONLY, person_in, status_of
from tests.support import ingest_one_stay, timestamp

RED, GREEN = common_pb2.COLOUR_RED, common_pb2.COLOUR_GREEN


async def travellers(status_env, identity_env, itinerary_env, clock, area: str, count: int) -> list[str]:
    persons = [await person_in(identity_env, NATIONAL_ONLY) for _ in range(count)]
    await asyncio.gather(*(ingest_one_stay(itinerary_env.stub, p, area, clock.now() - timedelta(hours=8))
                           for p in persons))
    for person in persons:
        assert (await status_of(status_env, person)).colour == GREEN
    return sorted(persons)


async def declare(itinerary_env, clock, area: str, level=common_pb2.RISK_LEVEL_HIGH) -> str:
    response = await itinerary_env.stub.DeclareRiskArea(itinerary_pb2.DeclareRiskAreaRequest(
        area_code=area, level=level, effective_time=timestamp(clock.now() - timedelta(days=1)),
        authority="gansu-hc", reason="test"))
    return response.declaration.declaration_id


async def test_a_declaration_turns_everyone_who_stayed_there_red(status_env, identity_env, itinerary_env, clock):
    persons = await travellers(status_env, identity_env, itinerary_env, clock, "620102", 5)
    declaration = await declare(itinerary_env, clock, "620102")
    run = (await status_env.admin.StartRecompute(pb.StartRecomputeRequest(declaration_id=declaration))).run
    assert run.state == pb.RECOMPUTE_STATE_RUNNING
    await status_env.parts.recomputation.work()
    runs = (await status_env.admin.ListRecomputeRuns(pb.ListRecomputeRunsRequest(page_size=1000))).runs
    done = next(r for r in runs if r.declaration_id == declaration)
    assert (done.state, done.persons_done, done.persons_changed) == (pb.RECOMPUTE_STATE_DONE, 5, 5)
    for person in persons:
        status = await status_of(status_env, person)
        assert (status.colour, [r.code for r in status.reasons]) == (RED, ["HIGH_RISK_STAY"])
    changes = await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=persons[0]))
    assert changes.changes[0].cause == pb.CHANGE_CAUSE_RISK_DECLARATION


async def test_a_lift_turns_them_green_again(status_env, identity_env, itinerary_env, clock):
    persons = await travellers(status_env, identity_env, itinerary_env, clock, "620200", 3)
    raised = await declare(itinerary_env, clock, "620200")
    await status_env.parts.recomputation.start(raised)
    await status_env.parts.recomputation.work()
    assert (await status_of(status_env, persons[0])).colour == RED
    # Lifted as of before the stay: the area was never at risk while they were there.
    lift = await itinerary_env.stub.LiftRiskArea(itinerary_pb2.LiftRiskAreaRequest(
        area_code="620200", effective_time=timestamp(clock.now() - timedelta(hours=23)), authority="gansu-hc",
        reason="declared in error"))
    await status_env.parts.recomputation.start(lift.declaration.declaration_id)
    await status_env.parts.recomputation.work()
    assert [(await status_of(status_env, p)).colour for p in persons] == [GREEN] * 3


async def test_a_run_resumes_after_the_last_person_it_finished(status_env, identity_env, itinerary_env, clock, db):
    persons = await travellers(status_env, identity_env, itinerary_env, clock, "620302", 4)
    declaration = await declare(itinerary_env, clock, "620302")
    await status_env.parts.recomputation.start(declaration)
    # As if a crash came after the first two persons were done.
    await db.execute("UPDATE status.recompute_runs SET last_person_id = $2, persons_done = 2 "
                     "WHERE declaration_id = $1", declaration, persons[1])
    await status_env.parts.recomputation.work()
    run = await status_env.parts.repository.get_run(declaration)
    assert (run.state, run.persons_done, run.persons_changed) == (2, 4, 2)
    assert [(await status_env.parts.repository.enrolled([p]))[p][1].decision.colour for p in persons] == [
        1, 1, 3, 3]  # only the two after the resume point were recomputed here


async def test_declarations_are_followed_without_being_asked(status_env, identity_env, itinerary_env, clock):
    persons = await travellers(status_env, identity_env, itinerary_env, clock, "620402", 2)
    declaration = await declare(itinerary_env, clock, "620402", common_pb2.RISK_LEVEL_MEDIUM)
    await status_env.parts.recomputation.follow_declarations()
    assert (await status_env.parts.repository.get_run(declaration)) is not None
    await status_env.parts.recomputation.work()
    assert [(await status_of(status_env, p)).colour for p in persons] == [common_pb2.COLOUR_YELLOW] * 2


async def test_starting_a_run_twice_gives_the_same_run(status_env, itinerary_env, clock):
    declaration = await declare(itinerary_env, clock, "620502")
    first = await status_env.admin.StartRecompute(pb.StartRecomputeRequest(declaration_id=declaration))
    second = await status_env.admin.StartRecompute(pb.StartRecomputeRequest(declaration_id=declaration))
    assert first.run.start_time == second.run.start_time


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_operators_see_changes_per_cause_and_the_recompute_backlog_and_lag(status_env, identity_env,
                                                                                 itinerary_env, clock):
    persons = await travellers(status_env, identity_env, itinerary_env, clock, "620902", 3)
    reddened = _sample("healthcode_status_changes_total", cause="RISK_DECLARATION", colour="RED")
    recomputed = _sample("healthcode_status_recompute_persons_total")
    declaration = await declare(itinerary_env, clock, "620902")
    await status_env.parts.recomputation.start(declaration)
    clock.advance(timedelta(seconds=90))
    await status_env.parts.recomputation.work()
    # Seen at the round's start: this run (at least) was waiting, for 90 s at least.
    assert _sample("healthcode_status_recompute_runs_running") >= 1
    assert _sample("healthcode_status_recompute_lag_seconds") >= 90
    assert _sample("healthcode_status_changes_total", cause="RISK_DECLARATION", colour="RED") - reddened == 3
    assert _sample("healthcode_status_recompute_persons_total") - recomputed == len(persons)
    assert _sample("healthcode_status_audit_head_timestamp_seconds") >= clock.now().timestamp() - 1
    await status_env.parts.recomputation.work()
    still_running = await status_env.parts.repository.running_runs()
    assert _sample("healthcode_status_recompute_runs_running") == len(still_running)
    if not still_running:
        assert _sample("healthcode_status_recompute_lag_seconds") == 0


async def test_a_run_for_a_declaration_itinerary_does_not_know_fails_instead_of_running_forever(status_env):
    unknown = str(uuid.uuid4())
    started = await status_env.admin.StartRecompute(pb.StartRecomputeRequest(declaration_id=unknown))
    assert started.run.state == pb.RECOMPUTE_STATE_RUNNING
    await status_env.parts.recomputation.work()
    runs = await status_env.admin.ListRecomputeRuns(pb.ListRecomputeRunsRequest(page_size=1000))
    run = next(r for r in runs.runs if r.declaration_id == unknown)
    assert (run.state, run.error) == (pb.RECOMPUTE_STATE_FAILED, "DECLARATION_NOT_FOUND")
    assert run.HasField("finish_time")

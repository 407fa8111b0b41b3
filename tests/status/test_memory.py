"""Stored statuses shown from memory: served without a database read, and never once a change is known.

The stale answers memory could give, each tried: a read overtaken by a change, a change on this
replica, a change on another replica, a lapsed status, and changes made while the notification
connection was down.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb
from healthcode.status.v1 import status_pb2_grpc

from services.codes import read_code
from services.colours import Colour
from services.status.memory import LOOKUPS, RecentStatuses
from services.status.model import Decision, Status
from services.status.watch import LISTENER_NAME
from tests.support.platform import replica
from tests.support.status import NATIONAL_ONLY, diagnosis, person_in, record

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def _status(person_id: str, version: int, valid_for: timedelta = timedelta(hours=1)) -> Status:
    decision = Decision(Colour.GREEN, "green", (), NOW + valid_for, None, "000000", 1)
    return Status(person_id, "630000", "路*甲", None, version, decision, NOW)


def _listening(capacity: int = 10) -> RecentStatuses:
    recent = RecentStatuses(capacity)
    recent.listening()
    return recent


def _fill(recent: RecentStatuses, status: Status) -> None:
    recent.keep(recent.begin(status.person_id), status)


def test_a_read_overtaken_by_a_change_keeps_nothing():
    recent = _listening()
    read = recent.begin("p")
    recent.changed([("p", 2)])           # committed while the read was in flight
    recent.keep(read, _status("p", 1))   # what the read brought back is older
    assert recent.lookup("p", NOW) is None
    assert len(recent) == 0
    read = recent.begin("p")
    recent.changed([("p", 2)])           # the notification of the very version the read finds
    recent.keep(read, _status("p", 2))
    assert recent.lookup("p", NOW).version == 2
    read = recent.begin("p")
    recent.changed([("p", 0)])           # a write here, or a writer naming no version
    recent.keep(read, _status("p", 3))
    assert recent.lookup("p", NOW) is None


def test_a_newer_version_drops_the_entry_and_an_older_notification_does_not():
    recent = _listening()
    _fill(recent, _status("p", 3))
    recent.changed([("p", 3)])  # the notification of the very version held
    assert recent.lookup("p", NOW).version == 3
    recent.changed([("p", 4)])
    assert recent.lookup("p", NOW) is None
    _fill(recent, _status("q", 1))
    recent.changed([("q", 0)])  # "some newer version", from a writer that names no version
    assert recent.lookup("q", NOW) is None


def test_a_status_is_not_served_past_its_valid_until():
    recent = _listening()
    _fill(recent, _status("p", 1, valid_for=timedelta(minutes=5)))
    assert recent.lookup("p", NOW + timedelta(minutes=4)) is not None
    assert recent.lookup("p", NOW + timedelta(minutes=5)) is None


def test_nothing_is_served_or_kept_while_not_listening():
    recent = RecentStatuses(10)
    assert recent.begin("p") is None and recent.lookup("p", NOW) is None
    recent.listening()
    _fill(recent, _status("p", 1))
    read = recent.begin("q")
    recent.lost()
    recent.keep(read, _status("q", 1))  # begun before the loss: a change may have gone by unseen
    assert recent.lookup("p", NOW) is None and len(recent) == 0
    recent.listening()
    recent.keep(read, _status("q", 1))  # ended twice is harmless, and still not kept
    assert recent.lookup("q", NOW) is None


def test_memory_holds_at_most_its_capacity_dropping_the_least_recently_shown():
    recent = _listening(capacity=2)
    _fill(recent, _status("a", 1))
    _fill(recent, _status("b", 1))
    recent.lookup("a", NOW)
    _fill(recent, _status("c", 1))
    assert len(recent) == 2
    assert recent.lookup("b", NOW) is None
    assert recent.lookup("a", NOW) is not None and recent.lookup("c", NOW) is not None


def test_memory_off_keeps_nothing():
    recent = RecentStatuses(0)
    recent.listening()
    assert not recent.enabled and recent.begin("p") is None


async def _until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


@asynccontextmanager
async def another_replica(status_env, clock):
    """A second replica of the shared status service (its database, its keys), as its client."""
    async with replica("status", status_env.settings, clock) as started:
        async with grpc.aio.insecure_channel(started.address) as channel:
            yield status_pb2_grpc.StatusServiceStub(channel)


def _hits() -> float:
    return LOOKUPS.labels("hit")._value.get()


async def test_a_shown_status_comes_from_memory_and_a_change_here_is_seen_at_once(status_env, identity_env):
    await _until(lambda: status_env.parts.recent.enabled)
    person = await person_in(identity_env, NATIONAL_ONLY)
    first = (await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person))).status
    await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person))  # fills memory from the primary
    hits = _hits()
    shown = (await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person))).status
    assert _hits() == hits + 1 and shown == first
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, status_env.parts.decider.now()))
    # No wait for the notification: this replica's own write dropped the entry before it answered.
    after = (await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person))).status
    assert after.version == first.version + 1 and after.colour == common_pb2.COLOUR_RED


async def test_a_change_on_another_replica_is_seen_once_its_notification_arrives(
        status_env, identity_env, clock):
    async with another_replica(status_env, clock) as elsewhere:
        await _until(lambda: status_env.parts.recent.enabled)
        person = await person_in(identity_env, NATIONAL_ONLY)
        for _ in range(2):
            first = (await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person))).status
        watch = status_env.stub.WatchStatus(pb.WatchStatusRequest(person_id=person))
        assert (await watch.read()).status.version == first.version
        await elsewhere.RecordFacts(pb.RecordFactsRequest(
            facts=[diagnosis(person, pb.DIAGNOSIS_CONFIRMED, status_env.parts.decider.now())]))
        # The notification that woke this watch dropped the entry first.
        assert (await watch.read()).status.version == first.version + 1
        watch.cancel()
        after = (await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person))).status
        assert after.version == first.version + 1 and after.colour == common_pb2.COLOUR_RED


async def test_while_notifications_are_down_every_status_is_read_from_the_database(
        status_env, identity_env, database_url, clock):
    # A replica of its own whose memory is watched; the shared replica makes the change.
    async with replica("status", replace(status_env.settings), clock) as started:
        parts = started.parts
        async with grpc.aio.insecure_channel(started.address) as channel:
            here = status_pb2_grpc.StatusServiceStub(channel)
            await _until(lambda: parts.recent.enabled)
            person = await person_in(identity_env, NATIONAL_ONLY)
            for _ in range(2):
                first = (await here.GetStatus(pb.GetStatusRequest(person_id=person))).status
            assert len(parts.recent) >= 1
            connection = await asyncpg.connect(database_url)
            try:
                await connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE application_name = $1", LISTENER_NAME)
            finally:
                await connection.close()
            await _until(lambda: not parts.recent.enabled)
            assert len(parts.recent) == 0
            await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, status_env.parts.decider.now()))
            shown = (await here.GetStatus(pb.GetStatusRequest(person_id=person))).status
            assert shown.version == first.version + 1
            # Back within the listening job's interval, and memory fills again from then on.
            await _until(lambda: parts.recent.enabled)
            for _ in range(2):
                shown = (await here.GetStatus(pb.GetStatusRequest(person_id=person))).status
            assert shown.version == first.version + 1 and shown.colour == common_pb2.COLOUR_RED
            assert len(parts.recent) >= 1


async def test_a_code_turns_stale_at_the_checkpoint_once_another_replica_changes_its_status(
        status_env, identity_env, clock):
    # The standing a checkpoint asks for reads the person's version from memory when it can.
    async with another_replica(status_env, clock) as elsewhere:
        await _until(lambda: status_env.parts.recent.enabled)
        person = await person_in(identity_env, NATIONAL_ONLY)
        code = read_code((await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person))).payload)
        standing = pb.GetCodeStandingRequest(code_ids=[code.claims.code_id.hex()])
        for _ in range(2):  # the second from memory
            assert list((await status_env.stub.GetCodeStanding(standing)).standings) == [
                pb.CODE_STANDING_CURRENT]
        watch = status_env.stub.WatchStatus(pb.WatchStatusRequest(person_id=person))
        await watch.read()
        await elsewhere.RecordFacts(pb.RecordFactsRequest(
            facts=[diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, status_env.parts.decider.now())]))
        await watch.read()  # the notification has arrived here
        watch.cancel()
        assert list((await status_env.stub.GetCodeStanding(standing)).standings) == [pb.CODE_STANDING_STALE]
        # And a change made on this replica is seen by the next standing, with no wait at all.
        fresh = read_code((await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person))).payload)
        again = pb.GetCodeStandingRequest(code_ids=[fresh.claims.code_id.hex()])
        assert list((await status_env.stub.GetCodeStanding(again)).standings) == [pb.CODE_STANDING_CURRENT]
        await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, status_env.parts.decider.now()))
        assert list((await status_env.stub.GetCodeStanding(again)).standings) == [pb.CODE_STANDING_STALE]

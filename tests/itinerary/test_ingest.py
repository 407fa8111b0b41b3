"""Carrier stay batches: idempotent per batch and per stay, 4-hour rule, window edges, bad rows reported."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest

from healthcode.itinerary.v1 import itinerary_pb2 as pb
from tests.support import error_details, register_persons
from tests.support.itinerary import ingest, listed, stay

HOUR = timedelta(hours=1)


async def test_a_batch_streamed_in_chunks_stores_every_stay(identity_env, itinerary_env, clock):
    people = await register_persons(identity_env.persons, 3)

    response = await ingest(itinerary_env, [stay(p, clock=clock) for p in people] + [
        stay(people[0], "110105", clock.now() - timedelta(days=1), clock=clock)])

    assert (response.received, response.stored, response.rejected) == (4, 4, 0)
    assert [s.area_code for s in await listed(itinerary_env, people[0])] == ["420106", "110105"]


async def test_a_resent_batch_adds_nothing_and_gets_the_first_answer(identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]
    stays = [stay(person, clock=clock), stay("not-a-person", clock=clock)]

    first = await ingest(itinerary_env, stays, batch_id="resend-me-" + person)
    again = await ingest(itinerary_env, stays, batch_id="resend-me-" + person)

    assert not first.replayed and again.replayed
    assert (again.stored, again.rejected, list(again.rejected_stays)) == (
        first.stored, first.rejected, list(first.rejected_stays))
    assert len(await listed(itinerary_env, person)) == 1


async def test_a_batch_id_is_each_carriers_own(identity_env, itinerary_env, clock):
    """Two carriers choosing the same batch id: the second batch is its own, stored and answered for
    itself, not taken for a resend of the first (whose answer it must not see)."""
    mobile_person, unicom_person = await register_persons(identity_env.persons, 2)
    batch_id = "2026-12-03-001-" + mobile_person
    mobile = await ingest(itinerary_env, [stay(mobile_person, clock=clock), stay("not-a-person", clock=clock)],
                          batch_id=batch_id, carrier="china-mobile")
    unicom = await ingest(itinerary_env, [stay(unicom_person, "110105", clock=clock)], batch_id=batch_id,
                          carrier="china-unicom")

    assert (mobile.replayed, mobile.stored, mobile.rejected) == (False, 1, 1)
    assert (unicom.replayed, unicom.stored, unicom.rejected) == (False, 1, 0)
    assert [s.source_carrier for s in await listed(itinerary_env, unicom_person)] == ["china-unicom"]
    # A resend is still one per carrier, concurrent ones too.
    again = await asyncio.gather(*(ingest(itinerary_env, [stay(unicom_person, "110105", clock=clock)],
                                          batch_id=batch_id, carrier="china-unicom") for _ in range(4)))
    assert all(answer.replayed and answer.stored == 1 for answer in again)
    assert len(await listed(itinerary_env, unicom_person)) == 1

    # Two carriers sending one new id at the same moment: each batch is its own.
    shared, people = "2026-12-03-002-" + mobile_person, await register_persons(identity_env.persons, 2)
    both = await asyncio.gather(*(ingest(itinerary_env, [stay(person, clock=clock)], batch_id=shared, carrier=name)
                                  for person, name in zip(people, ("china-mobile", "china-unicom"))))
    assert [(answer.replayed, answer.stored) for answer in both] == [(False, 1), (False, 1)]


async def test_overlapping_batches_store_each_stay_once(identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]
    a = stay(person, arrival=clock.now() - timedelta(days=3), clock=clock)
    b = stay(person, arrival=clock.now() - timedelta(days=2), clock=clock)
    c = stay(person, arrival=clock.now() - timedelta(days=1), clock=clock)

    first = await ingest(itinerary_env, [a, b])
    second = await ingest(itinerary_env, [b, c, c])

    assert (first.stored, first.duplicates) == (2, 0)
    assert (second.stored, second.duplicates) == (1, 2)
    assert len(await listed(itinerary_env, person)) == 3


@pytest.mark.parametrize(("hours", "stored", "below"), [(4.0, 1, 0), (3.99, 0, 1), (12.0, 1, 0)])
async def test_only_stays_of_four_hours_or_more_count(identity_env, itinerary_env, clock, hours, stored, below):
    person = (await register_persons(identity_env.persons, 1))[0]

    response = await ingest(itinerary_env, [stay(person, hours=hours, clock=clock)])

    assert (response.stored, response.below_threshold, response.rejected) == (stored, below, 0)


async def test_window_edges_decide_by_departure(identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]
    window = itinerary_env.settings.policy.window
    now = clock.now()

    response = await ingest(itinerary_env, [
        # Left just inside the window: counts, though it began before it.
        stay(person, departure=now - window + HOUR, arrival=now - window - 5 * HOUR, clock=clock),
        # Left just before the window opened: too old.
        stay(person, departure=now - window - HOUR, arrival=now - window - 6 * HOUR, clock=clock),
        # Still there but reported as leaving within the allowed skew: counts.
        stay(person, departure=now + timedelta(minutes=1), arrival=now - 5 * HOUR, clock=clock),
        # Leaving well in the future: refused.
        stay(person, departure=now + 2 * HOUR, arrival=now - 5 * HOUR, clock=clock),
    ])

    assert response.stored == 2
    assert [(r.row, r.reason) for r in response.rejected_stays] == [(1, "TIME_BEFORE_WINDOW"), (3, "TIME_IN_FUTURE")]


async def test_bad_rows_are_reported_and_the_good_rows_kept(identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]
    unregistered = "00000000-0000-4000-8000-00000000dead"
    arrival = clock.now() - timedelta(days=1)

    response = await ingest(itinerary_env, [
        stay(person, clock=clock),
        stay(person, area="990101", clock=clock),
        stay(person, area="42A106", clock=clock),
        stay(person, arrival=arrival, departure=arrival - HOUR, clock=clock),
        stay("12345", clock=clock),
        stay(unregistered, clock=clock),
        stay(person, area="310104", clock=clock),
    ])

    assert (response.received, response.stored, response.rejected) == (7, 2, 5)
    assert [(r.row, r.field, r.reason) for r in response.rejected_stays] == [
        (1, "area_code", "AREA_UNKNOWN"),
        (2, "area_code", "AREA_UNKNOWN"),
        (3, "departure_time", "DEPARTURE_NOT_AFTER_ARRIVAL"),
        (4, "person_id", "PERSON_ID_INVALID"),
        (5, "person_id", "PERSON_UNKNOWN"),
    ]
    assert {s.area_code for s in await listed(itinerary_env, person)} == {"420106", "310104"}


async def test_an_area_code_is_known_when_it_has_ever_existed(identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]

    response = await ingest(itinerary_env, [
        stay(person, area="420199", clock=clock),  # under Wuhan, but never assigned
        stay(person, area="110103", clock=clock),  # 崇文区, merged away in 2010
        stay(person, area="420114", clock=clock),  # 蔡甸区, in use today
    ])

    assert (response.stored, [(r.row, r.reason) for r in response.rejected_stays]) == (2, [(0, "AREA_UNKNOWN")])
    assert {s.area_code for s in await listed(itinerary_env, person)} == {"110103", "420114"}


async def test_a_nul_byte_in_a_row_is_a_bad_row_not_a_crash(identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]

    response = await ingest(itinerary_env, [stay(person, area="42\x00106", clock=clock), stay(person, clock=clock)])

    assert (response.stored, [r.reason for r in response.rejected_stays]) == (1, ["AREA_UNKNOWN"])


async def test_chunks_of_one_stream_must_share_batch_and_carrier(itinerary_env, clock):
    async def requests():
        yield pb.IngestCarrierStaysRequest(batch_id="x1", source_carrier="china-mobile")
        yield pb.IngestCarrierStaysRequest(batch_id="x2", source_carrier="china-mobile")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await itinerary_env.stub.IngestCarrierStays(requests())

    assert error_details(refused.value) == ("BATCH_HEADER_CHANGED", ["batch_id"])


@pytest.mark.parametrize(("batch_id", "carrier", "reason", "field"), [
    ("", "china-mobile", "BATCH_ID_INVALID", "batch_id"),
    ("ok-batch", "China Mobile", "CARRIER_INVALID", "source_carrier"),
])
async def test_a_bad_batch_header_is_an_invalid_argument(itinerary_env, batch_id, carrier, reason, field):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ingest(itinerary_env, [], batch_id=batch_id or " ", carrier=carrier)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(refused.value) == (reason, [field])


async def test_an_empty_stream_is_refused(itinerary_env):
    async def nothing():
        return
        yield

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await itinerary_env.stub.IngestCarrierStays(nothing())

    assert error_details(refused.value)[0] == "BATCH_EMPTY"


async def test_a_chunk_over_ten_thousand_stays_is_refused(itinerary_env, clock):
    big = [stay("00000000-0000-4000-8000-000000000001", clock=clock)] * 10_001

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ingest(itinerary_env, big, chunk=10_001)

    assert error_details(refused.value)[0] == "CHUNK_TOO_LARGE"


async def test_a_stream_that_fails_midway_keeps_nothing_and_may_be_sent_again(identity_env, itinerary_env, clock):
    person = (await register_persons(identity_env.persons, 1))[0]
    batch_id = "midway-" + person

    async def broken():
        yield pb.IngestCarrierStaysRequest(batch_id=batch_id, source_carrier="china-mobile",
                                           stays=[stay(person, clock=clock)])
        yield pb.IngestCarrierStaysRequest(batch_id="another", source_carrier="china-mobile")

    with pytest.raises(grpc.aio.AioRpcError):
        await itinerary_env.stub.IngestCarrierStays(broken())
    assert await listed(itinerary_env, person) == []

    again = await ingest(itinerary_env, [stay(person, clock=clock)], batch_id=batch_id)

    assert (again.replayed, again.stored) == (False, 1)

"""Rate limits per caller and load shedding: refused at once, never queued; cached codes keep coming."""

from __future__ import annotations

import asyncio
import time

import pytest
from healthcode.status.v1 import status_pb2

from gateway.admission import LoadShedder, Overloaded, Rate, RateLimits
from gateway.forwarding import CodeCache
from gateway.policy import Cost
from gateway.principals import CallerKind
from services.runtime.errors import ResourceExhausted
from tests.support.gateway import start_front
from tests.support import timestamp


def test_a_caller_gets_its_burst_then_is_refused_with_a_retry_time():
    limits = RateLimits({CallerKind.PERSON: Rate(per_second=50, burst=3)}, Rate(1, 1))
    for _ in range(3):
        limits.take("person:420000:a", CallerKind.PERSON)
    with pytest.raises(ResourceExhausted) as refused:
        limits.take("person:420000:a", CallerKind.PERSON)
    assert refused.value.reason == "RATE_LIMITED"
    assert 0 < float(refused.value.metadata["retry_after_seconds"]) <= 0.1


def test_callers_have_buckets_of_their_own_that_refill_with_time():
    limits = RateLimits({CallerKind.PERSON: Rate(per_second=100, burst=1)}, Rate(1, 1))
    limits.take("person:420000:a", CallerKind.PERSON)
    limits.take("person:420000:b", CallerKind.PERSON)
    with pytest.raises(ResourceExhausted):
        limits.take("person:420000:a", CallerKind.PERSON)
    time.sleep(0.02)
    limits.take("person:420000:a", CallerKind.PERSON)


def test_heavy_calls_are_shed_before_light_ones_and_slots_come_back():
    shedder = LoadShedder(max_in_flight=3, max_heavy_in_flight=1)
    heavy = shedder.admit(Cost.HEAVY)
    with pytest.raises(Overloaded):
        shedder.admit(Cost.HEAVY)  # the heavy share is taken, though light slots are free
    light = [shedder.admit(Cost.LIGHT), shedder.admit(Cost.LIGHT)]
    with pytest.raises(Overloaded):
        shedder.admit(Cost.LIGHT)  # every slot is taken
    with pytest.raises(RuntimeError), heavy:
        raise RuntimeError("the forwarded call failed")
    shedder.admit(Cost.HEAVY).__exit__(None, None, None)  # its slot came back despite the failure
    for admission in light:
        admission.__exit__(None, None, None)
    assert (shedder.in_flight, shedder.heavy_in_flight) == (0, 0)


def following_cache() -> CodeCache:
    cache = CodeCache(fresh_seconds=30, last_resort_seconds=10)
    cache.follow()
    return cache


def code_answer(seconds_left: float, version: int = 1) -> bytes:
    return status_pb2.IssueCodeResponse(payload=f"HCN1:X{version}", expire_time=timestamp_in(seconds_left),
                                        status=status_pb2.Status(person_id="p", version=version)).SerializeToString()


def test_a_cached_code_is_given_out_while_fresh_and_longer_only_under_overload():
    cache = following_cache()
    answer = code_answer(20)
    cache.put("p", answer, cache.ticket())
    assert cache.get("p") is None
    assert cache.get("p", overloaded=True) == answer
    cache.put("q", code_answer(5), cache.ticket())
    assert cache.get("q", overloaded=True) is None


def test_a_newer_status_version_voids_the_cached_code_and_an_older_one_does_not():
    cache = following_cache()
    answer = code_answer(50, version=3)
    cache.put("p", answer, cache.ticket())
    cache.changed([("p", 3)])                    # the change this code already carries
    assert cache.get("p") == answer
    cache.changed([("p", 4)])
    assert cache.get("p") is None


def test_a_code_of_an_older_version_answered_after_a_change_is_not_kept():
    cache = following_cache()
    cache.changed([("p", 5)])                    # the stream saw version 5 while IssueCode was in flight...
    cache.put("p", code_answer(50, version=4), cache.ticket())   # ...which signed version 4
    assert cache.get("p") is None
    answer = code_answer(50, version=5)
    cache.put("p", answer, cache.ticket())
    assert cache.get("p") == answer


def test_a_change_of_unknown_version_voids_the_cached_code():
    cache = following_cache()
    cache.put("p", code_answer(50, version=2), cache.ticket())
    cache.changed([("p", 0)])
    assert cache.get("p") is None


def test_without_a_live_change_stream_nothing_is_served_from_cache():
    cache = following_cache()
    cache.put("p", code_answer(50), cache.ticket())
    in_flight = cache.ticket()
    cache.forget()            # the stream broke: changes may have gone by unseen
    assert cache.get("p") is None
    cache.put("p", code_answer(50), cache.ticket())
    assert cache.get("p") is None and not cache.live
    cache.follow()
    assert cache.get("p") is None  # forgotten, not merely hidden
    cache.put("p", code_answer(50), in_flight)  # an answer asked for before the break
    assert cache.get("p") is None


def timestamp_in(seconds: float):
    from datetime import UTC, datetime, timedelta

    return timestamp(datetime.now(UTC) + timedelta(seconds=seconds))


@pytest.fixture(scope="module")
async def small_front(platform, tmp_path_factory):
    """A gateway in front of Hubei that admits at most 4 calls in flight, 1 of them heavy."""
    front = await start_front(platform.hubei.deployment, tmp_path_factory.mktemp("small-pki"),
                              HEALTHCODE_GATEWAY_MAX_IN_FLIGHT="4", HEALTHCODE_GATEWAY_MAX_HEAVY_IN_FLIGHT="1")
    yield front
    await front.stop()


async def test_over_capacity_calls_are_refused_at_once_with_a_retry_after(small_front, http):
    person = await small_front.deployment.resident()
    me = {"Authorization": "Bearer " + small_front.token(CallerKind.PERSON, person, "420000")}
    shedder = small_front.started.forwarder.shedder
    held = [shedder.admit(Cost.LIGHT) for _ in range(4)]  # the platform is busy
    started = time.perf_counter()
    async with http.get(f"{small_front.url}/v1/persons/me/status", headers=me) as response:
        refused = (response.status, response.headers.get("Retry-After"), (await response.json())["error"]["reason"])
    refused_in = time.perf_counter() - started
    for admission in held:
        admission.__exit__(None, None, None)
    async with http.get(f"{small_front.url}/v1/persons/me/status", headers=me) as response:
        recovered = response.status
    assert refused == (429, "1", "OVERLOADED")
    assert refused_in < 0.5  # answered, not queued until a deadline
    assert recovered == 200


async def test_a_persons_code_is_still_shown_from_cache_while_calls_are_shed(small_front, http):
    person = await small_front.deployment.resident()
    me = {"Authorization": "Bearer " + small_front.token(CallerKind.PERSON, person, "420000")}
    async with http.get(f"{small_front.url}/v1/persons/me/code", headers=me) as response:
        first = await response.json()
    shedder = small_front.started.forwarder.shedder
    held = [shedder.admit(Cost.LIGHT) for _ in range(4)]
    try:
        async with http.get(f"{small_front.url}/v1/persons/me/code", headers=me) as response:
            again = (response.status, (await response.json())["payload"])
        async with http.get(f"{small_front.url}/v1/persons/me/status", headers=me) as response:
            status_call = response.status
    finally:
        for admission in held:
            admission.__exit__(None, None, None)
    assert again == (200, first["payload"])
    assert status_call == 429


async def test_a_surge_is_partly_refused_and_nothing_waits_for_a_deadline(small_front, http):
    persons = [await small_front.deployment.resident() for _ in range(3)]
    tokens = [{"Authorization": "Bearer " + small_front.token(CallerKind.PERSON, p, "420000")} for p in persons]

    async def one(index: int) -> int:
        async with http.get(f"{small_front.url}/v1/persons/me/status", headers=tokens[index % 3]) as response:
            await response.read()
            return response.status
    started = time.perf_counter()
    codes = await asyncio.gather(*(one(i) for i in range(60)))
    elapsed = time.perf_counter() - started
    assert set(codes) <= {200, 429} and codes.count(200) >= 4
    assert elapsed < 5  # far below the 5 s deadline a queue would run into
    after = await asyncio.gather(*(one(i) for i in range(3)))
    assert after == [200, 200, 200]


def test_per_replica_state_is_bounded_and_forgets_the_least_recently_used_first():
    from gateway.caching import RecentMap

    recent: RecentMap[str, int] = RecentMap(size=2)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # "a" is now the more recent
    recent.put("c", 3)
    assert (recent.get("a"), recent.get("b"), recent.get("c"), len(recent)) == (1, None, 3, 2)
    lapsing: RecentMap[str, int] = RecentMap(size=2, seconds=0.01)
    lapsing.put("a", 1)
    time.sleep(0.02)
    assert lapsing.get("a") is None

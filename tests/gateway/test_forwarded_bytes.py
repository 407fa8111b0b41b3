"""A unary request goes upstream as the caller's bytes when its check only reads it, and re-serialised
when authorisation fills in the caller's id: the filled-in id always reaches the service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import grpc
import pytest
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2

from gateway.admission import LoadShedder, Rate, RateLimits
from gateway.forwarding import CodeCache, Forwarder
from gateway.policy import ROUTES, Scope
from gateway.principals import FEED_SCOPES, NATIONAL, CallerKind, Principal
from services.runtime.errors import DomainError

GET_STATUS = "/healthcode.status.v1.StatusService/GetStatus"
VERIFY_CODE = "/healthcode.verification.v1.VerificationService/VerifyCode"
PERSON = "0b6a8c59-2f3e-4d8a-9c1b-7e2f3a4b5c6d"
CHECKPOINT = Principal(CallerKind.CHECKPOINT, "wuhan-station-1", "420000")
NATIONAL_SYSTEM = Principal(CallerKind.PROVINCE_SYSTEM, "national-platform", NATIONAL)


class AllowingDirectory:
    """Every person lives in the asking caller's province and every person may act for every other."""

    def __init__(self, province: str) -> None:
        self._province = province

    async def home_provinces(self, person_ids: Iterable[str]) -> Mapping[str, str]:
        return {person_id: self._province for person_id in person_ids}

    async def may_act_for(self, actor_person_id: str, subject_person_id: str) -> bool:
        return True


def _principal(kind: CallerKind, province: str) -> Principal:
    subject = PERSON if kind == CallerKind.PERSON else f"a-{kind}"
    return Principal(kind, subject, province, FEED_SCOPES if kind == CallerKind.FEED else frozenset())


@pytest.mark.parametrize("route", ROUTES.values(), ids=lambda route: route.name)
async def test_a_check_declared_read_only_leaves_the_request_as_it_came(route):
    """The declaration `passes_bytes` relies on: a check that fills in an empty field would leave the
    service without it if the caller's bytes were forwarded. Each check runs on an empty request,
    where every filling check fills."""
    for kind, province in ((kind, province) for kind in route.checks for province in (NATIONAL, "420000")):
        principal = _principal(kind, province)
        scope = Scope(AllowingDirectory(principal.province), frozenset({"420000"}))
        request = route.request()
        try:
            await route.checks[kind](principal, request, scope)
        except DomainError:
            pass  # refused: nothing is forwarded
        changed = request.SerializeToString() != b""
        assert not (route.passes_bytes(kind) and changed), f"{route.name} for a {kind} rewrites the request"


def test_the_checkpoints_verification_is_re_serialised_and_a_national_read_is_not():
    assert not ROUTES[VERIFY_CODE].passes_bytes(CallerKind.CHECKPOINT)
    assert ROUTES[GET_STATUS].passes_bytes(CallerKind.PROVINCE_SYSTEM)


@pytest.fixture
async def recording_upstream():
    """A service that keeps the bytes of every request it receives and answers an empty message."""
    received: list[tuple[str, bytes]] = []

    class Recording(grpc.GenericRpcHandler):
        def service(self, details):
            async def answer(request: bytes, context) -> bytes:
                received.append((details.method, request))
                return b""
            return grpc.unary_unary_rpc_method_handler(answer)

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((Recording(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    unlimited = Rate(1_000_000, 1_000_000)
    forwarder = Forwarder({name: channel for name in ("identity", "itinerary", "status", "verification")},
                          ROUTES, Scope(AllowingDirectory("420000"), frozenset({"420000"})),
                          RateLimits({kind: unlimited for kind in CallerKind}, unlimited),
                          LoadShedder(64, 16), CodeCache())
    yield forwarder, received
    await channel.close()
    await server.stop(0)


async def test_a_read_only_check_forwards_the_callers_own_bytes(recording_upstream):
    forwarder, received = recording_upstream
    route = ROUTES[GET_STATUS]
    # A field this gateway's messages do not know (number 99, a string): kept only if the bytes pass as they came.
    raw = status_pb2.GetStatusRequest(person_id=PERSON).SerializeToString() + b"\x9a\x06\x03new"
    request = route.request.FromString(raw)
    assert request.SerializeToString() == raw  # (the parsed message keeps it too: the check is what differs)
    await forwarder.unary(route, NATIONAL_SYSTEM, request, 5.0, raw)
    assert received == [(GET_STATUS, raw)]


async def test_a_checkpoint_id_filled_in_by_authorisation_reaches_the_service(recording_upstream):
    forwarder, received = recording_upstream
    route = ROUTES[VERIFY_CODE]
    raw = verification_pb2.VerifyCodeRequest(payload="HCN1:" + "A" * 40, area_code="420106").SerializeToString()
    # The same field twice, the last one empty: the gateway's parse and the service's agree (last wins),
    # and what the service gets is the caller's own id, not the first value.
    number = verification_pb2.VerifyCodeRequest.DESCRIPTOR.fields_by_name["checkpoint_id"].number
    assert number < 16  # its tag is one byte
    empty_id = bytes([number << 3 | 2, 0])
    sneaky = (verification_pb2.VerifyCodeRequest(checkpoint_id="420000.another-station").SerializeToString()
              + raw + empty_id)
    for sent in (raw, sneaky):
        request = route.request.FromString(sent)
        assert request.checkpoint_id == ""
        await forwarder.unary(route, CHECKPOINT, request, 5.0, sent)
    assert len(received) == 2
    for method, forwarded in received:
        seen = verification_pb2.VerifyCodeRequest.FromString(forwarded)
        assert (method, seen.checkpoint_id, seen.area_code) == (VERIFY_CODE, "420000.wuhan-station-1", "420106")


async def test_concurrent_forwarded_calls_each_reach_the_service_with_their_own_bytes(recording_upstream):
    forwarder, received = recording_upstream
    route = ROUTES[GET_STATUS]
    persons = [f"0b6a8c59-2f3e-4d8a-9c1b-7e2f3a4b{index:04x}" for index in range(40)]
    raws = [status_pb2.GetStatusRequest(person_id=person).SerializeToString() for person in persons]
    await asyncio.gather(*(forwarder.unary(route, NATIONAL_SYSTEM, route.request.FromString(raw), 5.0, raw)
                           for raw in raws))
    assert sorted(forwarded for _, forwarded in received) == sorted(raws)

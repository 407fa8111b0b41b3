"""Bad input is a clear error, never INTERNAL or UNKNOWN: every RPC of every service, straight and through
the gateway, with requests built from the proto descriptors (tests/support/hostile.py)."""

from __future__ import annotations

from collections import Counter

import grpc
import pytest
from healthcode.identity.v1 import identity_pb2
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2, status_pb2_grpc
from healthcode.verification.v1 import verification_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy import ROUTES
from gateway.principals import CallerKind
from tests.support.hostile import CALL_SECONDS, NEVER, PROFILE, call_code, requests
from tests.support import error_details

pytestmark = pytest.mark.slow

SERVICES = {"identity": identity_pb2, "itinerary": itinerary_pb2, "status": status_pb2,
            "verification": verification_pb2}
# The dev certificate a caller kind calls the gateway with; a person's session token is relayed by a
# province system on its connection.
CERTIFICATES = {CallerKind.PROVINCE_SYSTEM: "national-platform", CallerKind.OPERATOR: "national-operator",
                CallerKind.FEED: "hubei-health-feed", CallerKind.CHECKPOINT: "wuhan-checkpoint",
                CallerKind.PERSON: "hubei-system"}

TRIED: Counter[str] = Counter()


# FederationService is served on verification's federation port (mutual TLS between deployments):
# test_hostile_federation.py fuzzes it there; every other service is on its service's main port.
NOT_ON_MAIN_PORT = {"healthcode.verification.v1.FederationService"}


def _methods():
    for upstream, module in SERVICES.items():
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.full_name in NOT_ON_MAIN_PORT:
                continue
            for method in service.methods:
                yield pytest.param(upstream, method, id=f"{service.name}.{method.name}")


def _described(code: grpc.StatusCode, where: str, request) -> str:
    return f"{code.name} from {where} for {type(request).__name__}: {str(request)[:2000]!r}"


@pytest.fixture(scope="module")
async def channels(hostile_platform):
    by_service = {server.app.name: grpc.aio.insecure_channel(server.address)
                  for server in hostile_platform.hubei.deployment.servers}
    yield by_service
    for channel in by_service.values():
        await channel.close()


@pytest.fixture(scope="module", autouse=True)
def inputs_tried():
    """The number of requests sent, printed at the end (`-s` shows it)."""
    yield
    print(f"\nhostile requests sent: {dict(TRIED)}")


@pytest.mark.parametrize(("upstream", "method"), list(_methods()))
@settings(settings.get_profile(PROFILE))
@given(data=st.data())
async def test_no_request_makes_a_service_fail_internally(hostile_platform, channels, upstream, method, data):
    request = data.draw(requests(method.input_type))
    code = await call_code(channels[upstream], method, request)
    TRIED["services"] += 1
    assert code not in NEVER, _described(code, upstream, request)


def _gateway_routes():
    for path, route in ROUTES.items():
        service, _, name = path[1:].partition("/")
        module = SERVICES[route.upstream]
        method = module.DESCRIPTOR.services_by_name[service.rsplit(".", 1)[1]].methods_by_name[name]
        for kind in route.checks:
            yield pytest.param(method, kind, id=f"{service.rsplit('.', 1)[1]}.{name}-{kind}")
            break


@pytest.fixture(scope="module")
async def callers(hostile_platform):
    """Per caller kind, a channel to the gateway and the metadata it sends (a person: a session token)."""
    front = hostile_platform.hubei
    person = await front.deployment.resident()
    by_kind = {}
    for kind in CallerKind:
        metadata = (("authorization", "Bearer " + front.token(kind, person, "420000")),) \
            if kind == CallerKind.PERSON else ()
        by_kind[kind] = (front.channel(CERTIFICATES[kind]), metadata)
    return by_kind


@pytest.mark.parametrize(("method", "kind"), list(_gateway_routes()))
@settings(settings.get_profile(PROFILE))
@given(data=st.data())
async def test_no_request_makes_the_gateway_fail_internally(callers, method, kind, data):
    channel, metadata = callers[kind]
    request = data.draw(requests(method.input_type))
    code = await call_code(channel, method, request, metadata)
    TRIED["gateway"] += 1
    assert code not in NEVER, _described(code, "gateway", request)


@pytest.mark.parametrize(("upstream", "method"), list(_methods()))
async def test_bytes_that_are_not_the_request_are_invalid_argument(hostile_platform, channels, upstream, method):
    """What a caller sees when its request does not decode (a wrong message, a cut-off frame)."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    call = channels[upstream].unary_unary(path, request_serializer=lambda raw: raw,
                                          response_deserializer=lambda raw: raw)
    if method.client_streaming:
        call = channels[upstream].stream_unary(path, request_serializer=lambda raw: raw,
                                               response_deserializer=lambda raw: raw)
    elif method.server_streaming:
        call = channels[upstream].unary_stream(path, request_serializer=lambda raw: raw,
                                               response_deserializer=lambda raw: raw)
    undecodable = b"\x0a\xff\xff\xff\xff\x0f"  # field 1, length-delimited, a length past the end
    try:
        if method.client_streaming:
            async def chunks():
                yield undecodable
            await call(chunks(), timeout=CALL_SECONDS)
        elif method.server_streaming:
            async for _ in call(undecodable, timeout=CALL_SECONDS):
                pass
        else:
            await call(undecodable, timeout=CALL_SECONDS)
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
        assert error_details(error) == ("REQUEST_UNDECODABLE", [])
    else:
        raise AssertionError("an undecodable request was answered")


async def test_a_fact_kind_nobody_declared_is_invalid_argument_at_the_gateways_policy(callers):
    channel, metadata = callers[CallerKind.FEED]
    stub = status_pb2_grpc.StatusServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.RecordFacts(status_pb2.RecordFactsRequest(facts=[status_pb2.Fact(kind=99)]), timeout=CALL_SECONDS)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error.value) == ("FACT_KIND_INVALID", ["facts[0].kind"])

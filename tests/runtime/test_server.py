"""The runtime server: errors become rich statuses in one place; health and request ids work."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY, generate_latest

from services.runtime.clients import open_channel
from services.runtime.errors import FailedPrecondition, InvalidArgument
from services.runtime.server import App, start_server
from tests.support import error_details


def _identity(value: bytes) -> bytes:
    return value


async def _behaviour(request: bytes, context) -> bytes:
    if request == b"invalid":
        raise InvalidArgument.for_field("thing.name", "is too long", reason="NAME_TOO_LONG")
    if request == b"precondition":
        raise FailedPrecondition(reason="NOT_NOW", message="not now", metadata={"retry_after": "60"})
    if request == b"conflict":
        raise asyncpg.exceptions.SerializationError("could not serialize access")
    if request == b"bug":
        raise ValueError("secret 11010519491231002X inside a bug")
    return b"ok:" + request


def _add(server: grpc.aio.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(_behaviour, request_deserializer=_identity,
                                                  response_serializer=_identity)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.v1.Probe", {"Call": handler}),))


@pytest.fixture
async def probe():
    server = await start_server(App(name="probe", service_names=("test.v1.Probe",), add_to_server=_add),
                                "127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(server.address)
    yield server, channel, channel.unary_unary("/test.v1.Probe/Call", request_serializer=_identity,
                                               response_deserializer=_identity)
    await channel.close()
    await server.stop(grace=1)


async def test_a_field_error_becomes_invalid_argument_with_the_field(probe):
    _, _, call = probe

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(b"invalid")

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error.value) == ("NAME_TOO_LONG", ["thing.name"])


async def test_a_state_error_becomes_failed_precondition_with_its_reason(probe):
    _, _, call = probe

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(b"precondition")

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(error.value)[0] == "NOT_NOW"


async def test_a_bug_becomes_internal_without_its_message(probe):
    _, _, call = probe

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(b"bug")

    assert error.value.code() == grpc.StatusCode.INTERNAL
    assert "11010519491231002X" not in error.value.details()
    assert "request id" in error.value.details()


async def test_the_callers_request_id_is_bound_to_the_calls_log_lines(probe, capsys):
    _, _, call = probe

    with pytest.raises(grpc.aio.AioRpcError):
        await call(b"invalid", metadata=(("x-request-id", "req-12345"),))

    assert "req-12345" in capsys.readouterr().out


async def test_health_reports_serving_then_not_serving_on_shutdown(probe):
    server, channel, _ = probe
    health = health_pb2_grpc.HealthStub(channel)

    serving = await health.Check(health_pb2.HealthCheckRequest(service="test.v1.Probe"))
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
    assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
    await server.stop(grace=1)

    assert serving.status == health_pb2.HealthCheckResponse.SERVING
    assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_a_second_server_on_a_taken_port_fails_instead_of_sharing_it(probe):
    server, _, _ = probe

    with pytest.raises(RuntimeError):
        await start_server(App(name="probe2", service_names=(), add_to_server=_add), "127.0.0.1", server.port)


async def test_a_bug_is_logged_with_its_location_but_not_its_message(probe, capsys):
    _, _, call = probe

    with pytest.raises(grpc.aio.AioRpcError):
        await call(b"bug")

    logs = capsys.readouterr().out
    assert "rpc_internal_error" in logs
    assert "test_server.py" in logs and "_behaviour" in logs
    assert "11010519491231002X" not in logs


async def test_a_serialization_conflict_is_aborted_so_the_client_retries(probe):
    _, _, call = probe

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(b"conflict")

    assert error.value.code() == grpc.StatusCode.ABORTED
    assert error_details(error.value)[0] == "SERIALIZATION_CONFLICT"


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_calls_are_counted_under_the_grpc_prometheus_names_and_labels(probe):
    _, _, call = probe
    method = {"grpc_type": "unary", "grpc_service": "test.v1.Probe", "grpc_method": "Call"}
    before = {name: _sample(name, **method) for name in (
        "grpc_server_started_total", "grpc_server_msg_received_total", "grpc_server_msg_sent_total",
        "grpc_server_handling_seconds_count")}
    ok_before = _sample("grpc_server_handled_total", **method, grpc_code="OK")
    invalid_before = _sample("grpc_server_handled_total", **method, grpc_code="INVALID_ARGUMENT")

    await call(b"one")
    await call(b"two")
    with pytest.raises(grpc.aio.AioRpcError):
        await call(b"invalid")

    assert _sample("grpc_server_started_total", **method) - before["grpc_server_started_total"] == 3
    assert _sample("grpc_server_handled_total", **method, grpc_code="OK") - ok_before == 2
    assert _sample("grpc_server_handled_total", **method, grpc_code="INVALID_ARGUMENT") - invalid_before == 1
    assert _sample("grpc_server_msg_received_total", **method) - before["grpc_server_msg_received_total"] == 3
    assert _sample("grpc_server_msg_sent_total", **method) - before["grpc_server_msg_sent_total"] == 2
    assert _sample("grpc_server_handling_seconds_count", **method) - before["grpc_server_handling_seconds_count"] == 3
    exposition = generate_latest(REGISTRY).decode()
    assert "healthcode_rpc_calls" not in exposition


async def test_calls_to_other_services_are_counted_on_the_client_side(probe):
    server, _, _ = probe
    method = {"grpc_type": "unary", "grpc_service": "test.v1.Probe", "grpc_method": "Call"}
    ok_before = _sample("grpc_client_handled_total", **method, grpc_code="OK")
    refused_before = _sample("grpc_client_handled_total", **method, grpc_code="FAILED_PRECONDITION")
    started_before = _sample("grpc_client_started_total", **method)
    seconds_before = _sample("grpc_client_handling_seconds_count", **method)
    channel = open_channel(server.address)
    try:
        call = channel.unary_unary("/test.v1.Probe/Call", request_serializer=_identity,
                                   response_deserializer=_identity)
        assert await call(b"x") == b"ok:x"
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call(b"precondition")
        assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        await channel.close()

    assert _sample("grpc_client_started_total", **method) - started_before == 2
    assert _sample("grpc_client_handled_total", **method, grpc_code="OK") - ok_before == 1
    assert _sample("grpc_client_handled_total", **method, grpc_code="FAILED_PRECONDITION") - refused_before == 1
    assert _sample("grpc_client_handling_seconds_count", **method) - seconds_before == 2

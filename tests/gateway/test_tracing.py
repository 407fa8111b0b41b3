"""One trace from the caller through the gateway, status and itinerary, its request id on every hop."""

from __future__ import annotations

import secrets

from healthcode.status.v1 import status_pb2
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.principals import CallerKind
from services.runtime import tracing
from tests.support.gateway import bearer

GET_STATUS = "/healthcode.status.v1.StatusService/GetStatus"


async def test_one_trace_id_runs_from_the_gateway_through_status_to_itinerary(platform):
    front = platform.hubei
    person = await front.deployment.resident()  # never asked about yet: status decides, asking itinerary
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    exporter = InMemorySpanExporter()
    assert not tracing.ENABLED
    assert tracing.configure("healthcode-test", exporter=exporter)
    try:
        call = front.channel("hubei-system").unary_unary(
            GET_STATUS, request_serializer=status_pb2.GetStatusRequest.SerializeToString,
            response_deserializer=status_pb2.GetStatusResponse.FromString)
        answer = await call(status_pb2.GetStatusRequest(person_id=person), metadata=(
            *bearer(front.token(CallerKind.PERSON, person, "420000")), ("x-request-id", "trace-me-1"),
            ("traceparent", f"00-{trace_id}-{parent_id}-01")))
    finally:
        tracing.shutdown()
    assert answer.status.person_id == person
    assert not tracing.ENABLED

    spans = [span for span in exporter.get_finished_spans() if format(span.context.trace_id, "032x") == trace_id]
    servers = [span for span in spans if span.kind == SpanKind.SERVER]
    by_id = {span.context.span_id: span for span in spans}
    # The gateway's span is the child of the caller's; status's the child of the gateway's client span.
    gateway_span = next(span for span in servers if span.parent is not None and span.parent.span_id == int(parent_id, 16))
    assert gateway_span.name == GET_STATUS.lstrip("/")
    status_span = next(span for span in servers if span is not gateway_span and span.name == gateway_span.name)
    forwarded = by_id[status_span.parent.span_id]
    assert forwarded.kind == SpanKind.CLIENT and by_id[forwarded.parent.span_id] is gateway_span
    itinerary_spans = [span for span in servers if span.attributes["rpc.service"].startswith("healthcode.itinerary.")]
    assert itinerary_spans, [span.name for span in servers]
    for span in itinerary_spans:
        client = by_id[span.parent.span_id]
        assert client.kind == SpanKind.CLIENT and by_id[client.parent.span_id] is status_span
    # The request id is an attribute of every hop's server span, and each answered OK.
    assert {span.attributes[tracing.REQUEST_ID_ATTRIBUTE] for span in servers} == {"trace-me-1"}
    assert {span.attributes["rpc.grpc.status_code"] for span in servers} == {0}  # OK
    # Database calls are spans of the same trace, with the statement and never its arguments.
    database = [span for span in spans if span.attributes.get("db.system.name") == "postgresql"]
    assert database and all(person not in span.attributes.get("db.query.text", "") for span in database)

"""OpenTelemetry tracing, off unless an OTLP endpoint is configured.

`HEALTHCODE_OTLP_ENDPOINT` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`) turns it on: every gRPC call
a server handles gets a SERVER span, every call to another service or a peer a CLIENT span whose W3C
`traceparent` travels in the call's metadata, every database call a span, and the spans are batched
to the collector over OTLP/gRPC. Unset, `ENABLED` stays False and the hot paths skip all of it (one
attribute read per call).

One provider per process, not the global one: `healthcode up` hosts every service in one process
(its spans name the service in `rpc.service`); tests configure an in-memory exporter and reset it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.runtime.logs import get_logger

log = get_logger(__name__)

ENABLED = False
TRACEPARENT = "traceparent"
REQUEST_ID_ATTRIBUTE = "healthcode.request_id"
# Codes a server answers that mean the server failed (OpenTelemetry's gRPC conventions).
_SERVER_ERRORS = frozenset({"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"})

_CODE_NUMBERS = {code.name: code.value[0] for code in grpc.StatusCode}  # the attribute is the number
_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None
_tracer: trace.Tracer = trace.NoOpTracer()


class _MetadataGetter(Getter):
    def get(self, carrier, key: str):
        values = [value for name, value in carrier if name == key]
        return values or None

    def keys(self, carrier):
        return [name for name, _ in carrier]


class _HeadersGetter(Getter):
    def get(self, carrier: Mapping[str, str], key: str):
        value = carrier.get(key)
        return [value] if value is not None else None

    def keys(self, carrier):
        return list(carrier.keys())


_metadata_getter = _MetadataGetter()
_headers_getter = _HeadersGetter()


def endpoint_from_environment(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("HEALTHCODE_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or ""


def configure(service_name: str, *, endpoint: str | None = None, exporter: SpanExporter | None = None) -> bool:
    """Turns tracing on for this process when an endpoint (or, in tests, an exporter) is given; returns
    whether it is on. Without either it does nothing: no provider, no exporter, no per-call cost."""
    global ENABLED, _provider, _tracer
    endpoint = endpoint_from_environment() if endpoint is None else endpoint
    if exporter is None and not endpoint:
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        insecure = endpoint.startswith("http://")
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=insecure)))
        log.info("tracing_exporting", endpoint=endpoint)
    if _provider is not None:
        _provider.shutdown()
    _provider, _tracer, ENABLED = provider, provider.get_tracer("healthcode"), True
    return True


def shutdown() -> None:
    """Flushes and turns tracing off (at process exit, and between tests)."""
    global ENABLED, _provider, _tracer
    ENABLED = False
    if _provider is not None:
        _provider.shutdown()
    _provider, _tracer = None, trace.NoOpTracer()


class ActiveSpan:
    """A started span made current; `end(code)` ends it with the call's outcome and restores the context."""

    __slots__ = ("span", "_token", "_server")

    def __init__(self, span: trace.Span, server: bool) -> None:
        self.span = span
        self._server = server
        self._token = otel_context.attach(trace.set_span_in_context(span))

    def end(self, grpc_code: str | None = None, *, error: bool = False) -> None:
        self.detach()
        self.finish(grpc_code, error=error)

    def detach(self) -> None:
        """Stops being the current span (it goes on until `finish`)."""
        if self._token is None:
            return
        token, self._token = self._token, None
        try:
            otel_context.detach(token)
        except ValueError:  # ended in another context (a stream closed by its reader); the span still ends
            pass

    def finish(self, grpc_code: str | None = None, *, error: bool = False) -> None:
        if grpc_code is not None:
            self.span.set_attribute("rpc.grpc.status_code", _CODE_NUMBERS.get(grpc_code, 2))
            if grpc_code != "OK" and (not self._server or grpc_code in _SERVER_ERRORS):
                self.span.set_status(Status(StatusCode.ERROR, grpc_code))
        elif error:
            self.span.set_status(Status(StatusCode.ERROR))
        self.span.end()


def _rpc_attributes(full_method: str) -> dict[str, str]:
    service, _, method = full_method.lstrip("/").rpartition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}


def server_span(full_method: str, metadata: Iterable[tuple[str, str]] | None, request_id: str) -> ActiveSpan:
    """The span of a call this server handles, child of the caller's `traceparent` if it sent one."""
    parent = _propagator.extract(tuple(metadata or ()), getter=_metadata_getter)
    attributes = _rpc_attributes(full_method)
    attributes[REQUEST_ID_ATTRIBUTE] = request_id
    span = _tracer.start_span(full_method.lstrip("/"), context=parent, kind=SpanKind.SERVER, attributes=attributes)
    return ActiveSpan(span, server=True)


def http_span(method: str, route: str, headers: Mapping[str, str], request_id: str) -> ActiveSpan:
    """The span of a request at the gateway's HTTP door (its `traceparent` header honoured)."""
    parent = _propagator.extract(headers, getter=_headers_getter)
    span = _tracer.start_span(f"{method} {route}", context=parent, kind=SpanKind.SERVER,
                              attributes={"http.request.method": method, "http.route": route,
                                          REQUEST_ID_ATTRIBUTE: request_id})
    return ActiveSpan(span, server=True)


def finish_http(active: ActiveSpan, status: int) -> None:
    active.span.set_attribute("http.response.status_code", status)
    active.end(error=status >= 500)


def client_span(full_method: str) -> ActiveSpan:
    """The span of a call to another service, child of the current span; `traceparent()` then names it."""
    span = _tracer.start_span(full_method.lstrip("/"), kind=SpanKind.CLIENT, attributes=_rpc_attributes(full_method))
    return ActiveSpan(span, server=False)


def traceparent() -> tuple[tuple[str, str], ...]:
    """The current span's W3C trace context as outgoing gRPC metadata (empty when tracing is off)."""
    if not ENABLED:
        return ()
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return tuple(carrier.items())


def database_span(operation: str, query: str | None) -> trace.Span:
    """A span around one database call, child of the current one (the statement's text, never its arguments)."""
    attributes = {"db.system.name": "postgresql", "db.operation.name": operation}
    if query:
        attributes["db.query.text"] = query
    return _tracer.start_span(f"{operation} postgresql", kind=SpanKind.CLIENT, attributes=attributes)

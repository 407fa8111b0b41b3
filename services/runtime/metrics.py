"""Prometheus metrics every process shares, under the names existing dashboards know.

gRPC calls are counted as grpc-prometheus (go-grpc-prometheus, java-grpc-prometheus) counts them:
`grpc_server_started_total`, `grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}`,
`grpc_server_handling_seconds`, `grpc_server_msg_received_total`, `grpc_server_msg_sent_total`, and the
same `grpc_client_*` family for the calls a process makes to other services and to peers. The
gateway's HTTP door is counted apart, as `http_server_requests_total{method,route,status}` and
`http_server_request_duration_seconds`.

These are on every call's path, so a method's label children are bound once, on its first call, and
kept (`server_method`, `client_method`): a call costs a few increments, never a label lookup.
"""

from __future__ import annotations

import threading

from cryptography import x509
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from services.runtime.logs import get_logger

log = get_logger(__name__)

# Buckets from 1 ms to 10 s: a checkpoint answer is meant to take milliseconds, a bulk
# ingest or a trace may take seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

UNARY, CLIENT_STREAM, SERVER_STREAM, BIDI_STREAM = "unary", "client_stream", "server_stream", "bidi_stream"
_METHOD = ("grpc_type", "grpc_service", "grpc_method")
_HANDLED = (*_METHOD, "grpc_code")

SERVER_STARTED = Counter("grpc_server_started", "RPCs started on the server.", _METHOD)
SERVER_HANDLED = Counter("grpc_server_handled", "RPCs completed on the server, regardless of success or failure.",
                         _HANDLED)
SERVER_HANDLING = Histogram("grpc_server_handling_seconds",
                            "Response latency (seconds) of gRPC calls handled by the server.", _METHOD,
                            buckets=LATENCY_BUCKETS)
SERVER_RECEIVED = Counter("grpc_server_msg_received", "RPC stream messages received on the server.", _METHOD)
SERVER_SENT = Counter("grpc_server_msg_sent", "gRPC stream messages sent by the server.", _METHOD)

CLIENT_STARTED = Counter("grpc_client_started", "RPCs started on the client.", _METHOD)
CLIENT_HANDLED = Counter("grpc_client_handled", "RPCs completed by the client, regardless of success or failure.",
                         _HANDLED)
CLIENT_HANDLING = Histogram("grpc_client_handling_seconds",
                            "Latency (seconds) of gRPC calls until the server's answer, on the client.", _METHOD,
                            buckets=LATENCY_BUCKETS)
CLIENT_RECEIVED = Counter("grpc_client_msg_received", "RPC stream messages received by the client.", _METHOD)
CLIENT_SENT = Counter("grpc_client_msg_sent", "gRPC stream messages sent by the client.", _METHOD)

HTTP_REQUESTS = Counter("http_server_requests", "HTTP requests answered, by method, route template and status.",
                        ("method", "route", "status"))
HTTP_SECONDS = Histogram("http_server_request_duration_seconds", "HTTP request latency, by method and route template.",
                         ("method", "route"), buckets=LATENCY_BUCKETS)


def split_method(full_method: str) -> tuple[str, str]:
    """'/pkg.Service/Method' → ('pkg.Service', 'Method')."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service or "unknown", method


class MethodMetrics:
    """One method's bound children on one side (server or client); `handled` children per code, made on first use."""

    __slots__ = ("full_method", "started", "seconds", "received", "sent", "_handled", "_labels", "_family")

    def __init__(self, side: str, grpc_type: str, full_method: str) -> None:
        self.full_method = full_method
        service, method = split_method(full_method)
        self._labels = (grpc_type, service, method)
        server = side == "server"
        self.started = (SERVER_STARTED if server else CLIENT_STARTED).labels(*self._labels)
        self.seconds = (SERVER_HANDLING if server else CLIENT_HANDLING).labels(*self._labels)
        self.received = (SERVER_RECEIVED if server else CLIENT_RECEIVED).labels(*self._labels)
        self.sent = (SERVER_SENT if server else CLIENT_SENT).labels(*self._labels)
        self._family = SERVER_HANDLED if server else CLIENT_HANDLED
        self._handled: dict[str, Counter] = {}

    def handled(self, code: str, seconds: float) -> None:
        child = self._handled.get(code)
        if child is None:
            child = self._handled.setdefault(code, self._family.labels(*self._labels, code))
        child.inc()
        self.seconds.observe(seconds)


_bound: dict[tuple[str, str, str], MethodMetrics] = {}
_bound_lock = threading.Lock()


def _method(side: str, grpc_type: str, full_method: str) -> MethodMetrics:
    key = (side, grpc_type, full_method)
    found = _bound.get(key)
    if found is None:
        with _bound_lock:
            found = _bound.setdefault(key, MethodMetrics(side, grpc_type, full_method))
    return found


def server_method(grpc_type: str, full_method: str) -> MethodMetrics:
    return _method("server", grpc_type, full_method)


def client_method(grpc_type: str, full_method: str) -> MethodMetrics:
    return _method("client", grpc_type, full_method)


_http: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP answer; `route` is the route's template (`/v1/persons/{person_id}/status`), never the path."""
    key = (method, route, status)
    children = _http.get(key)
    if children is None:
        children = _http.setdefault(key, (HTTP_REQUESTS.labels(method, route, str(status)),
                                          HTTP_SECONDS.labels(method, route)))
    children[0].inc()
    children[1].observe(seconds)


CERTIFICATE_EXPIRY = Gauge("healthcode_certificate_expiry_timestamp_seconds",
                           "not_after (epoch seconds) of the certificate this process serves with, or of the first "
                           "to expire in a CA bundle it trusts, as loaded at start.", ("certificate",))


def certificate_expires(name: str, pem: bytes) -> None:
    """Records when the PEM certificate (or the earliest of a bundle) `name` stops being valid."""
    certificates = x509.load_pem_x509_certificates(pem)
    CERTIFICATE_EXPIRY.labels(name).set(min(c.not_valid_after_utc for c in certificates).timestamp())


def serve_metrics(host: str, port: int) -> int:
    """Serves /metrics for this process on its own port (never the public one); returns the bound port.

    One endpoint per process: `healthcode up` runs every service and the gateway in one process, so
    there the gateway's forwarded calls and the service's own share `grpc_server_*` series (the
    gateway's side of them is also its `grpc_client_*`); in a cluster each pod is its own target.
    """
    server, _ = start_http_server(port, addr=host)
    bound = server.server_address[1]
    log.info("metrics_serving", address=f"{host}:{bound}")
    return bound

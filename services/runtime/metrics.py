"""Prometheus metrics every server shares: calls by method and code, and their latency."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

from services.runtime.logs import get_logger

log = get_logger(__name__)

# Buckets from 1 ms to 10 s: a checkpoint answer is meant to take milliseconds, a bulk
# ingest or a trace may take seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RPC_CALLS = Counter("healthcode_rpc_calls", "Finished RPCs by service, method and gRPC status code.",
                    ("service", "method", "code"))
RPC_SECONDS = Histogram("healthcode_rpc_duration_seconds", "Server-side RPC latency, by service and method.",
                        ("service", "method"), buckets=_LATENCY_BUCKETS)


def observe_call(service: str, method: str, code: str, seconds: float) -> None:
    RPC_CALLS.labels(service, method, code).inc()
    RPC_SECONDS.labels(service, method).observe(seconds)


def serve_metrics(host: str, port: int) -> int:
    """Serves /metrics for this process on its own port (never the public one); returns the bound port.

    One endpoint per process: `healthcode up` runs every service in one process, so its
    series are told apart by the `service` label.
    """
    server, _ = start_http_server(port, addr=host)
    bound = server.server_address[1]
    log.info("metrics_serving", address=f"{host}:{bound}")
    return bound

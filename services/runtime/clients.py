"""Channels to other services: the caller's request id travels along, and every call has a deadline."""

from __future__ import annotations

import grpc
import structlog

from services.runtime.server import REQUEST_ID_HEADER


def request_metadata() -> tuple[tuple[str, str], ...]:
    """The current call's request id as outgoing metadata, for channels opened without propagation."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return ((REQUEST_ID_HEADER, request_id),) if request_id else ()


def _with_request_id(details: grpc.aio.ClientCallDetails, default_timeout: float) -> grpc.aio.ClientCallDetails:
    metadata = list(details.metadata or ())
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and not any(key == REQUEST_ID_HEADER for key, _ in metadata):
        metadata.append((REQUEST_ID_HEADER, request_id))
    return grpc.aio.ClientCallDetails(
        method=details.method, timeout=details.timeout if details.timeout is not None else default_timeout,
        metadata=metadata, credentials=details.credentials, wait_for_ready=details.wait_for_ready)


class _PropagatingInterceptor(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, default_timeout: float) -> None:
        self._timeout = default_timeout

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        return await continuation(_with_request_id(client_call_details, self._timeout), request)

    async def intercept_unary_stream(self, continuation, client_call_details, request):
        return await continuation(_with_request_id(client_call_details, self._timeout), request)


def open_channel(address: str, *, default_timeout: float = 5.0, propagate: bool = True,
                 credentials: grpc.ChannelCredentials | None = None) -> grpc.aio.Channel:
    """An insecure channel for in-cluster calls (mTLS between pods is the mesh's, see k8s/), or with
    `credentials` a TLS one (calls leaving the cluster: other provinces' federation ports).

    With `propagate=False` the channel has no interceptor: an aio client interceptor costs about
    as much CPU as the call itself, so a hot path (the gateway's forwarding) passes
    `request_metadata()` and its timeout on each call instead.

    Its connections are its own: grpc otherwise shares them process-wide, so one failed
    early attempt (a peer not up yet) would make every other channel to that address fail
    fast until the shared connection's backoff ends.
    """
    options = [("grpc.use_local_subchannel_pool", 1)]
    interceptors = [_PropagatingInterceptor(default_timeout)] if propagate else None
    if credentials is not None:
        return grpc.aio.secure_channel(address, credentials, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)

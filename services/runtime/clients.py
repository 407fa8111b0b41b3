"""Channels to other services: the caller's request id travels along, every call has a deadline, and
every call is counted on the client side (`grpc_client_*`, grpc-prometheus names)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import grpc
import structlog

from services.runtime import tracing
from services.runtime.errors import Unavailable
from services.runtime.metrics import SERVER_STREAM, UNARY, MethodMetrics, client_method
from services.runtime.server import REQUEST_ID_HEADER


def request_metadata() -> tuple[tuple[str, str], ...]:
    """The current call's request id (and, when tracing, its W3C `traceparent`) as outgoing metadata,
    for channels opened without propagation."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    found = ((REQUEST_ID_HEADER, request_id),) if request_id else ()
    return found + tracing.traceparent() if tracing.ENABLED else found


def _with_request_id(details: grpc.aio.ClientCallDetails, default_timeout: float) -> grpc.aio.ClientCallDetails:
    metadata = list(details.metadata or ())
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and not any(key == REQUEST_ID_HEADER for key, _ in metadata):
        metadata.append((REQUEST_ID_HEADER, request_id))
    if tracing.ENABLED and not any(key == tracing.TRACEPARENT for key, _ in metadata):
        metadata.extend(tracing.traceparent())
    return grpc.aio.ClientCallDetails(
        method=details.method, timeout=details.timeout if details.timeout is not None else default_timeout,
        metadata=metadata, credentials=details.credentials, wait_for_ready=details.wait_for_ready)


class ClientCall:
    """Counts one call made without an interceptor (the gateway's forwarding): `with ClientCall(metrics):`
    around the awaited call; a grpc error leaving the block is its code. A unary call's one message each
    way is counted here; a stream's messages are counted by its relay (`metrics.sent`/`received`)."""

    __slots__ = ("_metrics", "_started", "_unary", "_span")

    def __init__(self, metrics: MethodMetrics, unary: bool = True) -> None:
        self._metrics = metrics
        self._started = 0.0
        self._unary = unary
        self._span = None

    def __enter__(self) -> ClientCall:
        # The client span is current inside the block, so `request_metadata()` there carries its traceparent.
        if tracing.ENABLED:
            self._span = tracing.client_span(self._metrics.full_method)
        self._metrics.started.inc()
        if self._unary:
            self._metrics.sent.inc()
        self._started = time.perf_counter()
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is None:
            if self._unary:
                self._metrics.received.inc()
            code = "OK"
        elif isinstance(error, asyncio.CancelledError):
            code = "CANCELLED"
        else:
            # A grpc error, or one that carries its code (the gateway's UpstreamError: `code` an attribute).
            found = getattr(error, "code", None)
            found = found() if callable(found) else found
            code = found.name if isinstance(found, grpc.StatusCode) else "UNKNOWN"
        self._metrics.handled(code, time.perf_counter() - self._started)
        if self._span is not None:
            self._span.end(code)


def forwarding_metrics(grpc_type: str, method: str) -> MethodMetrics:
    """A forwarded method's client-side children, bound once (`ClientCall(...)` per call)."""
    return client_method(grpc_type, method)


class _PropagatingInterceptor(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, default_timeout: float) -> None:
        self._timeout = default_timeout
        self._metrics: dict[tuple[str, str | bytes], MethodMetrics] = {}

    def _method(self, grpc_type: str, method: str | bytes) -> MethodMetrics:
        found = self._metrics.get((grpc_type, method))
        if found is None:
            name = method.decode() if isinstance(method, bytes) else method
            found = self._metrics.setdefault((grpc_type, method), client_method(grpc_type, name))
        return found

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        metrics = self._method(UNARY, client_call_details.method)
        span = tracing.client_span(metrics.full_method) if tracing.ENABLED else None
        metrics.started.inc()
        metrics.sent.inc()
        started = time.perf_counter()
        try:
            call = await continuation(_with_request_id(client_call_details, self._timeout), request)
            # Waits for the answer without raising; the caller awaits the finished call for it (or its error).
            code = await call.code()
        except BaseException:
            if span is not None:
                span.end(error=True)
            raise
        if code == grpc.StatusCode.OK:
            metrics.received.inc()
        metrics.handled(code.name, time.perf_counter() - started)
        if span is not None:
            span.end(code.name)
        return call

    async def intercept_unary_stream(self, continuation, client_call_details, request):
        metrics = self._method(SERVER_STREAM, client_call_details.method)
        span = tracing.client_span(metrics.full_method) if tracing.ENABLED else None
        metrics.started.inc()
        metrics.sent.inc()
        started = time.perf_counter()
        try:
            call = await continuation(_with_request_id(client_call_details, self._timeout), request)
        finally:
            if span is not None:
                # Current only while the call is made (its traceparent sent); it ends with the stream.
                span.detach()
        loop = asyncio.get_running_loop()

        async def finished(done) -> None:
            code = (await done.code()).name
            metrics.handled(code, time.perf_counter() - started)
            if span is not None:
                span.finish(code)

        # The stream's end is known only when its reader has drained or left it.
        call.add_done_callback(lambda done: loop.create_task(finished(done)))
        return call


def open_channel(address: str, *, default_timeout: float = 5.0, propagate: bool = True,
                 credentials: grpc.ChannelCredentials | None = None) -> grpc.aio.Channel:
    """An insecure channel for in-cluster calls (mTLS between pods is the mesh's, see k8s/), or with
    `credentials` a TLS one (calls leaving the cluster: other provinces' federation ports).

    With `propagate=False` the channel has no interceptor: an aio client interceptor costs about
    as much CPU as the call itself, so a hot path (the gateway's forwarding) passes
    `request_metadata()` and its timeout on each call instead, and counts it with `ClientCall`.

    Its connections are its own: grpc otherwise shares them process-wide, so one failed
    early attempt (a peer not up yet) would make every other channel to that address fail
    fast until the shared connection's backoff ends.
    """
    options = [("grpc.use_local_subchannel_pool", 1)]
    interceptors = [_PropagatingInterceptor(default_timeout)] if propagate else None
    if credentials is not None:
        return grpc.aio.secure_channel(address, credentials, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)


T = TypeVar("T")


class Upstream:
    """A sibling service as its caller sees it: a call it does not answer is the one `Unavailable`
    naming it (retry as is), long id lists go in batches a few at a time, and a paged list is read
    to its end. Errors the caller must tell apart (NOT_FOUND, INVALID_ARGUMENT) it catches first.
    """

    def __init__(self, service: str, *, batch: int = 1000, parallel: int = 4) -> None:
        self.service = service
        self.batch = batch
        self._parallel = parallel

    def unavailable(self, error: grpc.aio.AioRpcError) -> Unavailable:
        return Unavailable(reason=f"{self.service.upper()}_UNAVAILABLE",
                           message=f"{self.service} did not answer ({error.code().name}); retry")

    async def call(self, call: Awaitable[T]) -> T:
        """One call's answer, or Unavailable."""
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            raise self.unavailable(error) from None

    async def in_batches(self, items: Sequence[Any], call: Callable[[Sequence[Any]], Awaitable[T]]) -> list[T]:
        """`call` on each batch of `items` (at most `batch` each, `parallel` at once), answers in order."""
        limit = asyncio.Semaphore(self._parallel)

        async def one(chunk: Sequence[Any]) -> T:
            async with limit:
                return await call(chunk)

        try:
            return list(await asyncio.gather(*(one(items[i:i + self.batch])
                                               for i in range(0, len(items), self.batch))))
        except grpc.aio.AioRpcError as error:
            raise self.unavailable(error) from None

    async def every_page(self, call: Callable[[str], Awaitable[Any]], items: Callable[[Any], Iterable[T]]
                         ) -> list[T]:
        """Every item of a paged list: `call(page_token)` answers a page with `next_page_token`."""
        found: list[T] = []
        token = ""
        try:
            while True:
                page = await call(token)
                found += items(page)
                token = page.next_page_token
                if not token:
                    return found
        except grpc.aio.AioRpcError as error:
            raise self.unavailable(error) from None

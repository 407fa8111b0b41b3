"""The grpc.aio server bootstrap every service uses: interceptor, health, reflection, shutdown."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import re
import signal
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import structlog
from structlog.contextvars import bind_contextvars, reset_contextvars
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.runtime import tracing
from services.runtime.errors import DomainError, ResourceExhausted
from services.runtime.logs import get_logger
from services.runtime.metrics import (BIDI_STREAM, CLIENT_STREAM, SERVER_STREAM, UNARY, MethodMetrics,
                                      server_method)
from services.runtime.reading import Undecodable, check_text, refuse_undecodable, tolerant
from services.runtime.grpc_errors import refused_value_status, retryable_database_status, to_rpc_status

log = get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")


@dataclass(frozen=True)
class Listener:
    """A port of its own serving only some of an App's services, with its own credentials (the
    federation port: mutual TLS, FederationService alone). Health is served there too; reflection not."""

    name: str
    port: int
    credentials: grpc.ServerCredentials
    add_to_server: Callable[[grpc.aio.Server], None]


@dataclass
class App:
    """What the runtime needs to host one service."""

    name: str
    # Full gRPC service names (for health and reflection), e.g. healthcode.identity.v1.IdentityService.
    service_names: Sequence[str]
    add_to_server: Callable[[grpc.aio.Server], None]
    # Long-running jobs (purges, schedulers), cancelled at shutdown.
    background: Sequence[Callable[[], Awaitable[None]]] = ()
    close: Callable[[], Awaitable[None]] | None = None
    error_domain: str = field(default="")
    listeners: Sequence[Listener] = ()
    # String fields (full proto name) allowed longer than services.runtime.reading.MAX_TEXT.
    text_limits: Mapping[str, int] = field(default_factory=dict)
    # False: the App registers handlers already wrapped once per method (`CallInterceptor.wrap`, as the
    # gateway does), so the server runs no interceptor per call; health and reflection go unwrapped.
    intercepted: bool = True

    def __post_init__(self) -> None:
        self.error_domain = self.error_domain or f"{self.name}.healthcode"


@dataclass(frozen=True)
class ServiceSpec:
    """One service as the composition root (the `healthcode` command, the tests' deployments) starts it:
    each service's bootstrap declares its SPEC, and the service list is a tuple of them."""

    name: str
    schema: str               # its Postgres schema: no other service reads it
    migrations: Path          # versioned SQL applied to that schema
    port: int                 # the default; HEALTHCODE_<NAME>_PORT overrides it
    settings: type            # a settings class with read(env) and a `server: ServerSettings`
    # settings (and, in tests, a clock) → the App to host and the service's parts (what tests drive)
    assemble: Callable[..., Awaitable[tuple[App, object]]]


class CallInterceptor(grpc.aio.ServerInterceptor):
    """Per call: binds a request id for logs, maps domain errors to statuses, logs failures,
    and counts the call (grpc-prometheus names) and its latency.

    A method's wrapped handler and its metric children are made on its first call and kept: the
    services' handlers never change while the server runs."""

    def __init__(self, error_domain: str, service: str, text_limits: Mapping[str, int] | None = None) -> None:
        self._domain = error_domain
        self._service = service
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        self._text_limits = text_limits or {}

    async def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        wrapped = self._handlers.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        wrapped = self.wrap(handler, method)
        self._handlers[method] = wrapped
        return wrapped

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The handler with this interceptor's per-call work folded in: made once per method, either on
        the method's first call (as an interceptor) or at registration (an App with `intercepted=False`)."""
        # Undecodable bytes reach the handler as an Undecodable (refused as INVALID_ARGUMENT there),
        # instead of grpc's own INTERNAL.
        serializers = {"request_deserializer": tolerant(handler.request_deserializer),
                       "response_serializer": handler.response_serializer}
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(self._read_one(handler.unary_unary), server_method(UNARY, method), False),
                **serializers)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap_unary(_read_each(handler.stream_unary), server_method(CLIENT_STREAM, method), True),
                **serializers)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(self._read_one(handler.unary_stream), server_method(SERVER_STREAM, method), False),
                **serializers)
        return grpc.stream_stream_rpc_method_handler(
            self._wrap_stream(_read_each(handler.stream_stream), server_method(BIDI_STREAM, method), True),
            **serializers)

    def _read_one(self, behaviour):
        """The handler, called only with a request that decoded and whose text fields are clean."""
        limits = self._text_limits

        def check(request) -> None:
            if isinstance(request, Undecodable):
                raise refuse_undecodable(request)
            if hasattr(request, "ListFields"):
                check_text(request, limits)

        if inspect.isasyncgenfunction(behaviour):
            async def stream(request, context):
                check(request)
                async for response in behaviour(request, context):
                    yield response
            return stream

        async def unary(request, context):
            check(request)
            return await behaviour(request, context)
        return unary

    def _wrap_unary(self, behaviour, metrics: MethodMetrics, streamed_in: bool, answers_once: bool = True):
        full_method = metrics.full_method

        async def unary(request, context):
            metadata = context.invocation_metadata()
            request_id = _request_id(metadata)
            # Bound and reset by token (the call's task owns its context): what bound_contextvars does,
            # without its copy of the whole context on every call.
            bound = bind_contextvars(request_id=request_id, rpc=full_method)
            try:
                span = tracing.server_span(full_method, metadata, request_id) if tracing.ENABLED else None
                started = time.perf_counter()
                metrics.started.inc()
                if streamed_in:
                    request = _counted(request, metrics.received)
                else:
                    metrics.received.inc()
                try:
                    response = await behaviour(request, context)
                    if answers_once:
                        metrics.sent.inc()
                    return response
                except asyncio.CancelledError:
                    _log_cancelled(started)
                    raise
                except Exception as error:  # noqa: BLE001 - mapped, never swallowed
                    await self._fail(error, context, started)
                finally:
                    code = _observe(metrics, context, started)
                    if span is not None:
                        span.end(code)
            finally:
                reset_contextvars(**bound)
        return unary

    def _wrap_stream(self, behaviour, metrics: MethodMetrics, streamed_in: bool):
        # A streaming handler is either an async generator or a coroutine that calls context.write().
        if not inspect.isasyncgenfunction(behaviour):
            # (its context.write() messages are not counted as sent)
            return self._wrap_unary(behaviour, metrics, streamed_in, answers_once=False)

        async def stream(request, context):
            metadata = context.invocation_metadata()
            request_id = _request_id(metadata)
            with structlog.contextvars.bound_contextvars(request_id=request_id, rpc=metrics.full_method):
                span = tracing.server_span(metrics.full_method, metadata, request_id) if tracing.ENABLED else None
                started = time.perf_counter()
                metrics.started.inc()
                if streamed_in:
                    request = _counted(request, metrics.received)
                else:
                    metrics.received.inc()
                try:
                    async for response in behaviour(request, context):
                        metrics.sent.inc()
                        yield response
                except asyncio.CancelledError:
                    _log_cancelled(started)
                    raise
                except Exception as error:  # noqa: BLE001 - mapped, never swallowed
                    await self._fail(error, context, started)
                finally:
                    code = _observe(metrics, context, started)
                    if span is not None:
                        span.end(code)
        return stream

    async def _fail(self, error: Exception, context: grpc.aio.ServicerContext, started: float) -> None:
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        if isinstance(error, grpc.aio.AbortError):
            raise error
        if isinstance(error, ResourceExhausted):
            # Refused for load: counted by the metrics; a line each would flood the logs in a surge.
            log.debug("rpc_refused", reason=error.reason, duration_ms=elapsed_ms)
            status = to_rpc_status(error, self._domain)
        elif isinstance(error, DomainError):
            log.info("rpc_refused", reason=error.reason, duration_ms=elapsed_ms)
            status = to_rpc_status(error, self._domain)
        else:
            status = retryable_database_status(error, self._domain)
            refused = None if status is not None else refused_value_status(error, self._domain)
            if status is not None:
                log.warning("rpc_database_unavailable", error_type=type(error).__name__, duration_ms=elapsed_ms)
            elif refused is not None:
                # A value no reader refused reached Postgres: a clear error for the caller, a bug for us.
                log.warning("rpc_value_refused_by_database", error_type=type(error).__name__,
                            duration_ms=elapsed_ms, frames=_frames(error))
                status = refused
            else:
                # Where it failed, never the message: a driver's message may quote a query's arguments
                # (a name, a document number).
                log.error("rpc_internal_error", error_type=type(error).__name__, duration_ms=elapsed_ms,
                          frames=_frames(error))
                await context.abort(grpc.StatusCode.INTERNAL, "internal error; quote the request id to support")
        await context.abort(status.code, status.details, status.trailing_metadata)


def _observe(metrics: MethodMetrics, context: grpc.aio.ServicerContext, started: float) -> str:
    # The code the call ends with: set by an abort, CANCELLED when the client left, else OK.
    code = context.code()
    if code is None:
        code = grpc.StatusCode.CANCELLED if context.cancelled() else grpc.StatusCode.OK
    name = code.name if isinstance(code, grpc.StatusCode) else str(code)
    metrics.handled(name, time.perf_counter() - started)
    return name


async def _counted(requests, received):
    async for request in requests:
        received.inc()
        yield request


def _read_each(behaviour):
    """A client-streaming handler whose request stream refuses an undecodable message."""
    async def decoded(requests) -> AsyncIterator:
        async for request in requests:
            if isinstance(request, Undecodable):
                raise refuse_undecodable(request)
            yield request

    if inspect.isasyncgenfunction(behaviour):
        async def stream(requests, context):
            async for response in behaviour(decoded(requests), context):
                yield response
        return stream

    async def unary(requests, context):
        return await behaviour(decoded(requests), context)
    return unary


def _frames(error: BaseException) -> list[str]:
    """The failing call chain as file:line function, without locals or messages."""
    return [f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_tb(error.__traceback__)]


def _log_cancelled(started: float) -> None:
    # The client went away or its deadline passed; grpc cancels the handler's task.
    log.info("rpc_cancelled", duration_ms=round((time.perf_counter() - started) * 1000, 2))


# A call that brings no request id gets this process's random prefix and the next number: unique
# (64 random bits per process, drawn again in a forked worker), the shape of a uuid4 hex, without a
# getrandom call per call.
def _new_request_ids() -> None:
    global _REQUEST_ID_PREFIX, _REQUEST_NUMBERS
    _REQUEST_ID_PREFIX = os.urandom(8).hex()
    _REQUEST_NUMBERS = itertools.count(int.from_bytes(os.urandom(4), "big"))


_new_request_ids()
os.register_at_fork(after_in_child=_new_request_ids)


def new_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_REQUEST_NUMBERS):016x}"


def _request_id(metadata) -> str:
    for key, value in metadata or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str) and SAFE_REQUEST_ID.match(value):
            return value
    return new_request_id()


class HostedServer:
    """A started grpc.aio server hosting one App."""

    def __init__(self, app: App, server: grpc.aio.Server, health_servicer: health.aio.HealthServicer,
                 port: int, host: str, health_server: grpc.aio.Server | None = None,
                 health_port: int | None = None) -> None:
        self.app = app
        self.port = port
        self.address = f"{host}:{port}"
        self.health_port = health_port
        self._server = server
        self._health_server = health_server
        self._health = health_servicer
        self._tasks: list[asyncio.Task] = []
        self._stopped = False
        # Each Listener's started server and bound port, by name.
        self.listeners: dict[str, tuple[grpc.aio.Server, int]] = {}

    def listener_address(self, name: str) -> str:
        return f"{self.address.rsplit(':', 1)[0]}:{self.listeners[name][1]}"

    def _start_background(self) -> None:
        for job in self.app.background:
            self._tasks.append(asyncio.create_task(job(), name=f"{self.app.name}-background"))

    async def stop(self, grace: float) -> None:
        """NOT_SERVING first (load balancers stop routing), then drain in-flight calls, then close."""
        if self._stopped:
            return
        self._stopped = True
        log.info("shutdown_started", service=self.app.name, grace_seconds=grace)
        await self._health.enter_graceful_shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(self._server.stop(grace),
                             *(server.stop(grace) for server, _ in self.listeners.values()))
        if self._health_server is not None:
            await self._health_server.stop(0)
        if self.app.close is not None:
            await self.app.close()
        log.info("shutdown_finished", service=self.app.name)

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()


async def start_server(app: App, host: str, port: int, *, max_message_bytes: int = 8 * 1024 * 1024,
                       credentials: grpc.ServerCredentials | None = None, health_port: int | None = None,
                       reuse_port: bool = False) -> HostedServer:
    """Binds, registers health and reflection, starts background jobs, marks SERVING.

    With `credentials` (the gateway's mutual TLS) the port is secure. A `health_port` serves
    grpc.health.v1 alone, in plaintext, for probes that hold no client certificate (the kubelet);
    it reports the same states as the main port, NOT_SERVING during a drain included.
    With `reuse_port`, several worker processes bind the same ports (SO_REUSEPORT; the kernel
    spreads connections, not calls, over them).
    """
    def new_server() -> grpc.aio.Server:
        return grpc.aio.server(
            interceptors=[CallInterceptor(app.error_domain, app.name, app.text_limits)] if app.intercepted else None,
            options=[
                # grpcio 1.85 defaults SO_REUSEPORT on: a second server on a taken port would bind
                # silently and steal connections (LIMITS.md). Multi-worker setups opt in explicitly.
                ("grpc.so_reuseport", 1 if reuse_port else 0),
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes),
            ],
        )

    server = new_server()
    app.add_to_server(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*app.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server)
    # Both raise RuntimeError when the port is taken.
    bound = (server.add_secure_port(f"{host}:{port}", credentials) if credentials is not None
             else server.add_insecure_port(f"{host}:{port}"))
    await server.start()
    health_server, health_bound = None, None
    if health_port is not None:
        health_server = grpc.aio.server(options=[("grpc.so_reuseport", 1 if reuse_port else 0)])
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_server)
        health_bound = health_server.add_insecure_port(f"{host}:{health_port}")
        await health_server.start()
    hosted = HostedServer(app, server, health_servicer, bound, host, health_server, health_bound)
    for listener in app.listeners:
        extra = new_server()
        listener.add_to_server(extra)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, extra)
        extra_bound = extra.add_secure_port(f"{host}:{listener.port}", listener.credentials)
        await extra.start()
        hosted.listeners[listener.name] = (extra, extra_bound)
        log.info("listener_started", service=app.name, listener=listener.name, address=f"{host}:{extra_bound}")
    hosted._start_background()
    for name in ("", *app.service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("server_started", service=app.name, address=hosted.address)
    return hosted


async def run_until_signalled(servers: Sequence[HostedServer], grace: float) -> None:
    """Serves until SIGTERM or SIGINT, then shuts every server down gracefully.

    The handlers stay installed while draining, so a repeated Ctrl-C or a second
    SIGTERM from an orchestrator cannot cut the drain short with a traceback.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.info("shutdown_already_in_progress", signal=signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await stop.wait()
        await asyncio.gather(*(server.stop(grace) for server in servers))
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)

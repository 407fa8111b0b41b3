"""The gRPC front door: every public RPC of the four services at one address, same names, same messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import grpc

from gateway.credentials import SessionKeys, principal_of_certificate
from gateway.forwarding import STATUS_DETAILS_KEY, Forwarder, UpstreamError
from gateway.policy import Route
from gateway.principals import Principal
from services.runtime.errors import Unauthenticated
from services.runtime.reading import Undecodable, check_text, refuse_undecodable, tolerant

# Wraps a method's handler with the runtime's per-call work (request id, logs, metrics, errors), once
# per method at startup: `CallInterceptor.wrap`.
Wrap = Callable[[grpc.RpcMethodHandler, str], grpc.RpcMethodHandler]

BEARER = "bearer "
_NO_TEXT_LIMITS: Mapping[str, int] = {}  # the gateway's App sets none: every string field is held to MAX_TEXT


def principal_of_call(context: grpc.aio.ServicerContext, keys: SessionKeys) -> Principal:
    """A session token when one is sent (a system relaying an app's session), else the client
    certificate of the mutual-TLS connection."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            if not value.lower().startswith(BEARER):
                raise Unauthenticated("CREDENTIALS_INVALID", "authorization must be 'Bearer <session token>'")
            return keys.verify(value[len(BEARER):].strip())
    certificates = (context.auth_context() or {}).get("x509_pem_cert")
    if certificates:
        return principal_of_certificate(certificates[0])
    raise Unauthenticated("CREDENTIALS_MISSING", "present a client certificate (mutual TLS) or a session token")


async def _abort_with(context: grpc.aio.ServicerContext, error: UpstreamError) -> None:
    trailers = ((STATUS_DETAILS_KEY, error.status_details),) if error.status_details else ()
    await context.abort(error.code, error.details, trailers)


async def _relayed(context: grpc.aio.ServicerContext, answer: Awaitable[bytes]) -> bytes:
    """The service's answer, or its error passed on unchanged."""
    try:
        return await answer
    except UpstreamError as error:
        await _abort_with(context, error)


def generic_handlers(routes: Mapping[str, Route], forwarder: Forwarder, keys: SessionKeys,
                     wrap: Wrap | None = None) -> list[grpc.GenericRpcHandler]:
    """One generic handler per public service, each method's handler made (and wrapped) once; unary
    requests arrive as bytes and are parsed here to authorise, answers are passed on as bytes."""
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for route in routes.values():
        handler = _handler(route, forwarder, keys)
        by_service.setdefault(route.service, {})[route.name] = wrap(handler, route.method) if wrap else handler
    return [grpc.method_handlers_generic_handler(service, methods) for service, methods in by_service.items()]


def _handler(route: Route, forwarder: Forwarder, keys: SessionKeys) -> grpc.RpcMethodHandler:
    if route.client_streaming:
        async def upload(requests, context):
            principal = principal_of_call(context, keys)
            return await _relayed(context, forwarder.client_stream(route, principal, requests,
                                                                   context.time_remaining()))
        return grpc.stream_unary_rpc_method_handler(upload, request_deserializer=route.request.FromString)

    if route.server_streaming:
        async def watch(request, context):
            principal = principal_of_call(context, keys)
            try:
                async for answer in forwarder.server_stream(route, principal, request, context.time_remaining()):
                    yield answer
            except UpstreamError as error:
                await _abort_with(context, error)
        return grpc.unary_stream_rpc_method_handler(watch, request_deserializer=route.request.FromString)

    parse = tolerant(route.request.FromString)

    async def call(raw: bytes, context):
        # What the runtime checks of every parsed request, before the caller is looked at.
        request = parse(raw)
        if isinstance(request, Undecodable):
            raise refuse_undecodable(request)
        check_text(request, _NO_TEXT_LIMITS)
        principal = principal_of_call(context, keys)
        return await _relayed(context, forwarder.unary(route, principal, request, context.time_remaining(), raw))
    return grpc.unary_unary_rpc_method_handler(call)

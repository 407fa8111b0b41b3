"""One forwarded call: rate limit, authorise, shed or serve from cache, call the service, check the answer.

Both front doors (gRPC and HTTP/JSON) go through here, so they cannot disagree on who may do
what. A unary request is parsed for its checks and then goes upstream as the caller's own bytes
when its check only reads it (`Route.passes_bytes`), re-serialised when the check may fill in the
caller's id; answers travel as the service's bytes and are parsed only where the gateway must look
at them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass

import grpc
from google.protobuf import message as protobuf_message
from healthcode.status.v1 import status_pb2, status_pb2_grpc
from prometheus_client import Counter, Gauge

from gateway.admission import LoadShedder, Overloaded, RateLimits, StreamShares
from gateway.caching import RecentMap
from gateway.directory import SessionStanding
from gateway.policy import Route, Scope, authorize, authorize_response
from gateway.principals import CallerKind, Principal
from services.runtime.clients import ClientCall, forwarding_metrics, request_metadata
from services.runtime.errors import (DeadlineExceeded, InvalidArgument, PermissionDenied, ResourceExhausted,
                                     Unauthenticated)
from services.runtime.metrics import CLIENT_STREAM, SERVER_STREAM, UNARY
from services.runtime.logs import get_logger

log = get_logger(__name__)

ISSUE_CODE = "/healthcode.status.v1.StatusService/IssueCode"
CHECK_IN = "/healthcode.status.v1.StatusService/RecordCheckIn"
ACKNOWLEDGE_POPUP = "/healthcode.status.v1.StatusService/AcknowledgePopup"
UNLINK_DEPENDENT = "/healthcode.identity.v1.IdentityService/UnlinkDependent"
# An open watch of someone else's status is re-authorised this often (the link, the session); an
# unlink through this replica ends it at once.
STREAM_RECHECK_SECONDS = 1.0
STATUS_DETAILS_KEY = "grpc-status-details-bin"
# Calls to the services never wait longer than this, whatever the caller's own deadline.
MAX_UNARY_SECONDS = 10.0

REFUSED = Counter("healthcode_gateway_refused", "Calls the gateway refused before forwarding, by reason.",
                  ("reason",))
CACHE_ANSWERS = Counter("healthcode_gateway_cached_answers", "Answers served from the gateway's code cache.",
                        ("when",))
# Read from the load shedder's own count when scraped: nothing to do per call.
IN_FLIGHT = Gauge("healthcode_gateway_in_flight", "Calls forwarded and not yet answered.")


class UpstreamError(Exception):
    """A service's own error, passed on unchanged (its rich details included)."""

    def __init__(self, code: grpc.StatusCode, details: str, status_details: bytes | None) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.status_details = status_details


class _ServiceErrors:
    """A service's failed call raised as UpstreamError, its rich details kept, for either door to pass on.
    (A class, not a generator context manager: it wraps every forwarded call.)"""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> None:
        if isinstance(error, grpc.aio.AioRpcError):
            rich = next((value for key, value in (error.trailing_metadata() or ()) if key == STATUS_DETAILS_KEY),
                        None)
            raise UpstreamError(error.code(), error.details() or "", rich) from None


_SERVICE_ERRORS = _ServiceErrors()


def service_errors() -> _ServiceErrors:
    return _SERVICE_ERRORS


@dataclass
@dataclass(frozen=True)
class _CachedCode:
    answer: bytes
    expire: float  # epoch seconds
    version: int   # the status version the code carries


class CodeCache:
    """A person's current code, so a reload in a queue costs no signature and no database write.

    A code is handed out again while it has `fresh_seconds` left; when the platform is shedding
    load, down to `last_resort_seconds`, so a person can still show a valid code at the door.

    A cached code never outlives a change of its person's status: status streams every person's new
    status version as it commits (`follow_status_changes`), a code carrying an older version is
    dropped and never stored again, and the cache answers only while that stream is live. When the
    stream breaks, everything cached is forgotten (changes may have gone by unseen), and an answer
    that was in flight across the break is not kept (`ticket` / `put`).
    """

    def __init__(self, fresh_seconds: float = 30.0, last_resort_seconds: float = 10.0, size: int = 200_000) -> None:
        self._fresh = fresh_seconds
        self._last_resort = last_resort_seconds
        self._codes: RecentMap[str, _CachedCode] = RecentMap(size)
        self._versions: RecentMap[str, int] = RecentMap(size)  # the newest version seen per person
        self._breaks = 0
        self._live = False

    @property
    def live(self) -> bool:
        return self._live

    def get(self, person_id: str, *, overloaded: bool = False) -> bytes | None:
        cached = self._codes.get(person_id) if self._live else None
        if cached is None:
            return None
        left = cached.expire - time.time()
        if left >= (self._last_resort if overloaded else self._fresh):
            return cached.answer
        if left <= 0:
            self._codes.pop(person_id)
        return None

    def ticket(self) -> int:
        """Taken before asking status for a code: `put` keeps the answer only if the stream did not break since."""
        return self._breaks

    def put(self, person_id: str, answer: bytes, ticket: int) -> None:
        response = status_pb2.IssueCodeResponse.FromString(answer)
        version = response.status.version
        if not self._live or ticket != self._breaks or version < (self._versions.get(person_id) or 0):
            return
        self._codes.put(person_id, _CachedCode(answer, response.expire_time.ToSeconds(), version))

    def changed(self, changes: Iterable[tuple[str, int]]) -> None:
        """These persons' statuses reached these versions (0: a newer one, unknown): older codes are void."""
        for person_id, version in changes:
            if version > (self._versions.get(person_id) or 0):
                self._versions.put(person_id, version)
            cached = self._codes.get(person_id)
            if cached is not None and (version == 0 or cached.version < version):
                self._codes.pop(person_id)

    def follow(self) -> None:
        """The change stream is live again: cached answers may be served."""
        self._live = True

    def forget(self) -> None:
        """The change stream broke: nothing cached can be trusted, and nothing is cached until it is back."""
        self._breaks += 1
        self._live = False
        self._codes = RecentMap(self._codes.size)
        self._versions = RecentMap(self._versions.size)


async def follow_status_changes(channel: grpc.aio.Channel, codes: CodeCache, *, retry_seconds: float = 0.5) -> None:
    """Keeps `codes` in step with status for as long as the gateway runs (a task of its own)."""
    stub = status_pb2_grpc.StatusServiceStub(channel)
    while True:
        try:
            opened = False
            async for message in stub.StreamStatusChanges(status_pb2.StreamStatusChangesRequest()):
                # Status's first answer says it listens: from then on every change comes down this
                # stream. A cache forgotten mid-stream stays off until a new stream opens.
                if not opened:
                    opened = True
                    codes.follow()
                if codes.live:
                    codes.changed((change.person_id, change.version) for change in message.changes)
        except grpc.aio.AioRpcError as error:
            log.warning("status_changes_lost", code=error.code().name)
        codes.forget()
        await asyncio.sleep(retry_seconds)


@dataclass(frozen=True)
class StreamLimits:
    """How long streams may last. An upload (carrier stays) ends with DEADLINE_EXCEEDED when no
    message arrives for `idle_seconds` (an idle stream would hold a heavy slot for nothing) or after
    `upload_seconds` in all; a watch ends after `watch_seconds` (the app opens a new one)."""

    idle_seconds: float = 30.0
    upload_seconds: float = 600.0
    watch_seconds: float = 3600.0


class Forwarder:
    def __init__(self, channels: Mapping[str, grpc.aio.Channel], routes: Mapping[str, Route], scope: Scope,
                 limits: RateLimits, shedder: LoadShedder, codes: CodeCache, *,
                 watches: StreamShares | None = None, stream_limits: StreamLimits = StreamLimits(),
                 sessions: SessionStanding | None = None) -> None:
        self.scope = scope
        self.sessions = sessions
        # Open watches by (acting person, watched person): an unlink through this replica ends them.
        self._acting_streams: dict[tuple[str, str], set[asyncio.Event]] = {}
        self.limits = limits
        self.shedder = shedder
        IN_FLIGHT.set_function(lambda: shedder.in_flight)  # every forwarded call holds a shedder slot
        self.codes = codes
        self.watches = watches or StreamShares(max_streams=10_000, max_per_person=10)
        self.stream_limits = stream_limits
        # One multicallable per route, made once; answers stay bytes (no deserializer), and so do unary
        # requests (serialised by `unary` only when a check may have changed them).
        self._calls = {}
        # Client-side metrics per route, bound once (the channels have no interceptor).
        self._metrics = {}
        for route in routes.values():
            channel = channels[route.upstream]
            make = (channel.stream_unary if route.client_streaming else
                    channel.unary_stream if route.server_streaming else channel.unary_unary)
            unary = not (route.client_streaming or route.server_streaming)
            serializer = None if unary else route.request.SerializeToString
            self._calls[route.method] = make(route.method, request_serializer=serializer, response_deserializer=None)
            self._metrics[route.method] = forwarding_metrics(
                CLIENT_STREAM if route.client_streaming else SERVER_STREAM if route.server_streaming else UNARY,
                route.method)

    async def unary(self, route: Route, principal: Principal, request: protobuf_message.Message,
                    timeout: float | None, raw: bytes | None = None) -> bytes:
        """The service's answer to `request`; `raw` is the request as the caller sent it (the gRPC
        door), forwarded as it is when the route's check for this caller only reads."""
        self._limit(principal)
        await self._session_live(principal)
        await authorize(route, principal, request, self.scope)
        cache_key = request.person_id if route.method == ISSUE_CODE else None
        ticket = 0
        if cache_key is not None:
            ticket = self.codes.ticket()
            cached = self.codes.get(cache_key)
            if cached is not None:
                CACHE_ANSWERS.labels("fresh").inc()
                return cached
        try:
            admission = self.shedder.admit(route.cost, principal.key)
        except Overloaded:
            cached = self.codes.get(cache_key, overloaded=True) if cache_key is not None else None
            if cached is not None:
                CACHE_ANSWERS.labels("overloaded").inc()
                return cached
            REFUSED.labels("OVERLOADED").inc()
            raise
        if raw is None or not route.passes_bytes(principal.kind):
            raw = request.SerializeToString()
        with admission, service_errors(), ClientCall(self._metrics[route.method]):
            answer = await self._calls[route.method](raw, timeout=_deadline(timeout), metadata=request_metadata())
        if route.response_checks:
            await authorize_response(route, principal, route.response.FromString(answer), self.scope)
        if route.method == UNLINK_DEPENDENT:
            link = route.response.FromString(answer).link
            for ended in self._acting_streams.get((link.holder_person_id, link.dependent.person_id), ()):
                ended.set()
        if cache_key is not None:
            self.codes.put(cache_key, answer, ticket)
        elif route.method in (CHECK_IN, ACKNOWLEDGE_POPUP):
            # A check-in or a pop-up's "continue" through this gateway voids the person's older codes
            # before they can ask again (the change stream would, a moment later).
            status = route.response.FromString(answer).status
            self.codes.changed([(status.person_id, status.version)])
        return answer

    async def server_stream(self, route: Route, principal: Principal, request: protobuf_message.Message,
                            timeout: float | None) -> AsyncIterator[bytes]:
        """A watch: authorised once, then relayed while both ends stay, up to its deadline; a caller
        holds at most its share of the open watches."""
        self._limit(principal)
        await self._session_live(principal)
        await authorize(route, principal, request, self.scope)
        try:
            self.watches.take(principal.key, principal.kind)
        except ResourceExhausted as refused:
            REFUSED.labels(refused.reason).inc()
            raise
        subject = getattr(request, "person_id", "") if principal.kind == CallerKind.PERSON else ""
        key = (principal.subject, subject)
        ended = asyncio.Event()
        if subject and subject != principal.subject:
            self._acting_streams.setdefault(key, set()).add(ended)
        guard = asyncio.create_task(self._guard_stream(principal, subject, ended))
        try:
            deadline = self.stream_limits.watch_seconds if timeout is None else min(timeout,
                                                                                   self.stream_limits.watch_seconds)
            metrics = self._metrics[route.method]
            with ClientCall(metrics, unary=False):  # before the call: its traceparent is the client span's
                call = self._calls[route.method](request, timeout=deadline, metadata=request_metadata())
                guard.add_done_callback(lambda _: call.cancel())
                metrics.sent.inc()
                try:
                    with service_errors():
                        async for answer in call:
                            metrics.received.inc()
                            yield answer
                except asyncio.CancelledError:
                    if not guard.done() or guard.cancelled():
                        raise
                    raise UpstreamError(grpc.StatusCode.PERMISSION_DENIED,
                                        "the right to watch this person ended (link removed or session revoked)",
                                        None) from None
                finally:
                    call.cancel()
        finally:
            guard.cancel()
            self.watches.give_back(principal.key)
            watchers = self._acting_streams.get(key)
            if watchers is not None:
                watchers.discard(ended)
                if not watchers:
                    del self._acting_streams[key]

    async def _guard_stream(self, principal: Principal, subject: str, ended: asyncio.Event) -> None:
        """Returns when the caller may no longer watch: an unlink seen here (at once), or the link or the
        session found gone on a recheck (another replica's unlink, a revocation)."""
        acting = bool(subject) and subject != principal.subject
        if not acting and not principal.session_id:
            await asyncio.Event().wait()  # nothing can end a system's or a device's own watch
        while True:
            try:
                await asyncio.wait_for(ended.wait(), STREAM_RECHECK_SECONDS)
                return
            except TimeoutError:
                pass
            try:
                if acting and not await self.scope.directory.may_act_for(principal.subject, subject):
                    return
                await self._session_live(principal)
            except Unauthenticated:
                return
            except (UpstreamError, grpc.aio.AioRpcError):
                continue  # identity unreachable for a moment: keep the watch, ask again

    async def client_stream(self, route: Route, principal: Principal,
                            requests: AsyncIterator[protobuf_message.Message], timeout: float | None) -> bytes:
        """A bulk upload (carrier stays): the caller is authorised by kind first, then every message by the
        route's check (which may fill in the caller's name) and list limits before it passes on. The
        upload holds one of the caller's heavy slots, so it ends when it sits idle past `idle_seconds` or
        runs past `upload_seconds`."""
        self._limit(principal)
        await self._session_live(principal)
        await authorize(route, principal, route.request(), self.scope)
        try:
            admission = self.shedder.admit(route.cost, principal.key)
        except ResourceExhausted as refused:
            REFUSED.labels(refused.reason).inc()
            raise
        limits = self.stream_limits
        deadline = limits.upload_seconds if timeout is None else min(timeout, limits.upload_seconds)
        last_message = [time.monotonic()]
        sending = [True]
        refusal: list[Exception] = []

        async def relayed() -> AsyncIterator[protobuf_message.Message]:
            async for message in requests:
                try:
                    await authorize(route, principal, message, self.scope)
                except (InvalidArgument, PermissionDenied) as error:
                    refusal.append(error)
                    call.cancel()
                    return
                last_message[0] = time.monotonic()
                yield message
            sending[0] = False

        with admission, ClientCall(self._metrics[route.method], unary=False):
            call = self._calls[route.method](relayed(), timeout=deadline, metadata=request_metadata())
            watchdog = asyncio.create_task(self._idle_watch(call, last_message, sending, refusal))
            try:
                with service_errors():
                    return await call
            except (UpstreamError, asyncio.CancelledError):
                if refusal:
                    REFUSED.labels(getattr(refusal[0], "reason", "STREAM_IDLE")).inc()
                    raise refusal[0] from None
                raise
            finally:
                watchdog.cancel()

    async def _idle_watch(self, call, last_message: list[float], sending: list[bool], refusal: list[Exception]
                          ) -> None:
        idle = self.stream_limits.idle_seconds
        while sending[0]:
            quiet = time.monotonic() - last_message[0]
            if quiet >= idle:
                refusal.append(DeadlineExceeded("STREAM_IDLE", f"no message for {idle:g} s: the upload is ended; "
                                                "send again with the same batch id (rows already sent are kept)"))
                call.cancel()
                return
            await asyncio.sleep(idle - quiet)

    async def _session_live(self, principal: Principal) -> None:
        if principal.session_id and self.sessions is not None:
            with service_errors():
                live = await self.sessions.is_live(principal.session_id, principal.subject)
            if not live:
                REFUSED.labels("SESSION_REVOKED").inc()
                raise Unauthenticated("SESSION_REVOKED", "this session was signed out or revoked; sign in again")

    def _limit(self, principal: Principal) -> None:
        try:
            self.limits.take(principal.key, principal.kind)
        except ResourceExhausted:
            REFUSED.labels("RATE_LIMITED").inc()
            raise


def _deadline(timeout: float | None) -> float:
    return MAX_UNARY_SECONDS if timeout is None else max(0.0, min(timeout, MAX_UNARY_SECONDS))

"""HTTP/JSON for apps and browsers, mapped onto the same routes as gRPC, plus the pages a person sees.

JSON bodies are the proto messages in proto3 JSON (field names as in the .proto); a path's
`{person_id}` may be `me`, the signed-in person. Errors are JSON too:
`{"error": {"code", "status", "message", "reason", "field_violations"}}`, with the HTTP status
Google's API guidelines give each gRPC code.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from base64 import b64decode
from dataclasses import dataclass
from pathlib import Path

import grpc
import segno
import structlog
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc

from gateway.caching import RecentMap
from gateway.credentials import CHALLENGE_SECONDS, SessionKeys
from gateway.forwarding import Forwarder, UpstreamError, service_errors
from gateway.openapi import openapi_document
from gateway.policy import ROUTES, Route
from gateway.principals import CallerKind, Principal
from gateway.rpc import BEARER
from services import areas
from services.codes.payload import CodeRejected, read_code
from services.runtime import errors, tracing
from services.runtime.logs import get_logger
from services.runtime.metrics import observe_http
from services.runtime.server import REQUEST_ID_HEADER, SAFE_REQUEST_ID
from services.runtime.grpc_errors import code_for

log = get_logger(__name__)
PAGES = Path(__file__).parent / "pages"
# A person's access token lasts ten minutes and names its session; the app refreshes it with the
# session's refresh token (for a working day, identity's SESSION_LIFETIME), and a revoked session is
# refused at once. Devices are provisioned with longer tokens of their own.
PERSON_SESSION_SECONDS = 600
UPSTREAM_SECONDS = 5.0
# The page fetches a new code this long before the shown one expires.
REFRESH_MARGIN_SECONDS = 10
# Headers on every answer: pages and API answers carry personal data (a code, a name, a colour), so
# nothing is cached, framed, sniffed or sent on as a referrer, and a page runs only its own scripts.
# The pages use no inline script or style: the QR is an SVG of attributes only.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
               "form-action 'self'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Public documents the gateway serves without personal data keep their own caching.
_CACHEABLE_PATHS = ("/static/", "/.well-known/", "/openapi.json", "/areas.json")
# The checkpoint page's service worker: at the root, so it may control /checkpoint; a worker runs
# under its own script's policy, and it fetches the page's files to keep them.
SERVICE_WORKER_PATH = "/checkpoint-sw.js"
_QR_COLOURS = {"COLOUR_GREEN": "#0a7d32", "COLOUR_YELLOW": "#b88700", "COLOUR_RED": "#c4161c"}

_HTTP_STATUS = {
    grpc.StatusCode.OK: 200, grpc.StatusCode.CANCELLED: 499, grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.DEADLINE_EXCEEDED: 504, grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409, grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409, grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500, grpc.StatusCode.UNAVAILABLE: 503, grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


@dataclass(frozen=True)
class HttpRoute:
    """One REST-style mapping of a gRPC route: path parameters and query parameters fill request fields."""

    verb: str
    path: str
    rpc: str
    summary: str
    body: bool = False
    query: tuple[str, ...] = ()

    @property
    def route(self) -> Route:
        return ROUTES[self.rpc]


def _rpc(service: str, method: str) -> str:
    return f"/healthcode.{service}.v1.{method}"


HTTP_ROUTES = (
    HttpRoute("GET", "/v1/persons/{person_id}", _rpc("identity", "IdentityService/GetPerson"), "A person, masked"),
    HttpRoute("POST", "/v1/persons", _rpc("identity", "IdentityService/RegisterPerson"),
              "Register a person (signed in: someone you will act for; signed out: yourself, with a face check)",
              body=True),
    HttpRoute("GET", "/v1/persons/{holder_person_id}/dependents", _rpc("identity", "IdentityService/ListDependents"),
              "The dependents a person acts for"),
    HttpRoute("POST", "/v1/persons/{holder_person_id}/dependents", _rpc("identity", "IdentityService/LinkDependent"),
              "Link a dependent (at most 4)", body=True),
    HttpRoute("DELETE", "/v1/persons/{holder_person_id}/dependents/{dependent_person_id}",
              _rpc("identity", "IdentityService/UnlinkDependent"),
              "End a link (its holder, the dependent, or another of the dependent's guardians)"),
    HttpRoute("GET", "/v1/persons/{dependent_person_id}/guardians", _rpc("identity", "IdentityService/ListGuardians"),
              "Who may act for a person"),
    HttpRoute("POST", "/v1/persons/{person_id}/name-corrections", _rpc("identity", "IdentityService/CorrectName"),
              "Correct one's own name, with a face check (once at once, then by review)", body=True),
    HttpRoute("GET", "/v1/persons/{person_id}/status", _rpc("status", "StatusService/GetStatus"), "Health status"),
    HttpRoute("GET", "/v1/persons/{person_id}/status-changes", _rpc("status", "StatusService/ListStatusChanges"),
              "Why and when the colour changed", query=("page_size", "page_token")),
    HttpRoute("POST", "/v1/persons/{person_id}/check-ins", _rpc("status", "StatusService/RecordCheckIn"),
              "Daily health check-in", body=True),
    HttpRoute("POST", "/v1/persons/{person_id}/popup-acknowledgements",
              _rpc("status", "StatusService/AcknowledgePopup"),
              "Press \"continue\" on the pop-up: the 14-day itinerary is queried", body=True),
    HttpRoute("POST", "/v1/persons/{person_id}/appeals", _rpc("status", "StatusService/FileAppeal"),
              "File an appeal against a colour", body=True),
    HttpRoute("GET", "/v1/appeals/{appeal_id}", _rpc("status", "StatusService/GetAppeal"), "An appeal"),
    HttpRoute("POST", "/v1/persons/{person_id}/visits", _rpc("verification", "VerificationService/RecordVisit"),
              "Scan a venue code", body=True),
    HttpRoute("POST", "/v1/persons/{person_id}/itinerary", _rpc("itinerary", "ItineraryService/DeclareItinerary"),
              "Declare the cities stayed in", body=True),
    HttpRoute("GET", "/v1/persons/{person_id}/stays", _rpc("itinerary", "ItineraryService/ListStays"),
              "The 14-day itinerary"),
    HttpRoute("POST", "/v1/verifications", _rpc("verification", "VerificationService/VerifyCode"),
              "Verify a scanned code at a checkpoint", body=True),
    HttpRoute("GET", "/v1/offline-manifest", _rpc("verification", "VerificationService/GetOfflineManifest"),
              "The signed manifest of the offline snapshot (a checkpoint device)"),
    HttpRoute("GET", "/v1/offline-partitions/{partition}",
              _rpc("verification", "VerificationService/GetSnapshotPartition"),
              "One partition of the offline snapshot's red/yellow records, as of a manifest",
              query=("as_of_version", "as_of_time")),
    HttpRoute("GET", "/v1/offline-changes", _rpc("verification", "VerificationService/ListSnapshotChanges"),
              "The offline snapshot's red/yellow records changed since a version, as of a manifest",
              query=("since_version", "as_of_version", "as_of_time", "page_size", "page_token")),
    HttpRoute("POST", "/v1/offline-decisions", _rpc("verification", "VerificationService/RecordOfflineDecisions"),
              "Upload decisions a checkpoint made offline (idempotent per decision id)", body=True),
    HttpRoute("GET", "/v1/risk-areas", _rpc("itinerary", "ItineraryService/ListRiskAreas"), "Current risk areas",
              query=("page_size", "page_token")),
)
CODE_PATH = "/v1/persons/{person_id}/code"
ISSUE_CODE = _rpc("status", "StatusService/IssueCode")
REGISTER_PERSON = _rpc("identity", "IdentityService/RegisterPerson")
REVOKE_SESSIONS = _rpc("identity", "IdentityService/RevokeSessions")


class HttpError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, reason: str = "",
                 violations: list[dict[str, str]] | None = None, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.violations = violations or []
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body = {"error": {"code": self.code.name, "status": _HTTP_STATUS[self.code], "message": self.message,
                          "reason": self.reason, "field_violations": self.violations}}
        headers = {"Retry-After": self.retry_after} if self.retry_after else None
        return web.json_response(body, status=_HTTP_STATUS[self.code], headers=headers)


def _from_domain(error: errors.DomainError) -> HttpError:
    violations = [{"field": v.field, "description": v.description}
                  for v in getattr(error, "violations", [])]
    retry = error.metadata.get("retry_after_seconds")
    # HTTP's Retry-After counts whole seconds.
    return HttpError(code_for(error), error.message, error.reason, violations,
                     str(math.ceil(float(retry))) if retry else None)


def _from_upstream(error: UpstreamError) -> HttpError:
    reason, violations = "", []
    if error.status_details:
        status = status_pb2.Status.FromString(error.status_details)
        for detail in status.details:
            info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
            if detail.Unpack(info):
                reason = info.reason
            elif detail.Unpack(bad):
                violations = [{"field": v.field, "description": v.description} for v in bad.field_violations]
    return HttpError(error.code, error.details, reason, violations)


class WebFrontDoor:
    def __init__(self, forwarder: Forwarder, keys: SessionKeys, identity: identity_pb2_grpc.IdentityServiceStub,
                 *, dev_sessions: bool = False) -> None:
        self._forwarder = forwarder
        self._keys = keys
        self._identity = identity
        self._dev_sessions = dev_sessions
        # A code drawn once is kept while it can be shown (a code lives 60 s).
        self._code_pages: RecentMap[str, dict] = RecentMap(50_000, seconds=120)
        self._openapi_document = openapi_document(HTTP_ROUTES, CODE_PATH)
        self._area_names: str | None = None

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024 * 1024)
        app.on_response_prepare.append(_secure_headers)
        for route in HTTP_ROUTES:
            app.router.add_route(route.verb, route.path, self._mapped(route))
        app.router.add_get(CODE_PATH, self._code)
        app.router.add_post("/v1/sessions", self._sign_in)
        app.router.add_post("/v1/sign-in-challenges", self._challenge)
        app.router.add_post("/v1/sessions/refresh", self._refresh)
        app.router.add_delete("/v1/sessions/current", self._sign_out)
        app.router.add_delete("/v1/sessions", self._sign_out_everywhere)
        app.router.add_post("/v1/rpc/{service}/{method}", self._generic)
        app.router.add_get("/.well-known/jwks.json", self._jwks)
        app.router.add_get("/openapi.json", self._openapi)
        app.router.add_get("/areas.json", self._areas)
        app.router.add_get("/", self._page("code.html"))
        app.router.add_get("/checkpoint", self._page("checkpoint.html"))
        app.router.add_get(SERVICE_WORKER_PATH, self._page("checkpoint-sw.js"))
        app.router.add_static("/static/", PAGES / "static")
        if self._dev_sessions:
            app.router.add_post("/dev/sessions", self._dev_session)
        return app

    # --- plumbing ---------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        supplied = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = supplied if SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        name = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        started = time.perf_counter()
        span = tracing.http_span(request.method, name, request.headers, request_id) if tracing.ENABLED else None
        with structlog.contextvars.bound_contextvars(request_id=request_id, rpc=f"{request.method} {name}"):
            try:
                response = await handler(request)
            except HttpError as error:
                response = error.response()
            except errors.DomainError as error:
                response = _from_domain(error).response()
            except UpstreamError as error:
                response = _from_upstream(error).response()
            except web.HTTPException as error:  # aiohttp's own answers: 404, 405, 413
                response = web.Response(status=error.status, text=error.text, content_type="text/plain")
            except Exception as error:  # noqa: BLE001 - never a stack trace to the caller
                log.error("http_internal_error", error_type=type(error).__name__)
                response = HttpError(grpc.StatusCode.INTERNAL,
                                     "internal error; quote the request id to support").response()
        response.headers[REQUEST_ID_HEADER] = request_id
        observe_http(request.method, name, response.status, time.perf_counter() - started)
        if span is not None:
            tracing.finish_http(span, response.status)
        return response

    def _principal(self, request: web.Request) -> Principal:
        header = request.headers.get("Authorization", "")
        if not header:
            raise errors.Unauthenticated("CREDENTIALS_MISSING", "sign in: send 'Authorization: Bearer <token>'")
        if not header.lower().startswith(BEARER):
            raise errors.Unauthenticated("CREDENTIALS_INVALID", "authorization must be 'Bearer <session token>'")
        return self._keys.verify(header[len(BEARER):].strip())

    async def _json(self, request: web.Request) -> dict:
        if not request.can_read_body:
            return {}
        # Size first (client_max_size: aiohttp answers 413 past it), then depth, before any parsing.
        raw = await request.read()
        if json_depth_exceeds(raw, MAX_JSON_DEPTH):
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, f"the body nests deeper than {MAX_JSON_DEPTH} levels",
                            "BODY_TOO_DEEP")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, a number of > 4300 digits
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, "the body is not JSON", "BODY_INVALID") from None
        if not isinstance(body, dict):
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, "the body must be a JSON object", "BODY_INVALID")
        return body

    @staticmethod
    def _message(route: Route, values: dict):
        try:
            return json_format.ParseDict(values, route.request())
        except (json_format.ParseError, ValueError, TypeError, OverflowError) as error:
            # The parser names the field it could not read; the value is not echoed back.
            text = str(error).split(":")[0]
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, f"the request does not match "
                            f"{route.request.DESCRIPTOR.name}: {text}", "BODY_INVALID",
                            [{"field": _field_of(text), "description": text}]) from None

    async def _forward(self, route: Route, principal: Principal, message) -> dict:
        answer = await self._forwarder.unary(route, principal, message, UPSTREAM_SECONDS)
        return json_format.MessageToDict(route.response.FromString(answer), preserving_proto_field_name=True)

    # --- the mapped API -------------------------------------------------------------------

    def _mapped(self, http: HttpRoute):
        route = http.route

        async def handle(request: web.Request) -> web.Response:
            if http.rpc == REGISTER_PERSON and "Authorization" not in request.headers:
                return await self._register_self(request)
            principal = self._principal(request)
            values = await self._json(request) if http.body else {}
            for name in http.query:
                if name in request.query:
                    values[name] = request.query[name]
            for name, value in request.match_info.items():
                values[name] = principal.subject if value == "me" and principal.kind == CallerKind.PERSON else value
            return web.json_response(await self._forward(route, principal, self._message(route, values)))
        return handle

    async def _generic(self, request: web.Request) -> web.Response:
        """Any unary public RPC as POST /v1/rpc/<package.Service>/<Method> with its request as JSON."""
        route = ROUTES.get(f"/{request.match_info['service']}/{request.match_info['method']}")
        if route is None or route.client_streaming or route.server_streaming:
            raise HttpError(grpc.StatusCode.NOT_FOUND, "no such public unary RPC", "RPC_UNKNOWN")
        principal = self._principal(request)
        message = self._message(route, await self._json(request))
        return web.json_response(await self._forward(route, principal, message))

    async def _code(self, request: web.Request) -> web.Response:
        """The code a person shows, ready to draw: payload, QR image, colour, masked name, times."""
        principal = self._principal(request)
        person_id = request.match_info["person_id"]
        if person_id == "me" and principal.kind == CallerKind.PERSON:
            person_id = principal.subject
        route = ROUTES[ISSUE_CODE]
        answer = await self._forwarder.unary(route, principal, route.request(person_id=person_id), UPSTREAM_SECONDS)
        issued = route.response.FromString(answer)
        page = await self._code_page(issued)
        page["refresh_in_seconds"] = max(1, int(issued.expire_time.ToSeconds() - time.time()) - REFRESH_MARGIN_SECONDS)
        return web.json_response(page, headers={"Cache-Control": "no-store"})

    async def _code_page(self, issued) -> dict:
        # The same code drawn once: a QR costs ~5 ms of CPU, so it is kept while the code is.
        cached = self._code_pages.get(issued.payload)
        if cached is not None:
            return dict(cached)
        status = json_format.MessageToDict(issued.status, preserving_proto_field_name=True)
        try:
            masked_name = read_code(issued.payload).claims.masked_name
        except CodeRejected:
            masked_name = ""
        colour = status.get("colour", "COLOUR_UNSPECIFIED")
        svg = await asyncio.to_thread(_qr_svg, issued.payload, _QR_COLOURS.get(colour, "#000000"))
        page = {"payload": issued.payload, "qr_svg": svg, "colour": colour,
                "display_colour": status.get("display_colour", ""), "masked_name": masked_name,
                "status_time": status.get("compute_time", ""), "valid_until_time": status.get("valid_until_time", ""),
                "expire_time": json_format.MessageToDict(issued)["expireTime"],
                "person_id": status.get("person_id", ""), "reasons": status.get("reasons", []),
                # The whole status, so the page explains the code it shows (reasons, progress, rule set).
                "status": status}
        self._code_pages.put(issued.payload, page)
        return dict(page)

    # --- signing in ----------------------------------------------------------------------

    async def _challenge(self, request: web.Request) -> web.Response:
        """A one-time challenge for the face-check provider to sign as the attestation's nonce."""
        self._forwarder.limits.take(f"anonymous:{request.remote}", None)
        return web.json_response({"challenge": self._keys.challenge(), "expires_in": CHALLENGE_SECONDS},
                                 headers={"Cache-Control": "no-store"})

    def _require_challenge(self, attestation: identity_pb2.FaceAttestation) -> None:
        """The attestation answers a challenge this deployment issued and that has not expired. Checked
        before anything is looked up, so the answer is the same for every document."""
        claims = identity_pb2.FaceCheckClaims()
        try:
            claims.ParseFromString(attestation.claims)
        except DecodeError:
            claims.Clear()
        if not self._keys.challenge_is_valid(claims.nonce):
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT,
                            "face_attestation: its nonce must be a fresh challenge from POST /v1/sign-in-challenges",
                            "CHALLENGE_INVALID", [{"field": "face_attestation.claims.nonce",
                                                   "description": "must be a fresh sign-in challenge"}])

    async def _sign_in(self, request: web.Request) -> web.Response:
        """A person signs in with their document and a face check answering a challenge of ours: the
        check is proven and spent before the document is looked up (identity's SignInPerson), so the
        answers to a caller who has not proven a document never tell whether it is registered."""
        self._forwarder.limits.take(f"anonymous:{request.remote}", None)
        body = await self._json(request)
        document = self._parse(identity_pb2.Document, body.get("document", {}), "document")
        attestation = _attestation(body.get("face_attestation"), "face_attestation")
        self._require_challenge(attestation)
        with service_errors():
            found = await self._identity.SignInPerson(
                identity_pb2.SignInPersonRequest(document=document, face_attestation=attestation),
                timeout=UPSTREAM_SECONDS)
        return web.json_response(await self._session(found.person))

    async def _register_self(self, request: web.Request) -> web.Response:
        """Registration by the person themselves: a face check answering a challenge of ours is
        required, and they are signed in, once: a registration that finds the person already there
        (a replayed or retried request) opens no session — that is what signing in is for."""
        self._forwarder.limits.take(f"anonymous:{request.remote}", None)
        route = ROUTES[REGISTER_PERSON]
        message = self._message(route, await self._json(request))
        if not message.HasField("face_attestation"):
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, "face_attestation: required to register yourself",
                            "FACE_CHECK_REQUIRED", [{"field": "face_attestation",
                                                     "description": "required to register yourself"}])
        self._require_challenge(message.face_attestation)
        with self._forwarder.shedder.admit(route.cost, f"anonymous:{request.remote}"), service_errors():
            registered = await self._identity.RegisterPerson(message, timeout=UPSTREAM_SECONDS)
        if not (registered.created or registered.reclaimed):
            raise HttpError(grpc.StatusCode.ALREADY_EXISTS, "this document is registered; sign in with POST /v1/sessions",
                            "ALREADY_REGISTERED")
        return web.json_response(await self._session(registered.person))

    async def _session(self, person: identity_pb2.Person) -> dict:
        with service_errors():
            started = await self._identity.StartSession(identity_pb2.StartSessionRequest(person_id=person.person_id),
                                                        timeout=UPSTREAM_SECONDS)
        return self._tokens(person, started.session_id, started.refresh_token)

    def _tokens(self, person: identity_pb2.Person, session_id: str, refresh_token: str) -> dict:
        principal = Principal(CallerKind.PERSON, person.person_id, person.home_province_code, session_id=session_id)
        return {"token": self._keys.mint(principal, PERSON_SESSION_SECONDS), "expires_in": PERSON_SESSION_SECONDS,
                "refresh_token": refresh_token,
                "person": json_format.MessageToDict(person, preserving_proto_field_name=True)}

    async def _refresh(self, request: web.Request) -> web.Response:
        """The next access token for a live session; the refresh token presented is spent."""
        self._forwarder.limits.take(f"anonymous:{request.remote}", None)
        body = await self._json(request)
        token = body.get("refresh_token")
        if not isinstance(token, str):
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, "refresh_token: required", "REFRESH_TOKEN_INVALID",
                            [{"field": "refresh_token", "description": "required"}])
        with service_errors():
            refreshed = await self._identity.RefreshSession(identity_pb2.RefreshSessionRequest(refresh_token=token),
                                                            timeout=UPSTREAM_SECONDS)
        return web.json_response(self._tokens(refreshed.person, refreshed.session_id, refreshed.refresh_token),
                                 headers={"Cache-Control": "no-store"})

    async def _sign_out(self, request: web.Request) -> web.Response:
        """Logout: this session ends, on every replica at once."""
        return await self._revoke(request, everywhere=False)

    async def _sign_out_everywhere(self, request: web.Request) -> web.Response:
        """Every session of the signed-in person ends (a lost phone, a session someone else opened)."""
        return await self._revoke(request, everywhere=True)

    async def _revoke(self, request: web.Request, *, everywhere: bool) -> web.Response:
        principal = self._principal(request)
        if principal.kind != CallerKind.PERSON or not principal.session_id:
            raise HttpError(grpc.StatusCode.PERMISSION_DENIED, "only a person's sign-in session can be signed out",
                            "CALLER_NOT_ALLOWED")
        route = ROUTES[REVOKE_SESSIONS]
        message = route.request(person_id=principal.subject, session_id="" if everywhere else principal.session_id,
                                reason="REVOKE_ALL" if everywhere else "LOGOUT")
        revoked = route.response.FromString(await self._forwarder.unary(route, principal, message, UPSTREAM_SECONDS))
        return web.json_response({"revoked_count": revoked.revoked_count})

    async def _dev_session(self, request: web.Request) -> web.Response:
        """Development only (`healthcode up`): a session for a registered person without a face check."""
        body = await self._json(request)
        with service_errors():
            found = await self._identity.GetPerson(
                identity_pb2.GetPersonRequest(person_id=str(body.get("person_id", ""))), timeout=UPSTREAM_SECONDS)
        return web.json_response(await self._session(found.person))

    @staticmethod
    def _parse(kind, value: object, field_name: str):
        if not isinstance(value, dict):
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, f"{field_name}: must be an object", "BODY_INVALID",
                            [{"field": field_name, "description": "must be an object"}])
        try:
            return json_format.ParseDict(value, kind())
        except (json_format.ParseError, ValueError, TypeError, OverflowError):
            raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, f"{field_name}: malformed", "BODY_INVALID",
                            [{"field": field_name, "description": "malformed"}]) from None

    # --- documents ----------------------------------------------------------------------

    async def _jwks(self, request: web.Request) -> web.Response:
        return web.json_response(self._keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    async def _openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self._openapi_document)

    async def _areas(self, request: web.Request) -> web.Response:
        """Every GB/T 2260 code → its latest name, province and city first: how the pages name the
        area of a reason or a stay (public data, so it is cached)."""
        if self._area_names is None:
            self._area_names = json.dumps(area_names(), ensure_ascii=False, separators=(",", ":"))
        response = web.Response(text=self._area_names, content_type="application/json",
                                headers={"Cache-Control": "public, max-age=86400"})
        response.enable_compression()  # ~300 kB of names, a tenth of it compressed
        return response

    @staticmethod
    def _page(name: str):
        async def page(request: web.Request) -> web.FileResponse:
            return web.FileResponse(PAGES / name)
        return page


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Runs on every response as its headers go out (errors, static files and aiohttp's own answers
    included): no server banner, no caching of personal data, no framing, no sniffing, no referrer."""
    headers = response.headers
    headers.popall("Server", None)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    page = response.content_type == "text/html" or request.path == SERVICE_WORKER_PATH
    headers["Content-Security-Policy"] = PAGE_POLICY if page else API_POLICY
    if not request.path.startswith(_CACHEABLE_PATHS):
        headers["Cache-Control"] = "no-store"


def _attestation(value: object, field_name: str) -> identity_pb2.FaceAttestation:
    if not isinstance(value, dict):
        raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, f"{field_name}: required", "FACE_CHECK_REQUIRED",
                        [{"field": field_name, "description": "required"}])
    try:
        return identity_pb2.FaceAttestation(claims=b64decode(value.get("claims", ""), validate=True),
                                            signature=b64decode(value.get("signature", ""), validate=True))
    except (ValueError, TypeError):
        raise HttpError(grpc.StatusCode.INVALID_ARGUMENT, f"{field_name}: claims and signature must be base64",
                        "BODY_INVALID", [{"field": field_name, "description": "claims and signature must be base64"}]
                        ) from None


MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """True when the JSON text nests objects and arrays deeper than `limit`. Without recursion, in
    C-speed passes: strings are dropped, then everything but brackets, then innermost pairs, `limit`
    times; whatever is left is too deep."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not removed:
            return False  # unbalanced: not JSON, which the parser says (it stops at the first mismatch)
    return bool(brackets)


def area_names() -> dict[str, str]:
    """Each code's latest name with the names of its province and city before it: 山西省太原市清徐县."""
    latest = {code: names[-1].name for code, names in areas.history().items()}
    named = {}
    for code, name in latest.items():
        parts = [latest.get(code[:2] + "0000", "")] if code[2:] != "0000" else []
        if code[4:] != "00" and code[2:4] != "00":
            parts.append(latest.get(code[:4] + "00", ""))
        # Municipalities' "市辖区" and "县" are groupings, not names anyone says.
        named[code] = "".join(part for part in parts if part not in (name, "市辖区", "县")) + name
    return named


def _qr_svg(payload: str, colour: str) -> str:
    # A fixed mask: choosing the best of eight costs 14 ms instead of 3; scanners read any mask.
    return segno.make(payload, error="m", micro=False, mask=0).svg_inline(scale=4, dark=colour, border=2)


def _field_of(parser_message: str) -> str:
    """'Failed to parse person_id field' → 'person_id'; otherwise the message itself."""
    words = parser_message.split()
    if "field" in words:
        index = words.index("field")
        return words[index - 1] if index else parser_message
    return parser_message

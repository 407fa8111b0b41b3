"""Wiring the gateway: settings, channels to the four services, the gRPC and HTTP front doors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import grpc
from aiohttp import web
from healthcode.identity.v1 import identity_pb2_grpc

from gateway.admission import ANONYMOUS_RATE, DEFAULT_RATES, LoadShedder, Rate, RateLimits, StreamShares
from gateway.credentials import SessionKeys
from gateway.directory import PersonDirectory, SessionStanding
from gateway.forwarding import CodeCache, Forwarder, StreamLimits, follow_status_changes
from gateway.policy import PUBLIC_SERVICES, ROUTES, Scope
from gateway.principals import CallerKind
from gateway.rpc import generic_handlers
from gateway.web import WebFrontDoor
from services import areas
from services.runtime.clients import open_channel
from services.runtime.metrics import certificate_expires
from services.runtime.logs import get_logger
from services.runtime.server import App, CallInterceptor, HostedServer, start_server
from services.runtime.settings import Env

NAME = "gateway"
DEFAULT_PORT = 50050
DEFAULT_HTTP_PORT = 8080
DEFAULT_HEALTH_PORT = 50060
UPSTREAMS = ("identity", "itinerary", "status", "verification")
_UPSTREAM_PORTS = {"identity": 50051, "itinerary": 50052, "status": 50053, "verification": 50054}

log = get_logger(__name__)


@dataclass(frozen=True)
class GatewaySettings:
    host: str
    port: int
    http_port: int
    health_port: int  # grpc.health.v1 alone, plaintext: for the kubelet, which has no client certificate
    grace_seconds: float
    metrics_port: int
    addresses: dict[str, str]
    # Mutual TLS on the gRPC port (certificate, key, and the CA that signs callers' certificates).
    # Without them the port is plaintext and only session tokens authenticate: development and
    # tests behind a mesh that terminates TLS.
    tls_certificate: bytes | None
    tls_key: bytes | None
    client_ca: bytes | None
    session_secrets: dict[str, bytes]
    provinces: frozenset[str]
    max_in_flight: int
    max_heavy_in_flight: int
    max_heavy_per_caller: int
    max_watches: int
    max_watches_per_person: int
    stream_limits: StreamLimits
    rates: dict[CallerKind, Rate]
    dev_sessions: bool
    # Unauthenticated calls (sign-in challenges, sign-in, registering oneself) per client address.
    anonymous_rate: Rate = ANONYMOUS_RATE

    @classmethod
    def read(cls, env: Env) -> GatewaySettings:
        addresses = {name: env.text(f"{name.upper()}_ADDRESS", f"127.0.0.1:{port}")
                     for name, port in _UPSTREAM_PORTS.items()}
        tls = [_read_file(env, name) for name in ("GATEWAY_TLS_CERT_FILE", "GATEWAY_TLS_KEY_FILE",
                                                  "GATEWAY_CLIENT_CA_FILE")]
        if any(tls) and not all(tls):
            env.invalid("GATEWAY_TLS_CERT_FILE", "and GATEWAY_TLS_KEY_FILE and GATEWAY_CLIENT_CA_FILE go together")
        provinces_text = env.text("GATEWAY_PROVINCES", "")
        provinces = frozenset(filter(None, (p.strip() for p in provinces_text.split(","))))
        if any(not areas.is_province_code(code) for code in provinces):
            env.invalid("GATEWAY_PROVINCES", "must be six-digit province codes separated by commas")
        settings = cls(
            host=env.text("HOST", "127.0.0.1"),
            port=env.integer("GATEWAY_PORT", DEFAULT_PORT, minimum=0, maximum=65535),
            http_port=env.integer("GATEWAY_HTTP_PORT", DEFAULT_HTTP_PORT, minimum=0, maximum=65535),
            health_port=env.integer("GATEWAY_HEALTH_PORT", DEFAULT_HEALTH_PORT, minimum=0, maximum=65535),
            grace_seconds=env.number("GRACE_SECONDS", 10.0),
            metrics_port=env.integer("METRICS_PORT", 9464, minimum=0, maximum=65535),
            addresses=addresses,
            tls_certificate=tls[0], tls_key=tls[1], client_ca=tls[2],
            session_secrets=env.secret_keyring("GATEWAY_SESSION_KEYS"),
            provinces=provinces or frozenset(f"{prefix}0000" for prefix in areas.PROVINCES),
            max_in_flight=env.integer("GATEWAY_MAX_IN_FLIGHT", 64, minimum=1, maximum=100_000),
            max_heavy_in_flight=env.integer("GATEWAY_MAX_HEAVY_IN_FLIGHT", 16, minimum=1, maximum=100_000),
            max_heavy_per_caller=env.integer("GATEWAY_MAX_HEAVY_PER_CALLER", 4, minimum=1, maximum=100_000),
            max_watches=env.integer("GATEWAY_MAX_WATCHES", 10_000, minimum=1, maximum=1_000_000),
            max_watches_per_person=env.integer("GATEWAY_MAX_WATCHES_PER_PERSON", 10, minimum=1, maximum=1000),
            stream_limits=StreamLimits(
                idle_seconds=env.number("GATEWAY_STREAM_IDLE_SECONDS", 30.0, minimum=0.1),
                upload_seconds=env.number("GATEWAY_UPLOAD_SECONDS", 600.0, minimum=1.0),
                watch_seconds=env.number("GATEWAY_WATCH_SECONDS", 3600.0, minimum=1.0)),
            rates=_rates(env),
            dev_sessions=env.flag("GATEWAY_DEV_SESSIONS", False),
            anonymous_rate=_anonymous_rate(env),
        )
        env.check()
        return settings


def _rates(env: Env) -> dict[CallerKind, Rate]:
    """HEALTHCODE_GATEWAY_RATES overrides the defaults per kind: `person=5/30,checkpoint=20/60`
    (calls per second / burst)."""
    rates = dict(DEFAULT_RATES)
    for item in filter(None, (part.strip() for part in env.text("GATEWAY_RATES", "").split(","))):
        kind, _, figures = item.partition("=")
        per_second, _, burst = figures.partition("/")
        try:
            rate = Rate(float(per_second), float(burst))
            rates[CallerKind(kind.strip())] = rate
        except ValueError:
            env.invalid("GATEWAY_RATES", "must look like 'person=5/30,checkpoint=20/60' with known caller kinds")
            continue
        if rate.per_second <= 0 or rate.burst < 1:
            env.invalid("GATEWAY_RATES", "rates must be positive and bursts at least 1")
    return rates


def _anonymous_rate(env: Env) -> Rate:
    """HEALTHCODE_GATEWAY_ANONYMOUS_RATE: `2/10` (calls per second / burst, per client address)."""
    text = env.text("GATEWAY_ANONYMOUS_RATE", "")
    if not text:
        return ANONYMOUS_RATE
    per_second, _, burst = text.partition("/")
    try:
        rate = Rate(float(per_second), float(burst))
    except ValueError:
        env.invalid("GATEWAY_ANONYMOUS_RATE", "must look like '2/10' (calls per second / burst)")
        return ANONYMOUS_RATE
    if rate.per_second <= 0 or rate.burst < 1:
        env.invalid("GATEWAY_ANONYMOUS_RATE", "the rate must be positive and the burst at least 1")
    return rate


def _read_file(env: Env, name: str) -> bytes | None:
    path = env.text(name, "")
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError:
        env.invalid(name, "names a file that cannot be read")
        return None


@dataclass
class StartedGateway:
    grpc: HostedServer
    http_port: int
    forwarder: Forwarder

    @property
    def address(self) -> str:
        return self.grpc.address


async def start_gateway(settings: GatewaySettings) -> StartedGateway:
    """Both front doors, started; stopping `grpc` (as run_until_signalled does) stops them both."""
    # Forwarding passes request ids and deadlines itself (no interceptor on its hot path); the
    # gateway's own few calls to identity (authorisation lookups, sign-in) use a propagating channel.
    channels = {name: open_channel(settings.addresses[name], propagate=False) for name in UPSTREAMS}
    identity_channel = open_channel(settings.addresses["identity"])
    identity = identity_pb2_grpc.IdentityServiceStub(identity_channel)
    keys = SessionKeys(settings.session_secrets)
    forwarder = Forwarder(channels, ROUTES, Scope(PersonDirectory(identity), settings.provinces),
                          RateLimits(settings.rates, settings.anonymous_rate),
                          LoadShedder(settings.max_in_flight, settings.max_heavy_in_flight,
                                      settings.max_heavy_per_caller), CodeCache(),
                          watches=StreamShares(settings.max_watches, settings.max_watches_per_person),
                          stream_limits=settings.stream_limits, sessions=SessionStanding(identity))
    runner = web.AppRunner(WebFrontDoor(forwarder, keys, identity, dev_sessions=settings.dev_sessions).application(),
                           access_log=None, handle_signals=False, shutdown_timeout=settings.grace_seconds)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.http_port)
    await site.start()
    http_port = runner.addresses[0][1]

    following = asyncio.create_task(follow_status_changes(channels["status"], forwarder.codes))

    async def close() -> None:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await runner.cleanup()
        for channel in (*channels.values(), identity_channel):
            await channel.close()

    def add_to_server(server: grpc.aio.Server) -> None:
        # Each method's handler is wrapped once here, so the server runs no interceptor per call.
        wrap = CallInterceptor(app.error_domain, app.name, app.text_limits).wrap
        server.add_generic_rpc_handlers(generic_handlers(ROUTES, forwarder, keys, wrap))

    app = App(name=NAME, service_names=PUBLIC_SERVICES, add_to_server=add_to_server, close=close, intercepted=False)
    credentials = None
    if settings.tls_certificate:
        # Every connection presents a client certificate: gRPC is for systems. A system may relay an
        # app's session token on its connection (the call then acts as that person); apps themselves
        # use HTTP/JSON. (grpcio cannot ask for a certificate without requiring one.)
        credentials = grpc.ssl_server_credentials([(settings.tls_key, settings.tls_certificate)],
                                                  root_certificates=settings.client_ca, require_client_auth=True)
        certificate_expires("gateway-server", settings.tls_certificate)
        certificate_expires("gateway-client-ca", settings.client_ca)
    server = await start_server(app, settings.host, settings.port, credentials=credentials,
                                health_port=settings.health_port)
    log.info("gateway_started", grpc=server.address, http_port=http_port, mutual_tls=credentials is not None)
    return StartedGateway(server, http_port, forwarder)

"""The one way tests start services: any of `cli.healthcode.SERVICES` (in its start order), and gateways
in front of them, on ephemeral ports of 127.0.0.1 against a given database, with a test's settings,
clock and keys; stopped cleanly, gateways first, then the services in reverse start order.

Every test (and every fixture, conftest.py included) that needs running servers starts them here;
tests/test_layout.py keeps it so. A bootstrap's `assemble` and `start_server` are called nowhere else.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from cli.healthcode import SERVICES
from gateway.bootstrap import GatewaySettings, StartedGateway, start_gateway
from gateway.credentials import SessionKeys
from gateway.devcredentials import DevCredentials, dev_credentials
from services.runtime.clock import Clock
from services.runtime.database import migrate
from services.runtime.server import App, HostedServer, ServiceSpec, start_server
from services.runtime.settings import Env
from tests.support import random_key

SPECS: dict[str, ServiceSpec] = {spec.name: spec for spec in SERVICES}
EVERY_SERVICE = tuple(SPECS)


HOST = "127.0.0.1"


def fresh_keys() -> dict[str, str]:
    """Fresh keys for every secret the services read (a test's settings may replace any of them)."""
    return {"HEALTHCODE_IDENTITY_SEALING_KEYS": f"test1:{random_key()}",
            "HEALTHCODE_IDENTITY_LOOKUP_KEY": random_key(),
            "HEALTHCODE_FEDERATION_KEY": random_key(),
            "HEALTHCODE_STATUS_SEALING_KEYS": f"test1:{random_key()}",
            "HEALTHCODE_STATUS_AUDIT_KEY": random_key(),
            "HEALTHCODE_VERIFICATION_EXCHANGE_KEY": random_key(),
            "HEALTHCODE_VERIFICATION_VENUE_KEY": random_key()}


@dataclass(frozen=True)
class Database:
    """A database of a test's own on a Postgres server, every service's schema migrated."""

    server_url: str
    name: str

    @property
    def url(self) -> str:
        return urlunsplit(urlsplit(self.server_url)._replace(path="/" + self.name))

    async def drop(self) -> None:
        """Dropped even while connections remain, so a shared server keeps nothing of ours."""
        admin = await asyncpg.connect(self.server_url)
        try:
            await admin.execute(f'DROP DATABASE "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


async def new_database(server_url: str, prefix: str = "healthcode_test", *, migrated: bool = True) -> Database:
    """A database of its own, with every service's migrations applied (none when not `migrated`)."""
    database = Database(server_url, f"{prefix}_{secrets.token_hex(4)}")
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database.name}"')
    finally:
        await admin.close()
    for spec in SERVICES if migrated else ():
        await migrate(database.url, spec.schema, spec.migrations)
    return database


@dataclass
class Service:
    """One started service: its settings, its server, and the parts its bootstrap hands tests."""

    spec: ServiceSpec
    settings: object
    server: HostedServer
    parts: object | None = None

    @property
    def address(self) -> str:
        return self.server.address


async def _start(spec: ServiceSpec, settings, clock: Clock | None) -> Service:
    app, parts = await spec.assemble(settings, clock)
    return Service(spec, settings, await start_server(app, HOST, 0), parts)


@asynccontextmanager
async def replica(name: str, settings, clock: Clock | None, grace: float = 0.5) -> AsyncIterator[Service]:
    """Another replica of a service (these settings: its database and keys), stopped after the block."""
    started = await _start(SPECS[name], settings, clock)
    try:
        yield started
    finally:
        await started.server.stop(grace=grace)


@asynccontextmanager
async def hosted(app: App, grace: float = 1) -> AsyncIterator[HostedServer]:
    """An app of a test's own making (a servicer alone, over parts the test built), hosted as a service
    is, stopped after the block."""
    server = await start_server(app, HOST, 0)
    try:
        yield server
    finally:
        await server.stop(grace=grace)


@dataclass
class Gateway:
    """A started gateway: its mutual-TLS credentials (development PKI) and the session keys it accepts."""

    started: StartedGateway
    credentials: DevCredentials
    keys: SessionKeys

    @property
    def address(self) -> str:
        return self.started.address

    async def stop(self, grace: float = 0.5) -> None:
        await self.started.grpc.stop(grace=grace)  # both its doors


@dataclass
class Platform:
    """Services started against one database, each reading its settings from one environment (as
    `healthcode up` does): the database, every port 0, fresh keys, the test's settings, and each started
    service's address for the ones started after it."""

    database_url: str
    clock: Clock | None = None  # None: the system clock
    settings: Mapping[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(init=False)
    services: dict[str, Service] = field(init=False, default_factory=dict)  # the running ones, in start order
    gateways: list[Gateway] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.environ = {"HEALTHCODE_DATABASE_URL": self.database_url,
                        **{f"HEALTHCODE_{name.upper()}_PORT": "0" for name in SPECS},
                        **fresh_keys(), **self.settings}

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    def read_settings(self, name: str):
        return SPECS[name].settings.read(Env(self.environ))

    async def start(self, name: str, settings=None) -> Service:
        """Starts a service (again, after `stop_service`) from `settings`, else from the environment;
        the services started after it reach it at its address (unless the test's settings name one)."""
        if name in self.services:
            raise RuntimeError(f"{name} is already running")
        started = await _start(SPECS[name], settings if settings is not None else self.read_settings(name),
                               self.clock)
        self.services[name] = started
        address = f"HEALTHCODE_{name.upper()}_ADDRESS"
        if address not in self.settings:
            self.environ[address] = started.address
        return started

    async def stop_service(self, name: str, grace: float = 0) -> Service:
        """Stops one service (its callers' calls to it then fail); the rest keeps running."""
        stopped = self.services.pop(name)
        await stopped.server.stop(grace=grace)
        return stopped

    def addresses(self) -> dict[str, str]:
        return {name: service.address for name, service in self.services.items()}

    async def add_gateway(self, directory: Path, settings: Mapping[str, str] | None = None) -> Gateway:
        """A gateway in front of the running services: its development PKI in `directory`, a fresh
        session key, every port 0, then the test's gateway settings."""
        credentials = dev_credentials(directory)
        environ = {**{f"HEALTHCODE_{name.upper()}_ADDRESS": address for name, address in self.addresses().items()},
                   "HEALTHCODE_GATEWAY_PORT": "0", "HEALTHCODE_GATEWAY_HTTP_PORT": "0",
                   "HEALTHCODE_GATEWAY_HEALTH_PORT": "0",
                   "HEALTHCODE_GATEWAY_TLS_CERT_FILE": str(credentials.server_certificate),
                   "HEALTHCODE_GATEWAY_TLS_KEY_FILE": str(credentials.server_key),
                   "HEALTHCODE_GATEWAY_CLIENT_CA_FILE": str(credentials.ca),
                   "HEALTHCODE_GATEWAY_SESSION_KEYS": f"s1:{random_key()}", **(settings or {})}
        gateway_settings = GatewaySettings.read(Env(environ))
        gateway = Gateway(await start_gateway(gateway_settings), credentials,
                          SessionKeys(gateway_settings.session_secrets))
        self.gateways.append(gateway)
        return gateway

    async def stop(self, grace: float = 0.5) -> None:
        """Gateways first, then the services in reverse start order (stopping twice is harmless)."""
        for gateway in reversed(self.gateways):
            await gateway.stop(grace)
        for name in reversed(list(self.services)):
            await self.stop_service(name, grace)


async def start_platform(database_url: str, services: Iterable[str] = EVERY_SERVICE, *,
                         clock: Clock | None = None, settings: Mapping[str, str] | None = None) -> Platform:
    """`services` (names from SERVICES; started in SERVICES' order) against `database_url`."""
    platform = Platform(database_url, clock, dict(settings or {}))
    wanted = set(services)
    unknown = wanted - set(SPECS)
    if unknown:
        raise ValueError(f"no such services: {sorted(unknown)}")
    try:
        for name in SPECS:
            if name in wanted:
                await platform.start(name)
    except BaseException:
        await platform.stop(grace=0)
        raise
    return platform


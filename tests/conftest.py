"""Session fixtures: a real Postgres (HEALTHCODE_TEST_DATABASE_URL, else an embedded one), a fresh
database with every schema migrated, and the services on ephemeral ports."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc
import pytest
from healthcode.identity.v1 import identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2_grpc
from healthcode.status.v1 import status_pb2_grpc

from cli.healthcode import SERVICES
from services.identity import bootstrap as identity
from services.itinerary import bootstrap as itinerary
from services.runtime.database import migrate
from services.runtime.postgres import EmbeddedPostgres
from services.runtime.server import HostedServer, start_server
from services.runtime.settings import Env
from services.status import bootstrap as status
from tests.support import FaceProvider, HouseholdRegister, ManualClock, random_key


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("HEALTHCODE_TEST_DATABASE_URL")
    if url:
        yield url
        return
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", keep=False)
    yield embedded.start()
    embedded.stop()


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A database of our own on that server, so a shared server keeps nothing of ours."""
    name = f"healthcode_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(postgres_server_url, name)
    for service in SERVICES:
        await migrate(url, service.schema, service.migrations)
    yield url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    return ManualClock()


@dataclass
class IdentityEnv:
    server: HostedServer
    channel: grpc.aio.Channel
    persons: identity_pb2_grpc.IdentityServiceStub
    admin: identity_pb2_grpc.FaceProviderAdminServiceStub
    provider: FaceProvider
    settings: identity.IdentitySettings
    register: HouseholdRegister = None  # the household register, a provider of relation attestations


@pytest.fixture(scope="session")
async def identity_env(database_url: str, clock: ManualClock) -> AsyncIterator[IdentityEnv]:
    settings = identity.IdentitySettings.read(Env({
        "HEALTHCODE_DATABASE_URL": database_url,
        "HEALTHCODE_IDENTITY_PORT": "0",
        "HEALTHCODE_IDENTITY_SEALING_KEYS": f"test1:{random_key()}",
        "HEALTHCODE_IDENTITY_LOOKUP_KEY": random_key(),
        "HEALTHCODE_FEDERATION_KEY": random_key(),
    }))
    server = await start_server(await identity.build_app(settings, clock), "127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(server.address)
    env = IdentityEnv(server, channel, identity_pb2_grpc.IdentityServiceStub(channel),
                      identity_pb2_grpc.FaceProviderAdminServiceStub(channel), FaceProvider(), settings)
    await env.admin.RegisterFaceProviderKey(_key_request(env.provider, clock))
    env.register = HouseholdRegister()
    await env.admin.RegisterFaceProviderKey(env.register.key_request(clock.now() - timedelta(days=365)))
    yield env
    await channel.close()
    await server.stop(grace=1)


def _key_request(provider: FaceProvider, clock: ManualClock):
    from healthcode.identity.v1 import identity_pb2 as pb

    from tests.support import timestamp

    return pb.RegisterFaceProviderKeyRequest(
        provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=provider.public_key_der,
        valid_from_time=timestamp(clock.now() - timedelta(days=365)))


@dataclass
class ItineraryEnv:
    server: HostedServer
    stub: itinerary_pb2_grpc.ItineraryServiceStub
    settings: itinerary.ItinerarySettings


@pytest.fixture(scope="session")
async def itinerary_env(database_url: str, clock: ManualClock, identity_env: IdentityEnv) -> AsyncIterator[ItineraryEnv]:
    settings = itinerary.ItinerarySettings.read(Env({
        "HEALTHCODE_DATABASE_URL": database_url,
        "HEALTHCODE_IDENTITY_ADDRESS": identity_env.server.address,
    }))
    server = await start_server(await itinerary.build_app(settings, clock), "127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(server.address)
    yield ItineraryEnv(server, itinerary_pb2_grpc.ItineraryServiceStub(channel), settings)
    await channel.close()
    await server.stop(grace=1)


@dataclass
class StatusEnv:
    server: HostedServer
    stub: status_pb2_grpc.StatusServiceStub
    admin: status_pb2_grpc.StatusAdminServiceStub
    parts: status.StatusParts
    settings: status.StatusSettings


@pytest.fixture(scope="session")
async def status_env(database_url: str, clock: ManualClock, identity_env: IdentityEnv,
                     itinerary_env: ItineraryEnv) -> AsyncIterator[StatusEnv]:
    settings = status.StatusSettings.read(Env({
        "HEALTHCODE_DATABASE_URL": database_url,
        "HEALTHCODE_STATUS_PORT": "0",
        "HEALTHCODE_IDENTITY_ADDRESS": identity_env.server.address,
        "HEALTHCODE_ITINERARY_ADDRESS": itinerary_env.server.address,
        "HEALTHCODE_STATUS_SEALING_KEYS": f"test1:{random_key()}",
        "HEALTHCODE_STATUS_AUDIT_KEY": random_key(),
        # Tests drive the scheduler, the follower and recomputation themselves.
        "HEALTHCODE_STATUS_FOLLOW_INTERVAL_SECONDS": "0",
        "HEALTHCODE_STATUS_STAY_FOLLOW_INTERVAL_SECONDS": "0",
        "HEALTHCODE_STATUS_NAME_FOLLOW_INTERVAL_SECONDS": "0",
        "HEALTHCODE_STATUS_RENEWAL_HORIZON_MINUTES": "0",
        "HEALTHCODE_STATUS_REVIEW_INTERVAL_SECONDS": "3600",
        "HEALTHCODE_STATUS_AUDIT_CHECK_INTERVAL_SECONDS": "86400",
        "HEALTHCODE_STATUS_DEV_SIGNING_KEYS": "true",
    }))
    app, parts = await status.assemble(settings, clock)
    server = await start_server(app, "127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(server.address)
    yield StatusEnv(server, status_pb2_grpc.StatusServiceStub(channel),
                    status_pb2_grpc.StatusAdminServiceStub(channel), parts, settings)
    await channel.close()
    await server.stop(grace=1)

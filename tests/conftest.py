"""Session fixtures: a real Postgres (HEALTHCODE_TEST_DATABASE_URL, else an embedded one), a fresh
database with every schema migrated, and the services on ephemeral ports (started by
tests/support/platform.py, the one starter; these fixtures only add stubs and first registrations)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import grpc
import pytest
from healthcode.identity.v1 import identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2_grpc
from healthcode.status.v1 import status_pb2_grpc

from services.identity import bootstrap as identity
from services.itinerary import bootstrap as itinerary
from services.runtime.postgres import EmbeddedPostgres
from services.runtime.server import HostedServer
from services.status import bootstrap as status
from tests.support import FaceProvider, HouseholdRegister, ManualClock
from tests.support.platform import Platform, new_database


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("HEALTHCODE_TEST_DATABASE_URL")
    if url:
        yield url
        return
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", keep=False)
    yield embedded.start()
    embedded.stop()


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A database of our own on that server, so a shared server keeps nothing of ours."""
    database = await new_database(postgres_server_url)
    yield database.url
    await database.drop()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
async def session_platform(database_url: str, clock: ManualClock) -> AsyncIterator[Platform]:
    """The session's services, each started when a test first needs it (by the fixtures below) and all
    stopped at the end of the session."""
    platform = Platform(database_url, clock, {
        # Tests drive status's scheduler, the follower and recomputation themselves.
        "HEALTHCODE_STATUS_FOLLOW_INTERVAL_SECONDS": "0",
        "HEALTHCODE_STATUS_STAY_FOLLOW_INTERVAL_SECONDS": "0",
        "HEALTHCODE_STATUS_NAME_FOLLOW_INTERVAL_SECONDS": "0",
        "HEALTHCODE_STATUS_RENEWAL_HORIZON_MINUTES": "0",
        "HEALTHCODE_STATUS_REVIEW_INTERVAL_SECONDS": "3600",
        "HEALTHCODE_STATUS_AUDIT_CHECK_INTERVAL_SECONDS": "86400",
        "HEALTHCODE_STATUS_DEV_SIGNING_KEYS": "true",
    })
    yield platform
    await platform.stop(grace=1)


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
async def identity_env(session_platform: Platform, clock: ManualClock) -> AsyncIterator[IdentityEnv]:
    started = await session_platform.start("identity")
    channel = grpc.aio.insecure_channel(started.address)
    env = IdentityEnv(started.server, channel, identity_pb2_grpc.IdentityServiceStub(channel),
                      identity_pb2_grpc.FaceProviderAdminServiceStub(channel), FaceProvider(), started.settings)
    await env.admin.RegisterFaceProviderKey(_key_request(env.provider, clock))
    env.register = HouseholdRegister()
    await env.admin.RegisterFaceProviderKey(env.register.key_request(clock.now() - timedelta(days=365)))
    yield env
    await channel.close()


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
async def itinerary_env(session_platform: Platform, identity_env: IdentityEnv) -> AsyncIterator[ItineraryEnv]:
    started = await session_platform.start("itinerary")  # reaching identity_env's identity
    channel = grpc.aio.insecure_channel(started.address)
    yield ItineraryEnv(started.server, itinerary_pb2_grpc.ItineraryServiceStub(channel), started.settings)
    await channel.close()


@dataclass
class StatusEnv:
    server: HostedServer
    stub: status_pb2_grpc.StatusServiceStub
    admin: status_pb2_grpc.StatusAdminServiceStub
    parts: status.StatusParts
    settings: status.StatusSettings


@pytest.fixture(scope="session")
async def status_env(session_platform: Platform, identity_env: IdentityEnv,
                     itinerary_env: ItineraryEnv) -> AsyncIterator[StatusEnv]:
    started = await session_platform.start("status")  # reaching identity_env's and itinerary_env's
    channel = grpc.aio.insecure_channel(started.address)
    yield StatusEnv(started.server, status_pb2_grpc.StatusServiceStub(channel),
                    status_pb2_grpc.StatusAdminServiceStub(channel), started.parts, started.settings)
    await channel.close()

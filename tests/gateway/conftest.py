"""Two provinces' deployments (Hubei and Jiangsu), each with its own gateway in front, started once
for the gateway's tests. Every test here talks to the platform through a gateway only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc

from tests.support.deployments import FederationPki, start_provinces
from tests.support.gateway import Front, start_front
from tests.support import FaceProvider, timestamp


@dataclass
class Platform:
    hubei: Front
    jiangsu: Front
    pki: FederationPki | None = None  # the federation CA their verifications trust (the fuzz tests' peers)


@pytest.fixture(scope="package")
async def platform(postgres_server_url, tmp_path_factory) -> AsyncIterator[Platform]:
    provinces = await start_provinces(postgres_server_url, status_follow_seconds=0.2)
    pki = tmp_path_factory.mktemp("gateway-pki")
    both = Platform(await start_front(provinces.hubei, pki), await start_front(provinces.jiangsu, pki))
    yield both
    for front in (both.hubei, both.jiangsu):
        await front.stop()
    await provinces.stop()


@pytest.fixture(scope="package")
async def hostile_platform(postgres_server_url, tmp_path_factory) -> AsyncIterator[Platform]:
    """Deployments and gateways of their own for the fuzz tests: what hostile requests store (risk
    areas, persons, keys) and the rate limits they use up never reach the other tests."""
    provinces = await start_provinces(postgres_server_url)
    pki = tmp_path_factory.mktemp("hostile-pki")
    both = Platform(await start_front(provinces.hubei, pki), await start_front(provinces.jiangsu, pki), provinces.pki)
    yield both
    for front in (both.hubei, both.jiangsu):
        await front.stop()
    await provinces.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
async def provider(platform) -> FaceProvider:
    """A face-check provider registered with Hubei's identity by the national operator."""
    provider = FaceProvider()
    admin = identity_pb2_grpc.FaceProviderAdminServiceStub(platform.hubei.channel("national-operator"))
    await admin.RegisterFaceProviderKey(identity_pb2.RegisterFaceProviderKeyRequest(
        provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=provider.public_key_der,
        valid_from_time=timestamp(datetime.now(UTC) - timedelta(days=3650))))
    return provider

"""Two provinces' deployments (Hubei and Jiangsu), each with its own gateway in front, started once
for the gateway's tests. Every test here talks to the platform through a gateway only."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
import pytest

from gateway.bootstrap import GatewaySettings, StartedGateway, start_gateway
from gateway.credentials import SessionKeys
from gateway.devcredentials import DevCredentials, dev_credentials
from gateway.principals import CallerKind, Principal
from services.runtime.settings import Env
from tests.support import random_key
from tests.verification.federation import Deployment, FederationPki, start_provinces


@dataclass
class Front:
    """A started gateway and the means to call it as any kind of caller."""

    deployment: Deployment
    started: StartedGateway
    keys: SessionKeys
    credentials: DevCredentials
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.started.http_port}"

    def token(self, kind: CallerKind, subject: str, province: str, scopes: frozenset[str] = frozenset()) -> str:
        return self.keys.mint(Principal(kind, subject, province, scopes), 3600)

    def channel(self, client: str | None = None) -> grpc.aio.Channel:
        """A TLS channel to the gRPC front door, with a development client certificate if named."""
        key = certificate = None
        if client is not None:
            certificate_path, key_path = self.credentials.client(client)
            certificate, key = certificate_path.read_bytes(), key_path.read_bytes()
        credentials = grpc.ssl_channel_credentials(self.credentials.ca.read_bytes(), key, certificate)
        channel = grpc.aio.secure_channel(self.started.address, credentials,
                                          options=[("grpc.use_local_subchannel_pool", 1)])
        self.channels.append(channel)
        return channel

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.close()
        await self.started.grpc.stop(grace=0.5)


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def start_front(deployment: Deployment, directory: Path, **settings: str) -> Front:
    credentials = dev_credentials(directory)
    session_secret = random_key()
    addresses = {f"HEALTHCODE_{server.app.name.upper()}_ADDRESS": server.address for server in deployment.servers}
    environ = {**addresses, "HEALTHCODE_GATEWAY_PORT": "0", "HEALTHCODE_GATEWAY_HTTP_PORT": "0",
               "HEALTHCODE_GATEWAY_HEALTH_PORT": "0",
               "HEALTHCODE_GATEWAY_TLS_CERT_FILE": str(credentials.server_certificate),
               "HEALTHCODE_GATEWAY_TLS_KEY_FILE": str(credentials.server_key),
               "HEALTHCODE_GATEWAY_CLIENT_CA_FILE": str(credentials.ca),
               "HEALTHCODE_GATEWAY_SESSION_KEYS": f"s1:{session_secret}",
               "HEALTHCODE_GATEWAY_PROVINCES": deployment.province,
               # Tests make many calls as one caller in a few seconds; the limits have tests of their own.
               "HEALTHCODE_GATEWAY_RATES": ",".join(f"{kind}=10000/10000" for kind in CallerKind),
               "HEALTHCODE_GATEWAY_ANONYMOUS_RATE": "10000/10000", **settings}
    started = await start_gateway(GatewaySettings.read(Env(environ)))
    for _ in range(100):  # its code cache answers once it follows status's changes
        if started.forwarder.codes.live:
            break
        await asyncio.sleep(0.05)
    return Front(deployment, started, SessionKeys({"s1": base64.b64decode(session_secret)}), credentials)


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


def as_json(attestation) -> dict:
    """A FaceAttestation as the HTTP door reads it (base64 claims and signature)."""
    return {"claims": base64.b64encode(attestation.claims).decode(),
            "signature": base64.b64encode(attestation.signature).decode()}


async def sign_in_challenge(front: Front, http: aiohttp.ClientSession) -> str:
    async with http.post(f"{front.url}/v1/sign-in-challenges") as response:
        assert response.status == 200
        return (await response.json())["challenge"]

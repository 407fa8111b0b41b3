"""Test support moved out of tests/gateway/conftest.py: definitions other test modules use."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from pathlib import Path
import shutil

import aiohttp
import grpc
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from gateway.bootstrap import StartedGateway
from gateway.credentials import SessionKeys
from gateway.devcredentials import DevCredentials
from gateway.principals import CallerKind, Principal
from tests.support.deployments import Deployment


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
    """A gateway (the starter's) in front of the deployment, speaking for its province."""
    gateway = await deployment.platform.add_gateway(directory, {
        "HEALTHCODE_GATEWAY_PROVINCES": deployment.province,
        # Tests make many calls as one caller in a few seconds; the limits have tests of their own.
        "HEALTHCODE_GATEWAY_RATES": ",".join(f"{kind}=10000/10000" for kind in CallerKind),
        "HEALTHCODE_GATEWAY_ANONYMOUS_RATE": "10000/10000", **settings})
    started = gateway.started
    for _ in range(100):  # its code cache answers once it follows status's changes
        if started.forwarder.codes.live:
            break
        await asyncio.sleep(0.05)
    return Front(deployment, started, gateway.keys, gateway.credentials)


def as_json(attestation) -> dict:
    """A FaceAttestation as the HTTP door reads it (base64 claims and signature)."""
    return {"claims": base64.b64encode(attestation.claims).decode(),
            "signature": base64.b64encode(attestation.signature).decode()}


async def sign_in_challenge(front: Front, http: aiohttp.ClientSession) -> str:
    async with http.post(f"{front.url}/v1/sign-in-challenges") as response:
        assert response.status == 200
        return (await response.json())["challenge"]


HUBEI, JIANGSU, NATIONAL = "420000", "320000", "000000"


STATUS, ADMIN_SERVICE = "healthcode.status.v1.StatusService", "healthcode.status.v1.StatusAdminService"


VERIFICATION, ITINERARY = "healthcode.verification.v1.VerificationService", "healthcode.itinerary.v1.ItineraryService"


class Caller:
    """One caller of the Hubei gateway's HTTP door, with a session token for its credential."""

    def __init__(self, front, http, kind: CallerKind, subject: str, province: str = HUBEI,
                 scopes: frozenset[str] = frozenset()) -> None:
        self._front, self._http = front, http
        self._headers = {"Authorization": f"Bearer {front.token(kind, subject, province, scopes)}"}

    async def rpc(self, service: str, method: str, body: dict) -> tuple[int, dict]:
        async with self._http.post(f"{self._front.url}/v1/rpc/{service}/{method}", json=body,
                                   headers=self._headers) as response:
            return response.status, await response.json()

    async def get(self, path: str) -> tuple[int, dict]:
        async with self._http.get(f"{self._front.url}{path}", headers=self._headers) as response:
            return response.status, await response.json()


def reason(answer: tuple[int, dict]) -> tuple[int, str]:
    return answer[0], answer[1].get("error", {}).get("reason", "")


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="./dev test installs Debian's chromium and chromium-driver; not found here")


def _browser(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # As root in a closed network: no sandbox, and none of Chromium's own calls home.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=420,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))

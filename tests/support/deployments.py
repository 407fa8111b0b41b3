"""Two provinces as separate deployments for tests: each its own database, its own identity,
itinerary, status and verification, and its own clock; their verifications are peers, over
mutual TLS with a federation CA made for the test (each deployment's certificate names its province)."""

from __future__ import annotations

import asyncio
import base64
import socket
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc
from healthcode.verification.v1 import verification_pb2, verification_pb2_grpc

from services.runtime import pki
from services.runtime.server import HostedServer
from services.status import bootstrap as status
from services.verification import bootstrap as verification
from services.verification.recognition.exchange_root import certify
from services.verification.recognition.federation_tls import FederationTls, issue_deployment
from tests.support import ManualClock, passport, random_key, timestamp
from tests.support.platform import Database, Platform, new_database, start_platform


def free_port() -> int:
    """A port free now, for a peer address needed before its server starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FederationPki:
    """A federation CA for the test, and certificates it (or an outsider CA) issues, as files."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="federation-pki-")
        self.path = Path(self._directory.name)
        self.ca, self._ca_key = pki.new_ca("test federation CA")
        pki.write(self.path / "ca.pem", pki.certificate_pem(self.ca))
        # The exchange root: it certifies each deployment's exchange key.
        self.exchange_root, self._exchange_root_key = pki.new_ca("test federation exchange root")
        pki.write(self.path / "exchange-root.pem", pki.certificate_pem(self.exchange_root))

    def certify_exchange_key(self, name: str, provinces: frozenset[str], secret: bytes, *,
                             outsider: bool = False) -> dict[str, str]:
        """The HEALTHCODE_VERIFICATION_EXCHANGE_* files certifying the exchange key `secret` derives;
        `outsider`: certified by a root the federation does not know."""
        root, root_key = pki.new_ca("outsider root") if outsider else (self.exchange_root, self._exchange_root_key)
        certificate = certify(root, root_key, verification.exchange_key_from_secret(secret).public_key(), provinces,
                              datetime.now(UTC))
        pki.write(self.path / f"{name}-exchange.pem", pki.certificate_pem(certificate))
        return {"HEALTHCODE_VERIFICATION_EXCHANGE_ROOT_FILE": str(self.path / "exchange-root.pem"),
                "HEALTHCODE_VERIFICATION_EXCHANGE_CERT_FILE": str(self.path / f"{name}-exchange.pem")}

    def exchange_certificate(self, public_key, provinces: frozenset[str], *, outsider: bool = False) -> bytes:
        """DER: the root's (or an outsider's) certificate of an exchange public key."""
        from cryptography.hazmat.primitives import serialization

        root, root_key = pki.new_ca("outsider root") if outsider else (self.exchange_root, self._exchange_root_key)
        return certify(root, root_key, public_key, provinces, datetime.now(UTC)).public_bytes(
            serialization.Encoding.DER)

    def issue(self, name: str, provinces: frozenset[str], *, outsider: bool = False) -> dict[str, str]:
        """The HEALTHCODE_VERIFICATION_FEDERATION_* files of a deployment speaking for `provinces`;
        `outsider`: signed by a CA the federation does not know."""
        ca, ca_key = pki.new_ca("outsider CA") if outsider else (self.ca, self._ca_key)
        certificate, key = issue_deployment(ca, ca_key, name, provinces)
        pki.write_pair(self.path / f"{name}.pem", self.path / f"{name}.key", certificate, key)
        return {"HEALTHCODE_VERIFICATION_FEDERATION_CA_FILE": str(self.path / "ca.pem"),
                "HEALTHCODE_VERIFICATION_FEDERATION_CERT_FILE": str(self.path / f"{name}.pem"),
                "HEALTHCODE_VERIFICATION_FEDERATION_KEY_FILE": str(self.path / f"{name}.key")}

    def tls(self, name: str, provinces: frozenset[str], *, outsider: bool = False) -> FederationTls:
        files = self.issue(name, provinces, outsider=outsider)
        return FederationTls.from_files(*(Path(files[f"HEALTHCODE_VERIFICATION_FEDERATION_{part}_FILE"])
                                          for part in ("CA", "CERT", "KEY")))

    def close(self) -> None:
        self._directory.cleanup()


@dataclass
class Deployment:
    province: str
    platform: Platform  # its identity, itinerary, status and verification
    database: Database
    channels: list[grpc.aio.Channel] = field(default_factory=list)
    persons: identity_pb2_grpc.IdentityServiceStub | None = None
    status: status_pb2_grpc.StatusServiceStub | None = None
    status_admin: status_pb2_grpc.StatusAdminServiceStub | None = None
    verifier: verification_pb2_grpc.VerificationServiceStub | None = None
    recognition_admin: verification_pb2_grpc.RecognitionAdminServiceStub | None = None
    parts: verification.VerificationParts | None = None
    status_parts: status.StatusParts | None = None
    exchange_secret: bytes = b""
    federation_address: str = ""  # its federation port (mutual TLS)
    verification_settings: verification.VerificationSettings | None = None

    @property
    def clock(self) -> ManualClock:
        return self.platform.clock

    @property
    def servers(self) -> list[HostedServer]:
        """The running servers, in start order."""
        return [service.server for service in self.platform.services.values()]

    @property
    def drop(self) -> tuple[str, str]:
        """(server URL, database): dropped on stop, so a shared server keeps nothing."""
        return self.database.server_url, self.database.name

    async def stop_verification(self) -> None:
        """Verification goes down (its peers' deliveries to it then fail); the rest keeps running."""
        await self.platform.stop_service("verification", grace=0)

    async def start_verification(self) -> None:
        """Verification comes back on the same federation port, over the same database."""
        started = await self.platform.start("verification", self.verification_settings)
        self.parts = started.parts
        self.federation_address = started.server.listener_address(verification.FEDERATION_LISTENER)
        channel = self._channel(started.address)
        self.verifier = verification_pb2_grpc.VerificationServiceStub(channel)
        self.recognition_admin = verification_pb2_grpc.RecognitionAdminServiceStub(channel)

    def _channel(self, address: str) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(address)
        self.channels.append(channel)
        return channel

    async def resident(self) -> str:
        """A person whose home province is this deployment's."""
        response = await self.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
            name="路人乙", document=passport(), home_province_code=self.province))
        return response.person.person_id

    async def code(self, person_id: str) -> str:
        return (await self.status.IssueCode(status_pb2.IssueCodeRequest(person_id=person_id))).payload

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.close()
        await self.platform.stop(grace=0.5)
        await self.database.drop()


async def start_deployment(postgres_url: str, province: str, federation_port: int, peers: str,
                           federation_key: str, federation_pki: FederationPki,
                           status_follow_seconds: float = 0, **overrides: str) -> Deployment:
    """identity, itinerary, status (one signing key, for its province) and verification, whose
    FederationService listens on `federation_port` with a certificate naming `province`.

    Status follows itinerary's risk declarations every `status_follow_seconds` (0: never, tests
    start recomputation themselves)."""
    database = await new_database(postgres_url, f"healthcode_{province}")
    exchange = random_key()
    platform = await start_platform(database.url, ("identity", "itinerary", "status"), clock=ManualClock(), settings={
        "HEALTHCODE_FEDERATION_KEY": federation_key,
        "HEALTHCODE_STATUS_FOLLOW_INTERVAL_SECONDS": str(status_follow_seconds),
        "HEALTHCODE_STATUS_STAY_FOLLOW_INTERVAL_SECONDS": str(status_follow_seconds),
        # New keys sign at once here unless a test asks for the lead production has.
        "HEALTHCODE_STATUS_KEY_PUBLISH_LEAD_SECONDS": overrides.pop("HEALTHCODE_STATUS_KEY_PUBLISH_LEAD_SECONDS", "0"),
        "HEALTHCODE_VERIFICATION_FEDERATION_PORT": str(federation_port),
        **federation_pki.issue(f"deployment-{province}", frozenset({province})),
        **federation_pki.certify_exchange_key(f"deployment-{province}", frozenset({province}),
                                              base64.b64decode(exchange)),
        "HEALTHCODE_VERIFICATION_PROVINCES": province,
        "HEALTHCODE_VERIFICATION_PEERS": peers, "HEALTHCODE_VERIFICATION_EXCHANGE_KEY": exchange,
        # The outbox job runs often (its clock is the deployment's ManualClock: retries wait for it to move).
        "HEALTHCODE_VERIFICATION_OUTBOX_INTERVAL_SECONDS": "0.2",
        "HEALTHCODE_VERIFICATION_KEY_PUSH_INTERVAL_SECONDS": "0.2",
        # The exporter is off unless a test turns it on (it then follows every colour change).
        "HEALTHCODE_VERIFICATION_EXPORT_INTERVAL_SECONDS": "0",
        # Every manifest asked for is built afresh: a test sees the records it just published.
        "HEALTHCODE_VERIFICATION_MANIFEST_REUSE_SECONDS": "0", **overrides})
    deployment = Deployment(province, platform, database)
    status_channel = deployment._channel(platform["status"].address)
    deployment.status_parts = platform["status"].parts
    deployment.persons = identity_pb2_grpc.IdentityServiceStub(deployment._channel(platform["identity"].address))
    deployment.status = status_pb2_grpc.StatusServiceStub(status_channel)
    deployment.status_admin = status_pb2_grpc.StatusAdminServiceStub(status_channel)
    await deployment.status_admin.CreateSigningKey(status_pb2.CreateSigningKeyRequest(
        province_code=province, not_before_time=timestamp(deployment.clock.now() - timedelta(days=1))))
    deployment.verification_settings = platform.read_settings("verification")
    await deployment.start_verification()
    deployment.exchange_secret = base64.b64decode(exchange)
    return deployment


HUBEI, JIANGSU = "420000", "320000"


@dataclass
class Provinces:
    hubei: Deployment
    jiangsu: Deployment
    pki: FederationPki

    async def stop(self) -> None:
        await self.hubei.stop()
        await self.jiangsu.stop()
        self.pki.close()


SYNC_WAIT_SECONDS = 60


async def start_provinces(postgres_url: str, status_follow_seconds: float = 0, **overrides: str) -> Provinces:
    """Hubei and Jiangsu, peers of each other, their trust lists synced (`overrides`: more settings of both
    verifications)."""
    hubei_port, jiangsu_port = free_port(), free_port()
    federation_key = random_key()  # shared through the federation: both compute the same person references
    federation_pki = FederationPki()
    hubei = await start_deployment(postgres_url, HUBEI, hubei_port, f"{JIANGSU}=127.0.0.1:{jiangsu_port}",
                                   federation_key, federation_pki, status_follow_seconds, **overrides)
    jiangsu = await start_deployment(postgres_url, JIANGSU, jiangsu_port, f"{HUBEI}=127.0.0.1:{hubei_port}",
                                     federation_key, federation_pki, status_follow_seconds, **overrides)
    both = Provinces(hubei, jiangsu, federation_pki)
    await sync(both)
    return both


async def sync(p: Provinces) -> None:
    """Both pull each other's trust lists; a peer first tried before it was up is retried
    once its connection's backoff ends (about a second, far longer on a loaded machine: a readiness
    wait, so its bound is generous rather than tight)."""
    loop = asyncio.get_running_loop()
    for deployment in (p.hubei, p.jiangsu):
        give_up = loop.time() + SYNC_WAIT_SECONDS
        while True:
            response = await deployment.recognition_admin.SyncTrustList(verification_pb2.SyncTrustListRequest())
            if not response.unreachable_province_codes:
                break
            if loop.time() > give_up:
                raise AssertionError(f"{deployment.province} could not reach its peer in {SYNC_WAIT_SECONDS} s")
            await asyncio.sleep(0.1)

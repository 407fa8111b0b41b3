"""The commands as an operator runs them: `healthcode up` and one service alone, as real processes."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2 as pb
from healthcode.identity.v1 import identity_pb2_grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc
from healthcode.verification.v1 import verification_pb2, verification_pb2_grpc

from tests.support import id_card, random_key, years_from

pytestmark = pytest.mark.slow

HEALTHCODE = [sys.executable, "-m", "cli.healthcode"]
ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60


def _clean_environ(**overrides: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    environ.update(overrides)
    return environ


class Process:
    """A `healthcode` subprocess whose stdout we read for the addresses it prints."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output: list[str] = []

    @classmethod
    async def start(cls, *args: str, environ: dict[str, str]) -> Process:
        process = await asyncio.create_subprocess_exec(*HEALTHCODE, *args, cwd=ROOT, env=environ,
                                                       stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.STDOUT)
        return cls(process)

    async def wait_for_line(self, pattern: str) -> re.Match:
        async def read() -> re.Match:
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    raise AssertionError("process ended before printing " + pattern + ":\n" + "".join(self.output))
                self.output.append(line.decode())
                if match := re.search(pattern, line.decode()):
                    return match
        return await asyncio.wait_for(read(), STARTUP_TIMEOUT)

    async def stop(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        remaining, _ = await asyncio.wait_for(self.process.communicate(), STARTUP_TIMEOUT)
        self.output.append(remaining.decode())
        return self.process.returncode


EPHEMERAL_PORTS = {f"HEALTHCODE_{name}_PORT": "0" for name in (
    "IDENTITY", "ITINERARY", "STATUS", "VERIFICATION", "VERIFICATION_FEDERATION", "GATEWAY", "GATEWAY_HTTP", "GATEWAY_HEALTH", "METRICS")}


async def _through_the_gateway(up: Process, pki: Path, person_id: str) -> dict:
    """What `up` prints for the gateway works: mutual TLS with a development certificate, the page,
    the checkpoint page's token, and the metrics."""
    import aiohttp

    address = (await up.wait_for_line(r"gateway\s+grpcs://(\S+)"))[1]
    page = (await up.wait_for_line(r"page\s+(http://\S+)"))[1]
    checkpoint_token = (await up.wait_for_line(r"checkpoint\s+http://\S+#token=([^&\s]+)&anchor=\S+"))[1]
    metrics = (await up.wait_for_line(r"metrics\s+(http://\S+)"))[1]
    credentials = grpc.ssl_channel_credentials((pki / "ca.pem").read_bytes(),
                                               (pki / "clients" / "national-platform.key").read_bytes(),
                                               (pki / "clients" / "national-platform.pem").read_bytes())
    async with grpc.aio.secure_channel(address, credentials) as channel:
        status = await status_pb2_grpc.StatusServiceStub(channel).GetStatus(
            status_pb2.GetStatusRequest(person_id=person_id))
    async with aiohttp.ClientSession() as http:
        async with http.get(page) as response:
            page_ok = response.status == 200 and "健康码" in await response.text()
        async with http.post(f"{page}dev/sessions", json={"person_id": person_id}) as response:
            session = await response.json()
        async with http.get(f"{page}v1/persons/me/code",
                            headers={"Authorization": f"Bearer {session['token']}"}) as response:
            code = await response.json()
        async with http.post(f"{page}v1/verifications", json={"payload": code["payload"], "area_code": "420102"},
                             headers={"Authorization": f"Bearer {checkpoint_token}"}) as response:
            verdict = await response.json()
        async with http.get(metrics) as response:
            metrics_ok = "grpc_server_handled_total" in await response.text()
    return {"grpc": common_pb2.Colour.Name(status.status.colour), "page": page_ok, "checkpoint": verdict.get("decision"), "metrics": metrics_ok}


async def _federation_port(address: str, pki: Path) -> tuple[str, str]:
    """The federation port `up` prints refuses plaintext and answers mutual TLS with the development
    federation CA (refusing this deployment's own certificate: no peer speaks for our provinces)."""
    codes = []
    credentials = grpc.ssl_channel_credentials((pki / "ca.pem").read_bytes(), (pki / "deployment.key").read_bytes(),
                                               (pki / "deployment.pem").read_bytes())
    for channel in (grpc.aio.insecure_channel(address), grpc.aio.secure_channel(address, credentials)):
        try:
            await verification_pb2_grpc.FederationServiceStub(channel).GetTrustList(
                verification_pb2.GetTrustListRequest(), timeout=5)
            codes.append("OK")
        except grpc.aio.AioRpcError as error:
            codes.append(error.code().name)
        await channel.close()
    return tuple(codes)


async def test_up_keeps_its_data_across_a_restart(tmp_path):
    environ = _clean_environ(HEALTHCODE_DATA_DIR=str(tmp_path / "data"), **EPHEMERAL_PORTS)
    document = id_card(date(1985, 5, 5))

    first = await Process.start("up", environ=environ)
    address = (await first.wait_for_line(r"identity\s+grpc://(\S+)"))[1]
    itinerary_address = (await first.wait_for_line(r"itinerary\s+grpc://(\S+)"))[1]
    status_address = (await first.wait_for_line(r"status\s+grpc://(\S+)"))[1]
    verification_address = (await first.wait_for_line(r"verification\s+grpc://(\S+)"))[1]
    federation_address = (await first.wait_for_line(r"federation\s+grpcs://(\S+)"))[1]
    async with grpc.aio.insecure_channel(address) as channel, \
            grpc.aio.insecure_channel(itinerary_address) as itinerary_channel, \
            grpc.aio.insecure_channel(status_address) as status_channel, \
            grpc.aio.insecure_channel(verification_address) as verification_channel:
        registered = await identity_pb2_grpc.IdentityServiceStub(channel).RegisterPerson(
            pb.RegisterPersonRequest(name="林一", document=document))
        itinerary_health = await health_pb2_grpc.HealthStub(itinerary_channel).Check(
            health_pb2.HealthCheckRequest(service="healthcode.itinerary.v1.ItineraryService"))
        # The whole path on a development platform: a code issued by status passes at a checkpoint.
        code = await status_pb2_grpc.StatusServiceStub(status_channel).IssueCode(
            status_pb2.IssueCodeRequest(person_id=registered.person.person_id))
        verdict = await verification_pb2_grpc.VerificationServiceStub(verification_channel).VerifyCode(
            verification_pb2.VerifyCodeRequest(payload=code.payload, checkpoint_id="gate-1", area_code="110105"))
        gateway = await _through_the_gateway(first, tmp_path / "data" / "gateway", registered.person.person_id)
        federation = await _federation_port(federation_address, tmp_path / "data" / "federation")
    assert await first.stop() == 0
    assert federation == ("UNAVAILABLE", "PERMISSION_DENIED")
    federation_ca = (tmp_path / "data" / "federation" / "ca.pem").read_bytes()
    assert itinerary_health.status == health_pb2.HealthCheckResponse.SERVING
    assert (verdict.decision, verdict.reason) == (verification_pb2.DECISION_PASS, "")
    assert gateway == {"grpc": "COLOUR_GREEN", "page": True, "checkpoint": "DECISION_PASS", "metrics": True}

    second = await Process.start("up", environ=environ)
    address = (await second.wait_for_line(r"identity\s+grpc://(\S+)"))[1]
    async with grpc.aio.insecure_channel(address) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        found = await stub.LookupPersonByDocument(pb.LookupPersonByDocumentRequest(document=document))
        again = await stub.RegisterPerson(pb.RegisterPersonRequest(name="林一", document=document))
    assert await second.stop() == 0

    assert found.person.person_id == registered.person.person_id
    assert not again.created
    assert (tmp_path / "data" / "federation" / "ca.pem").read_bytes() == federation_ca  # the CA is kept


async def test_a_call_in_flight_completes_during_graceful_shutdown(database_url, identity_env, db):
    holder_document, child_document = id_card(), id_card(years_from(date.today(), -5))
    holder = (await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name="韩一", document=holder_document))).person
    child = (await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name="韩小", document=child_document))).person
    # The service in its own process reads the real time.
    attestation = identity_env.register.relation(holder_document, child_document, datetime.now(UTC))
    settings = identity_env.settings
    environ = _clean_environ(
        HEALTHCODE_DATABASE_URL=database_url, HEALTHCODE_IDENTITY_PORT="0", HEALTHCODE_METRICS_PORT="0", HEALTHCODE_GRACE_SECONDS="30",
        HEALTHCODE_IDENTITY_SEALING_KEYS=",".join(f"{k}:{base64.b64encode(v).decode()}"
                                                  for k, v in settings.sealing_keys.items()),
        HEALTHCODE_IDENTITY_LOOKUP_KEY=base64.b64encode(settings.lookup_key).decode(),
        HEALTHCODE_FEDERATION_KEY=base64.b64encode(settings.federation_key).decode())
    service = await Process.start("identity", environ=environ)
    address = (await service.wait_for_line(r"identity grpc://(\S+)"))[1]

    async with db.acquire() as blocker, grpc.aio.insecure_channel(address) as channel:
        # Hold the holder's row so LinkDependent waits inside the server.
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM identity.persons WHERE person_id = $1 FOR UPDATE", holder.person_id)
        in_flight = asyncio.ensure_future(identity_pb2_grpc.IdentityServiceStub(channel).LinkDependent(
            pb.LinkDependentRequest(holder_person_id=holder.person_id, dependent_person_id=child.person_id,
                                    relation=pb.RELATION_PARENT, relation_attestation=attestation)))
        await _wait_until_blocked_on_lock(db)
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING

        service.process.send_signal(signal.SIGTERM)
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        await transaction.rollback()
        response = await in_flight

    assert response.created
    assert response.link.basis == pb.LINK_BASIS_ATTESTED_GUARDIANSHIP
    remaining, _ = await asyncio.wait_for(service.process.communicate(), STARTUP_TIMEOUT)
    assert service.process.returncode == 0
    assert b"shutdown_finished" in remaining


async def _wait_until_blocked_on_lock(db) -> None:
    """Polls pg_stat_activity until the service's backend waits on our row lock."""
    for _ in range(500):
        if await db.fetchval("""SELECT count(*) FROM pg_stat_activity
                                WHERE application_name = 'healthcode-identity' AND wait_event_type = 'Lock'"""):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the call never reached the database lock")


async def test_a_service_started_without_its_settings_fails_fast_naming_them():
    service = await Process.start("identity", environ=_clean_environ())
    output, _ = await asyncio.wait_for(service.process.communicate(), STARTUP_TIMEOUT)

    assert service.process.returncode == 2
    assert b"HEALTHCODE_DATABASE_URL is required" in output
    assert b"HEALTHCODE_IDENTITY_LOOKUP_KEY is required" in output
    assert b"HEALTHCODE_FEDERATION_KEY is required" in output


async def test_a_service_runs_alone_with_a_settings_only_environment(database_url):
    environ = _clean_environ(HEALTHCODE_DATABASE_URL=database_url, HEALTHCODE_IDENTITY_PORT="0", HEALTHCODE_METRICS_PORT="0",
                             HEALTHCODE_IDENTITY_SEALING_KEYS=f"k:{random_key()}",
                             HEALTHCODE_IDENTITY_LOOKUP_KEY=random_key(), HEALTHCODE_FEDERATION_KEY=random_key())
    service = await Process.start("identity", environ=environ)
    address = (await service.wait_for_line(r"identity grpc://(\S+)"))[1]
    async with grpc.aio.insecure_channel(address) as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="healthcode.identity.v1.IdentityService"))

    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert await service.stop(signal.SIGTERM) == 0

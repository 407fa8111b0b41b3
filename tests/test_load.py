"""The load harness, run briefly on a tiny population against a platform of its own, to prove it works
(not to time anything); and services run as several worker processes on one port."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from healthcode.identity.v1 import identity_pb2 as pb
from healthcode.identity.v1 import identity_pb2_grpc

from services.identity.documents import DocumentKind, mask_name, parse_document
from tools.load import cli as load_cli
from tools.load import harness, population
from tools.load.cpu import listening_pids
from tools.load.display import Progress
from tools.load.workload import DEFAULT_MIX, RPCS, parse_mix
from tests.support import HouseholdRegister, random_key
from tests.support.platform import Platform as StartedPlatform, new_database, start_platform

pytestmark = pytest.mark.slow  # the echo baseline and the workers are processes of their own

ROOT = Path(__file__).resolve().parent.parent
PERSONS = 60
EXPECTED_ERRORS = {"DEADLINE_EXCEEDED"}  # the only failure a brief overload may bring


@dataclass
class Platform:
    url: str
    addresses: dict[str, str]
    keys: population.PopulationKeys
    started: StartedPlatform


@pytest.fixture(scope="module")
async def platform(postgres_server_url: str) -> AsyncIterator[Platform]:
    """The four services on ephemeral ports, with the real clock, in a database of their own (the harness
    declares risk areas and issues codes: nothing another test should see)."""
    database = await new_database(postgres_server_url, "healthcode_load")
    started = None
    try:
        started = await start_platform(database.url, settings={"HEALTHCODE_STATUS_DEV_SIGNING_KEYS": "true",
                                                               "HEALTHCODE_STATUS_FOLLOW_INTERVAL_SECONDS": "1"})
        yield Platform(database.url, started.addresses(), population.PopulationKeys.read(started.environ), started)
    finally:
        if started is not None:
            await started.stop(grace=0.5)
        await database.drop()


@pytest.fixture(scope="module")
async def report(platform: Platform, tmp_path_factory) -> dict:
    """One brief run: every path alone for a moment, then two seconds of rush with a declaration and a surge."""
    out = tmp_path_factory.mktemp("load") / "report"
    options = harness.Options(
        addresses=platform.addresses, out=out, database_url=platform.url, keys=platform.keys, persons=PERSONS,
        rate=25.0, duration=2.0, declare_at=0.3, surge_at=0.6, surge_seconds=0.4, surge_factor=3.0,
        isolated_seconds=0.25, isolated_concurrency=4, baseline_seconds=0.2, warmup_calls=2, channels=2,
        batch_rows=20, mix={"IssueCode": 3, "VerifyCode": 3, "GetStatus": 2, "RecordCheckIn": 2, "VenueScan": 2,
                            "IngestCarrierStays": 1}, quiet_wait=0, progress=Progress(io.StringIO(), live=False))
    result = await harness.run(options)
    return {"result": result, "out": out}


async def test_the_report_has_counts_and_percentiles_for_every_rpc(report):
    written = json.loads((report["out"] / "report.json").read_text())
    scenario = written["scenario"]

    every_rpc = {rpc for operation in RPCS.values() for rpc in operation}
    assert set(scenario["rpcs"]) == every_rpc | {"DeclareRiskArea"}
    for rpc, summary in scenario["rpcs"].items():
        assert summary["calls"] > 0, rpc
        assert set(summary["latency_ms"]) >= {"p50", "p90", "p99", "p99.9", "max"}, rpc
        assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99.9"] <= summary["latency_ms"]["max"]
    assert {entry["rpc"] for entry in written["isolated"]} == every_rpc
    assert all(entry["calls"] > 0 and "per_second_vs_grpc_echo" in entry["ratios"] for entry in written["isolated"])
    assert [p["name"] for p in scenario["phases"]] == ["rush", "declared", "surge", "recovery"]
    assert sum(second["rpcs"].get("all", {}).get("calls", 0) for second in scenario["timeline"]) == sum(
        summary["calls"] for summary in scenario["rpcs"].values())


async def test_errors_are_only_the_expected_kinds(report):
    written = json.loads((report["out"] / "report.json").read_text())

    for summary in [*written["scenario"]["rpcs"].values(), *written["isolated"]]:
        assert set(summary["errors"]) <= EXPECTED_ERRORS, summary


async def test_the_baselines_are_measured_in_the_same_run(report):
    baselines = report["result"]["baselines"]

    assert set(baselines) == {"grpc_echo", "asyncpg_lookup", "es256_verify"}
    assert all(b["per_second"] > 0 for b in baselines.values())
    assert not baselines["grpc_echo"]["errors"]


async def test_the_chart_is_a_png(report):
    assert (report["out"] / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_risk_declaration_comes_in_the_middle_of_the_run(report):
    declaration = report["result"]["scenario"]["declaration"]

    assert declaration["area_code"] in population.COUNTIES
    assert declaration["raised"]
    assert 0.4 < declaration["declared_at_s"] < 1.4


async def test_the_service_reads_a_loaded_person_back(report, platform):
    index = 12  # an adult of the second household
    async with grpc.aio.insecure_channel(platform.addresses["identity"]) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        person = (await stub.GetPerson(pb.GetPersonRequest(person_id=str(population.person_id(index))))).person
        found = (await stub.LookupPersonByDocument(pb.LookupPersonByDocumentRequest(document=pb.Document(
            kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number=population.document_number(index))))).person

    assert person.masked_name == mask_name(population.name_of(index)) != population.name_of(index)
    assert person.home_province_code == population.county_of(index)[:2] + "0000"
    assert found.person_id == person.person_id


async def test_the_sealed_record_of_a_loaded_child_opens(report, platform):
    """Linking a minor on the household register's word needs the birth date from the sealed record."""
    adult, child = 13, 18  # another adult and the first child of the second household
    register = HouseholdRegister()

    def document(index):
        return pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number=population.document_number(index))
    async with grpc.aio.insecure_channel(platform.addresses["identity"]) as channel:
        await identity_pb2_grpc.FaceProviderAdminServiceStub(channel).RegisterFaceProviderKey(
            register.key_request(datetime.now(UTC) - timedelta(days=1)))
        link = await identity_pb2_grpc.IdentityServiceStub(channel).LinkDependent(pb.LinkDependentRequest(
            holder_person_id=str(population.person_id(adult)), dependent_person_id=str(population.person_id(child)),
            relation=pb.RELATION_GUARDIAN, relation_attestation=register.relation(
                document(adult), document(child), datetime.now(UTC), relation=pb.RELATION_GUARDIAN)))

    assert link.link.basis == pb.LINK_BASIS_ATTESTED_GUARDIANSHIP


async def test_loading_again_adds_nothing(report, platform):
    again = await population.load(platform.url, platform.keys, PERSONS)

    assert (again.persons_added, again.links_added, again.stays_added, again.venues_added) == (0, 0, 0, 0)
    assert report["result"]["population"]["persons_added"] == PERSONS


def test_synthetic_documents_are_valid_and_distinct():
    today = date.today()
    numbers = [population.document_number(i) for i in range(0, 400_000, 97)]

    assert len(set(numbers)) == len(numbers)
    for i in range(0, 400_000, 997):
        parsed = parse_document(DocumentKind.RESIDENT_ID_CARD, population.document_number(i), today=today)
        assert parsed.number[14:17] >= "800"  # the sequence numbers kept for synthetic persons
        assert parsed.region_code() in population.COUNTIES


def test_the_command_line_mix_is_the_harness_mix():
    assert parse_mix(load_cli.DEFAULT_MIX) == DEFAULT_MIX


async def test_a_service_runs_as_several_workers_on_one_port(database_url):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    environ.update(HEALTHCODE_DATABASE_URL=database_url, HEALTHCODE_IDENTITY_PORT="0", HEALTHCODE_WORKERS="2",
                   HEALTHCODE_METRICS_PORT="0", HEALTHCODE_IDENTITY_SEALING_KEYS=f"k:{random_key()}",
                   HEALTHCODE_IDENTITY_LOOKUP_KEY=random_key(), HEALTHCODE_FEDERATION_KEY=random_key())
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.healthcode", "identity", cwd=ROOT,
                                                   env=environ, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.DEVNULL)
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        address = line.split("grpc://", 1)[1].split()[0]
        workers = listening_pids([int(address.rsplit(":", 1)[1])])[int(address.rsplit(":", 1)[1])]
        async with grpc.aio.insecure_channel(address) as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)

    assert "(2 workers)" in line
    assert len(workers) == 2 and process.pid not in workers
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert code == 0


def test_keys_are_read_from_the_development_secrets_when_the_environment_has_none(tmp_path):
    lookup = base64.b64encode(secrets.token_bytes(32)).decode()
    (tmp_path / "dev-secrets.json").write_text(json.dumps({
        "HEALTHCODE_IDENTITY_SEALING_KEYS": f"dev1:{random_key()}", "HEALTHCODE_IDENTITY_LOOKUP_KEY": lookup,
        "HEALTHCODE_FEDERATION_KEY": random_key()}))

    keys = population.PopulationKeys.read({"HEALTHCODE_DATA_DIR": str(tmp_path)})

    assert keys.lookup_key == base64.b64decode(lookup)
    assert list(keys.sealing_keys) == ["dev1"]


async def test_the_workload_runs_through_a_gateway_as_the_callers_it_expects(report, platform, tmp_path):
    """Every operation through a gateway, each relaying its caller's session on one mutual-TLS connection:
    none is refused as unauthenticated or not allowed."""
    from tools.load.callers import GatewayCallers
    from tools.load.client import SERVICES as LOAD_SERVICES
    from tools.load.client import tls_credentials

    gateway = await platform.started.add_gateway(tmp_path / "pki")
    pki = gateway.credentials
    certificate, key = pki.client("national-platform")
    try:
        options = harness.Options(
            addresses={name: gateway.address for name in LOAD_SERVICES},
            cpu_addresses={"gateway": gateway.address, **platform.addresses}, out=tmp_path / "report",
            credentials=tls_credentials(pki.ca, certificate, key), via=gateway.address,
            callers=GatewayCallers(gateway.keys), database_url=platform.url,
            persons=PERSONS, populate=False, rate=10.0, duration=1.0, declare_at=0.2, surge_at=0.5,
            surge_seconds=0.2, surge_factor=2.0, isolated_seconds=0.2, isolated_concurrency=2, baseline_seconds=0,
            warmup_calls=1, channels=1, batch_rows=10, quiet_wait=0, chart=False,
            mix={"IssueCode": 3, "VerifyCode": 3, "GetStatus": 2, "RecordCheckIn": 2, "VenueScan": 2,
                 "IngestCarrierStays": 1}, progress=Progress(io.StringIO(), live=False))
        await harness.run(options)
    finally:
        await gateway.stop(grace=0.5)
    written = json.loads((tmp_path / "report" / "report.json").read_text())
    summaries = {**written["scenario"]["rpcs"], **{entry["rpc"]: entry for entry in written["isolated"]}}
    refused = {rpc: summary["errors"] for rpc, summary in summaries.items()
               if {"PERMISSION_DENIED", "UNAUTHENTICATED"} & set(summary["errors"])}
    assert refused == {}
    assert all(summary["calls"] > 0 for summary in summaries.values())

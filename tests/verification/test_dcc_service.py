"""EU DCCs through the verification service (real Postgres, real gRPC): the DCC trust list imported by
RPC and from an EU gateway trust-list file, VerifyCode on `HC1:` payloads, the decision recorded without
personal data, and offline devices getting the signers in their snapshots."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta

import base45
import grpc
import pytest
from healthcode.verification.v1 import verification_pb2 as pb

from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.dcc_repository import SignerRow
from services.verification.recognition.dcc_trust import parse_gateway_trust_list
from services.verification.recognition.offline import OfflineCheckpoint
from tests.support import random_key
from tests.support import dcc_factory as f
from tests.support.deployments import Deployment, FederationPki, free_port, start_deployment

GUANGDONG, GUANGZHOU = "440000", "440106"
PASS, DENY, CHECK_MANUALLY = pb.DECISION_PASS, pb.DECISION_DENY, pb.DECISION_CHECK_MANUALLY


@pytest.fixture(scope="module")
async def guangdong(postgres_server_url) -> AsyncIterator[Deployment]:
    deployment = await start_deployment(postgres_server_url, GUANGDONG, free_port(), "", random_key(), FederationPki())
    yield deployment
    await deployment.stop()


def signer_for(deployment: Deployment, **options) -> f.Signer:
    now = deployment.clock.now()
    return f.make_signer(now - timedelta(days=100), now + timedelta(days=400), **options)


def vaccinated(deployment: Deployment, signer: f.Signer, days_ago: int = 30) -> str:
    now = deployment.clock.now()
    return f.make_dcc(signer, f.vaccination(f.day(now - timedelta(days=days_ago))), now - timedelta(days=days_ago),
                      now + timedelta(days=300))


async def import_signers(deployment: Deployment, *signers: pb.DccSigner) -> pb.ImportDccSignersResponse:
    return await deployment.recognition_admin.ImportDccSigners(pb.ImportDccSignersRequest(signers=signers))


async def verify(deployment: Deployment, payload: str, area_code: str = GUANGZHOU, **extra) -> pb.VerifyCodeResponse:
    return await deployment.verifier.VerifyCode(pb.VerifyCodeRequest(payload=payload, checkpoint_id="port-1",
                                                                     area_code=area_code, **extra))


async def test_import_keeps_the_good_signers_reports_the_bad_and_repeats_nothing(guangdong) -> None:
    good, other = signer_for(guangdong), signer_for(guangdong, country="FR", rsa_key=True)
    response = await import_signers(
        guangdong,
        pb.DccSigner(certificate=good.der, key_id=base64.b64encode(good.key_id).decode()),
        pb.DccSigner(certificate=b"not a certificate"),
        pb.DccSigner(certificate=other.der, key_id=base64.b64encode(b"12345678").decode()),
        pb.DccSigner(certificate=other.der, country_code="france"),
        pb.DccSigner(certificate=other.der))
    assert (response.stored_count, response.unchanged_count) == (2, 0)
    assert [(r.index, r.field, r.reason) for r in response.rejections] == [
        (1, "signers[1].certificate", "CERTIFICATE_INVALID"), (2, "signers[2].key_id", "KEY_ID_MISMATCH"),
        (3, "signers[3].country_code", "COUNTRY_INVALID")]
    again = await import_signers(guangdong, pb.DccSigner(certificate=good.der), pb.DccSigner(certificate=other.der))
    assert (again.stored_count, again.unchanged_count, list(again.rejections)) == (0, 2, [])
    assert (await verify(guangdong, vaccinated(guangdong, other))).decision == PASS


async def test_an_empty_or_oversized_import_is_invalid(guangdong) -> None:
    for signers in ([], [pb.DccSigner(certificate=b"x")] * 1001):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await import_signers(guangdong, *signers)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "signers" in refused.value.details()


async def test_concurrent_imports_of_the_same_signers_store_each_once(guangdong) -> None:
    signers = [signer_for(guangdong) for _ in range(5)]
    responses = await asyncio.gather(*(import_signers(guangdong, *(pb.DccSigner(certificate=s.der) for s in signers))
                                       for _ in range(8)))
    assert sum(r.stored_count for r in responses) == 5
    assert all(r.stored_count + r.unchanged_count == 5 and not r.rejections for r in responses)
    pool = guangdong.parts.dcc.trust.repository.pool
    assert await pool.fetchval("SELECT count(*) FROM verification.dcc_signers WHERE key_id = ANY($1::bytea[])",
                               [s.key_id for s in signers]) == 5


async def test_a_key_id_held_with_another_certificate_is_a_conflict_and_the_first_stays(guangdong) -> None:
    trust = guangdong.parts.dcc.trust
    first, second = signer_for(guangdong), signer_for(guangdong)
    now = guangdong.clock.now()
    # No one can make a second certificate with the same SHA-256 prefix; the repository is shown one.
    forged = SignerRow(first.key_id, "DE", second.der, now, now + timedelta(days=1))
    await trust.repository.add_signers([SignerRow(first.key_id, "DE", first.der, now, now + timedelta(days=1))], now)
    stored, unchanged = await trust.repository.add_signers([forged], now)
    assert (stored, unchanged) == (set(), set())
    assert (await trust.repository.signer(first.key_id)).certificate == first.der


async def test_a_dcc_passes_by_the_province_rules_and_the_decision_keeps_no_personal_data(guangdong) -> None:
    signer = signer_for(guangdong, usages="v")
    await import_signers(guangdong, pb.DccSigner(certificate=signer.der))
    response = await verify(guangdong, vaccinated(guangdong, signer))
    assert (response.decision, response.reason, response.masked_name) == (PASS, "", "E**** M*********")
    assert response.issuer_province_code == "" and response.colour == 0
    too_recent = await verify(guangdong, vaccinated(guangdong, signer, days_ago=3))
    assert (too_recent.decision, too_recent.reason) == (DENY, "RULE_FAILED:440000-VAC-0001")
    in_hubei = await verify(guangdong, vaccinated(guangdong, signer), area_code="420102")
    assert (in_hubei.decision, in_hubei.reason) == (CHECK_MANUALLY, "NO_RULES")
    pool = guangdong.parts.dcc.trust.repository.pool
    row = await pool.fetchrow("SELECT * FROM verification.decisions WHERE verification_id = $1",
                              response.verification_id)
    assert (row["decision"], row["reason"], row["dcc_country"], row["dcc_kind"], row["checkpoint_id"]) == (
        PASS, "", "DE", "v", "port-1")
    assert row["code_id"] is None and row["issuer_province"] is None
    stored = " ".join(str(value) for value in row.values())
    assert not any(secret in stored for secret in ("MUSTERMANN", "Erika", "1964", "URN:UVCI"))


async def test_refusals_come_with_their_reason_and_are_recorded(guangdong) -> None:
    signer = signer_for(guangdong)
    unknown = await verify(guangdong, vaccinated(guangdong, signer))
    assert (unknown.decision, unknown.reason) == (DENY, "KEY_UNKNOWN")
    await import_signers(guangdong, pb.DccSigner(certificate=signer.der))
    now = guangdong.clock.now()
    expired = f.make_dcc(signer, f.vaccination("2025-01-01"), now - timedelta(days=60), now - timedelta(days=1))
    assert (await verify(guangdong, expired)).reason == "CERTIFICATE_EXPIRED"
    payload = vaccinated(guangdong, signer)
    tampered = payload[:60] + ("A" if payload[60] != "A" else "B") + payload[61:]
    assert (await verify(guangdong, tampered)).decision == DENY
    assert (await verify(guangdong, "HC1:" + "A" * 5000)).reason == "PAYLOAD_TOO_LARGE"
    bomb = "HC1:" + base45.b45encode(zlib.compress(b"\0" * 1_000_000, 9)).decode()
    assert (await verify(guangdong, bomb)).reason == "DECOMPRESSED_TOO_LARGE"
    fever = await verify(guangdong, payload, temperature_celsius=38.2)
    assert (fever.decision, fever.reason) == (DENY, "FEVER")
    pool = guangdong.parts.dcc.trust.repository.pool
    assert await pool.fetchval("SELECT count(*) FROM verification.decisions WHERE reason = 'DECOMPRESSED_TOO_LARGE'"
                               ) >= 1


async def test_offline_devices_get_the_signers_and_decide_as_the_service(guangdong) -> None:
    device = OfflineCheckpoint(exchange_key_from_secret(guangdong.exchange_secret).public_key(), timedelta(hours=1))
    device.apply(await guangdong.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest()))
    signer = signer_for(guangdong)
    payload = vaccinated(guangdong, signer)
    now = guangdong.clock.now()
    assert device.verify(payload, now, area_code=GUANGZHOU).reason == "KEY_UNKNOWN"
    await import_signers(guangdong, pb.DccSigner(certificate=signer.der))
    delta = await guangdong.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest(since_version=device.version))
    assert signer.der in [s.certificate for s in pb.OfflineSnapshot.FromString(delta.snapshot).dcc_signers]
    device.apply(delta)
    cases = {"pass": payload, "young": vaccinated(guangdong, signer, days_ago=2), "garbage": "HC1:%%%",
             "unknown": vaccinated(guangdong, signer_for(guangdong))}
    for name, case in cases.items():
        online = await verify(guangdong, case)
        offline = device.verify(case, now, area_code=GUANGZHOU)
        assert (int(offline.decision), offline.reason) == (online.decision, online.reason), name
    # Without an area, a device serving one province takes that province's rules.
    assert device.verify(payload, now).decision == PASS


async def test_a_gateway_trust_list_file_imports(guangdong, tmp_path) -> None:
    signers = [signer_for(guangdong, country="IT"), signer_for(guangdong, country="ES", rsa_key=True)]
    items = [{"kid": base64.b64encode(s.key_id).decode(), "country": s.country, "certificateType": "DSC",
              "thumbprint": hashlib.sha256(s.der).hexdigest(), "timestamp": "2026-01-01T00:00:00Z",
              "signature": "", "rawData": base64.b64encode(s.der).decode()} for s in signers]
    items.append({"kid": "", "country": "IT", "certificateType": "CSCA", "rawData": "AAAA"})
    path = tmp_path / "trustList.json"
    path.write_text(json.dumps(items))
    inputs = parse_gateway_trust_list(path.read_text())
    assert [i.country for i in inputs] == ["IT", "ES"]
    result = await guangdong.parts.dcc.trust.import_signers(inputs)
    assert (result.stored, result.rejections) == (2, [])
    assert (await verify(guangdong, vaccinated(guangdong, signers[1]))).decision == PASS
    broken = [{**items[0], "thumbprint": "00" * 32}]
    with pytest.raises(ValueError, match="thumbprint"):
        parse_gateway_trust_list(json.dumps(broken))
    with pytest.raises((ValueError, TypeError)):
        parse_gateway_trust_list("{}")

"""The partitioned offline snapshot: a signed manifest, partitions proved by its digests, changes
since a version, and decisions made offline uploaded once (two deployments, real Postgres)."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2 as pb

from services.runtime.paging import Cursor
from services.verification.recognition import partitions
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.exchange import manifest_from_bytes
from services.verification.recognition.offline import OfflineCheckpoint, SnapshotRejected
from services.verification.recognition.snapshots import CHANGES_PAGES
from tests.support import error_details, random_key, refused, timestamp
from tests.support.deployments import HUBEI, Provinces, start_provinces

YELLOW, RED = common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED


@pytest.fixture(scope="module")
async def provinces(postgres_server_url) -> AsyncIterator[Provinces]:
    both = await start_provinces(postgres_server_url)
    yield both
    await both.stop()


def device(deployment, max_age: timedelta = timedelta(hours=24)) -> OfflineCheckpoint:
    return OfflineCheckpoint(exchange_key_from_secret(deployment.exchange_secret).public_key(), max_age)


async def publish(deployment, batch_id: str, records: list[tuple[bytes, int]], days: float = 1) -> None:
    expire = timestamp(deployment.clock.now() + timedelta(days=days))
    response = await deployment.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(
        batch_id=batch_id, records=[pb.RiskListRecord(person_ref=ref, colour=colour, reason="CLOSE_CONTACT",
                                                      source="jiangsu-cdc", expire_time=expire)
                                    for ref, colour in records]))
    assert not response.rejections


async def test_the_manifest_is_signed_and_each_partition_matches_its_digest(provinces):
    jiangsu = provinces.jiangsu
    refs = [os.urandom(16) for _ in range(300)]
    await publish(jiangsu, f"part-{uuid.uuid4().hex[:8]}", [(ref, RED) for ref in refs])
    response = await jiangsu.verifier.GetOfflineManifest(pb.GetOfflineManifestRequest())
    manifest = manifest_from_bytes(response.manifest)
    assert len(manifest.partitions) == partitions.PARTITIONS
    assert sum(count for count, _ in manifest.partitions) >= len(refs)
    as_of = timestamp(jiangsu.clock.now().replace(microsecond=0))
    part = refs[0][0]
    data = (await jiangsu.verifier.GetSnapshotPartition(pb.GetSnapshotPartitionRequest(
        partition=part, as_of_version=manifest.version, as_of_time=as_of))).records
    partitions.check_partition(data, part)
    assert partitions.digest(data) == manifest.partitions[part][1]
    assert refs[0] + bytes((RED,)) in data


async def test_a_device_bootstraps_from_partitions_then_takes_only_the_changes(provinces):
    jiangsu = provinces.jiangsu
    checkpoint = device(jiangsu)
    first = await checkpoint.sync(jiangsu.verifier)
    assert first.fetched > 0 and checkpoint.version == first.version
    unchanged = await checkpoint.sync(jiangsu.verifier)
    assert (unchanged.patched, unchanged.fetched) == (0, 0)
    refs = [os.urandom(16) for _ in range(50)]
    await publish(jiangsu, f"delta-{uuid.uuid4().hex[:8]}", [(ref, YELLOW) for ref in refs])
    delta = await checkpoint.sync(jiangsu.verifier)
    assert delta.fetched == 0 and delta.patched == len({ref[0] for ref in refs})
    held = b"".join(checkpoint._parts)
    assert all(ref + bytes((YELLOW,)) in held for ref in refs)


async def test_offline_answers_from_the_partitioned_snapshot_are_the_online_ones(provinces):
    from tests.support.verification import agree, verify

    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await agree(provinces, {"yellow": RED})
    green, listed, stale = [await hubei.resident() for _ in range(3)]
    cases = {"green": await hubei.code(green), "stale": await hubei.code(stale)}
    await hubei.status.RecordCheckIn(status_pb2.RecordCheckInRequest(person_id=stale, temperature_celsius=38.5))
    reference = (await hubei.persons.GetPerson(identity_pb2.GetPersonRequest(person_id=listed))).person.federation_ref
    await publish(jiangsu, f"listed-{uuid.uuid4().hex[:8]}", [(reference, RED)])
    cases["listed"] = await hubei.code(listed)
    cases["tampered"] = cases["green"][:-3] + ("A" if cases["green"][-3] != "A" else "B") + cases["green"][-2:]
    checkpoint = device(jiangsu)
    await checkpoint.sync(jiangsu.verifier)
    answers = {}
    for name, payload in cases.items():
        online = await verify(jiangsu, payload)
        offline = checkpoint.verify(payload, jiangsu.clock.now(), test_within=None)
        answers[name] = offline.reason
        assert (int(offline.decision), offline.reason) == (online.decision, online.reason), name
    # Jiangsu's red record reached the person's home status (外省推送红码), so their new code is red itself.
    assert (answers["listed"], answers["stale"]) == ("COLOUR_RED", "STATUS_STALE")
    later = jiangsu.clock.now() + timedelta(hours=25)
    assert checkpoint.verify(cases["green"], later).reason == "SNAPSHOT_TOO_OLD"
    await agree(provinces)


async def test_a_forged_or_foreign_manifest_is_refused_and_the_device_keeps_what_it_held(provinces):
    jiangsu = provinces.jiangsu
    checkpoint = device(jiangsu)
    await checkpoint.sync(jiangsu.verifier)
    held = (checkpoint.version, list(checkpoint._parts))

    class Forging:
        """The deployment's own answers, the manifest's signature replaced."""

        def __init__(self, real) -> None:
            self._real = real

        async def GetOfflineManifest(self, request):
            real = await self._real.GetOfflineManifest(request)
            return pb.GetOfflineManifestResponse(manifest=real.manifest, signature=b"\1" * 64, key_id=real.key_id)

        def __getattr__(self, name):
            return getattr(self._real, name)

    with pytest.raises(SnapshotRejected):
        await checkpoint.sync(Forging(jiangsu.verifier))
    stranger = OfflineCheckpoint(exchange_key_from_secret(base64.b64decode(random_key())).public_key(),
                                 timedelta(hours=1))
    with pytest.raises(SnapshotRejected):
        await stranger.sync(jiangsu.verifier)
    assert (checkpoint.version, checkpoint._parts) == held


async def test_a_partition_that_does_not_match_the_manifest_is_refused(provinces):
    jiangsu = provinces.jiangsu
    checkpoint = device(jiangsu)

    class Tampering:
        def __init__(self, real) -> None:
            self._real = real

        async def GetSnapshotPartition(self, request):
            real = await self._real.GetSnapshotPartition(request)
            return pb.GetSnapshotPartitionResponse(records=real.records[partitions.RECORD_BYTES:])

        def __getattr__(self, name):
            return getattr(self._real, name)

    await publish(jiangsu, f"tamper-{uuid.uuid4().hex[:8]}", [(os.urandom(16), RED) for _ in range(20)])
    with pytest.raises(SnapshotRejected):
        await checkpoint.sync(Tampering(jiangsu.verifier))
    assert checkpoint.version == 0


async def test_bad_snapshot_requests_name_the_field(provinces):
    verifier = provinces.jiangsu.verifier
    error = await refused(verifier.GetSnapshotPartition(pb.GetSnapshotPartitionRequest(partition=256)))
    assert error_details(error) == ("PARTITION_INVALID", ["partition"])
    error = await refused(verifier.GetSnapshotPartition(pb.GetSnapshotPartitionRequest(partition=1)))
    assert error_details(error) == ("AS_OF_TIME_MISSING", ["as_of_time"])
    error = await refused(verifier.ListSnapshotChanges(pb.ListSnapshotChangesRequest(
        as_of_time=timestamp(provinces.jiangsu.clock.now()), page_token="zz")))
    assert error_details(error) == ("PAGE_TOKEN_INVALID", ["page_token"])


async def test_a_changes_page_token_of_another_list_or_not_a_record_is_refused(provinces):
    verifier = provinces.jiangsu.verifier
    record = bytes(partitions.RECORD_BYTES)
    forged = base64.urlsafe_b64encode(b'["snapshot_changes","not hex"]').decode().rstrip("=")
    # Another list's token, a cut record, a forged one, and the hex of a record (the format before Cursor).
    for token in (Cursor("stale_codes", bytes).token(record), CHANGES_PAGES.token(record[:-1]), forged,
                  record.hex()):
        error = await refused(verifier.ListSnapshotChanges(pb.ListSnapshotChangesRequest(
            as_of_time=timestamp(provinces.jiangsu.clock.now()), page_token=token)))
        assert error_details(error) == ("PAGE_TOKEN_INVALID", ["page_token"])
    page = await verifier.ListSnapshotChanges(pb.ListSnapshotChangesRequest(
        as_of_time=timestamp(provinces.jiangsu.clock.now()), page_token=CHANGES_PAGES.token(b"\xff" * len(record))))
    assert page.records == b"" and page.next_page_token == ""


async def test_changes_are_paged_and_every_record_arrives_once(provinces):
    jiangsu = provinces.jiangsu
    before = manifest_from_bytes((await jiangsu.verifier.GetOfflineManifest(pb.GetOfflineManifestRequest())).manifest)
    refs = sorted(os.urandom(16) for _ in range(120))
    await publish(jiangsu, f"paged-{uuid.uuid4().hex[:8]}", [(ref, RED) for ref in refs])
    after = manifest_from_bytes((await jiangsu.verifier.GetOfflineManifest(pb.GetOfflineManifestRequest())).manifest)
    seen, token = [], ""
    while True:
        page = await jiangsu.verifier.ListSnapshotChanges(pb.ListSnapshotChangesRequest(
            since_version=before.version + 1000, as_of_version=after.version,
            as_of_time=timestamp(jiangsu.clock.now()), page_size=50, page_token=token))
        seen += partitions.records_of(page.records)
        token = page.next_page_token
        if not token:
            break
    mine = [item for item in seen if item[:16] in set(refs)]
    assert [item[:16] for item in mine] == refs and len(seen) == len(set(seen))


def _decision(at, **fields) -> pb.OfflineDecision:
    return pb.OfflineDecision(**{"decision_id": str(uuid.uuid4()), "verify_time": timestamp(at),
                                 "decision": pb.DECISION_PASS, "issuer_province_code": HUBEI,
                                 "colour": common_pb2.COLOUR_GREEN, "code_id": os.urandom(16).hex(), **fields})


async def test_offline_decisions_are_stored_once_however_often_and_concurrently_uploaded(provinces):
    hubei = provinces.hubei
    now = hubei.clock.now()
    decisions = [_decision(now - timedelta(minutes=i)) for i in range(5)] + [
        _decision(now, decision=pb.DECISION_DENY, reason="FEVER")]
    request = pb.RecordOfflineDecisionsRequest(checkpoint_id="gate-9", area_code="420102", decisions=decisions)
    answers = await asyncio.gather(*(hubei.verifier.RecordOfflineDecisions(request) for _ in range(4)))
    assert sum(a.stored_count for a in answers) == 6 and sum(a.duplicate_count for a in answers) == 18
    pool = hubei.parts.recognition.repository.pool
    rows = await pool.fetch("SELECT verification_id::text AS id, recorded_offline, reason FROM verification.decisions "
                            "WHERE verification_id = ANY($1::uuid[])", [d.decision_id for d in decisions])
    assert sorted(r["id"] for r in rows) == sorted(d.decision_id for d in decisions)
    assert all(r["recorded_offline"] for r in rows)


async def test_a_bad_offline_decision_is_reported_and_the_good_ones_kept(provinces):
    hubei = provinces.hubei
    now = hubei.clock.now()
    good = _decision(now)
    response = await hubei.verifier.RecordOfflineDecisions(pb.RecordOfflineDecisionsRequest(
        checkpoint_id="gate-9", area_code="420102", decisions=[
            _decision(now, decision_id="not-a-uuid"), good, _decision(now + timedelta(hours=2)),
            _decision(now, decision=pb.DECISION_DENY), _decision(now, code_id="xyz")]))
    assert response.stored_count == 1
    assert [(r.index, r.field, r.reason) for r in response.rejections] == [
        (0, "decisions[0].decision_id", "DECISION_ID_INVALID"), (2, "decisions[2].verify_time", "VERIFY_TIME_INVALID"),
        (3, "decisions[3].reason", "REASON_INVALID"), (4, "decisions[4].code_id", "CODE_ID_INVALID")]
    error = await refused(hubei.verifier.RecordOfflineDecisions(pb.RecordOfflineDecisionsRequest(
        checkpoint_id="Gate 9", area_code="420102")))
    assert error_details(error) == ("CHECKPOINT_ID_INVALID", ["checkpoint_id"])

"""The exporter and certified exchange keys, between two deployments over real sockets and mutual TLS:
Hubei's persons' colour changes reach Jiangsu's list, and keys rotate without a refusal."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2 as pb

from services.codes import read_code
from services.colours import Colour
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.exchange import RISK_LIST, risk_list_bytes, sign
from services.verification.recognition.exporter import ExportPolicy, Exporter, batch_id, export_records
from services.verification.recognition.offline import OfflineCheckpoint, SnapshotRejected
from services.verification.recognition.model import ColourChange
from services.verification.recognition.repository import VerificationRepository
from tests.support import error_details, random_key, refused, timestamp
from tests.support.deployments import HUBEI, JIANGSU, Deployment, Provinces, start_provinces, sync

GREEN, YELLOW, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED


@pytest.fixture(scope="module")
async def provinces(postgres_server_url) -> AsyncIterator[Provinces]:
    both = await start_provinces(postgres_server_url, HEALTHCODE_VERIFICATION_EXPORT_BATCH_SIZE="10",
                                 HEALTHCODE_VERIFICATION_EXPORT_MAX_DELAY_SECONDS="0")
    for deployment, other in ((both.hubei, JIANGSU), (both.jiangsu, HUBEI)):
        await deployment.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
            issuer_province_code=other, accepted_since_time=timestamp(deployment.clock.now() - timedelta(days=1)))))
    yield both
    await both.stop()


async def reference(deployment: Deployment, person_id: str) -> bytes:
    return (await deployment.persons.GetPerson(identity_pb2.GetPersonRequest(person_id=person_id))).person.federation_ref


async def check_in(deployment: Deployment, person_id: str, celsius: float) -> None:
    await deployment.status.RecordCheckIn(status_pb2.RecordCheckInRequest(
        person_id=person_id, reporter_person_id=person_id, temperature_celsius=celsius))


async def export_and_deliver(deployment: Deployment) -> None:
    """Every due page exported, then every delivery acknowledged (the exporter's round run here at once;
    the outbox's own job, every 0.2 s, may hold some deliveries in flight meanwhile: waited for)."""
    await deployment.parts.exporter.run()
    await delivered(deployment)


async def delivered(deployment: Deployment) -> None:
    outbox = deployment.parts.recognition.outbox
    for _ in range(100):
        await outbox.deliver_due()
        if not await deployment.parts.recognition.repository.outbox_backlog():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("deliveries still unacknowledged")


async def listed(deployment: Deployment, ref: bytes) -> Colour | None:
    return await deployment.parts.recognition.repository.listed_colour(ref, deployment.clock.now())


async def verify(deployment: Deployment, payload: str) -> pb.VerifyCodeResponse:
    return await deployment.verifier.VerifyCode(pb.VerifyCodeRequest(payload=payload, checkpoint_id="gate-1",
                                                                     area_code="320102"))


def test_a_page_gives_the_same_records_and_batch_ids_however_often_it_is_exported():
    at = datetime(2026, 11, 22, 8, tzinfo=UTC)
    changes = [ColourChange(11, b"a" * 16, HUBEI, 1, 3, at, "CONFIRMED_CASE"),
               ColourChange(12, b"b" * 16, HUBEI, 1, 2, at, "not a code"),
               ColourChange(14, b"a" * 16, HUBEI, 3, 1, at, "")]
    records = export_records(changes, ExportPolicy())
    assert records == export_records(list(changes), ExportPolicy())
    assert [(r.person_ref[:1], r.colour, r.reason, r.list_sequence) for r in records[HUBEI]] == [
        (b"b", Colour.YELLOW, "STATUS_YELLOW", 12), (b"a", Colour.GREEN, "DELISTED", 14)]
    assert batch_id(HUBEI, 10, 14) == batch_id(HUBEI, 10, 14) != batch_id(HUBEI, 10, 15)


async def test_a_person_turned_red_at_home_is_listed_and_denied_at_the_peer(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    person = await hubei.resident()
    ref = await reference(hubei, person)
    await hubei.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[status_pb2.Fact(
        person_id=person, kind=status_pb2.FACT_KIND_DIAGNOSIS, authority="wuhan-cdc", authority_record_id="dx-1",
        source=status_pb2.FACT_SOURCE_HEALTH, effective_time=timestamp(hubei.clock.now() - timedelta(minutes=1)),
        diagnosis=status_pb2.DIAGNOSIS_CONFIRMED)]))
    await export_and_deliver(hubei)
    assert await listed(jiangsu, ref) == Colour.RED
    response = await verify(jiangsu, await hubei.code(person))
    assert response.decision == pb.DECISION_DENY


async def test_a_person_back_to_green_is_delisted_at_the_peer(provinces):
    """A Jiangsu resident, secondary contact for 7 days (yellow): listed at Hubei, then delisted once green."""
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    person = await jiangsu.resident()
    ref = await reference(jiangsu, person)
    await jiangsu.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[status_pb2.Fact(
        person_id=person, kind=status_pb2.FACT_KIND_DIAGNOSIS, authority="nanjing-cdc",
        authority_record_id="contact-1", source=status_pb2.FACT_SOURCE_HEALTH,
        effective_time=timestamp(jiangsu.clock.now() - timedelta(days=7) + timedelta(minutes=1)),
        diagnosis=status_pb2.DIAGNOSIS_SECONDARY_CONTACT)]))
    await export_and_deliver(jiangsu)
    assert await listed(hubei, ref) == Colour.YELLOW
    jiangsu.clock.advance(timedelta(minutes=2))
    status = await jiangsu.status.GetStatus(status_pb2.GetStatusRequest(person_id=person))
    assert status.status.colour == GREEN
    await export_and_deliver(jiangsu)
    assert await listed(hubei, ref) is None
    row = await hubei.parts.recognition.repository.pool.fetchrow(
        "SELECT colour, reason FROM verification.risk_records WHERE person_ref = $1", ref)
    assert (row["colour"], row["reason"]) == (int(Colour.GREEN), "DELISTED")  # kept as a tombstone


async def test_a_delisting_arriving_before_the_older_record_still_wins(provinces):
    """Batches may arrive in any order (the outbox retries each on its own): the highest sequence stays."""
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    recognition = jiangsu.parts.recognition
    key = exchange_key_from_secret(hubei.exchange_secret)
    ref = b"o" * 16
    expire = jiangsu.clock.now() + timedelta(days=1)
    from services.verification.recognition.exchange import RiskRecord

    later = [RiskRecord(ref, Colour.GREEN, "DELISTED", "status", expire, 900_002)]
    older = [RiskRecord(ref, Colour.RED, "CONFIRMED_CASE", "status", expire, 900_001)]
    for identifier, records in (("order-2", later), ("order-1", older)):
        await recognition.receive_risk_list(identifier, HUBEI, records, hubei.parts.recognition.exchange_key_id,
                                            sign(key, RISK_LIST, risk_list_bytes(identifier, HUBEI, records)),
                                            frozenset({HUBEI}))
    assert await listed(jiangsu, ref) is None


async def test_concurrent_batches_about_the_same_persons_keep_each_ones_highest_sequence(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    recognition = jiangsu.parts.recognition
    key = exchange_key_from_secret(hubei.exchange_secret)
    expire = jiangsu.clock.now() + timedelta(days=1)
    refs = [bytes([n]) * 16 for n in range(200, 210)]
    from services.verification.recognition.exchange import RiskRecord

    async def submit(sequence: int) -> None:
        colour = Colour.GREEN if sequence % 3 == 0 else Colour.RED if sequence % 3 == 1 else Colour.YELLOW
        records = [RiskRecord(ref, colour, "DELISTED" if colour is Colour.GREEN else "CONFIRMED", "status", expire,
                              sequence * 100 + n) for n, ref in enumerate(reversed(refs) if sequence % 2 else refs)]
        identifier = f"race-{sequence}"
        await recognition.receive_risk_list(identifier, HUBEI, records, hubei.parts.recognition.exchange_key_id,
                                            sign(key, RISK_LIST, risk_list_bytes(identifier, HUBEI, records)),
                                            frozenset({HUBEI}))

    await asyncio.gather(*(submit(sequence) for sequence in range(800_001, 800_021)))
    rows = await recognition.repository.pool.fetch(
        "SELECT person_ref, colour, list_sequence FROM verification.risk_records WHERE person_ref = ANY($1::bytea[])",
        refs)
    assert len(rows) == len(refs)  # one row per person and origin
    assert {r["list_sequence"] // 100 for r in rows} == {800_020}
    assert {r["colour"] for r in rows} == {int(Colour.RED)}  # 800,020 % 3 == 1


class KilledOnPage(VerificationRepository):
    """The exporter's process dies while writing its `page`-th page: that transaction never commits."""

    def __init__(self, pool, page: int) -> None:
        super().__init__(pool)
        self.pages, self._kill_on = 0, page

    async def store_export(self, *args, **kwargs) -> bool:
        self.pages += 1
        if self.pages == self._kill_on:
            raise asyncio.CancelledError  # as a killed process: nothing of this page is written
        return await super().store_export(*args, **kwargs)


async def test_an_exporter_killed_mid_page_loses_nothing_and_duplicates_nothing(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await export_and_deliver(hubei)  # what earlier tests left
    persons = [await hubei.resident() for _ in range(24)]
    refs = {await reference(hubei, person) for person in persons}
    for person in persons:
        await check_in(hubei, person, 38.2)
    parts = hubei.parts
    killed = Exporter(KilledOnPage(parts.recognition.repository.pool, 2), parts.recognition.status,
                      parts.recognition, hubei.clock, parts.exporter.policy)
    with pytest.raises(asyncio.CancelledError):
        await killed.run()
    # Restarted: two replicas at once, each from the stored cursor.
    await asyncio.gather(parts.exporter.run(), Exporter(
        parts.recognition.repository, parts.recognition.status, parts.recognition, hubei.clock,
        parts.exporter.policy).run())
    await delivered(hubei)
    pool = jiangsu.parts.recognition.repository.pool
    rows = await pool.fetch("""SELECT person_ref, colour FROM verification.risk_records
                               WHERE province_code = $1 AND person_ref = ANY($2::bytea[])""", HUBEI, list(refs))
    assert sorted(bytes(r["person_ref"]) for r in rows) == sorted(refs)  # each once
    assert {r["colour"] for r in rows} == {int(Colour.YELLOW)}
    # The batches sent cover the feed without a gap or an overlap.
    ranges = sorted(tuple(int(n) for n in r["batch_id"].rsplit("-", 2)[1:]) for r in await hubei.parts.recognition
                    .repository.pool.fetch("SELECT batch_id FROM verification.outbox_batches"))
    assert all(previous[1] <= following[0] for previous, following in zip(ranges, ranges[1:]))
    duplicates = await pool.fetchval("""SELECT count(*) - count(DISTINCT batch_id) FROM verification.risk_batches
                                        WHERE province_code = $1""", HUBEI)
    assert duplicates == 0


async def test_export_lag_is_a_metric(provinces):
    from prometheus_client import REGISTRY

    await export_and_deliver(provinces.hubei)
    assert REGISTRY.get_sample_value("healthcode_federation_export_lag_seconds") == 0
    assert REGISTRY.get_sample_value("healthcode_federation_exported_records_total", {"colour": "YELLOW"}) >= 1


# Certified exchange keys

async def rotate_exchange_key(p: Provinces, *, outsider: bool = False) -> bytes:
    """Hubei's verification restarts with a new exchange key, certified by the federation's exchange root
    (or by an outsider's); returns the new key's secret."""
    hubei = p.hubei
    secret = base64.b64decode(random_key())
    files = p.pki.certify_exchange_key(f"hubei-rotated-{time.monotonic_ns()}", frozenset({HUBEI}), secret,
                                       outsider=outsider)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificate(open(files["HEALTHCODE_VERIFICATION_EXCHANGE_CERT_FILE"],
                                                      "rb").read()).public_bytes(serialization.Encoding.DER)
    await hubei.stop_verification()
    hubei.verification_settings = replace(hubei.verification_settings, exchange_secret=secret,
                                          exchange_certificate=certificate)
    await hubei.start_verification()
    return secret


async def test_a_rotated_exchange_key_is_taken_because_the_root_certified_it_and_an_uncertified_one_refused(
        provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await sync(provinces)
    rotated = await rotate_exchange_key(provinces)
    new_id = hubei.parts.recognition.exchange_key_id
    assert new_id not in jiangsu.parts.recognition.view.keys
    # A batch it signs reaches Jiangsu before any trust-list sync: its certificate travels with it.
    record = pb.RiskListRecord(person_ref=b"k" * 16, colour=RED, reason="CLOSE_CONTACT", source="hubei-cdc",
                               expire_time=timestamp(hubei.clock.now() + timedelta(days=1)))
    published = await hubei.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(
        batch_id="rotated-1", records=[record]))
    assert list(published.delivered_to_province_codes) == [JIANGSU]
    assert await listed(jiangsu, b"k" * 16) == Colour.RED
    assert new_id in jiangsu.parts.recognition.view.keys
    await sync(provinces)  # the trust list it signs is kept too
    assert await jiangsu.parts.recognition.pull_trust_list(jiangsu.parts.recognition.peer_for(HUBEI)) is False
    assert jiangsu.parts.recognition.view.keys[new_id].not_after > hubei.clock.now()
    # A checkpoint holding the root takes snapshots the rotated key signs.
    device = OfflineCheckpoint(None, timedelta(hours=1), exchange_root=hubei.parts.recognition.exchange_root,
                               provinces=frozenset({HUBEI}))
    device.apply(await hubei.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest()))
    assert device.version > 0
    assert rotated


async def test_an_exchange_key_the_root_did_not_certify_is_refused_by_the_peer_and_the_checkpoint(provinces):
    import grpc
    from cryptography.hazmat.primitives.asymmetric import ec
    from healthcode.verification.v1 import verification_pb2_grpc

    from services.codes import key_id_of

    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    channel = grpc.aio.secure_channel(jiangsu.federation_address,
                                      provinces.pki.tls("hubei-impostor", frozenset({HUBEI})).channel_credentials())
    federation = verification_pb2_grpc.FederationServiceStub(channel)
    key = ec.generate_private_key(ec.SECP256R1())
    from services.verification.recognition.exchange import RiskRecord

    records = [RiskRecord(b"u" * 16, Colour.RED, "CLOSE_CONTACT", "hubei-cdc", jiangsu.clock.now() + timedelta(days=1))]
    message = [pb.RiskListRecord(person_ref=r.person_ref, colour=int(r.colour), reason=r.reason, source=r.source,
                                 expire_time=timestamp(r.expire_time)) for r in records]
    signature = sign(key, RISK_LIST, risk_list_bytes("impostor-1", HUBEI, records))
    for certificate, reason in ((b"", "EXCHANGE_KEY_UNKNOWN"),
                                (provinces.pki.exchange_certificate(key.public_key(), frozenset({HUBEI}),
                                                                    outsider=True), "EXCHANGE_KEY_NOT_CERTIFIED"),
                                (provinces.pki.exchange_certificate(key.public_key(), frozenset({"310000"})),
                                 "EXCHANGE_KEY_UNKNOWN")):  # certified, but for another province
        error = await refused(federation.SubmitRiskList(pb.SubmitRiskListRequest(
            batch_id="impostor-1", province_code=HUBEI, key_id=key_id_of(key.public_key()).hex(),
            signature=signature, records=message, exchange_key_certificate=certificate)))
        assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.PERMISSION_DENIED, reason)
    await channel.close()
    assert await listed(jiangsu, b"u" * 16) is None
    assert key_id_of(key.public_key()) not in jiangsu.parts.recognition.view.keys

    # A trust list it signs is refused too, whatever it claims.
    from cryptography.hazmat.primitives import serialization

    from services.verification.recognition.exchange import TRUST_LIST
    from services.verification.recognition.federation import TrustListRefused, read_trust_list

    public_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    for certificate in (b"", provinces.pki.exchange_certificate(key.public_key(), frozenset({HUBEI}), outsider=True)):
        document = pb.TrustListDocument(version=10**9, province_codes=[HUBEI], exchange_key=pb.TrustedKey(
            key_id=key_id_of(key.public_key()).hex(), province_code=HUBEI, public_key=public_der, purpose=2,
            not_before_time=timestamp(jiangsu.clock.now() - timedelta(days=1)),
            not_after_time=timestamp(jiangsu.clock.now() + timedelta(days=1))),
            exchange_key_certificate=certificate).SerializeToString()
        with pytest.raises(TrustListRefused) as refusal:
            read_trust_list(document, sign(key, TRUST_LIST, document), frozenset({HUBEI}),
                            jiangsu.parts.recognition.exchange_root, jiangsu.clock.now())
        assert refusal.value.reason == "TRUST_LIST_SIGNER_NOT_CERTIFIED"

    device = OfflineCheckpoint(None, timedelta(hours=1), exchange_root=hubei.parts.recognition.exchange_root,
                               provinces=frozenset({HUBEI}))
    response = await hubei.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest())
    forged = pb.GetOfflineSnapshotResponse(
        snapshot=response.snapshot, key_id=key_id_of(key.public_key()).hex(),
        signature=sign(key, b"HCN1-SNAPSHOT", response.snapshot),
        key_certificate=provinces.pki.exchange_certificate(key.public_key(), frozenset({HUBEI}), outsider=True))
    with pytest.raises(SnapshotRejected):
        device.apply(forged)
    elsewhere = OfflineCheckpoint(None, timedelta(hours=1), exchange_root=hubei.parts.recognition.exchange_root,
                                  provinces=frozenset({JIANGSU}))
    with pytest.raises(SnapshotRejected):  # Hubei's key, certified, but not for the device's province
        elsewhere.apply(response)


async def test_a_new_signing_key_is_published_before_it_signs_so_a_scan_at_once_passes(postgres_server_url):
    """With production's lead: the peer learns the key (pushed) before any code carries it."""
    both = await start_provinces(postgres_server_url, HEALTHCODE_STATUS_KEY_PUBLISH_LEAD_SECONDS="120")
    try:
        hubei, jiangsu = both.hubei, both.jiangsu
        await jiangsu.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
            issuer_province_code=HUBEI, accepted_since_time=timestamp(jiangsu.clock.now() - timedelta(days=1)))))
        person = await hubei.resident()
        old_key = read_code(await hubei.code(person)).key_id
        rotated = await hubei.status_admin.CreateSigningKey(status_pb2.CreateSigningKeyRequest(province_code=HUBEI))
        new_key = bytes.fromhex(rotated.key.key_id)
        payload = await hubei.code(person)  # scanned at once
        assert read_code(payload).key_id == old_key
        assert (await verify(jiangsu, payload)).decision == pb.DECISION_PASS
        # By the time it signs the peer holds it (pushed within a second here; the lead is two minutes).
        started = time.monotonic()
        while new_key not in jiangsu.parts.recognition.view.keys and time.monotonic() - started < 5:
            await asyncio.sleep(0.1)
        for deployment in (hubei, jiangsu):
            deployment.clock.advance(timedelta(seconds=121))
        payload = await hubei.code(person)
        assert read_code(payload).key_id == new_key
        response = await verify(jiangsu, payload)
        assert (response.decision, response.reason) == (pb.DECISION_PASS, "")
    finally:
        await both.stop()


async def test_the_background_jobs_alone_bring_a_red_person_to_the_peers_list(postgres_server_url):
    """No round driven by hand: the exporter's job (every 0.2 s) and the outbox's deliver by themselves."""
    both = await start_provinces(postgres_server_url, HEALTHCODE_VERIFICATION_EXPORT_INTERVAL_SECONDS="0.2",
                                 HEALTHCODE_VERIFICATION_EXPORT_MAX_DELAY_SECONDS="0")
    try:
        hubei, jiangsu = both.hubei, both.jiangsu
        await hubei.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
            issuer_province_code=JIANGSU, accepted_since_time=timestamp(hubei.clock.now() - timedelta(days=1)))))
        person = await hubei.resident()
        ref = await reference(hubei, person)
        await check_in(hubei, person, 38.9)
        started = time.monotonic()
        while await listed(jiangsu, ref) is None and time.monotonic() - started < 10:
            await asyncio.sleep(0.1)
        assert await listed(jiangsu, ref) == Colour.YELLOW
    finally:
        await both.stop()

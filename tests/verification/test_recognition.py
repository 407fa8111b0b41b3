"""Two provinces, two deployments: Hubei's codes at Jiangsu's checkpoints, and back."""

from __future__ import annotations

import asyncio
import base64
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import base45
import grpc
import pytest
from prometheus_client import REGISTRY
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc

from services.codes import read_code
from tests.support import error_details, random_key, refused, timestamp
from tests.support.deployments import HUBEI, JIANGSU, Deployment, Provinces, start_provinces, sync
from tests.support.verification import agree, verify

PASS, DENY, MANUALLY = pb.DECISION_PASS, pb.DECISION_DENY, pb.DECISION_CHECK_MANUALLY
GREEN, YELLOW, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED


@pytest.fixture(scope="module")
async def provinces(postgres_server_url) -> AsyncIterator[Provinces]:
    both = await start_provinces(postgres_server_url)
    yield both
    await both.stop()


async def test_a_code_passes_in_its_own_province(provinces):
    person = await provinces.hubei.resident()
    response = await verify(provinces.hubei, await provinces.hubei.code(person))
    assert (response.decision, response.colour, response.issuer_province_code) == (PASS, GREEN, HUBEI)
    assert "*" in response.masked_name


async def test_another_provinces_code_needs_an_agreement(provinces):
    await provinces.jiangsu.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
        issuer_province_code=HUBEI, accepted_since_time=timestamp(provinces.jiangsu.clock.now()),
        end_time=timestamp(provinces.jiangsu.clock.now()))))  # an ended agreement accepts nothing
    payload = await provinces.hubei.code(await provinces.hubei.resident())
    refused_response = await verify(provinces.jiangsu, payload)
    assert (refused_response.decision, refused_response.reason) == (DENY, "ISSUER_NOT_RECOGNISED")
    await agree(provinces)
    assert (await verify(provinces.jiangsu, payload)).decision == PASS


async def test_the_agreement_maps_the_issuers_display_colours(provinces):
    await agree(provinces, {"yellow": RED})
    person = await provinces.hubei.resident()
    await provinces.hubei.status.RecordCheckIn(status_pb2.RecordCheckInRequest(person_id=person,
                                                                               temperature_celsius=38.0))
    payload = await provinces.hubei.code(person)
    at_home = await verify(provinces.hubei, payload)
    in_jiangsu = await verify(provinces.jiangsu, payload)
    assert (at_home.decision, at_home.colour, at_home.reason) == (DENY, YELLOW, "COLOUR_YELLOW")
    assert (in_jiangsu.decision, in_jiangsu.colour, in_jiangsu.reason) == (DENY, RED, "COLOUR_RED")
    await agree(provinces)


async def test_a_code_made_stale_by_a_newer_status_is_refused_across_provinces(provinces):
    await agree(provinces)
    person = await provinces.hubei.resident()
    payload = await provinces.hubei.code(person)
    await provinces.hubei.status.RecordCheckIn(status_pb2.RecordCheckInRequest(person_id=person,
                                                                               temperature_celsius=36.5,
                                                                               symptoms=[status_pb2.SYMPTOM_COUGH]))
    response = await verify(provinces.jiangsu, payload)
    assert (response.decision, response.reason) == (DENY, "STATUS_STALE")


async def test_rotation_keeps_old_codes_valid_until_they_expire_and_a_revoked_key_fails(provinces):
    await agree(provinces)
    person = await provinces.hubei.resident()
    old_payload = await provinces.hubei.code(person)
    old_key = read_code(old_payload).key_id.hex()
    provinces.hubei.clock.advance(timedelta(seconds=1))  # the newer key starts later than the first
    new_key = await provinces.hubei.status_admin.CreateSigningKey(status_pb2.CreateSigningKeyRequest(
        province_code=HUBEI, not_before_time=timestamp(provinces.hubei.clock.now())))
    await sync(provinces)
    new_payload = await provinces.hubei.code(person)
    assert read_code(new_payload).key_id.hex() == new_key.key.key_id
    assert (await verify(provinces.jiangsu, old_payload)).decision == PASS
    assert (await verify(provinces.jiangsu, new_payload)).decision == PASS
    await provinces.hubei.status_admin.RevokeSigningKey(status_pb2.RevokeSigningKeyRequest(key_id=old_key))
    await sync(provinces)
    for deployment in (provinces.hubei, provinces.jiangsu):
        response = await verify(deployment, old_payload)
        assert (response.decision, response.reason) == (DENY, "KEY_REVOKED")
    assert (await verify(provinces.jiangsu, new_payload)).decision == PASS


async def test_clock_skew_is_tolerated_within_bounds_and_reported(provinces):
    await agree(provinces)
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    person = await hubei.resident()
    start = jiangsu.clock.now()
    try:
        payload = await hubei.code(person)
        issued = read_code(payload).claims.issued_at
        jiangsu.clock.set(issued - timedelta(seconds=20))  # the checkpoint's clock runs 20 s behind
        ahead = await verify(jiangsu, payload)
        assert (ahead.decision, ahead.clock_skew_seconds) == (PASS, 20)
        jiangsu.clock.set(issued - timedelta(seconds=45))
        too_far = await verify(jiangsu, payload)
        assert (too_far.decision, too_far.reason, too_far.clock_skew_seconds) == (DENY, "CODE_FROM_FUTURE", 45)
        jiangsu.clock.set(issued + timedelta(seconds=75))  # expired 15 s ago: within the 30 s skew
        assert (await verify(jiangsu, payload)).decision == PASS
        jiangsu.clock.set(issued + timedelta(seconds=95))  # 35 s after expiry: beyond it
        late = await verify(jiangsu, payload)
        assert (late.decision, late.reason) == (DENY, "CODE_EXPIRED")
    finally:
        jiangsu.clock.set(start)


async def test_every_single_character_change_of_a_payload_is_refused(provinces):
    payload = await provinces.hubei.code(await provinces.hubei.resident())
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    decisions = await asyncio.gather(*(verify(provinces.hubei, payload[:i] + alphabet[
        (alphabet.index(payload[i]) + 1) % len(alphabet)] + payload[i + 1:]) for i in range(5, len(payload))))
    assert all(d.decision == DENY for d in decisions)
    assert (await verify(provinces.hubei, payload)).decision == PASS


async def test_oversized_and_zlib_bomb_payloads_are_refused_cheaply(provinces):
    huge = await verify(provinces.hubei, "HCN1:" + "A" * 100_000)
    bomb = await verify(provinces.hubei, "HCN1:" + base45.b45encode(zlib.compress(b"\0" * 1_000_000, 9)).decode()[:1000])
    small_bomb = "HCN1:" + base45.b45encode(zlib.compress(b"\0" * 200_000, 9)).decode()
    assert (huge.decision, huge.reason) == (DENY, "PAYLOAD_TOO_LARGE")
    assert bomb.decision == DENY
    assert (await verify(provinces.hubei, small_bomb)).reason == "DECOMPRESSED_TOO_LARGE"


async def test_a_red_record_from_the_verifying_province_denies_an_issuers_green_code(provinces):
    await agree(provinces)
    person = await provinces.hubei.resident()
    reference = (await provinces.hubei.persons.GetPerson(identity_pb2.GetPersonRequest(
        person_id=person))).person.federation_ref
    payload = await provinces.hubei.code(person)
    assert (await verify(provinces.jiangsu, payload)).decision == PASS
    published = await provinces.jiangsu.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(
        batch_id="js-2026-11-22-1", records=[
            pb.RiskListRecord(person_ref=reference, colour=RED, reason="CLOSE_CONTACT", source="jiangsu-cdc",
                              expire_time=timestamp(provinces.jiangsu.clock.now() + timedelta(days=7))),
            pb.RiskListRecord(person_ref=b"short", colour=RED, reason="CLOSE_CONTACT", source="jiangsu-cdc",
                              expire_time=timestamp(provinces.jiangsu.clock.now() + timedelta(days=7)))]))
    assert published.stored_count == 1
    assert [(r.index, r.field) for r in published.rejections] == [(1, "records[1].person_ref")]
    assert list(published.delivered_to_province_codes) == [HUBEI]
    # Delivered to Hubei too, signed by Jiangsu: the person's home status follows it (外省推送红码), so the
    # code shown before is stale, and Hubei's checkpoints count the record as well.
    denied = await verify(provinces.jiangsu, payload)
    assert (denied.decision, denied.reason) == (DENY, "STATUS_STALE")
    assert (await verify(provinces.hubei, payload)).reason == "STATUS_STALE"
    assert await provinces.hubei.parts.recognition.repository.listed_colour(
        reference, provinces.hubei.clock.now()) == RED


def federation_stub(deployment: Deployment, tls) -> tuple[grpc.aio.Channel, object]:
    channel = grpc.aio.secure_channel(deployment.federation_address, tls.channel_credentials())
    return channel, verification_pb2_grpc.FederationServiceStub(channel)


async def batch_count(deployment: Deployment) -> int:
    """Batches the deployment holds under the ids the refused calls below use."""
    return await deployment.parts.recognition.repository.pool.fetchval(
        "SELECT count(*) FROM verification.risk_batches WHERE batch_id IN ('forged-1', 'b-1', 'b-2')")


async def test_a_forged_risk_list_is_refused_and_changes_nothing(provinces):
    """Over mutual TLS with Jiangsu's own certificate, but not signed by Jiangsu's exchange key."""
    channel, federation = federation_stub(provinces.hubei,
                                          provinces.pki.tls("jiangsu-forger", frozenset({JIANGSU})))
    before = await batch_count(provinces.hubei)
    record = pb.RiskListRecord(person_ref=b"r" * 16, colour=RED, reason="CLOSE_CONTACT", source="jiangsu-cdc",
                               expire_time=timestamp(provinces.hubei.clock.now() + timedelta(days=1)))
    for key_id in ("00" * 8, provinces.jiangsu.parts.recognition.exchange_key_id.hex()):
        error = await refused(federation.SubmitRiskList(pb.SubmitRiskListRequest(
            batch_id="forged-1", province_code=JIANGSU, key_id=key_id, signature=b"\0" * 64, records=[record])))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_details(error)[0] in ("EXCHANGE_KEY_UNKNOWN", "SIGNATURE_INVALID")
    assert await batch_count(provinces.hubei) == before
    await channel.close()


async def test_the_federation_port_refuses_callers_without_a_federation_certificate(provinces):
    from services.verification.recognition.federation_tls import FederationTls

    hubei = provinces.hubei
    plaintext = grpc.aio.insecure_channel(hubei.federation_address)
    member = provinces.pki.tls("no-certificate", frozenset({JIANGSU}))
    anonymous = grpc.aio.secure_channel(hubei.federation_address, grpc.ssl_channel_credentials(member.ca))
    outsider = provinces.pki.tls("outsider", frozenset({JIANGSU}), outsider=True)
    # An outsider trusting the federation CA (to reach the port) but presenting its own CA's certificate.
    impostor = grpc.aio.secure_channel(hubei.federation_address, FederationTls(
        member.ca, outsider.certificate, outsider.key).channel_credentials())
    for channel in (plaintext, anonymous, impostor):
        error = await refused(verification_pb2_grpc.FederationServiceStub(channel).GetTrustList(
            pb.GetTrustListRequest(), timeout=5))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        await channel.close()


async def test_what_a_peer_may_do_follows_the_provinces_its_certificate_names(provinces):
    hubei, pki = provinces.hubei, provinces.pki
    before = await batch_count(hubei)
    cases = {frozenset(): ("PEER_CERTIFICATE_WITHOUT_PROVINCES", grpc.StatusCode.UNAUTHENTICATED),
             frozenset({"310000"}): ("PEER_UNKNOWN", grpc.StatusCode.PERMISSION_DENIED),
             frozenset({JIANGSU, "310000"}): ("PEER_UNKNOWN", grpc.StatusCode.PERMISSION_DENIED),
             frozenset({HUBEI}): ("PEER_CLAIMS_OWN_PROVINCE", grpc.StatusCode.PERMISSION_DENIED)}
    for names, (reason, code) in cases.items():
        channel, federation = federation_stub(hubei, pki.tls(f"peer-{len(names)}-{min(names, default='x')}",
                                                                       names))
        for call in (federation.GetTrustList(pb.GetTrustListRequest()),
                     federation.ListStaleCodes(pb.ListStaleCodesRequest()),
                     federation.NotifyTrustListChanged(pb.NotifyTrustListChangedRequest(version=1)),
                     federation.SubmitRiskList(pb.SubmitRiskListRequest(batch_id="b-1", province_code=JIANGSU))):
            error = await refused(call)
            assert (error.code(), error_details(error)[0]) == (code, reason), sorted(names)
        await channel.close()
    # Jiangsu's certificate, a batch in the name of a province it does not speak for.
    channel, federation = federation_stub(hubei, pki.tls("jiangsu-2", frozenset({JIANGSU})))
    error = await refused(federation.SubmitRiskList(pb.SubmitRiskListRequest(batch_id="b-2", province_code="310000")))
    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.PERMISSION_DENIED,
                                                       "PROVINCE_NOT_IN_CERTIFICATE")
    assert (await federation.GetTrustList(pb.GetTrustListRequest())).province_codes == [HUBEI]
    assert await batch_count(hubei) == before
    await channel.close()


async def test_no_admin_or_checkpoint_service_is_on_the_federation_port_nor_federation_on_the_main_one(provinces):
    hubei = provinces.hubei
    channel = grpc.aio.secure_channel(hubei.federation_address,
                                      provinces.pki.tls("jiangsu-3", frozenset({JIANGSU})).channel_credentials())
    admin = verification_pb2_grpc.RecognitionAdminServiceStub(channel)
    agreement = pb.Agreement(issuer_province_code="310000", accepted_since_time=timestamp(hubei.clock.now()))
    for call in (admin.SetAgreement(pb.SetAgreementRequest(agreement=agreement)),
                 admin.PublishRiskList(pb.PublishRiskListRequest(batch_id="b-3")),
                 verification_pb2_grpc.VerificationServiceStub(channel).GetOfflineSnapshot(
                     pb.GetOfflineSnapshotRequest())):
        assert (await refused(call)).code() == grpc.StatusCode.UNIMPLEMENTED
    await channel.close()
    main = grpc.aio.insecure_channel(hubei.servers[-1].address)
    error = await refused(verification_pb2_grpc.FederationServiceStub(main).GetTrustList(pb.GetTrustListRequest()))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    await main.close()
    assert "310000" not in {a.issuer_province_code for a in (await hubei.recognition_admin.ListAgreements(
        pb.ListAgreementsRequest())).agreements}


async def test_a_fever_at_the_checkpoint_denies_and_turns_the_status_yellow(provinces):
    person = await provinces.hubei.resident()
    response = await verify(provinces.hubei, await provinces.hubei.code(person), temperature_celsius=37.8)
    assert (response.decision, response.reason) == (DENY, "FEVER")
    status = await provinces.hubei.status.GetStatus(status_pb2.GetStatusRequest(person_id=person))
    assert (status.status.colour, [r.code for r in status.status.reasons]) == (YELLOW, ["FEVER_ON_SITE"])


async def test_bad_requests_name_the_field(provinces):
    error = await refused(provinces.hubei.verifier.VerifyCode(pb.VerifyCodeRequest(
        payload="HCN1:", checkpoint_id="Gate 1", area_code="320102")))
    assert error_details(error) == ("CHECKPOINT_ID_INVALID", ["checkpoint_id"])
    error = await refused(provinces.hubei.verifier.VerifyCode(pb.VerifyCodeRequest(
        payload="HCN1:", checkpoint_id="gate-1", area_code="320102", temperature_celsius=80)))
    assert error_details(error) == ("TEMPERATURE_INVALID", ["temperature_celsius"])


async def test_decisions_are_recorded_without_personal_data(provinces, postgres_server_url):
    payload = await provinces.hubei.code(await provinces.hubei.resident())
    response = await verify(provinces.hubei, payload)
    await provinces.hubei.parts.checkpoint.decisions.flush()  # decisions are written in batches after the answer
    pool = provinces.hubei.parts.recognition.repository.pool
    row = await pool.fetchrow("SELECT * FROM verification.decisions WHERE verification_id = $1",
                              response.verification_id)
    assert (row["decision"], row["checkpoint_id"], bytes(row["code_id"])) == (
        PASS, "gate-1", read_code(payload).claims.code_id)
    assert set(row.keys()) == {"verification_id", "verify_time", "checkpoint_id", "area_code", "decision", "reason",
                               "issuer_province", "colour", "code_id", "dcc_country", "dcc_kind", "recorded_offline"}


async def test_offline_verification_gives_the_online_answers(provinces):
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: F401

    from services.verification.bootstrap import exchange_key_from_secret
    from services.verification.recognition.offline import OfflineCheckpoint

    await agree(provinces, {"yellow": RED})
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    green, stale, listed, yellow = [await hubei.resident() for _ in range(4)]
    cases = {"green": await hubei.code(green), "stale": await hubei.code(stale)}
    await hubei.status.RecordCheckIn(status_pb2.RecordCheckInRequest(person_id=stale, temperature_celsius=38.5))
    await hubei.status.RecordCheckIn(status_pb2.RecordCheckInRequest(person_id=yellow, temperature_celsius=38.5))
    cases["yellow"] = await hubei.code(yellow)
    reference = (await hubei.persons.GetPerson(identity_pb2.GetPersonRequest(person_id=listed))).person.federation_ref
    await jiangsu.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(batch_id="js-offline-1", records=[
        pb.RiskListRecord(person_ref=reference, colour=YELLOW, reason="MEDIUM_RISK_STAY", source="jiangsu-cdc",
                          expire_time=timestamp(jiangsu.clock.now() + timedelta(days=1)))]))
    cases["listed"] = await hubei.code(listed)
    cases["tampered"] = cases["green"][:-3] + ("A" if cases["green"][-3] != "A" else "B") + cases["green"][-2:]
    cases["garbage"] = "HCN1:%%%"
    cases["not ours"] = "HC1:6BFOXN"
    device = OfflineCheckpoint(exchange_key_from_secret(jiangsu.exchange_secret).public_key(), timedelta(hours=24))
    device.apply(await jiangsu.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest()))
    for name, payload in cases.items():
        online = await verify(jiangsu, payload)
        offline = device.verify(payload, jiangsu.clock.now())
        assert (int(offline.decision), offline.reason) == (online.decision, online.reason), name
    assert {name: (await verify(jiangsu, p)).reason for name, p in cases.items()}["stale"] == "STATUS_STALE"
    await agree(provinces)


async def test_a_snapshot_syncs_by_delta_and_too_old_a_snapshot_is_a_verdict(provinces):
    from services.verification.bootstrap import exchange_key_from_secret
    from services.verification.recognition.offline import OfflineCheckpoint, SnapshotRejected

    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    device = OfflineCheckpoint(exchange_key_from_secret(jiangsu.exchange_secret).public_key(), timedelta(hours=1))
    device.apply(await jiangsu.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest()))
    await jiangsu.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
        issuer_province_code=HUBEI, accepted_since_time=timestamp(jiangsu.clock.now() - timedelta(days=1)),
        end_time=timestamp(jiangsu.clock.now()))))
    held = device.version
    delta = await jiangsu.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest(since_version=held))
    changes = pb.OfflineSnapshot.FromString(delta.snapshot)
    assert changes.base_version == held and changes.version > held
    device.apply(delta)
    payload = await hubei.code(await hubei.resident())
    assert device.verify(payload, jiangsu.clock.now()).reason == "ISSUER_NOT_RECOGNISED"
    assert device.verify(payload, jiangsu.clock.now() + timedelta(hours=2)).reason == "SNAPSHOT_TOO_OLD"
    forged = pb.GetOfflineSnapshotResponse(snapshot=delta.snapshot, signature=b"\0" * 64, key_id=delta.key_id)
    with pytest.raises(SnapshotRejected):
        device.apply(forged)
    other = OfflineCheckpoint(exchange_key_from_secret(base64.b64decode(random_key())).public_key(),
                              timedelta(hours=1))
    with pytest.raises(SnapshotRejected):
        other.apply(delta)
    await agree(provinces)


async def test_a_code_from_a_province_outside_the_federation_is_refused(provinces):
    """Well formed and correctly signed, but by a key nobody here trusts."""
    import os

    from cryptography.hazmat.primitives.asymmetric import ec

    from services.codes import CodeClaims, key_id_of, sign_code
    from services.colours import Colour

    outsider = ec.generate_private_key(ec.SECP256R1())
    issued = provinces.jiangsu.clock.now().replace(microsecond=0)
    claims = CodeClaims(issuer_province="450000", code_id=os.urandom(16), national_colour=Colour.GREEN,
                        display_colour="green", status_version=1, masked_name="李*", person_ref=os.urandom(16),
                        issued_at=issued, expires_at=issued + timedelta(seconds=60))
    response = await verify(provinces.jiangsu, sign_code(claims, outsider, key_id_of(outsider.public_key())))
    assert (response.decision, response.reason, response.issuer_province_code) == (DENY, "KEY_UNKNOWN", "450000")


async def test_a_revocation_once_known_is_never_undone_by_a_later_list(provinces):
    from services.verification.recognition.repository import KeyRow

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    repository = provinces.jiangsu.parts.recognition.repository
    now = provinces.jiangsu.clock.now()
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = KeyRow(b"\x01" * 8, "410000", 1, public, now - timedelta(days=1), now + timedelta(days=1), now)
    await repository.upsert_keys([key])
    await repository.upsert_keys([KeyRow(**{**key.__dict__, "revoke_time": None})])
    stored = next(k for k in await repository.keys() if k.key_id == key.key_id)
    assert stored.revoke_time == now


async def test_an_old_green_code_made_current_again_in_sql_is_still_refused(provinces):
    """Lowering a red person's stored version to the one their green code carries: the row's binding
    fails, status decides again, and the old code is stale at the checkpoint."""
    person = await provinces.hubei.resident()
    green_code = await provinces.hubei.code(person)
    await provinces.hubei.status.RecordCheckIn(status_pb2.RecordCheckInRequest(
        person_id=person, temperature_celsius=38.6))
    server_url, database = provinces.hubei.drop
    connection = await asyncpg.connect(urlunsplit(urlsplit(server_url)._replace(path="/" + database)))
    try:
        await connection.execute("UPDATE status.statuses SET version = 1, colour = 1 WHERE person_id = $1",
                                 uuid.UUID(person))
    finally:
        await connection.close()

    response = await verify(provinces.hubei, green_code)

    assert (response.decision, response.reason) == (DENY, "STATUS_STALE")


async def test_a_peers_trust_list_is_signed_and_its_version_only_grows(provinces):
    from services.verification.recognition.federation import TrustListRefused, read_trust_list

    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    recognition = jiangsu.parts.recognition
    peer = recognition.peer_for(HUBEI)
    await sync(provinces)
    old = await peer.trust_list()
    hubei.clock.advance(timedelta(seconds=1))
    added = await hubei.status_admin.CreateSigningKey(status_pb2.CreateSigningKeyRequest(
        province_code=HUBEI, not_before_time=timestamp(hubei.clock.now())))
    await sync(provinces)
    new = await peer.trust_list()
    assert new.version > old.version
    assert await recognition.repository.peer_trust_version(peer.address) == new.version
    # An older list (a replay, a lagging replica) is refused and the last good one kept.
    assert not await recognition.accept_trust_list(peer, old)
    assert await recognition.repository.peer_trust_version(peer.address) == new.version
    assert bytes.fromhex(added.key.key_id) in {k.key_id for k in await recognition.repository.keys()}

    channel, federation = federation_stub(hubei, provinces.pki.tls("jiangsu-4", frozenset({JIANGSU})))
    response = await federation.GetTrustList(pb.GetTrustListRequest())
    await channel.close()
    document, signature = bytes(response.document), bytes(response.signature)
    assert read_trust_list(document, signature, frozenset({HUBEI})).version == new.version
    tampered = pb.TrustListDocument.FromString(document)
    tampered.version += 1000
    cases = {"TRUST_LIST_SIGNATURE_INVALID": (tampered.SerializeToString(), signature, {HUBEI}),
             "TRUST_LIST_SIGNER_INVALID": (document, signature, {"310000"}),
             "TRUST_LIST_MALFORMED": (b"\xff\xff", signature, {HUBEI})}
    for reason, (body, sig, names) in cases.items():
        with pytest.raises(TrustListRefused) as refusal:
            read_trust_list(body, sig, frozenset(names))
        assert refusal.value.reason == reason


async def test_concurrent_trust_lists_from_one_peer_never_take_its_version_back(provinces):
    repository = provinces.jiangsu.parts.recognition.repository
    now = provinces.jiangsu.clock.now()
    applied = await asyncio.gather(*(repository.accept_peer_keys("race-peer:1", version, [], now)
                                     for version in (3, 9, 1, 7, 9, 2)))
    assert applied.count(True) >= 1 and await repository.peer_trust_version("race-peer:1") == 9
    assert not await repository.accept_peer_keys("race-peer:1", 9, [], now)


async def test_a_revoked_key_is_refused_by_the_peer_within_5_seconds_without_waiting_for_its_pull(provinces):
    """Hubei's verification reads its status's keys every 0.2 s here and pushes; Jiangsu's own pull is
    once a minute, so only the push can bring the revocation this soon."""
    import time

    await agree(provinces)
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    hubei.clock.advance(timedelta(seconds=1))
    key = await hubei.status_admin.CreateSigningKey(status_pb2.CreateSigningKeyRequest(
        province_code=HUBEI, not_before_time=timestamp(hubei.clock.now())))
    await sync(provinces)
    payload = await hubei.code(await hubei.resident())
    assert read_code(payload).key_id.hex() == key.key.key_id
    assert (await verify(jiangsu, payload)).decision == PASS
    await hubei.status_admin.RevokeSigningKey(status_pb2.RevokeSigningKeyRequest(key_id=key.key.key_id))
    started = time.monotonic()
    while time.monotonic() - started < 5:
        if (await verify(jiangsu, payload)).reason == "KEY_REVOKED":
            break
        await asyncio.sleep(0.1)
    assert (await verify(jiangsu, payload)).reason == "KEY_REVOKED"
    assert (await verify(hubei, payload)).reason == "KEY_REVOKED"


def _lab_result(person_id: str, at, result: int = status_pb2.TEST_RESULT_NEGATIVE) -> status_pb2.Fact:
    return status_pb2.Fact(person_id=person_id, kind=status_pb2.FACT_KIND_NUCLEIC_ACID_TEST, authority="wuhan-lab-1",
                           authority_record_id=str(uuid.uuid4()), source=status_pb2.FACT_SOURCE_LABORATORY,
                           effective_time=timestamp(at), test_result=result)


async def test_a_checkpoint_requiring_a_recent_negative_test_denies_without_one_online_and_offline(provinces):
    from services.verification.bootstrap import exchange_key_from_secret
    from services.verification.recognition.offline import OfflineCheckpoint

    hubei = provinces.hubei
    fresh, stale, untested = [await hubei.resident() for _ in range(3)]
    now = hubei.clock.now()
    await hubei.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[
        _lab_result(fresh, now - timedelta(hours=20)), _lab_result(stale, now - timedelta(hours=50))]))
    codes = {name: await hubei.code(person) for name, person in
             (("fresh", fresh), ("stale", stale), ("untested", untested))}
    device = OfflineCheckpoint(exchange_key_from_secret(hubei.exchange_secret).public_key(), timedelta(hours=24))
    device.apply(await hubei.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest()))

    required = (DENY, "NEGATIVE_TEST_REQUIRED")
    expected = {
        48: {"fresh": (PASS, ""), "stale": required, "untested": required},
        168: {"fresh": (PASS, ""), "stale": (PASS, ""), "untested": required},
        0: {"fresh": (PASS, ""), "stale": (PASS, ""), "untested": (PASS, "")},
    }
    for hours, outcomes in expected.items():
        for name, payload in codes.items():
            online = await verify(hubei, payload, negative_test_within_hours=hours)
            offline = device.verify(payload, hubei.clock.now(), test_within=timedelta(hours=hours) if hours else None)
            assert (online.decision, online.reason) == outcomes[name], (hours, name)
            assert (int(offline.decision), offline.reason) == outcomes[name], (hours, name)
    response = await verify(hubei, codes["fresh"], negative_test_within_hours=48)
    # The checkpoint learns "negative, sampled then" and nothing else about the test.
    assert response.negative_test_time.ToDatetime() == (now - timedelta(hours=20)).replace(tzinfo=None)
    assert not (await verify(hubei, codes["untested"])).HasField("negative_test_time")


async def test_a_red_code_is_denied_for_its_colour_before_any_test_requirement(provinces):
    hubei = provinces.hubei
    person = await hubei.resident()
    now = hubei.clock.now()
    await hubei.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[
        _lab_result(person, now - timedelta(hours=3), status_pb2.TEST_RESULT_POSITIVE)]))
    response = await verify(hubei, await hubei.code(person), negative_test_within_hours=48)
    assert (response.decision, response.reason) == (DENY, "COLOUR_RED")


@pytest.mark.parametrize("hours", [-1, 721])
async def test_a_test_requirement_out_of_range_is_refused_naming_the_field(provinces, hours):
    from tests.support import error_details

    error = await refused(provinces.hubei.verifier.VerifyCode(pb.VerifyCodeRequest(
        payload="HCN1:", checkpoint_id="gate-1", area_code="320102", negative_test_within_hours=hours)))
    assert error_details(error) == ("TEST_REQUIREMENT_INVALID", ["negative_test_within_hours"])


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_operators_see_decisions_by_reason_trust_list_age_and_key_expiry(provinces):
    passed = _sample("healthcode_verification_decisions_total", decision="PASS", reason="NONE")
    person = await provinces.hubei.resident()
    assert (await verify(provinces.hubei, await provinces.hubei.code(person))).decision == PASS
    garbled = await verify(provinces.hubei, "HC1:not-a-code")
    denied = _sample("healthcode_verification_decisions_total", decision=pb.Decision.Name(garbled.decision)[9:],
                     reason=garbled.reason)
    assert _sample("healthcode_verification_decisions_total", decision="PASS", reason="NONE") - passed == 1
    assert garbled.reason and denied >= 1

    await sync(provinces)
    # Jiangsu pulled Hubei's trust list at its own clock's time (both clocks stand still here).
    assert _sample("healthcode_verification_trust_list_synced_timestamp_seconds",
                   peer=HUBEI) == provinces.jiangsu.clock.now().timestamp()
    expiry = _sample("healthcode_verification_trusted_key_expiry_timestamp_seconds",
                     province_code=HUBEI, purpose="codes")
    assert expiry > provinces.jiangsu.clock.now().timestamp()


async def test_operators_see_how_old_each_peers_part_of_the_offline_snapshots_is(provinces):
    """A snapshot carries every peer's stale codes; one issued while a peer is down goes out without
    them, and the gap between the two times is what the alert watches."""
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await hubei.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest())
    fetched = _sample("healthcode_verification_peer_snapshot_timestamp_seconds", peer=JIANGSU)
    assert fetched == _sample("healthcode_verification_snapshot_issued_timestamp_seconds")
    assert fetched == pytest.approx(hubei.clock.now().timestamp(), abs=1)
    start = hubei.clock.now()
    await jiangsu.stop_verification()
    try:
        hubei.clock.advance(timedelta(minutes=20))
        await hubei.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest())
        issued = _sample("healthcode_verification_snapshot_issued_timestamp_seconds")
        assert issued - _sample("healthcode_verification_peer_snapshot_timestamp_seconds", peer=JIANGSU) >= 20 * 60
    finally:
        hubei.clock.set(start)
        await jiangsu.start_verification()
        await sync(provinces)
    await hubei.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest())
    assert _sample("healthcode_verification_peer_snapshot_timestamp_seconds", peer=JIANGSU) == _sample(
        "healthcode_verification_snapshot_issued_timestamp_seconds")

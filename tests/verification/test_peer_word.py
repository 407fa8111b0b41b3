"""Other provinces' word reaches the person: a red/yellow record Jiangsu sends about a Hubei person
becomes a fact of Jiangsu's in their Hubei status (外省推送红码) and a delisting lifts it; a fever read
at Jiangsu on a Hubei code becomes a fever-on-site fact at Hubei. Two deployments over mutual TLS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from decimal import Decimal

import asyncpg
import grpc
import pytest
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc

from services.codes import key_id_of
from services.colours import Colour
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.exchange import RISK_LIST, RiskRecord, risk_list_bytes, sign
from services.verification.recognition.fever_reports import FeverOutbox
from services.verification.recognition.fever_repository import FeverRepository
from services.verification.clients import LocalStatus
from tests.support import error_details, refused, timestamp
from tests.support.deployments import HUBEI, JIANGSU, Deployment, Provinces, free_port, start_provinces

GREEN, YELLOW, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED
DENY = pb.DECISION_DENY
JIANGSU_AUTHORITY = f"{JIANGSU}.federation"


@pytest.fixture(scope="module")
async def provinces(postgres_server_url) -> AsyncIterator[Provinces]:
    both = await start_provinces(postgres_server_url)
    await both.jiangsu.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
        issuer_province_code=HUBEI, accepted_since_time=timestamp(both.jiangsu.clock.now() - timedelta(days=1)))))
    yield both
    await both.stop()


async def hubei_person(provinces: Provinces) -> tuple[str, bytes]:
    """A Hubei resident with a (green) status at home, and their federation reference."""
    person = await provinces.hubei.resident()
    await provinces.hubei.status.GetStatus(status_pb2.GetStatusRequest(person_id=person))
    reference = (await provinces.hubei.persons.GetPerson(identity_pb2.GetPersonRequest(
        person_id=person))).person.federation_ref
    return person, reference


def record(deployment: Deployment, reference: bytes, colour: int = RED, reason: str = "CLOSE_CONTACT",
           days: int = 7) -> pb.RiskListRecord:
    return pb.RiskListRecord(person_ref=reference, colour=colour, reason=reason, source="jiangsu-cdc",
                             expire_time=timestamp(deployment.clock.now() + timedelta(days=days)))


async def status_of(provinces: Provinces, person: str) -> status_pb2.Status:
    return (await provinces.hubei.status.GetStatus(status_pb2.GetStatusRequest(person_id=person))).status


async def jiangsu_facts(provinces: Provinces, person: str) -> list[tuple[str, int]]:
    """(record id, source) of every fact Jiangsu's word made in the person's Hubei status."""
    pool = provinces.hubei.status_parts.repository.pool
    rows = await pool.fetch("SELECT authority_record_id, source FROM status.facts WHERE person_id = $1 "
                            "AND authority = $2 ORDER BY authority_record_id", person, JIANGSU_AUTHORITY)
    return [(r["authority_record_id"], r["source"]) for r in rows]


class JiangsuSender:
    """Jiangsu's deployment as Hubei's federation port sees it: its certificate, its exchange key."""

    def __init__(self, provinces: Provinces) -> None:
        jiangsu = provinces.jiangsu
        self._key = exchange_key_from_secret(jiangsu.exchange_secret)
        self._channel = grpc.aio.secure_channel(
            provinces.hubei.federation_address, jiangsu.verification_settings.federation_tls.channel_credentials())
        self.federation = verification_pb2_grpc.FederationServiceStub(self._channel)

    def signed(self, batch_id: str, records: list[pb.RiskListRecord]) -> pb.SubmitRiskListRequest:
        plain = [RiskRecord(r.person_ref, Colour(r.colour), r.reason, r.source, r.expire_time.ToDatetime(tzinfo=UTC))
                 for r in records]
        signature = sign(self._key, RISK_LIST, risk_list_bytes(batch_id, JIANGSU, plain))
        return pb.SubmitRiskListRequest(batch_id=batch_id, province_code=JIANGSU, records=records,
                                        key_id=key_id_of(self._key.public_key()).hex(), signature=signature)

    async def close(self) -> None:
        await self._channel.close()


@pytest.fixture
async def sender(provinces) -> AsyncIterator[JiangsuSender]:
    jiangsu = JiangsuSender(provinces)
    yield jiangsu
    await jiangsu.close()


async def test_a_red_record_from_jiangsu_turns_a_hubei_person_red_at_home_with_its_provenance(provinces):
    person, reference = await hubei_person(provinces)
    published = await provinces.jiangsu.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(
        batch_id="js-red-1", records=[record(provinces.jiangsu, b"\x01" * 16), record(provinces.jiangsu, reference)]))
    assert list(published.delivered_to_province_codes) == [HUBEI]
    status = await status_of(provinces, person)
    assert (status.colour, status.display_colour) == (RED, "red")
    [reason] = [r for r in status.reasons if r.code == "PEER_PROVINCE_RED"]
    assert reason.detail == f"{JIANGSU}/js-red-1/1/CLOSE_CONTACT"
    assert reason.until_time.ToDatetime() > provinces.hubei.clock.now().replace(tzinfo=None)
    assert await jiangsu_facts(provinces, person) == [("js-red-1/1", status_pb2.FACT_SOURCE_PEER_PROVINCE)]
    change = (await provinces.hubei.status.ListStatusChanges(status_pb2.ListStatusChangesRequest(
        person_id=person))).changes[0]
    assert (change.cause, change.colour, change.trace_id) == (
        status_pb2.CHANGE_CAUSE_PEER_PROVINCE, RED, f"peer:{JIANGSU}/js-red-1")
    assert [r.detail for r in change.reasons if r.code == "PEER_PROVINCE_RED"] == [reason.detail]


async def test_a_delisting_lifts_the_listing_and_the_colour_is_decided_again(provinces):
    person, reference = await hubei_person(provinces)
    await provinces.jiangsu.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(
        batch_id="js-yellow-2", records=[record(provinces.jiangsu, reference, YELLOW, "HOME_OBSERVATION")]))
    assert (await status_of(provinces, person)).colour == YELLOW
    payload = await provinces.hubei.code(person)
    assert (await provinces.hubei.verifier.VerifyCode(pb.VerifyCodeRequest(
        payload=payload, checkpoint_id="gate-1", area_code="420102"))).reason == "COLOUR_YELLOW"
    provinces.hubei.clock.advance(timedelta(minutes=1))  # the delisting is received later
    delisted = await provinces.jiangsu.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(
        batch_id="js-delist-2", records=[record(provinces.jiangsu, reference, GREEN, "RELEASED")]))
    assert list(delisted.delivered_to_province_codes) == [HUBEI]
    status = await status_of(provinces, person)
    assert (status.colour, [r.code for r in status.reasons]) == (GREEN, [])
    change = (await provinces.hubei.status.ListStatusChanges(status_pb2.ListStatusChangesRequest(
        person_id=person))).changes[0]
    assert (change.previous_colour, change.colour, change.trace_id) == (YELLOW, GREEN, f"peer:{JIANGSU}/js-delist-2")
    # Hubei's checkpoints stop counting Jiangsu's record too.
    repository = provinces.hubei.parts.recognition.repository
    assert await repository.listed_colour(reference, provinces.hubei.clock.now()) is None


async def test_a_replayed_batch_changes_nothing(provinces, sender):
    person, reference = await hubei_person(provinces)
    request = sender.signed("js-replay-3", [record(provinces.jiangsu, reference)])
    first = await sender.federation.SubmitRiskList(request)
    version = (await status_of(provinces, person)).version
    again = await sender.federation.SubmitRiskList(request)
    assert (first.duplicate, again.duplicate) == (False, True)
    status = await status_of(provinces, person)
    assert (status.colour, status.version) == (RED, version)
    assert await jiangsu_facts(provinces, person) == [("js-replay-3/0", status_pb2.FACT_SOURCE_PEER_PROVINCE)]


async def test_a_forged_batch_is_refused_and_changes_nothing(provinces, sender):
    person, reference = await hubei_person(provinces)
    genuine = sender.signed("js-forged-4", [record(provinces.jiangsu, reference, YELLOW)])
    # The signature of a yellow record, sent with a red one.
    forged = pb.SubmitRiskListRequest()
    forged.CopyFrom(genuine)
    forged.records[0].colour = RED
    error = await refused(sender.federation.SubmitRiskList(forged))
    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "SIGNATURE_INVALID")
    status = await status_of(provinces, person)
    assert (status.colour, status.version) == (GREEN, 1)
    assert await jiangsu_facts(provinces, person) == []


async def test_the_same_batch_delivered_twice_at_once_gives_one_fact(provinces, sender):
    person, reference = await hubei_person(provinces)
    request = sender.signed("js-twice-5", [record(provinces.jiangsu, reference)])
    answers = await asyncio.gather(*(sender.federation.SubmitRiskList(request) for _ in range(2)))
    assert sorted(a.duplicate for a in answers) == [False, True]
    assert await jiangsu_facts(provinces, person) == [("js-twice-5/0", status_pb2.FACT_SOURCE_PEER_PROVINCE)]
    status = await status_of(provinces, person)
    assert (status.colour, status.version) == (RED, 2)
    changes = (await provinces.hubei.status.ListStatusChanges(status_pb2.ListStatusChangesRequest(
        person_id=person))).changes
    assert [c.cause for c in changes] == [status_pb2.CHANGE_CAUSE_PEER_PROVINCE, status_pb2.CHANGE_CAUSE_ENROLMENT]


async def test_a_province_cannot_delist_another_provinces_listing_nor_touch_other_facts(provinces, sender):
    person, reference = await hubei_person(provinces)
    await provinces.hubei.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[status_pb2.Fact(
        person_id=person, kind=status_pb2.FACT_KIND_QUARANTINE_ORDER, authority="420000.wuhan-cdc",
        authority_record_id="order-6", source=status_pb2.FACT_SOURCE_HEALTH, place=status_pb2.QUARANTINE_PLACE_HOME,
        effective_time=timestamp(provinces.hubei.clock.now() - timedelta(hours=1)))]))
    assert (await status_of(provinces, person)).colour == YELLOW
    await sender.federation.SubmitRiskList(sender.signed("js-delist-6", [record(provinces.jiangsu, reference, GREEN)]))
    assert [r.code for r in (await status_of(provinces, person)).reasons] == ["HOME_QUARANTINE"]
    # Nor may a feed speak in a province's name, or state its kind of fact.
    answer = await provinces.hubei.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[
        status_pb2.Fact(person_id=person, kind=status_pb2.FACT_KIND_DIAGNOSIS, authority=JIANGSU_AUTHORITY,
                        authority_record_id="js-delist-6/0", source=status_pb2.FACT_SOURCE_HEALTH,
                        diagnosis=status_pb2.DIAGNOSIS_CONFIRMED,
                        effective_time=timestamp(provinces.hubei.clock.now())),
        status_pb2.Fact(person_id=person, kind=status_pb2.FACT_KIND_PEER_PROVINCE_LISTING, authority="420000.cdc",
                        authority_record_id="x-1", source=status_pb2.FACT_SOURCE_HEALTH,
                        effective_time=timestamp(provinces.hubei.clock.now()))]))
    assert [(o.rejection_reason, o.rejection_field) for o in answer.outcomes] == [
        ("AUTHORITY_RESERVED", "facts[0].authority"), ("FACT_KIND_RESERVED", "facts[1].kind")]


async def test_a_listing_about_someone_else_is_not_kept_and_a_bad_record_is_reported(provinces):
    answer = await provinces.hubei.status.RecordPeerListings(status_pb2.RecordPeerListingsRequest(
        origin_province_code=JIANGSU, batch_id="js-direct-7", receive_time=timestamp(provinces.hubei.clock.now()),
        home_province_codes=[HUBEI], listings=[
            status_pb2.PeerListing(record_index=0, person_ref=b"\x07" * 16, colour=RED, reason="CLOSE_CONTACT",
                                   source="jiangsu-cdc",
                                   expire_time=timestamp(provinces.hubei.clock.now() + timedelta(days=1))),
            status_pb2.PeerListing(record_index=1, person_ref=b"\x07" * 16, colour=RED, reason="bad reason",
                                   source="jiangsu-cdc")]))
    assert (answer.stored_count, answer.unknown_count) == (0, 1)
    assert [(r.index, r.rejection_field) for r in answer.rejections] == [(1, "listings[1].reason")]
    error = await refused(provinces.hubei.status.RecordPeerListings(status_pb2.RecordPeerListingsRequest(
        origin_province_code=HUBEI, batch_id="b", receive_time=timestamp(provinces.hubei.clock.now()),
        home_province_codes=[HUBEI], listings=[status_pb2.PeerListing(person_ref=b"\x07" * 16, colour=GREEN,
                                                                     reason="R", source="s")])))
    assert (error.code(), error_details(error)) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                    ("ORIGIN_IS_HOME", ["origin_province_code"]))


async def verify_with_fever(provinces: Provinces, payload: str) -> pb.VerifyCodeResponse:
    provinces.jiangsu.clock.set(provinces.hubei.clock.now())  # other tests moved Hubei's clock on
    return await provinces.jiangsu.verifier.VerifyCode(pb.VerifyCodeRequest(
        payload=payload, checkpoint_id="gate-9", area_code="320102", temperature_celsius=38.4))


async def fever_reasons(provinces: Provinces, person: str) -> list[str]:
    return [r.detail for r in (await status_of(provinces, person)).reasons if r.code == "FEVER_ON_SITE"]


async def test_a_fever_at_jiangsu_on_a_hubei_code_becomes_fever_on_site_at_hubei(provinces):
    person, _ = await hubei_person(provinces)
    answer = await verify_with_fever(provinces, await provinces.hubei.code(person))
    assert (answer.decision, answer.reason) == (DENY, "FEVER")
    # The checkpoint answered at once; the report's first try runs beside it.
    for _ in range(100):
        if await jiangsu_facts(provinces, person):
            break
        await asyncio.sleep(0.05)
    status = await status_of(provinces, person)
    assert status.colour == YELLOW
    assert await fever_reasons(provinces, person) == [f"{JIANGSU}/{answer.verification_id}"]
    assert await jiangsu_facts(provinces, person) == [(answer.verification_id, status_pb2.FACT_SOURCE_PEER_PROVINCE)]


async def test_a_fever_report_is_refused_unless_the_code_is_really_the_issuers(provinces, sender):
    person, _ = await hubei_person(provinces)
    payload = await provinces.hubei.code(person)
    now = timestamp(provinces.hubei.clock.now())
    answer = await sender.federation.ReportFevers(pb.ReportFeversRequest(reports=[
        pb.FeverReport(report_id=str(uuid.uuid4()), reporter_province_code=JIANGSU, payload=payload[:-4] + "AAAA",
                       reading_time=now, temperature_celsius=38.0),
        pb.FeverReport(report_id=str(uuid.uuid4()), reporter_province_code=HUBEI, payload=payload,
                       reading_time=now, temperature_celsius=38.0),
        pb.FeverReport(report_id="not-a-uuid", reporter_province_code=JIANGSU, payload=payload,
                       reading_time=now, temperature_celsius=38.0)]))
    assert [o.accepted for o in answer.outcomes] == [False, False, False]
    assert [o.rejection_reason for o in answer.outcomes][1:] == ["PROVINCE_NOT_IN_CERTIFICATE", "REPORT_ID_INVALID"]
    assert await fever_reasons(provinces, person) == []


async def test_a_late_report_counts_when_the_code_was_valid_at_the_reading(provinces, sender):
    person, _ = await hubei_person(provinces)
    payload = await provinces.hubei.code(person)
    read_at = provinces.hubei.clock.now()
    report_id = str(uuid.uuid4())
    provinces.hubei.clock.advance(timedelta(hours=2))  # the code (60 s) expired long ago
    try:
        answer = await sender.federation.ReportFevers(pb.ReportFeversRequest(reports=[pb.FeverReport(
            report_id=report_id, reporter_province_code=JIANGSU, payload=payload, reading_time=timestamp(read_at),
            temperature_celsius=38.0)]))
        assert [o.accepted for o in answer.outcomes] == [True]
        assert await fever_reasons(provinces, person) == [f"{JIANGSU}/{report_id}"]
        # Read after the code expired: refused.
        late = await sender.federation.ReportFevers(pb.ReportFeversRequest(reports=[pb.FeverReport(
            report_id=str(uuid.uuid4()), reporter_province_code=JIANGSU, payload=payload,
            reading_time=timestamp(read_at + timedelta(minutes=10)), temperature_celsius=38.0)]))
        assert [(o.accepted, o.rejection_reason) for o in late.outcomes] == [(False, "CODE_EXPIRED")]
    finally:
        provinces.hubei.clock.advance(-timedelta(hours=2))


async def test_a_fever_report_made_while_the_issuer_is_down_is_delivered_once_it_is_back(provinces):
    person, _ = await hubei_person(provinces)
    payload = await provinces.hubei.code(person)
    report_id = str(uuid.uuid4())
    provinces.jiangsu.clock.set(provinces.hubei.clock.now())
    outbox = provinces.jiangsu.parts.fever_outbox
    await provinces.hubei.stop_verification()
    try:
        # What Jiangsu's checkpoint does on a FEVER verdict (the verdict itself needs Hubei's answer on
        # the code's standing, so the reading is made while Hubei is up and the report tried when it is not).
        first_try = await outbox.report(report_id, HUBEI, payload, provinces.jiangsu.clock.now(), Decimal("38.4"))
        assert await first_try == 0
    finally:
        await provinces.hubei.start_verification()
    jiangsu_pool = provinces.jiangsu.parts.recognition.repository.pool
    settled = False
    for _ in range(150):
        settled = await jiangsu_pool.fetchval(
            "SELECT deliver_time IS NOT NULL FROM verification.fever_reports WHERE report_id = $1", report_id)
        if settled:
            break
        provinces.jiangsu.clock.advance(timedelta(minutes=5))
        await asyncio.sleep(0.2)
    assert settled, await jiangsu_pool.fetchval(
        "SELECT last_error FROM verification.fever_reports WHERE report_id = $1", report_id)
    # Tried again by a later round: nothing more is sent, and Hubei holds one fact.
    await outbox.run()
    attempts = await jiangsu_pool.fetchval(
        "SELECT attempts FROM verification.fever_reports WHERE report_id = $1", report_id)
    assert attempts >= 2
    assert await jiangsu_facts(provinces, person) == [(report_id, status_pb2.FACT_SOURCE_PEER_PROVINCE)]
    assert await fever_reasons(provinces, person) == [f"{JIANGSU}/{report_id}"]


async def test_a_listing_reaches_a_person_registered_here_who_never_had_a_status(provinces, sender):
    person = await provinces.hubei.resident()
    reference = (await provinces.hubei.persons.GetPerson(identity_pb2.GetPersonRequest(
        person_id=person))).person.federation_ref
    answer = await sender.federation.SubmitRiskList(sender.signed("js-new-8", [record(provinces.jiangsu, reference)]))
    assert not answer.duplicate
    status = await status_of(provinces, person)
    assert (status.colour, [r.code for r in status.reasons]) == (RED, ["PEER_PROVINCE_RED"])
    change = (await provinces.hubei.status.ListStatusChanges(status_pb2.ListStatusChangesRequest(
        person_id=person))).changes[0]
    assert change.trace_id == f"peer:{JIANGSU}/js-new-8"


async def test_identity_refuses_a_malformed_federation_reference_naming_it(provinces):
    error = await refused(provinces.hubei.persons.BatchLookupPersonsByFederationRef(
        identity_pb2.BatchLookupPersonsByFederationRefRequest(federation_refs=[b"\x01" * 16, b"short"])))
    assert (error.code(), error_details(error)) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                    ("FEDERATION_REF_INVALID", ["federation_refs[1]"]))


async def test_the_same_fever_report_delivered_twice_at_once_gives_one_fact(provinces, sender):
    person, _ = await hubei_person(provinces)
    payload = await provinces.hubei.code(person)
    report = pb.FeverReport(report_id=str(uuid.uuid4()), reporter_province_code=JIANGSU, payload=payload,
                            reading_time=timestamp(provinces.hubei.clock.now()), temperature_celsius=37.9)
    answers = await asyncio.gather(*(sender.federation.ReportFevers(pb.ReportFeversRequest(reports=[report]))
                                     for _ in range(3)))
    assert [o.accepted for a in answers for o in a.outcomes] == [True, True, True]
    assert await jiangsu_facts(provinces, person) == [(report.report_id, status_pb2.FACT_SOURCE_PEER_PROVINCE)]
    assert (await status_of(provinces, person)).version == 2


async def test_two_replicas_sending_fever_reports_at_once_deliver_each_once(provinces):
    persons = [await hubei_person(provinces) for _ in range(3)]
    payloads = [await provinces.hubei.code(person) for person, _ in persons]
    provinces.jiangsu.clock.set(provinces.hubei.clock.now())
    outbox = provinces.jiangsu.parts.fever_outbox
    report_ids = [str(uuid.uuid4()) for _ in persons]
    await provinces.hubei.stop_verification()
    try:
        for report_id, payload in zip(report_ids, payloads):
            assert await (await outbox.report(report_id, HUBEI, payload, provinces.jiangsu.clock.now(),
                                              Decimal("38.0"))) == 0
    finally:
        await provinces.hubei.start_verification()
    pool = await asyncpg.create_pool(provinces.jiangsu.verification_settings.server.database_url, min_size=1,
                                     max_size=2)
    try:
        other = FeverOutbox(FeverRepository(pool), provinces.jiangsu.parts.recognition, provinces.jiangsu.clock)
        jiangsu_pool = provinces.jiangsu.parts.recognition.repository.pool
        for _ in range(150):
            provinces.jiangsu.clock.advance(timedelta(minutes=5))
            await asyncio.gather(outbox.run(), other.run())
            pending = await jiangsu_pool.fetchval(
                "SELECT count(*) FROM verification.fever_reports WHERE report_id = ANY($1::uuid[]) "
                "AND deliver_time IS NULL", report_ids)
            if not pending:
                break
            await asyncio.sleep(0.2)
        assert pending == 0
    finally:
        await pool.close()
    for (person, _), report_id in zip(persons, report_ids):
        assert await jiangsu_facts(provinces, person) == [(report_id, status_pb2.FACT_SOURCE_PEER_PROVINCE)]
        assert (await status_of(provinces, person)).colour == YELLOW


async def test_a_batch_received_while_status_is_down_is_not_acknowledged_and_reaches_it_when_resent(provinces,
                                                                                                     sender):
    person, reference = await hubei_person(provinces)
    recognition = provinces.hubei.parts.recognition
    request = sender.signed("js-status-down-9", [record(provinces.jiangsu, reference)])
    working = recognition.status
    dead = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    recognition.status = LocalStatus(dead)
    try:
        error = await refused(sender.federation.SubmitRiskList(request))
    finally:
        recognition.status = working
        await dead.close()
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error_details(error)[0] == "STATUS_UNAVAILABLE"
    assert (await status_of(provinces, person)).colour == GREEN
    # The sender's outbox sends it again: stored once already, it now reaches status.
    again = await sender.federation.SubmitRiskList(request)
    assert again.duplicate
    assert (await status_of(provinces, person)).colour == RED
    assert await jiangsu_facts(provinces, person) == [("js-status-down-9/0", status_pb2.FACT_SOURCE_PEER_PROVINCE)]

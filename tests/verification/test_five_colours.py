"""Hainan's shipped five-colour rule set (002 ❶ ❹ ❾) through real deployments: a person walked through
the days the seed gives, each colour in the status, in the code and in VerifyCode's answer at Hainan's
own checkpoints, at Jiangsu's (which recognises Hainan's codes) and offline."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2 as pb

from services.codes import read_code
from services.colours import Colour
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.offline import OfflineCheckpoint
from tests.support import random_key, timestamp
from tests.support.deployments import (
    JIANGSU,
    Deployment,
    FederationPki,
    Provinces,
    free_port,
    start_deployment,
    sync,
)

HAINAN = "460000"  # ships the five-colour set (services/status/rulesets/hainan.json)
PASS, DENY = pb.DECISION_PASS, pb.DECISION_DENY
GREEN, YELLOW, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED
_records = itertools.count()


@pytest.fixture(scope="module")
async def provinces(postgres_server_url) -> AsyncIterator[Provinces]:
    """Hainan and Jiangsu, peers; Jiangsu accepts Hainan's codes (`Provinces.hubei` is Hainan here)."""
    hainan_port, jiangsu_port = free_port(), free_port()
    key, federation_pki = random_key(), FederationPki()
    hainan = await start_deployment(postgres_server_url, HAINAN, hainan_port, f"{JIANGSU}=127.0.0.1:{jiangsu_port}",
                                    key, federation_pki)
    jiangsu = await start_deployment(postgres_server_url, JIANGSU, jiangsu_port, f"{HAINAN}=127.0.0.1:{hainan_port}",
                                     key, federation_pki)
    both = Provinces(hainan, jiangsu, federation_pki)
    await sync(both)
    yield both
    await both.stop()


async def agree(p: Provinces, mapping: dict[str, int] | None = None) -> None:
    await p.jiangsu.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
        issuer_province_code=HAINAN, accepted_since_time=timestamp(p.jiangsu.clock.now() - timedelta(days=30)),
        colour_mapping=mapping or {})))


def _fact(person_id: str, kind: int, at: datetime, source: int = status_pb2.FACT_SOURCE_HEALTH,
          **fields) -> status_pb2.Fact:
    return status_pb2.Fact(person_id=person_id, kind=kind, authority="haikou-cdc",
                           authority_record_id=f"hn-{next(_records)}", source=source,
                           effective_time=timestamp(at), **fields)


async def record(hainan: Deployment, *facts: status_pb2.Fact) -> None:
    response = await hainan.status.RecordFacts(status_pb2.RecordFactsRequest(facts=list(facts)))
    assert [o.rejection_reason for o in response.outcomes] == [""] * len(facts)


async def shown(hainan: Deployment, person_id: str) -> tuple[int, str, list[str]]:
    status = (await hainan.status.GetStatus(status_pb2.GetStatusRequest(person_id=person_id))).status
    return status.colour, status.display_colour, [reason.code for reason in status.reasons]


async def checked(p: Provinces, payload: str) -> dict[str, tuple[int, str, str]]:
    """(decision, reason, display colour) at Hainan's checkpoint, Jiangsu's, and Jiangsu's offline device."""
    answers = {}
    for name, deployment in (("hainan", p.hubei), ("jiangsu", p.jiangsu)):
        response = await deployment.verifier.VerifyCode(pb.VerifyCodeRequest(
            payload=payload, checkpoint_id="gate-1", area_code="460105" if deployment is p.hubei else "320102"))
        answers[name] = (response.decision, response.reason, response.display_colour)
    device = OfflineCheckpoint(exchange_key_from_secret(p.jiangsu.exchange_secret).public_key(), timedelta(hours=24))
    device.apply(await p.jiangsu.verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest()))
    offline = device.verify(payload, p.jiangsu.clock.now())
    answers["offline"] = (int(offline.decision), offline.reason, offline.display_colour)
    return answers


def everywhere(decision: int, reason: str, display: str) -> dict[str, tuple[int, str, str]]:
    return {name: (decision, reason, display) for name in ("hainan", "jiangsu", "offline")}


def set_both(p: Provinces, moment: datetime) -> None:
    p.hubei.clock.set(moment)
    p.jiangsu.clock.set(moment)


async def test_a_confirmed_case_is_purple_red_in_the_code_and_denied_everywhere(provinces):
    await agree(provinces)
    person = await provinces.hubei.resident()
    await record(provinces.hubei, _fact(person, status_pb2.FACT_KIND_DIAGNOSIS, provinces.hubei.clock.now(),
                                        diagnosis=status_pb2.DIAGNOSIS_CONFIRMED))

    assert await shown(provinces.hubei, person) == (RED, "purple", ["CONFIRMED"])
    payload = await provinces.hubei.code(person)
    claims = read_code(payload).claims
    assert (claims.national_colour, claims.display_colour) == (Colour.RED, "purple")
    assert await checked(provinces, payload) == everywhere(DENY, "COLOUR_RED", "purple")


async def test_a_close_contact_is_orange_denied_as_yellow_then_turns_green_by_itself_after_fourteen_days(
        provinces):
    await agree(provinces)
    start = provinces.hubei.clock.now()
    person = await provinces.hubei.resident()
    await record(provinces.hubei, _fact(person, status_pb2.FACT_KIND_DIAGNOSIS, start,
                                        diagnosis=status_pb2.DIAGNOSIS_CLOSE_CONTACT))
    try:
        assert await shown(provinces.hubei, person) == (YELLOW, "orange", ["CLOSE_CONTACT"])
        assert await checked(provinces, await provinces.hubei.code(person)) == everywhere(
            DENY, "COLOUR_YELLOW", "orange")
        # «沒有症狀且在國家資料庫內無異常記錄,國家系統會自動為您更新數據,身份碼會自動轉化成綠碼»
        set_both(provinces, start + timedelta(days=14))
        await sync(provinces)
        assert await shown(provinces.hubei, person) == (GREEN, "green", [])
        assert await checked(provinces, await provinces.hubei.code(person)) == everywhere(PASS, "", "green")
    finally:
        set_both(provinces, start)


async def test_another_provinces_mapping_makes_orange_stricter_but_never_lets_purple_or_orange_pass(provinces):
    hainan = provinces.hubei
    contact, case = await hainan.resident(), await hainan.resident()
    now = hainan.clock.now()
    await record(hainan, _fact(contact, status_pb2.FACT_KIND_DIAGNOSIS, now, diagnosis=status_pb2.DIAGNOSIS_SUSPECTED),
                 _fact(case, status_pb2.FACT_KIND_NUCLEIC_ACID_TEST, now, source=status_pb2.FACT_SOURCE_LABORATORY,
                       test_result=status_pb2.TEST_RESULT_POSITIVE))
    orange, purple = await hainan.code(contact), await hainan.code(case)
    try:
        await agree(provinces, {"orange": RED})
        answers = await checked(provinces, orange)
        assert (answers["hainan"], answers["jiangsu"], answers["offline"]) == (
            (DENY, "COLOUR_YELLOW", "orange"), (DENY, "COLOUR_RED", "orange"), (DENY, "COLOUR_RED", "orange"))
        # A mapping to green (a slip, or a wish) is no way round the colour the issuer signed.
        await agree(provinces, {"orange": GREEN, "purple": GREEN})
        assert (await checked(provinces, orange))["jiangsu"] == (DENY, "COLOUR_YELLOW", "orange")
        assert (await checked(provinces, purple)) == everywhere(DENY, "COLOUR_RED", "purple")
    finally:
        await agree(provinces)


def _local(moment: datetime, hour: int) -> datetime:
    """The next `hour`:00 Beijing time (UTC+8) at least an hour after `moment`."""
    candidate = (moment + timedelta(hours=1)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while (candidate.hour + 8) % 24 != hour:
        candidate += timedelta(hours=1)
    return candidate


async def isolate(p: Provinces, person_id: str, isolated: datetime, test_days: tuple[int, ...]) -> None:
    """A central isolation from `isolated` (day 1), a normal check-in at 11:00 local on each of days 1
    to 14 and a negative sample then on each of `test_days`; red all along."""
    hainan = p.hubei
    set_both(p, isolated)
    await record(hainan, _fact(person_id, status_pb2.FACT_KIND_QUARANTINE_ORDER, isolated,
                               place=status_pb2.QUARANTINE_PLACE_CENTRAL))
    for isolation_day in range(1, 15):
        moment = isolated + timedelta(days=isolation_day - 1, hours=1)
        set_both(p, moment)
        await hainan.status.RecordCheckIn(status_pb2.RecordCheckInRequest(
            person_id=person_id, temperature_celsius=36.6, request_id=f"day-{isolation_day}"))
        if isolation_day in test_days:
            await record(hainan, _fact(person_id, status_pb2.FACT_KIND_NUCLEIC_ACID_TEST, moment,
                                       source=status_pb2.FACT_SOURCE_LABORATORY,
                                       test_result=status_pb2.TEST_RESULT_NEGATIVE))
        assert await shown(hainan, person_id) == (RED, "red", ["CENTRAL_QUARANTINE"]), isolation_day


async def test_red_is_released_after_fourteen_days_of_normal_check_ins_and_negative_tests_on_days_1_7_14(
        provinces):
    """«如果您的健康碼為紅碼,那麼要實施14天集中或者居家隔離,連續十四天健康打卡均為綠碼,第1.7.14天分別做核酸檢測,
    結果為陰性,即可解除隔離»"""
    await agree(provinces)
    hainan = provinces.hubei
    before = hainan.clock.now()
    isolated = _local(before, 10)  # day 1 of the isolation, 10:00 local
    person = await hainan.resident()
    try:
        await isolate(provinces, person, isolated, (1, 7, 14))
        await sync(provinces)
        assert await checked(provinces, await hainan.code(person)) == everywhere(DENY, "COLOUR_RED", "red")
        # Every test and check-in is in on day 14; the 14 days are served at 10:00 on day 15.
        set_both(provinces, isolated + timedelta(days=14))
        assert await shown(hainan, person) == (GREEN, "green", [])
        await sync(provinces)
        assert await checked(provinces, await hainan.code(person)) == everywhere(PASS, "", "green")
    finally:
        set_both(provinces, before)


async def test_a_missing_day_seven_test_keeps_red_past_the_fourteen_days(provinces):
    hainan = provinces.hubei
    before = hainan.clock.now()
    person = await hainan.resident()
    try:
        isolated = _local(before, 10)
        await isolate(provinces, person, isolated, (1, 8, 14))  # the day-7 test taken a day late
        set_both(provinces, isolated + timedelta(days=20))
        assert await shown(hainan, person) == (RED, "red", ["CENTRAL_QUARANTINE"])
    finally:
        set_both(provinces, before)

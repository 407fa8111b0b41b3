"""The checkpoint page offline, in Debian's headless Chromium: loaded and synced online, then with
the network cut (Chromium's own emulation) it reloads from its service worker and verifies codes in
the browser, giving the answers the server's VerifyCode gives for the same codes at the same times;
back online, the decisions it queued arrive once."""

from __future__ import annotations

import asyncio
import os
import zlib
from datetime import UTC, datetime, timedelta

import base45
import cbor2
from cryptography.hazmat.primitives.asymmetric import ec
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2 as pb
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from gateway.principals import CallerKind
from services.codes import CodeClaims, key_id_of, read_code, sign_code
from services.colours import Colour
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.exchange import anchor_text
from tests.support.gateway import _browser, pytestmark  # noqa: F401 - the same browser, the same skip
from tests.support import timestamp

HUBEI, JIANGSU, AREA = "420000", "320000", "320102"
CHECKPOINT = "nanjing-gate-3"


def _anchor(deployment) -> str:
    return anchor_text(exchange_key_from_secret(deployment.exchange_secret).public_key())


def _forged(payload: str) -> str:
    """The same claims under another signature (valid encoding, wrong signature)."""
    cose = cbor2.loads(zlib.decompress(base45.b45decode(payload[5:])))
    protected, _, claims, _ = cose.value
    framed = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, claims, os.urandom(32) + (1).to_bytes(32, "big")]))
    return "HCN1:" + base45.b45encode(zlib.compress(framed, 9)).decode()


def _outsider(now) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    issued = now.replace(microsecond=0)
    claims = CodeClaims(issuer_province="450000", code_id=os.urandom(16), national_colour=Colour.GREEN,
                        display_colour="green", status_version=1, masked_name="李*", person_ref=os.urandom(16),
                        issued_at=issued, expires_at=issued + timedelta(seconds=60))
    return sign_code(claims, key, key_id_of(key.public_key()))


async def _sync_trust(*deployments) -> None:
    for _ in range(2):
        for deployment in deployments:
            await deployment.recognition_admin.SyncTrustList(pb.SyncTrustListRequest())


async def _agreement(jiangsu, end: bool) -> None:
    now = jiangsu.clock.now()
    await jiangsu.recognition_admin.SetAgreement(pb.SetAgreementRequest(agreement=pb.Agreement(
        issuer_province_code=HUBEI, accepted_since_time=timestamp(now - timedelta(days=1)),
        end_time=timestamp(now) if end else None)))


def _wait(browser, script: str, timeout: float = 60):
    return WebDriverWait(browser, timeout).until(lambda b: b.execute_script(script))


def _offline_answers(browser, cases: dict) -> dict:
    answers = {}
    for name, (payload, options) in cases.items():
        answer = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "Checkpoint.verifyOffline(arguments[0], arguments[1]).then(v => done([v.decision, v.reason || '']),"
            " e => done(['ERROR', String(e)]));", payload, options)
        answers[name] = tuple(answer)
    return answers


async def test_the_page_verifies_offline_as_the_server_does_and_uploads_its_decisions_once(platform, tmp_path):
    hubei, jiangsu = platform.hubei.deployment, platform.jiangsu.deployment
    await _agreement(jiangsu, end=True)
    genuine, stale, feverish, tested = [await jiangsu.resident() for _ in range(4)]
    cases: dict[str, tuple[str, dict]] = {}
    now = jiangsu.clock.now()
    at = {"nowMs": int(now.timestamp() * 1000)}
    cases["genuine"] = (await jiangsu.code(genuine), at)
    cases["expired"] = (cases["genuine"][0], {"nowMs": at["nowMs"] + 10 * 60 * 1000})
    cases["stale"] = (await jiangsu.code(stale), at)
    await jiangsu.status.RecordCheckIn(status_pb2.RecordCheckInRequest(person_id=stale, temperature_celsius=38.5))
    cases["feverish"] = (await jiangsu.code(feverish), {**at, "temperature": 38.5})
    cases["no recent test"] = (await jiangsu.code(tested), {**at, "testWithinHours": 48})
    cases["forged signature"] = (_forged(await jiangsu.code(genuine)), at)
    cases["unknown issuer"] = (_outsider(now), at)
    # A key made, used, then revoked: its codes are refused; later codes are signed by the older key.
    jiangsu.clock.advance(timedelta(seconds=1))
    await jiangsu.status_admin.CreateSigningKey(status_pb2.CreateSigningKeyRequest(
        province_code=JIANGSU, not_before_time=timestamp(jiangsu.clock.now())))
    await _sync_trust(jiangsu)
    revoked_code = await jiangsu.code(genuine)
    await jiangsu.status_admin.RevokeSigningKey(status_pb2.RevokeSigningKeyRequest(
        key_id=read_code(revoked_code).key_id.hex()))
    await _sync_trust(hubei, jiangsu)
    now = jiangsu.clock.now()
    at = {"nowMs": int(now.timestamp() * 1000)}
    cases["revoked key"] = (revoked_code, at)
    cases["other province, no agreement"] = (await hubei.code(await hubei.resident()), at)
    listed = await hubei.resident()
    reference = (await hubei.persons.GetPerson(identity_pb2.GetPersonRequest(person_id=listed))).person.federation_ref
    await jiangsu.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(batch_id=f"page-{os.urandom(4).hex()}",
        records=[pb.RiskListRecord(person_ref=reference, colour=common_pb2.COLOUR_RED, reason="CLOSE_CONTACT",
                                   source="jiangsu-cdc", expire_time=timestamp(now + timedelta(days=1)))]))
    agreed = [await hubei.code(await hubei.resident()), await hubei.code(listed)]
    token = platform.jiangsu.token(CallerKind.CHECKPOINT, CHECKPOINT, JIANGSU)
    url = f"{platform.jiangsu.url}/checkpoint#token={token}&anchor={_anchor(jiangsu)}"

    def open_and_sync():
        browser = _browser(tmp_path / "profile")
        browser.set_script_timeout(60)
        browser.get(url)
        _wait(browser, "return navigator.serviceWorker.controller !== null")
        _wait(browser, "return document.getElementById('snapshot').dataset.version !== '0'")
        return browser

    browser = None
    try:
        # Without the agreement first, then with it: two syncs, the second a delta.
        browser = await asyncio.to_thread(open_and_sync)
        first_version = int(browser.find_element(By.ID, "snapshot").get_attribute("data-version"))
        no_agreement = await asyncio.to_thread(_offline_answers, browser, {
            "other province, no agreement": cases["other province, no agreement"]})
        await _agreement(jiangsu, end=False)
        later = {"nowMs": int(jiangsu.clock.now().timestamp() * 1000)}
        cases["other province, agreed"] = (agreed[0], later)
        cases["red-listed"] = (agreed[1], later)
        synced = await asyncio.to_thread(browser.execute_async_script,
                                         "const done = arguments[0]; Checkpoint.sync().then(r => done(r));")
        assert synced["version"] > first_version

        def cut_and_verify():
            browser.execute_cdp_cmd("Network.enable", {})
            browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
                "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
            browser.refresh()  # the page and its scripts now come from the service worker
            _wait(browser, "return document.getElementById('network').dataset.state === 'offline'")
            _wait(browser, "return document.getElementById('snapshot').dataset.version !== '0'")
            answers = _offline_answers(browser, {k: v for k, v in cases.items() if k != "other province, no agreement"})
            too_old = _offline_answers(browser, {"too old": (cases["genuine"][0], {
                "nowMs": cases["genuine"][1]["nowMs"] + 25 * 3600 * 1000})})
            # Three scans through the page itself: decided here and queued.
            for payload, _ in (cases["genuine"], cases["forged signature"], cases["unknown issuer"]):
                browser.find_element(By.ID, "payload").send_keys(payload)
                area = browser.find_element(By.ID, "area")
                area.clear()
                area.send_keys(AREA)
                browser.find_element(By.ID, "verify-button").click()
                _wait(browser, "return document.getElementById('verdict').dataset.offline === 'true'")
                browser.execute_script("document.getElementById('verdict').dataset.offline = ''")
            _wait(browser, "Checkpoint.show(); return document.getElementById('queue').dataset.count === '3'")
            queued = browser.execute_async_script(
                "const done = arguments[0]; Checkpoint.ready.then(d => d.queued()).then(q => done(q.map(i => i.decision_id)));")
            return answers, too_old, queued

        answers, too_old, queued = await asyncio.to_thread(cut_and_verify)
        answers.update(no_agreement)
        assert too_old == {"too old": ("DECISION_CHECK_MANUALLY", "SNAPSHOT_TOO_OLD")}

        await _agreement(jiangsu, end=True)
        server = {}
        for name, (payload, options) in cases.items():
            if name in ("other province, agreed", "red-listed"):
                await _agreement(jiangsu, end=False)
            with jiangsu.clock.at(datetime.fromtimestamp(options["nowMs"] / 1000, UTC)):
                response = await jiangsu.verifier.VerifyCode(pb.VerifyCodeRequest(
                    payload=payload, checkpoint_id="server-side", area_code=AREA,
                    temperature_celsius=options.get("temperature"),
                    negative_test_within_hours=options.get("testWithinHours", 0)))
            server[name] = (pb.Decision.Name(response.decision), response.reason)
        assert answers == server
        assert {name: reason for name, (_, reason) in server.items()} == {
            "genuine": "", "expired": "CODE_EXPIRED", "stale": "STATUS_STALE", "feverish": "FEVER",
            "no recent test": "NEGATIVE_TEST_REQUIRED", "forged signature": "SIGNATURE_INVALID",
            "unknown issuer": "KEY_UNKNOWN", "revoked key": "KEY_REVOKED",
            "other province, no agreement": "ISSUER_NOT_RECOGNISED", "other province, agreed": "",
            # The red record reached the person's home status (外省推送红码): their new code is red itself.
            "red-listed": "COLOUR_RED"}

        def restore():
            browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
                "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
            browser.execute_async_script("const done = arguments[0]; Checkpoint.upload().then(done);")
            _wait(browser, "Checkpoint.show(); return document.getElementById('queue').dataset.count === '0'")
            # Sent again (a tab that missed the answer): the server keeps each decision once.
            browser.execute_async_script("const done = arguments[0]; Checkpoint.upload().then(done);")
        await asyncio.to_thread(restore)
        pool = jiangsu.parts.recognition.repository.pool
        rows = await pool.fetch("SELECT verification_id::text AS id, checkpoint_id, recorded_offline "
                                "FROM verification.decisions WHERE checkpoint_id = $1", f"{JIANGSU}.{CHECKPOINT}")
        assert sorted(r["id"] for r in rows) == sorted(queued) and all(r["recorded_offline"] for r in rows)
    finally:
        if browser is not None:
            await asyncio.to_thread(browser.quit)
        await _agreement(jiangsu, end=True)

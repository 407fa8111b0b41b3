"""The person's page in Debian's headless Chromium, against real deployments behind real gateways: why the
code is its colour (in words, with the end or what ends it), acting on it (check-in, appeal), the 14-day
itinerary card and a dependent's code. Screenshots go to pytest's tmp dir and are read pixel by pixel."""

from __future__ import annotations

import asyncio
import json
import secrets
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.itinerary.v1 import itinerary_pb2, itinerary_pb2_grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from gateway.principals import CallerKind
from tests.support.gateway import as_json, start_front
from tests.support.gateway import CHROMEDRIVER, CHROMIUM, _browser
from tests.support import id_card, random_key, timestamp
from tests.support.deployments import FederationPki, free_port, start_deployment

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="./dev test installs Debian's chromium and chromium-driver; not found here")
GONGAN = "421022"  # 湖北省荆州市公安县: declared high-risk by this module only
LIAONING = "210000"
WUCHANG = "420106"
BEIJING_TIME = timedelta(hours=8)
RED, WHITE = (0xC4, 0x16, 0x1C), (0xFF, 0xFF, 0xFF)


def beijing(moment: datetime) -> str:
    """A time as the page writes it (Beijing time, to the minute)."""
    return (moment.astimezone(UTC) + BEIJING_TIME).strftime("%Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
async def liaoning(postgres_server_url, tmp_path_factory):
    """A Liaoning deployment (its shipped rules release a home quarantine after 14 daily check-ins) and its gateway."""
    pki = FederationPki()
    deployment = await start_deployment(postgres_server_url, LIAONING, free_port(), "", random_key(), pki)
    front = await start_front(deployment, tmp_path_factory.mktemp("liaoning-pki"))
    yield front
    await front.stop()
    await deployment.stop()
    pki.close()


async def _colour(deployment, person_id: str, wanted: int) -> status_pb2.Status:
    for _ in range(150):
        status = (await deployment.status.GetStatus(status_pb2.GetStatusRequest(person_id=person_id))).status
        if status.colour == wanted:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"the status never became {wanted}: {status}")


@pytest.fixture(scope="module")
async def red_traveller(platform) -> AsyncIterator[tuple[str, status_pb2.Status]]:
    """A Hubei resident a carrier saw six hours in Gong'an county two days ago, which Hubei then declared high-risk."""
    hubei = platform.hubei
    person = await hubei.deployment.resident()
    now = hubei.deployment.clock.now()
    carrier = itinerary_pb2_grpc.ItineraryServiceStub(hubei.channel("carrier-feed"))

    async def stays():
        yield itinerary_pb2.IngestCarrierStaysRequest(
            batch_id=f"b-{secrets.token_hex(6)}", source_carrier="china-mobile",
            stays=[itinerary_pb2.CarrierStay(person_id=person, area_code=GONGAN,
                                             arrival_time=timestamp(now - timedelta(days=2)),
                                             departure_time=timestamp(now - timedelta(days=2, hours=-6)))])
    assert (await carrier.IngestCarrierStays(stays())).stored == 1
    operator = itinerary_pb2_grpc.ItineraryServiceStub(hubei.channel("hubei-operator"))
    await operator.DeclareRiskArea(itinerary_pb2.DeclareRiskAreaRequest(
        area_code=GONGAN, level=common_pb2.RISK_LEVEL_HIGH, effective_time=timestamp(now - timedelta(days=3)),
        reason="cluster", request_id=secrets.token_hex(8)))
    yield person, await _colour(hubei.deployment, person, common_pb2.COLOUR_RED)


def _open(url: str, token: str, profile: Path, width: int = 420):
    browser = _browser(profile)
    # A phone's viewport, exactly `width` CSS pixels at one device pixel each. (Not "mobile": that
    # emulation scales the viewport away from the window, and Selenium's clicks then miss low elements.)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "UTC"})  # what a datetime-local means
    browser.get(f"{url}/#token={token}")
    wait = WebDriverWait(browser, 20)
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".card[data-colour^='COLOUR_'] .qr svg")))
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".card:not([hidden]) .reasons li")))
    return browser, wait


def _reason_lines(browser, code: str) -> dict[str, str]:
    # Read in one script: the page redraws its reasons whenever the code refreshes.
    return browser.execute_script("""
        const item = document.querySelector(`.card:not([hidden]) .reason[data-code='${arguments[0]}']`);
        return item ? Object.fromEntries([...item.querySelectorAll('p')].map(p => [p.lang, p.textContent])) : {};
        """, code)


# --- why, in plain words ---------------------------------------------------------------------------------

def _red_page(url: str, token: str, profile: Path) -> dict:
    browser, _ = _open(url, token, profile)
    try:
        shown = browser.execute_script("""
            const card = document.querySelector('.card:not([hidden])');
            return {band: card.querySelector('.band').textContent, rule_set: card.querySelector('.rule-set').textContent};
            """)
        return {**shown, "lines": _reason_lines(browser, "HIGH_RISK_STAY")}
    finally:
        browser.quit()


async def test_a_red_person_with_a_high_risk_stay_reads_the_area_and_the_end_date(platform, red_traveller, tmp_path):
    hubei = platform.hubei
    person, status = red_traveller
    (reason,) = status.reasons
    shown = await asyncio.to_thread(_red_page, hubei.url, hubei.token(CallerKind.PERSON, person, "420000"),
                                    tmp_path / "profile")

    until = beijing(reason.until_time.ToDatetime(UTC))
    assert "红码" in shown["band"] and "Red" in shown["band"]
    assert shown["lines"]["zh-CN"].startswith("您曾在高风险地区湖北省荆州市公安县（421022）停留")
    assert until in shown["lines"]["zh-CN"] and beijing(reason.since_time.ToDatetime(UTC)) in shown["lines"]["zh-CN"]
    assert "421022" in shown["lines"]["en"] and f"until {until}" in shown["lines"]["en"]
    assert status.rule_set_name and f"{status.rule_set_name}第{status.rule_set_version}版" in shown["rule_set"]


# --- what to do ------------------------------------------------------------------------------------------

def _check_in_on_the_page(url: str, token: str, profile: Path) -> dict:
    browser, wait = _open(url, token, profile)
    try:
        before = _reason_lines(browser, "HOME_QUARANTINE")
        browser.find_element(By.ID, "temperature").send_keys("36.5")
        browser.find_element(By.ID, "check-in-button").click()
        # Not ticked: the browser keeps the form back, nothing is sent and the count stands.
        refused = browser.execute_script("return [document.getElementById('declaration').validity.valueMissing,"
                                         " document.querySelector('#check-in .outcome').textContent]")
        refused.append(_reason_lines(browser, "HOME_QUARANTINE") == before)
        browser.find_element(By.ID, "declaration").click()
        browser.find_element(By.ID, "check-in-button").click()
        try:
            wait.until(lambda _: "还差9天" in _reason_lines(browser, "HOME_QUARANTINE").get("zh-CN", ""))
        except TimeoutException:
            raise AssertionError(f"{_reason_lines(browser, 'HOME_QUARANTINE')} "
                                 f"{browser.find_element(By.CSS_SELECTOR, '#check-in .outcome').text}") from None
        return {"before": before, "after": _reason_lines(browser, "HOME_QUARANTINE"), "not_sent": refused,
                "symptoms": len(browser.find_elements(By.CSS_SELECTOR, "#symptoms input[type=checkbox]"))}
    finally:
        browser.quit()


async def test_a_yellow_person_under_liaonings_rules_checks_in_and_sees_the_count_move(liaoning, tmp_path):
    deployment = liaoning.deployment
    person = await deployment.resident()
    now = deployment.clock.now()
    ordered = now - timedelta(days=4)
    await deployment.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[status_pb2.Fact(
        person_id=person, kind=status_pb2.FACT_KIND_QUARANTINE_ORDER, authority="shenyang-cdc",
        authority_record_id=secrets.token_hex(6), source=status_pb2.FACT_SOURCE_HEALTH,
        effective_time=timestamp(ordered), place=status_pb2.QUARANTINE_PLACE_HOME)]))
    for days_ago in (4, 3, 2, 1):  # a check-in on each of the four local days before today
        with deployment.clock.at(now - timedelta(days=days_ago)):
            await deployment.status.RecordCheckIn(status_pb2.RecordCheckInRequest(
                person_id=person, reporter_person_id=person, temperature_celsius=36.6,
                request_id=secrets.token_hex(6)))
    status = await _colour(deployment, person, common_pb2.COLOUR_YELLOW)
    assert status.reasons[0].release_progress.check_ins_done == 4

    shown = await asyncio.to_thread(_check_in_on_the_page, liaoning.url,
                                    liaoning.token(CallerKind.PERSON, person, LIAONING), tmp_path / "profile")

    assert "还差10天" in shown["before"]["zh-CN"] and "14 daily check-ins, 10 to go" in shown["before"]["en"]
    assert "已完成4天" in shown["before"]["zh-CN"] and "连续" in shown["before"]["zh-CN"]
    assert shown["not_sent"] == [True, "", True]
    assert "14 daily check-ins, 9 to go" in shown["after"]["en"]
    assert shown["symptoms"] == len(status_pb2.Symptom.keys()) - 1
    after = (await deployment.status.GetStatus(status_pb2.GetStatusRequest(person_id=person))).status
    assert after.reasons[0].release_progress.check_ins_done == 5


def _appeal_on_the_page(url: str, token: str, profile: Path) -> str:
    browser, wait = _open(url, token, profile)
    try:
        browser.find_element(By.ID, "appeal-statement").send_keys("我只是开车途经公安县，没有停留。")
        browser.find_element(By.ID, "appeal-evidence").send_keys("toll-receipt-8812\nfuel-receipt-0031")
        browser.find_element(By.ID, "appeal-button").click()
        outcome = wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#appeal .outcome[data-appeal]")))
        appeal_id = outcome.get_attribute("data-appeal")
        browser.find_element(By.ID, "history-link").click()
        wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#history-list .change")))
        return appeal_id, browser.find_element(By.ID, "history-list").text
    finally:
        browser.quit()


async def test_an_appeal_filed_on_the_page_is_in_the_operators_queue(platform, red_traveller, tmp_path):
    hubei = platform.hubei
    person, _ = red_traveller
    appeal_id, history = await asyncio.to_thread(
        _appeal_on_the_page, hubei.url, hubei.token(CallerKind.PERSON, person, "420000"), tmp_path / "profile")

    operator = status_pb2_grpc.StatusServiceStub(hubei.channel("hubei-operator"))
    queue = await operator.ListAppeals(status_pb2.ListAppealsRequest(
        state=status_pb2.APPEAL_STATE_PENDING, province_code="420000", page_size=1000))
    (filed,) = [appeal for appeal in queue.appeals if appeal.appeal_id == appeal_id]
    assert (filed.person_id, filed.category) == (person, status_pb2.APPEAL_CATEGORY_ITINERARY)
    assert list(filed.evidence_refs) == ["toll-receipt-8812", "fuel-receipt-0031"]
    # The history of changes: the first status already red, for the stay in Gong'an.
    assert "首次赋码 First status" in history and "公安县" in history and "红码 Red" in history


# --- the itinerary card, family --------------------------------------------------------------------------

def _stays(browser) -> list[dict]:
    return [{"area": item.get_attribute("data-area"), "risk": item.get_attribute("data-risk"), "text": item.text}
            for item in browser.find_elements(By.CSS_SELECTOR, "#stays .stay")]


def _itinerary_card(url: str, token: str, profile: Path, trip: tuple[str, str, str]) -> tuple[list, list]:
    browser, wait = _open(url, token, profile)
    try:
        browser.find_element(By.CSS_SELECTOR, "#tabs a[data-panel='itinerary']").click()
        wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#stays .stay")))
        listed = _stays(browser)
        # A trip declared on the card's form (datetime-local inputs take their value as the browser types it).
        area, arrival, departure = trip
        browser.find_element(By.ID, "trip-area").send_keys(area)
        browser.execute_script("document.getElementById('trip-arrival').value = arguments[0];"
                               "document.getElementById('trip-departure').value = arguments[1];", arrival, departure)
        browser.find_element(By.ID, "declare-button").click()
        try:
            wait.until(lambda _: len(browser.find_elements(By.CSS_SELECTOR, "#stays .stay")) == 2)
        except TimeoutException:
            raise AssertionError(browser.execute_script(
                "const f = document.getElementById('declare'); return [f.checkValidity(),"
                " [...f.elements].map(e => e.id + '=' + e.value + ':' + e.validationMessage),"
                " f.querySelector('.outcome').textContent, document.getElementById('error').textContent,"
                " f.offsetParent !== null, performance.getEntriesByType('resource').map(e => e.name)]")) from None
        return listed, _stays(browser)
    finally:
        browser.quit()


async def test_the_itinerary_card_lists_the_stays_with_their_risk_at_the_time(platform, red_traveller, tmp_path):
    hubei = platform.hubei
    person, _ = red_traveller
    # Ten hours in Wuchang yesterday, as the form takes it (the browser runs in UTC here).
    yesterday = hubei.deployment.clock.now().astimezone(UTC) - timedelta(days=1)
    trip = (WUCHANG, yesterday.strftime("%Y-%m-%dT%H:%M"), (yesterday + timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M"))
    stays, declared = await asyncio.to_thread(
        _itinerary_card, hubei.url, hubei.token(CallerKind.PERSON, person, "420000"), tmp_path / "profile", trip)

    assert [(stay["area"], stay["risk"]) for stay in stays] == [(GONGAN, "RISK_LEVEL_HIGH")]
    assert "湖北省荆州市公安县" in stays[0]["text"] and "高风险" in stays[0]["text"] and "high risk" in stays[0]["text"]
    assert [stay["area"] for stay in declared] == [GONGAN, WUCHANG]
    assert "湖北省武汉市武昌区" in declared[1]["text"] and "本人申报" in declared[1]["text"]


def _link_and_tap(url: str, token: str, dependent: str, proof: dict, profile: Path) -> dict:
    browser, wait = _open(url, token, profile)
    try:
        browser.get(f"{url}/#family")
        wait.until(seen.visibility_of_element_located((By.ID, "link-person"))).send_keys(dependent)
        browser.find_element(By.ID, "link-proof").send_keys(json.dumps(proof))
        browser.find_element(By.ID, "link-button").click()
        wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, f"#links .link[data-person='{dependent}']")))
        link_text = browser.find_element(By.CSS_SELECTOR, f"#links .link[data-person='{dependent}']").text
        browser.find_element(By.CSS_SELECTOR, f"#people button[data-person='{dependent}']").click()
        wait.until(seen.visibility_of_element_located(
            (By.CSS_SELECTOR, f".card[data-person='{dependent}'][data-colour^='COLOUR_']")))
        shown = browser.execute_script("""
            const card = document.querySelector(`.card[data-person='${arguments[0]}']`);
            return {colour: card.dataset.colour, band: card.querySelector('.band').textContent,
                    reasons: card.querySelector('.reasons').textContent,
                    visible_cards: document.querySelectorAll('.card:not([hidden])').length};""", dependent)
        return {**shown, "link": link_text}
    finally:
        browser.quit()


async def test_a_linked_dependents_code_is_one_tap_away_with_their_own_colour(platform, red_traveller, provider,
                                                                             tmp_path):
    hubei = platform.hubei
    holder, _ = red_traveller
    document = id_card()
    dependent = (await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="罗小明", document=document, home_province_code="420000"))).person.person_id
    proof = as_json(provider.attest(document, hubei.deployment.clock.now()))

    shown = await asyncio.to_thread(_link_and_tap, hubei.url, hubei.token(CallerKind.PERSON, holder, "420000"),
                                    dependent, proof, tmp_path / "profile")

    assert (shown["colour"], shown["visible_cards"]) == ("COLOUR_GREEN", 1)
    assert "绿码" in shown["band"] and "Nothing currently affects your code." in shown["reasons"]
    assert "本人刷脸同意" in shown["link"]


# --- for everyone: pixels at 320 and 420 px ---------------------------------------------------------------

def read_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, rows, bytes per pixel) of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, corner = previous[x], previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows, bpp


def _share(rows, bpp, box, colour) -> float:
    """The share of pixels inside box (x0, y0, x1, y1) that are exactly `colour`."""
    x0, y0, x1, y1 = box
    hits = sum(tuple(rows[y][x * bpp:x * bpp + 3]) == colour for y in range(y0, y1) for x in range(x0, x1))
    return hits / max(1, (x1 - x0) * (y1 - y0))


def _screenshot(url: str, token: str, profile: Path, width: int, path: Path) -> dict:
    browser, _ = _open(url, token, profile, width)
    try:
        rects = browser.execute_script("""
            const card = document.querySelector('.card:not([hidden])');
            const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
            window.scrollTo(0, 0);
            return {band: box(card.querySelector('.band')), qr: box(card.querySelector('.qr')),
                    viewport: window.innerWidth, page: document.documentElement.clientWidth,
                    scroll: document.documentElement.scrollWidth};""")
        path.write_bytes(browser.get_screenshot_as_png())
        # While a code reloads its box is empty: it keeps its place and size (nothing below moves).
        rects["qr_empty"] = browser.execute_script("""
            const qr = document.querySelector('.card:not([hidden]) .qr'), svg = qr.innerHTML;
            qr.innerHTML = ''; const r = qr.getBoundingClientRect(); qr.innerHTML = svg;
            return [r.left, r.top, r.right, r.bottom];""")
        # Large text for elderly users: bigger type, still no sideways scrolling.
        browser.find_element(By.ID, "large-text").click()
        rects["large"] = browser.execute_script("""
            return [parseFloat(getComputedStyle(document.documentElement).fontSize),
                    document.documentElement.scrollWidth];""")
        return rects
    finally:
        browser.quit()


@pytest.mark.parametrize("width", [320, 420])
async def test_the_colour_band_and_the_qr_are_where_they_belong_in_the_screenshot(platform, red_traveller, tmp_path,
                                                                                 width):
    hubei = platform.hubei
    person, _ = red_traveller
    shot = tmp_path / f"red-{width}.png"
    rects = await asyncio.to_thread(_screenshot, hubei.url, hubei.token(CallerKind.PERSON, person, "420000"),
                                    tmp_path / "profile", width, shot)
    image_width, _, rows, bpp = read_png(shot.read_bytes())
    band = [round(v) for v in rects["band"]]
    qr = [round(v) for v in rects["qr"]]

    assert image_width == width and rects["viewport"] == width and rects["scroll"] <= width  # no sideways scrolling
    assert rects["qr_empty"] == rects["qr"]
    assert rects["large"][0] > 16 and rects["large"][1] <= width
    # The band: a solid red block across the card (its words excepted), above the QR.
    assert _share(rows, bpp, (band[0], band[1], band[2], band[3]), RED) > 0.7
    assert band[3] <= qr[1]
    # The QR: square, centred, wholly on screen, red modules on white, and nothing red just beside it.
    # (Centred in the page, the width less a desktop scrollbar where the browser draws one.)
    assert abs((qr[2] - qr[0]) - (qr[3] - qr[1])) <= 1 and abs((qr[0] + qr[2]) / 2 - rects["page"] / 2) <= 2
    assert 0 <= qr[0] and qr[2] <= width and qr[2] - qr[0] >= 0.5 * width
    inner = (qr[0] + 2, qr[1] + 2, qr[2] - 2, qr[3] - 2)
    assert 0.25 < _share(rows, bpp, inner, RED) < 0.65 and _share(rows, bpp, inner, WHITE) > 0.3
    for side in ((max(0, qr[0] - 6), qr[1], qr[0], qr[3]), (qr[2], qr[1], min(width, qr[2] + 6), qr[3])):
        assert side[2] <= side[0] or _share(rows, bpp, side, RED) == 0

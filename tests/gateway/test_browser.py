"""The pages in a real browser (Debian's headless Chromium, installed by ./dev test): a person's code
as a QR image with its colour, and a checkpoint's verdict on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from gateway.principals import CallerKind
from tests.support.gateway import _browser
from tests.support.gateway import pytestmark  # noqa: F401 - pytest reads it here


def _show_and_verify(url: str, person_token: str, checkpoint_token: str, profile: Path, screenshots: Path) -> dict:
    browser = _browser(profile)
    try:
        wait = WebDriverWait(browser, 20)
        browser.get(f"{url}/#token={person_token}")
        card = wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".card[data-colour^='COLOUR_']")))
        wait.until(lambda _: card.find_element(By.CSS_SELECTOR, ".qr svg"))
        shown = {"colour": card.get_attribute("data-colour"),
                 "colour_text": card.find_element(By.CLASS_NAME, "band").text,
                 "name": card.find_element(By.CLASS_NAME, "name").text,
                 "qr": card.find_element(By.CSS_SELECTOR, ".qr svg").size["width"] > 100,
                 "token_left_in_address": "token=" in browser.current_url}
        payload = card.find_element(By.CLASS_NAME, "qr").get_attribute("data-payload")
        browser.save_screenshot(str(screenshots / "code-page.png"))

        browser.get(f"{url}/checkpoint#token={checkpoint_token}")
        browser.find_element(By.ID, "payload").send_keys(payload)
        browser.find_element(By.ID, "area").send_keys("420102")
        browser.find_element(By.ID, "verify-button").click()
        verdict = wait.until(seen.presence_of_element_located(
            (By.CSS_SELECTOR, ".verdict[data-decision^='DECISION_']")))
        shown["decision"] = verdict.get_attribute("data-decision")
        shown["decision_text"] = verdict.find_element(By.CLASS_NAME, "decision").text
        browser.save_screenshot(str(screenshots / "checkpoint-page.png"))
        return shown
    finally:
        browser.quit()


async def test_a_person_sees_their_code_and_a_checkpoint_sees_it_pass(platform, tmp_path):
    hubei = platform.hubei
    person = await hubei.deployment.resident()
    shown = await asyncio.to_thread(
        _show_and_verify, hubei.url, hubei.token(CallerKind.PERSON, person, "420000"),
        hubei.token(CallerKind.CHECKPOINT, "wuhan-gate-7", "420000"), tmp_path / "profile", tmp_path)
    assert shown["colour"] == "COLOUR_GREEN" and "Green" in shown["colour_text"]
    assert shown["name"] == "路*乙" and shown["qr"]
    assert not shown["token_left_in_address"]
    assert shown["decision"] == "DECISION_PASS" and "PASS" in shown["decision_text"]

"""schemathesis against the gateway's own OpenAPI document: whatever it sends, no answer is a 5xx.

Schemathesis calls synchronously (requests), so its Hypothesis run goes to a worker thread while
the gateway keeps serving on the test's event loop. Budget: tests/support/hostile.py's profile
(HEALTHCODE_FUZZ_PROFILE=release for the long run)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import schemathesis
from hypothesis import given, settings
from schemathesis.generation import GenerationMode

from gateway.principals import CallerKind
from tests.support.hostile import PROFILE

pytestmark = pytest.mark.slow

EXAMPLES = {"suite": 300, "release": 5000}


def _run(document: dict, base_url: str, headers: dict[str, str], examples: int) -> tuple[Counter, list[str]]:
    schema = schemathesis.openapi.from_dict(document)
    answers: Counter[int] = Counter()
    failures: list[str] = []
    strategy = (schema.as_strategy(generation_mode=GenerationMode.POSITIVE)
                | schema.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @settings(settings.get_profile(PROFILE), max_examples=examples)
    @given(case=strategy)
    def one(case) -> None:
        response = case.call(base_url=base_url, headers={**(case.headers or {}), **headers}, timeout=10)
        answers[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {case.method} {case.formatted_path} "
                            f"query={case.query!r} body={str(case.body)[:300]!r}: {response.text[:300]}")

    one()
    return answers, failures


@pytest.mark.parametrize("signed_in", [True, False], ids=["person", "anonymous"])
async def test_no_request_the_openapi_document_allows_or_forbids_gets_a_5xx(hostile_platform, http, signed_in):
    front = hostile_platform.hubei
    async with http.get(f"{front.url}/openapi.json") as response:
        document = await response.json()
    headers = {}
    if signed_in:
        person = await front.deployment.resident()
        headers["Authorization"] = "Bearer " + front.token(CallerKind.PERSON, person, "420000")
    answers, failures = await asyncio.to_thread(_run, document, front.url, headers, EXAMPLES[PROFILE])
    caller = "person" if signed_in else "anonymous"
    print(f"\nschemathesis answers by status ({caller}): {dict(sorted(answers.items()))}")
    assert sum(answers.values()) >= EXAMPLES[PROFILE] // 2
    assert failures == []

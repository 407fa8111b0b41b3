"""No cache serves a voided code: once a person's status changes, the page shows the new colour."""

from __future__ import annotations

import asyncio

from healthcode.status.v1 import status_pb2

from gateway.principals import CallerKind
from tests.support.status import fact


async def code_colour(front, http, me: dict) -> str:
    async with http.get(f"{front.url}/v1/persons/me/code", headers=me) as response:
        body = await response.json()
        assert response.status == 200, body
        return body["colour"]


async def test_a_fever_checked_in_through_the_gateway_shows_on_the_next_page_fetch(platform, http):
    hubei = platform.hubei
    person = await hubei.deployment.resident()
    me = {"Authorization": "Bearer " + hubei.token(CallerKind.PERSON, person, "420000")}
    assert await code_colour(hubei, http, me) == "COLOUR_GREEN"
    assert await code_colour(hubei, http, me) == "COLOUR_GREEN"  # from the cache now

    async with http.post(f"{hubei.url}/v1/persons/me/check-ins", headers=me,
                         json={"temperature_celsius": 38.4}) as response:
        assert response.status == 200

    assert await code_colour(hubei, http, me) == "COLOUR_YELLOW"


async def test_a_checkpoint_fever_elsewhere_voids_the_cached_code(platform, http):
    hubei = platform.hubei
    person = await hubei.deployment.resident()
    me = {"Authorization": "Bearer " + hubei.token(CallerKind.PERSON, person, "420000")}
    async with http.get(f"{hubei.url}/v1/persons/me/code", headers=me) as response:
        payload = (await response.json())["payload"]
    gate = {"Authorization": "Bearer " + hubei.token(CallerKind.CHECKPOINT, "wuhan-station-9", "420000")}

    # The code cached, then the same code scanned with a fever: status turns the person yellow.
    async with http.post(f"{hubei.url}/v1/verifications", headers=gate, json={
            "payload": payload, "area_code": "420106", "temperature_celsius": 38.9}) as response:
        assert (await response.json())["decision"] == "DECISION_DENY"

    # The change reaches this gateway's cache by status's change stream, as any change made past it.
    assert await _colour_within_a_second(hubei, http, me, "COLOUR_YELLOW") == "COLOUR_YELLOW"


async def test_a_change_made_behind_the_gateway_reaches_its_cache_through_the_change_stream(platform, http):
    hubei = platform.hubei
    person = await hubei.deployment.resident()
    me = {"Authorization": "Bearer " + hubei.token(CallerKind.PERSON, person, "420000")}
    assert await code_colour(hubei, http, me) == "COLOUR_GREEN"

    # A feed's fact straight to status, past this gateway (another replica, a feed's own connection).
    await hubei.deployment.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[
        fact(person, status_pb2.FACT_KIND_DIAGNOSIS, hubei.deployment.clock.now(),
             diagnosis=status_pb2.DIAGNOSIS_CONFIRMED)]))

    assert await _colour_within_a_second(hubei, http, me, "COLOUR_RED") == "COLOUR_RED"


async def _colour_within_a_second(front, http, me: dict, expected: str) -> str:
    """The code's colour once it is `expected`, or the last seen after a second: the notification
    travels status → gateway in milliseconds, and a second is the bound allowed here."""
    for _ in range(20):
        colour = await code_colour(front, http, me)
        if colour == expected:
            break
        await asyncio.sleep(0.05)
    return colour


async def test_the_cache_serves_nothing_while_it_cannot_follow_status(platform, http):
    hubei = platform.hubei
    codes = hubei.started.forwarder.codes
    person = await hubei.deployment.resident()
    me = {"Authorization": "Bearer " + hubei.token(CallerKind.PERSON, person, "420000")}
    first = await code_colour(hubei, http, me)
    codes.forget()  # as when the change stream breaks
    try:
        async with http.get(f"{hubei.url}/v1/persons/me/code", headers=me) as response:
            second = (await response.json())["payload"]
        async with http.get(f"{hubei.url}/v1/persons/me/code", headers=me) as response:
            third = (await response.json())["payload"]
    finally:
        codes.follow()
    assert first == "COLOUR_GREEN"
    assert second != third  # each fetch was a fresh code from status, none from the cache


async def test_continue_on_the_pop_up_through_the_persons_door_shows_on_the_next_status_read(platform, http):
    async def shown(front, http, me: dict) -> str:
        async with http.get(f"{front.url}/v1/persons/me/status", headers=me) as response:
            body = await response.json()
            assert response.status == 200, body
            return body["status"]["display_colour"]

    from datetime import timedelta

    from healthcode.identity.v1 import identity_pb2

    from tests.support import passport

    hubei = platform.hubei
    # A Tianjin resident (Tianjin's rule set decides) registered at a Beijing hotel: the pop-up. (This
    # deployment signs Hubei's codes only, so the status is read, not a code.)
    person = (await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="路人丙", document=passport(), home_province_code="120000"))).person.person_id
    now = hubei.deployment.clock.now()
    registration = fact(person, status_pb2.FACT_KIND_HOTEL_REGISTRATION, now - timedelta(hours=1),
                        end=now + timedelta(days=1), area_code="110101")
    registration.source = status_pb2.FACT_SOURCE_POLICE
    await hubei.deployment.status.RecordFacts(status_pb2.RecordFactsRequest(facts=[registration]))
    me = {"Authorization": "Bearer " + hubei.token(CallerKind.PERSON, person, "120000")}
    stranger = await hubei.deployment.resident()
    other = {"Authorization": "Bearer " + hubei.token(CallerKind.PERSON, stranger, "420000")}
    assert await shown(hubei, http, me) == "popup"

    async with http.post(f"{hubei.url}/v1/persons/{person}/popup-acknowledgements", headers=other,
                         json={}) as response:
        assert response.status == 403   # nobody presses continue for a person they do not act for
    async with http.post(f"{hubei.url}/v1/persons/me/popup-acknowledgements", headers=me,
                         json={"request_id": "7f9c2b1e-2f1a-4a7e-9a53-0d6f1c2b3a4d"}) as response:
        body = await response.json()
        assert response.status == 200, body
        assert body["status"]["display_colour"] == "green"

    assert await shown(hubei, http, me) == "green"

"""Itinerary's view of identity: which of a batch's persons identity has registered."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import pytest

from services.itinerary.clients import BATCH_GET_LIMIT, RegisteredPersons
from services.itinerary.ledger import ItineraryLedger
from services.itinerary.repository import ItineraryRepository
from services.runtime.clients import open_channel
from services.runtime.errors import Unavailable
from tests.support import register_persons


async def test_ids_past_one_call_are_asked_in_batches_and_only_the_unregistered_come_back(identity_env):
    registered = await register_persons(identity_env.persons, 3)
    strangers = [str(uuid.uuid4()) for _ in range(2 * BATCH_GET_LIMIT + 7)]
    # The registered ones fall in the first, a middle and the last batch.
    asked = strangers[:5] + [registered[0]] + strangers[5:1500] + [registered[1]] + strangers[1500:] + [registered[2]]

    unknown = await RegisteredPersons(identity_env.channel).unknown(asked)

    assert unknown == set(strangers)
    assert await RegisteredPersons(identity_env.channel).exists(registered[1])
    assert not await RegisteredPersons(identity_env.channel).exists(strangers[0])


async def test_an_identity_that_does_not_answer_is_identity_unavailable():
    channel = open_channel("127.0.0.1:1", default_timeout=0.5)  # nothing listens on port 1
    try:
        with pytest.raises(Unavailable) as refused:
            await RegisteredPersons(channel).unknown([str(uuid.uuid4())])
    finally:
        await channel.close()

    assert refused.value.reason == "IDENTITY_UNAVAILABLE"


async def test_a_batch_identity_cannot_confirm_stores_nothing_and_may_be_sent_again(identity_env, itinerary_env,
                                                                                   clock, db):
    person = (await register_persons(identity_env.persons, 1))[0]
    arrival = clock.now() - timedelta(days=2)
    micros = int(arrival.timestamp() * 1_000_000)
    rows = [(0, person, "420106", micros, micros + 5 * 3600 * 1_000_000)]
    policy = itinerary_env.settings.policy
    batch_id = f"identity-down-{secrets.token_hex(4)}"
    dead = open_channel("127.0.0.1:1", default_timeout=0.5)  # nothing listens on port 1
    try:
        down = ItineraryLedger(ItineraryRepository(db), RegisteredPersons(dead), policy, clock, 100)
        with pytest.raises(Unavailable) as refused:
            async with down.carrier_batch(batch_id, "china-mobile") as batch:
                await batch.add(rows)
                await batch.finish()
    finally:
        await dead.close()
    stored_while_down = await db.fetchval("SELECT count(*) FROM itinerary.stays WHERE person_id = $1",
                                          uuid.UUID(person))

    up = ItineraryLedger(ItineraryRepository(db), RegisteredPersons(identity_env.channel), policy, clock, 100)
    async with up.carrier_batch(batch_id, "china-mobile") as batch:
        await batch.add(rows)
        result = await batch.finish()

    assert refused.value.reason == "IDENTITY_UNAVAILABLE"
    assert stored_while_down == 0
    assert (result.replayed, result.stored) == (False, 1)

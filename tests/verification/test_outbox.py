"""The federation outbox: batches published while a peer is down reach it once it is back, a sender
killed mid-delivery loses and duplicates nothing, replicas never send the same delivery twice at once,
and receivers are idempotent per (origin province, batch id)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import pytest
from healthcode.common.v1 import common_pb2
from healthcode.verification.v1 import verification_pb2 as pb

from services.runtime.clock import Clock
from services.verification.recognition.outbox import Outbox
from services.verification.recognition.federation import PeerProvince
from services.verification.recognition.repository import VerificationRepository
from tests.support import timestamp
from tests.support.deployments import HUBEI, JIANGSU, Deployment, Provinces, start_provinces

RED = common_pb2.COLOUR_RED


@pytest.fixture(scope="module")
async def provinces(postgres_server_url) -> AsyncIterator[Provinces]:
    both = await start_provinces(postgres_server_url)
    yield both
    await both.stop()


def records(deployment: Deployment, count: int) -> list[pb.RiskListRecord]:
    return [pb.RiskListRecord(person_ref=os.urandom(16), colour=RED, reason="CLOSE_CONTACT", source="jiangsu-cdc",
                              expire_time=timestamp(deployment.clock.now() + timedelta(days=7)))
            for _ in range(count)]


async def publish(deployment: Deployment, batch_id: str, count: int) -> pb.PublishRiskListResponse:
    return await deployment.recognition_admin.PublishRiskList(pb.PublishRiskListRequest(
        batch_id=batch_id, records=records(deployment, count)))


async def received(deployment: Deployment, province: str, batch_ids: list[str]) -> tuple[int, int]:
    """(batches, records) the deployment holds from `province` under these ids."""
    pool = deployment.parts.recognition.repository.pool
    return (await pool.fetchval("SELECT count(*) FROM verification.risk_batches WHERE province_code = $1 "
                                "AND batch_id = ANY($2)", province, batch_ids),
            await pool.fetchval("SELECT count(*) FROM verification.risk_records WHERE province_code = $1 "
                                "AND batch_id = ANY($2)", province, batch_ids))


async def pending(deployment: Deployment, batch_ids: list[str]) -> int:
    return await deployment.parts.recognition.repository.pool.fetchval(
        "SELECT count(*) FROM verification.outbox_deliveries WHERE deliver_time IS NULL AND batch_id = ANY($1)",
        batch_ids)


async def drained(sender: Deployment, batch_ids: list[str], seconds: float = 30) -> None:
    """Waits for the sender's outbox job to deliver these batches, moving its clock past every backoff."""
    for _ in range(int(seconds / 0.2)):
        if not await pending(sender, batch_ids):
            return
        sender.clock.advance(timedelta(minutes=5))
        await asyncio.sleep(0.2)
    raise AssertionError(f"{await pending(sender, batch_ids)} deliveries still pending")


@asynccontextmanager
async def sender_process(sender: Deployment, clock: Clock):
    """Another replica of the sender's verification (its own pool and peer channels), for the
    moments a test kills one: only its outbox, no servers."""
    settings = sender.verification_settings
    pool = await asyncpg.create_pool(settings.server.database_url, min_size=1, max_size=2)
    peers = [PeerProvince(address, provinces, settings.federation_tls.channel_credentials())
             for address, provinces in settings.peers.items()]
    try:
        yield Outbox(VerificationRepository(pool), peers, clock)
    finally:
        for peer in peers:
            await peer.close()
        await pool.close()


async def test_batches_published_while_the_peer_is_down_all_arrive_once_it_is_back(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await hubei.stop_verification()
    batch_ids = [f"js-down-{i}" for i in range(10)]
    for batch_id in batch_ids:
        response = await publish(jiangsu, batch_id, 100)
        assert (response.stored_count, list(response.delivered_to_province_codes)) == (100, [])
    jiangsu.clock.advance(timedelta(minutes=3))  # down for minutes
    depth, age = (await jiangsu.parts.recognition.outbox.observe())[HUBEI]
    assert (depth, age) == (10, 180.0)
    await hubei.start_verification()
    await drained(jiangsu, batch_ids)
    assert await received(hubei, JIANGSU, batch_ids) == (10, 1000)  # 100 % delivered, nothing twice
    assert (await jiangsu.parts.recognition.outbox.observe())[HUBEI] == (0, 0.0)
    from prometheus_client import REGISTRY
    assert REGISTRY.get_sample_value("healthcode_federation_outbox_depth", {"peer": HUBEI}) == 0


async def test_a_sender_killed_mid_delivery_loses_nothing_and_duplicates_nothing(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await hubei.stop_verification()
    before_send, after_send = "js-killed-before-send", "js-killed-after-send"
    for batch_id in (before_send, after_send):
        assert (await publish(jiangsu, batch_id, 50)).delivered_to_province_codes == []
    await jiangsu.stop_verification()  # no job of its own runs while the doomed replica works
    await hubei.start_verification()
    jiangsu.clock.advance(timedelta(seconds=10))
    async with sender_process(jiangsu, jiangsu.clock) as doomed:
        assert len(await doomed.claim(before_send)) == 1  # claimed, then killed before sending
        (claimed,) = await doomed.claim(after_send)
        assert await doomed.send(claimed) is None  # the peer stored it; killed before recording that
    assert await received(hubei, JIANGSU, [after_send]) == (1, 50)
    await jiangsu.start_verification()
    # Nothing moves while the dead sender's leases last.
    assert not (await jiangsu.parts.recognition.outbox.deliver_due()).delivered
    jiangsu.clock.advance(jiangsu.parts.recognition.outbox.policy.lease)
    await drained(jiangsu, [before_send, after_send])
    assert await received(hubei, JIANGSU, [before_send, after_send]) == (2, 100)


async def test_two_replicas_delivering_at_once_never_send_the_same_delivery(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await hubei.stop_verification()
    batch_ids = [f"js-replicas-{i}" for i in range(8)]
    for batch_id in batch_ids:
        await publish(jiangsu, batch_id, 10)
    await jiangsu.stop_verification()
    await hubei.start_verification()
    jiangsu.clock.advance(timedelta(minutes=5))
    async with sender_process(jiangsu, jiangsu.clock) as one, sender_process(jiangsu, jiangsu.clock) as two:
        rounds = await asyncio.gather(one.deliver_due(), two.deliver_due())
    sent = [delivery for r in rounds for delivery in r.delivered]
    assert sorted(sent) == sorted((batch_id, hubei_address(jiangsu)) for batch_id in batch_ids)
    assert await received(hubei, JIANGSU, batch_ids) == (8, 80)
    await jiangsu.start_verification()


def hubei_address(jiangsu: Deployment) -> str:
    (address,) = jiangsu.verification_settings.peers
    return address


async def test_batches_are_idempotent_per_origin_province_and_a_republished_id_changes_nothing(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    # (Delivered at once or by the job: the peers' channels may still be reconnecting after the restarts above.)
    assert (await publish(hubei, "shared-id-1", 3)).stored_count == 3
    assert (await publish(jiangsu, "shared-id-1", 4)).stored_count == 4
    await drained(hubei, ["shared-id-1"])
    await drained(jiangsu, ["shared-id-1"])
    assert await received(hubei, JIANGSU, ["shared-id-1"]) == (1, 4)  # Jiangsu's, though Hubei used the id
    assert await received(jiangsu, HUBEI, ["shared-id-1"]) == (1, 3)
    again = await asyncio.gather(*(publish(jiangsu, "shared-id-2", 5) for _ in range(6)))
    assert sorted(r.stored_count for r in again) == [0] * 5 + [5]
    pool = jiangsu.parts.recognition.repository.pool
    assert await pool.fetchval("SELECT count(*) FROM verification.outbox_deliveries WHERE batch_id = 'shared-id-2'") == 1
    await drained(jiangsu, ["shared-id-2"])
    assert await received(hubei, JIANGSU, ["shared-id-2"]) == (1, 5)


async def test_a_replayed_batch_is_acknowledged_and_changes_nothing(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await publish(jiangsu, "js-replayed", 7)
    await drained(jiangsu, ["js-replayed"])
    row = await jiangsu.parts.recognition.repository.pool.fetchrow(
        "SELECT payload, key_id, signature FROM verification.outbox_batches WHERE batch_id = 'js-replayed'")
    from services.verification.recognition.exchange import risk_list_from_bytes
    batch_id, province, rows = risk_list_from_bytes(bytes(row["payload"]))
    peer = jiangsu.parts.recognition.peers[0]
    before = await received(hubei, JIANGSU, ["js-replayed"])
    await peer.submit_risk_list(batch_id, province, rows, bytes(row["key_id"]), bytes(row["signature"]))
    assert await received(hubei, JIANGSU, ["js-replayed"]) == before == (1, 7)


async def test_acknowledged_batches_leave_the_outbox_after_a_day_and_undelivered_ones_stay(provinces):
    hubei, jiangsu = provinces.hubei, provinces.jiangsu
    await publish(jiangsu, "js-purged", 2)
    await drained(jiangsu, ["js-purged"])
    await hubei.stop_verification()
    await publish(jiangsu, "js-kept", 2)
    pool = jiangsu.parts.recognition.repository.pool
    jiangsu.clock.advance(timedelta(days=2))
    await jiangsu.parts.recognition.purge()
    left = {r["batch_id"] for r in await pool.fetch(
        "SELECT batch_id FROM verification.outbox_batches WHERE batch_id IN ('js-purged', 'js-kept')")}
    assert left == {"js-kept"}
    await hubei.start_verification()
    await drained(jiangsu, ["js-kept"])
    assert await received(hubei, JIANGSU, ["js-purged", "js-kept"]) == (2, 4)

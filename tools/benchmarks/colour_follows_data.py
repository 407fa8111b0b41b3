"""The colour follows the data, measured: late stays reaching status, and Beijing's midnight.

    .venv/bin/python -m tools.benchmarks.colour_follows_data [--stays 100000] [--midnight-persons 1000000]
                                                       [--corrections 5000] [--seconds 20] [--concurrency 32]

late stays: a population of `stays` persons (COPYed as the load harness does, so identity knows them)
is decided once (GREEN, stored); county 650102 is HIGH since ten days ago. One carrier batch of
`stays` stays, 10 % of them in 650102 inside that period, is streamed to itinerary (chunks of 10,000):
the batch's own ingest time next to the seconds from its answer to the last affected status turning
RED, with status's stay follower running as deployed (every 0.5 s); then a single late stay, five
times. Baseline: raw COPY of the same rows into a table with the stays' keys. Then the carrier corrects
`corrections` of the HIGH stays into an ordinary county: the calls' time beside a batch of as many new
stays ingested in the same run, and the seconds until the last of those persons is no longer RED.

midnight: `midnight-persons` Beijing persons (COPYed into status.persons as enrolment leaves them, no
evidence) are decided at 20:00 Beijing time (valid until 00:00). Stored GetStatus is measured at 20:10;
the renewal job renews every status at 21:00 (its time is printed); a control group of 5 % is decided
at 23:50 (after the renewal, so not renewed); at 00:00:05 GetStatus is measured for a minute over the
renewed persons, and over the control group (first reads after a lapse: decisions, what every read
was before renewal existed). Status runs in this process on a clock moved by hand (identity and
itinerary in their own processes); the load is closed-loop from this process, so compare the rates
of one run with each other. Uses HEALTHCODE_DATABASE_URL when set, otherwise an embedded Postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import uvloop
from google.protobuf.timestamp_pb2 import Timestamp
from healthcode.common.v1 import common_pb2
from healthcode.itinerary.v1 import itinerary_pb2, itinerary_pb2_grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc

from tools.load.cpu import announce
from tools.load.measure import measure, measure_each
from tools.load.processes import benchmark_database, service_environment, spawn_server, stop
from services.identity import bootstrap as identity
from services.itinerary import bootstrap as itinerary
from tools.load import population
from services.runtime.logs import configure_logging
from services.runtime.server import start_server
from services.runtime.settings import Env
from services.status import bootstrap as status
from services.status.model import ChangeCause
from services.status.renewal import Renewal
from services.verification import bootstrap as verification

HIGH_COUNTY, ORDINARY_COUNTY = "650102", "620102"
BEIJING = "110000"
BATCH = 1000
RED = int(common_pb2.COLOUR_RED)


class MovableClock:
    """Real time, shifted: status's clock, moved to Beijing's evening and past its midnight."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def move_to(self, moment: datetime) -> None:
        self._offset = moment - datetime.now(UTC)


async def decide_all(board, ids: list[str]) -> float:
    started = time.perf_counter()
    pending = [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]

    async def worker() -> None:
        while pending:
            await board.decide(pending.pop(), ChangeCause.REVALIDATION, refresh=False)

    await asyncio.gather(*(worker() for _ in range(2)))
    return time.perf_counter() - started


async def red_count(connection: asyncpg.Connection, ids: list[uuid.UUID]) -> int:
    return await connection.fetchval(
        "SELECT count(*) FROM status.statuses WHERE person_id = ANY($1::uuid[]) AND colour = $2", ids, RED)


async def until_red(connection: asyncpg.Connection, ids: list[uuid.UUID], limit: float = 120.0, *,
                    red: bool = True) -> float:
    """Seconds until every one of `ids` is RED (or, with `red` false, none is; polled every 20 ms)."""
    started = time.perf_counter()
    while await red_count(connection, ids) != (len(ids) if red else 0):
        if time.perf_counter() - started > limit:
            raise RuntimeError("statuses did not turn red in time")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


def _stay(person: uuid.UUID, county: str, arrival: datetime) -> itinerary_pb2.CarrierStay:
    return itinerary_pb2.CarrierStay(
        person_id=str(person), area_code=county, arrival_time=Timestamp(seconds=int(arrival.timestamp())),
        departure_time=Timestamp(seconds=int((arrival + timedelta(hours=6)).timestamp())))


async def ingest(stub, stays: list[itinerary_pb2.CarrierStay]) -> tuple[float, int]:
    batch_id = f"bench-{uuid.uuid4().hex}"

    async def chunks():
        for start in range(0, len(stays), 10_000):
            yield itinerary_pb2.IngestCarrierStaysRequest(batch_id=batch_id, source_carrier="bench-carrier",
                                                          stays=stays[start:start + 10_000])

    started = time.perf_counter()
    response = await stub.IngestCarrierStays(chunks(), timeout=600)
    return time.perf_counter() - started, response.stored


async def raw_copy(url: str, stays: list[itinerary_pb2.CarrierStay]) -> float:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP TABLE IF EXISTS public.bench_stays; "
                                 "CREATE TABLE public.bench_stays (LIKE itinerary.stays INCLUDING DEFAULTS, "
                                 "PRIMARY KEY (person_id, area_code, arrival_time, departure_time))")
        rows = [(uuid.UUID(s.person_id), s.area_code, s.arrival_time.ToDatetime(UTC),
                 s.departure_time.ToDatetime(UTC), 1, "bench-carrier") for s in stays]
        started = time.perf_counter()
        await connection.copy_records_to_table("bench_stays", schema_name="public", records=rows)
        return time.perf_counter() - started
    finally:
        await connection.execute("DROP TABLE IF EXISTS public.bench_stays")
        await connection.close()


async def late_stays(args, url: str, keys, board, itinerary_stub) -> dict:
    size = population.rounded(args.stays)
    await population.load(url, keys, size)
    people = [population.person_id(i) for i in range(size)]
    now = datetime.now(UTC)
    await itinerary_stub.DeclareRiskArea(itinerary_pb2.DeclareRiskAreaRequest(
        area_code=HIGH_COUNTY, level=common_pb2.RISK_LEVEL_HIGH, authority="bench", reason="benchmark",
        effective_time=Timestamp(seconds=int((now - timedelta(days=10)).timestamp()))))
    decided = await decide_all(board, [str(p) for p in people])
    rng = random.Random(13)
    affected = [p for i, p in enumerate(people[5:], 5) if i % 10 == 0]
    stays = [_stay(p, HIGH_COUNTY if i % 10 == 0 else ORDINARY_COUNTY, now - timedelta(days=3, hours=rng.random()))
             for i, p in enumerate(people[5:], 5)]
    copy_seconds = await raw_copy(url, stays)
    connection = await asyncpg.connect(url)
    try:
        assert await red_count(connection, affected) == 0
        ingest_seconds, stored = await ingest(itinerary_stub, stays)
        after_answer = await until_red(connection, affected)
        singles = []
        for person in people[:5]:  # kept out of the batch
            started = time.perf_counter()
            await ingest(itinerary_stub, [_stay(person, HIGH_COUNTY, now - timedelta(days=2))])
            singles.append(time.perf_counter() - started + await until_red(connection, [person]))
        corrections = await corrected_out(args, connection, itinerary_stub, affected, now)
    finally:
        await connection.close()
    return {"persons": size, "first_decisions_s": decided, "stays": len(stays), "stored": stored,
            "affected": len(affected), "ingest_s": ingest_seconds, "to_last_red_s": after_answer,
            "raw_copy_s": copy_seconds, "single_s": statistics.median(singles), "single_max_s": max(singles),
            **corrections}


async def corrected_out(args, connection: asyncpg.Connection, stub, affected: list[uuid.UUID], now: datetime
                        ) -> dict:
    """The carrier corrects `args.corrections` of the HIGH-county stays into an ordinary county (1000 a
    call): send to answer, and answer to the last of those statuses no longer RED; beside the ingest of a
    batch of as many new stays in the same run."""
    wanted = affected[:args.corrections]
    if not wanted:
        return {"corrections": 0}
    sent = dict(zip(wanted, await _sent_stays(connection, wanted), strict=True))
    baseline, _ = await ingest(stub, [_stay(p, ORDINARY_COUNTY, now - timedelta(days=5)) for p in wanted])
    started = time.perf_counter()
    for start in range(0, len(wanted), 1000):
        corrections = []
        for person in wanted[start:start + 1000]:
            stay = sent[person]
            moved = itinerary_pb2.CarrierStay()
            moved.CopyFrom(stay)
            moved.area_code = ORDINARY_COUNTY
            corrections.append(itinerary_pb2.StayCorrection(
                stay=stay, action=itinerary_pb2.STAY_CORRECTION_ACTION_CORRECT, corrected=moved, reason="benchmark"))
        response = await stub.CorrectCarrierStays(itinerary_pb2.CorrectCarrierStaysRequest(
            source_carrier="bench-carrier", request_id=uuid.uuid4().hex, corrections=corrections), timeout=600)
        assert response.applied_count == len(corrections), response.outcomes[0]
    answer = time.perf_counter() - started
    lifted = await until_red(connection, wanted, red=False)
    return {"corrections": len(wanted), "correct_s": answer, "to_last_lifted_s": lifted,
            "same_size_ingest_s": baseline}


async def _sent_stays(connection: asyncpg.Connection, persons: list[uuid.UUID]) -> list[itinerary_pb2.CarrierStay]:
    """The HIGH-county stays the batch stored for these persons, as the carrier sent them."""
    rows = await connection.fetch(
        """SELECT person_id, arrival_time, departure_time FROM itinerary.stays
           WHERE person_id = ANY($1::uuid[]) AND area_code = $2 AND source_carrier = 'bench-carrier'""",
        persons, HIGH_COUNTY)
    by_person = {row["person_id"]: row for row in rows}
    return [itinerary_pb2.CarrierStay(
        person_id=str(p), area_code=HIGH_COUNTY,
        arrival_time=Timestamp(seconds=int(by_person[p]["arrival_time"].timestamp())),
        departure_time=Timestamp(seconds=int(by_person[p]["departure_time"].timestamp()))) for p in persons]


async def enrol_beijing(url: str, count: int, enrolled: datetime) -> list[str]:
    ids = sorted(uuid.UUID(bytes=os.urandom(16), version=4) for _ in range(count))
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "persons", schema_name="status",
            columns=["person_id", "province_code", "masked_name", "person_ref", "enrol_time"],
            records=[(p, BEIJING, "王*", os.urandom(16), enrolled) for p in ids])
    finally:
        await connection.close()
    return [str(p) for p in ids]


async def midnight(args, url: str, board, clock: MovableClock, stub) -> dict:
    real = datetime.now(UTC)
    # The next Beijing midnight at least a day ahead, so every moment used is after real time.
    local_day = (real + timedelta(hours=8)).date() + timedelta(days=2)
    lapse = datetime(local_day.year, local_day.month, local_day.day, tzinfo=UTC) - timedelta(hours=8)
    renewed_ids = await enrol_beijing(url, args.midnight_persons, real - timedelta(days=30))
    control_ids = await enrol_beijing(url, max(2000, args.midnight_persons // 50), real - timedelta(days=30))
    connection = await asyncpg.connect(url)
    await connection.execute("VACUUM ANALYZE status.persons")
    await connection.close()
    rng = random.Random(7)

    def reader(ids: list[str]):
        async def call():
            await stub.GetStatus(status_pb2.GetStatusRequest(person_id=rng.choice(ids)))
        return call

    clock.move_to(lapse - timedelta(hours=4))                       # 20:00
    first = await decide_all(board, renewed_ids)
    clock.move_to(lapse - timedelta(hours=3, minutes=50))           # 20:10
    stored = await measure("GetStatus stored (20:10)", reader(renewed_ids), seconds=args.seconds,
                           concurrency=args.concurrency)
    clock.move_to(lapse - timedelta(hours=3))                       # 21:00
    started = time.perf_counter()
    renewed = await Renewal(board, timedelta(hours=3), rate=10**9, interval=1.0).run()
    renewal_seconds = time.perf_counter() - started
    clock.move_to(lapse - timedelta(minutes=10))                    # 23:50
    await decide_all(board, control_ids)
    clock.move_to(lapse + timedelta(seconds=5))                     # 00:00:05
    after = await measure("GetStatus, first minute after midnight", reader(renewed_ids), seconds=60.0,
                          concurrency=args.concurrency)
    clock.move_to(lapse + timedelta(seconds=5))
    # First reads after the lapse, each person once (for at most 20 s).
    unrenewed = await measure_each(
        "GetStatus, first reads after the lapse",
        lambda person_id: stub.GetStatus(status_pb2.GetStatusRequest(person_id=person_id)), control_ids[::-1],
        concurrency=args.concurrency, seconds=min(args.seconds, 20.0))
    return {"persons": len(renewed_ids), "first_decisions_s": first, "renewed": renewed,
            "renewal_s": renewal_seconds, "stored": stored, "after": after, "unrenewed": unrenewed,
            "control": len(control_ids)}


async def main(args: argparse.Namespace) -> None:
    configure_logging("warning")
    announce("colour_follows_data")
    # The population fills venues too.
    url, embedded = await benchmark_database(identity, itinerary, status, verification)
    environ = service_environment(url, HEALTHCODE_STATUS_RENEWAL_HORIZON_MINUTES="0",
                                  HEALTHCODE_STATUS_STAY_FOLLOW_INTERVAL_SECONDS="0.5")
    processes = []
    try:
        for name in ("identity", "itinerary"):
            process, environ[f"HEALTHCODE_{name.upper()}_ADDRESS"] = await spawn_server(["-m", "cli.healthcode", name],
                                                                                  environ)
            processes.append(process)
        clock = MovableClock()
        app, parts = await status.assemble(status.StatusSettings.read(Env(environ)), clock)
        server = await start_server(app, "127.0.0.1", 0)
        keys = population.PopulationKeys.read(environ)
        async with grpc.aio.insecure_channel(environ["HEALTHCODE_ITINERARY_ADDRESS"]) as itinerary_channel, \
                grpc.aio.insecure_channel(server.address) as status_channel:
            stays = await late_stays(args, url, keys, parts.decider,
                                     itinerary_pb2_grpc.ItineraryServiceStub(itinerary_channel))
            report_stays(stays)
            if args.midnight_persons:
                night = await midnight(args, url, parts.decider, clock,
                                       status_pb2_grpc.StatusServiceStub(status_channel))
                report_midnight(night)
        await server.stop(grace=1)
    finally:
        await stop(*processes)
        if embedded is not None:
            embedded.stop()


def report_stays(r: dict) -> None:
    print(f"\nlate stays ({r['persons']:,} persons decided first in {r['first_decisions_s']:.1f} s)")
    print(f"  batch of {r['stays']:,} stays ({r['stored']:,} stored), {r['affected']:,} in a HIGH county:")
    print(f"    ingest (send to answer)                 {r['ingest_s']:7.2f} s   "
          f"({r['stays'] / r['ingest_s']:,.0f} stays/s; raw COPY of the same rows {r['raw_copy_s']:.2f} s, "
          f"{r['ingest_s'] / r['raw_copy_s']:.1f}x)")
    print(f"    answer to the last affected status RED  {r['to_last_red_s']:7.2f} s   "
          f"({r['affected'] / r['to_last_red_s']:,.0f} statuses/s; goal <= 10 s)")
    print(f"  a single late stay, ingest to RED: median {r['single_s']:.2f} s, max {r['single_max_s']:.2f} s "
          f"(goal <= 2 s)")
    if r["corrections"]:
        print(f"  {r['corrections']:,} of those stays corrected into an ordinary county (CorrectCarrierStays):")
        print(f"    corrections (send to answer)            {r['correct_s']:7.2f} s   "
              f"(a batch of as many new stays ingested in {r['same_size_ingest_s']:.2f} s, "
              f"{r['correct_s'] / r['same_size_ingest_s']:.1f}x)")
        print(f"    answer to the last of them not RED      {r['to_last_lifted_s']:7.2f} s   "
              f"({r['corrections'] / r['to_last_lifted_s']:,.0f} statuses/s)")


def report_midnight(r: dict) -> None:
    print(f"\nmidnight ({r['persons']:,} Beijing statuses, decided at 20:00 in {r['first_decisions_s']:.1f} s)")
    print(f"  renewal at 21:00: {r['renewed']:,} renewed in {r['renewal_s']:.1f} s "
          f"({r['renewed'] / r['renewal_s']:,.0f}/s)")
    for label, m in (("stored GetStatus at 20:10 (baseline)", r["stored"]),
                     ("GetStatus, first minute after midnight", r["after"]),
                     (f"after midnight, {r['control']:,} not renewed", r["unrenewed"])):
        print(f"  {label:42s} {m.per_second:8,.0f}/s  ({m.versus(r['stored']):.2f}x)  "
              f"p50 {m.p50_ms:.1f} ms  p99 {m.p99_ms:.1f} ms")
    print("  goal: the first minute after midnight >= 0.80x the stored rate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stays", type=int, default=100_000)
    parser.add_argument("--midnight-persons", type=int, default=1_000_000, help="0 skips the midnight part")
    parser.add_argument("--corrections", type=int, default=5000, help="late stays then corrected away (0: none)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    uvloop.run(main(parser.parse_args()))

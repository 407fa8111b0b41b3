"""Carrier stays ingested per second and the affected-persons stream, next to raw asyncpg, in one run.

    .venv/bin/python -m benchmarks.itinerary_stays [--stays 1000000] [--persons 100000] [--population 10000000]

Identity and itinerary each run in their own process; this process plays the carrier and
the health authority. Three phases, each timed:

1. seed: `persons` passports registered through identity, 256 calls in flight. Not part of
   any figure: itinerary asks identity about every distinct person of a batch, so they must exist.
2. ingest: `stays` carrier stays (10 per person by default, 4-12 h long, departing in the last
   14 days) streamed through IngestCarrierStays in chunks of 10,000, batches of up to 1,000,000;
   next to asyncpg copy_records_to_table of the same rows into a plain (unpartitioned, logged)
   table with itinerary.stays' columns, primary key and area index. "send" runs until the last
   chunk is written (the server decodes as it receives); "answer" is the rest: identity
   lookups, then the staging COPY, judging and merge in one transaction.
3. affected: `population` stays COPYed straight into itinerary.stays (setup, 10 per random
   person id), VACUUM ANALYZE, then one county (~5,000 stays at 10 M) and one city (8 counties)
   declared HIGH over the whole window. StreamAffectedPersons is timed from the request to the
   last chunk, next to the same DISTINCT query fetched whole with asyncpg; medians of 3.

Postgres, both services and this client share 2 cores (LIMITS.md: ±30 % drift), so compare the
ratios printed here, not absolute figures across machines. Uses HEALTHCODE_DATABASE_URL when
set (and writes into it), otherwise an embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import grpc
import uvloop
from google.protobuf.timestamp_pb2 import Timestamp

from benchmarks.identity_lookups import _spawn
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2 as pb
from healthcode.itinerary.v1 import itinerary_pb2_grpc
from services import areas
from services.identity import bootstrap as identity
from services.itinerary import bootstrap as itinerary
from services.itinerary.model import area_code_range
from services.itinerary.persons import PersonDirectory
from services.runtime.database import migrate
from services.runtime.postgres import EmbeddedPostgres

CARRIER = "bench-carrier"
CHUNK = 10_000       # the service's per-chunk limit
BATCH = 1_000_000    # half of HEALTHCODE_ITINERARY_MAX_BATCH_ROWS' default
WINDOW = 14 * 24 * 60  # minutes
# 31 mainland provinces × 8 cities × 8 counties = 1,984 county codes: ~5,000 stays each at 10 M.
COUNTIES = [f"{p}{c:02d}{k:02d}" for p in sorted(areas.PROVINCES) if p < "71" for c in range(1, 9)
            for k in range(1, 9)]
# The repository's query, verbatim, for the baseline.
AFFECTED_SQL = """SELECT DISTINCT person_id::text FROM itinerary.stays
                  WHERE area_code >= $1 AND area_code < $2 AND departure_time > $3
                    AND ($4::timestamptz IS NULL OR arrival_time < $4)"""


class Clock:
    """Whole minutes back from now: carriers report minutes, and shared datetime and Timestamp
    objects keep building millions of rows cheap."""

    def __init__(self) -> None:
        self.base = int(time.time()) // 60 * 60
        self.moments = [datetime.fromtimestamp(self.base - m * 60, timezone.utc) for m in range(WINDOW + 721)]
        self.stamps = [Timestamp(seconds=self.base - m * 60) for m in range(WINDOW + 721)]

    @staticmethod
    def stay() -> tuple[int, int]:
        """(arrival, departure) in minutes ago: departure inside the window with an hour to spare, 4-12 h."""
        departure = random.randint(1, WINDOW - 60)
        return departure + random.randint(240, 720), departure


async def seed(stub, count: int, concurrency: int = 256) -> list[str]:
    ids = [""] * count
    numbers = iter(range(count))  # shared by the workers: each takes the next passport

    async def worker() -> None:
        for i in numbers:
            response = await stub.RegisterPerson(identity_pb2.RegisterPersonRequest(
                name="测试人", document=identity_pb2.Document(kind=identity_pb2.DOCUMENT_KIND_PASSPORT,
                                                           number=f"B{i:08d}", country_code="FRA"),
                home_province_code="320000"))
            ids[i] = response.person.person_id

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def ingest(stub, requests: list[list[pb.IngestCarrierStaysRequest]]) -> tuple[float, float, list]:
    """Sends each batch as one stream; returns (send seconds, answer seconds, responses)."""
    sending = answering = 0.0
    responses = []
    for batch in requests:
        started = time.perf_counter()
        call = stub.IngestCarrierStays()
        for request in batch:
            await call.write(request)
        await call.done_writing()
        sent = time.perf_counter()
        responses.append(await call)
        sending, answering = sending + sent - started, answering + time.perf_counter() - sent
    return sending, answering, responses


async def raw_copy(url: str, records: list[tuple]) -> float:
    connection = await asyncpg.connect(url)
    try:
        # LIKE copies the columns, primary key and index of the partitioned parent onto a plain table.
        await connection.execute("DROP TABLE IF EXISTS public.bench_stays; "
                                 "CREATE TABLE public.bench_stays (LIKE itinerary.stays INCLUDING ALL)")
        started = time.perf_counter()
        await connection.copy_records_to_table("bench_stays", schema_name="public", records=records)
        elapsed = time.perf_counter() - started
        await connection.execute("DROP TABLE public.bench_stays")
        return elapsed
    finally:
        await connection.close()


async def load_population(url: str, count: int) -> None:
    """Setup: random persons, 10 stays each, generated here while Postgres indexes the previous chunk."""
    clock = Clock()
    persons = [uuid.uuid4() for _ in range(max(1, count // 10))]
    queue: asyncio.Queue = asyncio.Queue(maxsize=2)

    async def produce() -> None:
        for start in range(0, count, 200_000):
            chunk = []
            for _ in range(min(200_000, count - start)):
                arrival, departure = clock.stay()
                chunk.append((random.choice(persons), random.choice(COUNTIES), clock.moments[arrival],
                              clock.moments[departure], 1, CARRIER))
            await queue.put(chunk)
        for _ in range(2):
            await queue.put(None)

    async def consume() -> None:
        connection = await asyncpg.connect(url)
        while (chunk := await queue.get()) is not None:
            await connection.copy_records_to_table("stays", schema_name="itinerary", records=chunk)
        await connection.close()

    await asyncio.gather(produce(), consume(), consume())


async def affected(stub, url: str, area_code: str, repeats: int = 3) -> tuple[int, float, int, float]:
    """(persons, median s) for the stream and for the raw query, after declaring `area_code` HIGH."""
    response = await stub.DeclareRiskArea(pb.DeclareRiskAreaRequest(
        area_code=area_code, level=common_pb2.RISK_LEVEL_HIGH, authority="bench", request_id=uuid.uuid4().hex,
        effective_time=Timestamp(seconds=int(time.time()) - 14 * 24 * 3600)))
    declaration = response.declaration
    low, high = area_code_range(area_code)
    start = declaration.effective_time.ToDatetime(tzinfo=timezone.utc)
    connection = await asyncpg.connect(url)
    streamed, queried = [], []
    for _ in range(repeats):
        started, persons = time.perf_counter(), 0
        async for chunk in stub.StreamAffectedPersons(
                pb.StreamAffectedPersonsRequest(declaration_id=declaration.declaration_id)):
            persons += len(chunk.person_ids)
        streamed.append(time.perf_counter() - started)
        started = time.perf_counter()
        rows = await connection.fetch(AFFECTED_SQL, low, high, start, None)
        queried.append(time.perf_counter() - started)
    await connection.close()
    return persons, statistics.median(streamed), len(rows), statistics.median(queried)


async def main(args: argparse.Namespace) -> None:
    phases: dict[str, float] = {}
    started = time.perf_counter()
    embedded = None
    url = os.environ.get("HEALTHCODE_DATABASE_URL")
    if not url:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="hc-bench-")) / "pg", keep=False)
        url = embedded.start()
    for service in (identity, itinerary):
        await migrate(url, service.SCHEMA, service.MIGRATIONS)
    environ = {**os.environ, "HEALTHCODE_DATABASE_URL": url, "HEALTHCODE_IDENTITY_PORT": "0",
               "HEALTHCODE_ITINERARY_PORT": "0", "HEALTHCODE_LOG_LEVEL": "warning",
               "HEALTHCODE_POOL_MAX_SIZE": "8", "HEALTHCODE_POOL_MIN_SIZE": "8",
               "HEALTHCODE_IDENTITY_SEALING_KEYS": "b:" + base64.b64encode(secrets.token_bytes(32)).decode(),
               "HEALTHCODE_IDENTITY_LOOKUP_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    identity_process, identity_address = await _spawn(["-m", "services.cli", "identity"], environ)
    environ["HEALTHCODE_IDENTITY_ADDRESS"] = identity_address
    processes = [identity_process]
    try:
        itinerary_process, address = await _spawn(["-m", "services.cli", "itinerary"], environ)
        processes.append(itinerary_process)
        phases["start postgres, migrate, spawn services"] = time.perf_counter() - started
        async with grpc.aio.insecure_channel(identity_address) as identity_channel, \
                grpc.aio.insecure_channel(address) as channel:
            stub = itinerary_pb2_grpc.ItineraryServiceStub(channel)
            started = time.perf_counter()
            person_ids = await seed(identity_pb2_grpc.IdentityServiceStub(identity_channel), args.persons)
            phases[f"seed {args.persons} persons"] = time.perf_counter() - started

            started, clock = time.perf_counter(), Clock()
            rows = [(person_ids[i % len(person_ids)], random.choice(COUNTIES), *clock.stay())
                    for i in range(args.stays)]
            records = [(p, code, clock.moments[a], clock.moments[d], 1, CARRIER) for p, code, a, d in rows]
            run = uuid.uuid4().hex[:8]  # fresh batch ids: a reused one would be answered as a replay
            requests = [[pb.IngestCarrierStaysRequest(
                batch_id=f"bench-{run}-{b}", source_carrier=CARRIER,
                stays=[pb.CarrierStay(person_id=p, area_code=code, arrival_time=clock.stamps[a],
                                      departure_time=clock.stamps[d]) for p, code, a, d in rows[c:c + CHUNK]])
                for c in range(b, min(b + BATCH, len(rows)), CHUNK)] for b in range(0, len(rows), BATCH)]
            phases[f"build {args.stays} stays (rows, records, protos)"] = time.perf_counter() - started

            started = time.perf_counter()
            copy_seconds = await raw_copy(url, records)
            sending, answering, responses = await ingest(stub, requests)
            # What the ledger does before its transaction, alone: ask identity about every distinct person.
            lookup_started = time.perf_counter()
            await PersonDirectory(identity_channel).unknown(sorted({row[0] for row in rows}))
            lookup_seconds = time.perf_counter() - lookup_started
            phases["ingest phase (COPY, RPC, identity alone)"] = time.perf_counter() - started
            del rows, records, requests

            started = time.perf_counter()
            await load_population(url, args.population)
            phases[f"load {args.population} stays by COPY"] = time.perf_counter() - started
            started = time.perf_counter()
            connection = await asyncpg.connect(url)
            # Index-only scans need the visibility map, which autovacuum would set soon after a load.
            await connection.execute("VACUUM ANALYZE itinerary.stays")
            total = await connection.fetchval("SELECT count(*) FROM itinerary.stays")
            await connection.close()
            phases["vacuum analyze"] = time.perf_counter() - started

            started = time.perf_counter()
            county = random.choice(COUNTIES)
            areas_measured = [("county", county, await affected(stub, url, county))]
            city = random.choice([c for c in COUNTIES if c[:4] != county[:4]])[:4] + "00"
            areas_measured.append(("city", city, await affected(stub, url, city)))
            phases["declare and stream (3 × 2 areas, 2 paths)"] = time.perf_counter() - started
    finally:
        for process in reversed(processes):
            process.terminate()
            await process.wait()
        if embedded is not None:
            embedded.stop()

    stored, rejected, duplicates, short = (sum(getattr(r, f) for r in responses)
                                           for f in ("stored", "rejected", "duplicates", "below_threshold"))
    rpc_seconds = sending + answering
    print(f"\n{os.cpu_count()} cores; {args.stays} stays of {args.persons} persons in {len(responses)} batch(es) "
          f"of up to {BATCH}: stored {stored}, rejected {rejected}, duplicates {duplicates}, short {short}")
    print(f"{'ingest':<52}{'rows/s':>10}{'s':>8}{'× COPY':>8}")
    print(f"{'baseline: asyncpg COPY, plain logged table, PK+index':<52}{args.stays / copy_seconds:>10.0f}"
          f"{copy_seconds:>8.2f}{1:>8.2f}")
    print(f"{'IngestCarrierStays (chunks of 10,000)':<52}{args.stays / rpc_seconds:>10.0f}{rpc_seconds:>8.2f}"
          f"{copy_seconds / rpc_seconds:>8.2f}")
    print(f"{'  send: until the last chunk is written':<52}{'':>10}{sending:>8.2f}")
    print(f"{'  answer: after the last chunk (identity + SQL)':<52}{'':>10}{answering:>8.2f}")
    print(f"{f'  of which identity alone ({len(person_ids)} ids, run apart)':<52}{'':>10}{lookup_seconds:>8.2f}")
    print(f"\naffected persons, HIGH over the whole window; {total} stays in itinerary.stays, medians of 3")
    print(f"{'path':<52}{'persons':>10}{'ms':>8}{'× query':>8}")
    for level, code, (persons, stream_s, rows_found, query_s) in areas_measured:
        print(f"{f'baseline: asyncpg DISTINCT fetch, {level} {code}':<52}{rows_found:>10}{query_s * 1000:>8.0f}"
              f"{1:>8.2f}")
        print(f"{f'StreamAffectedPersons, {level} {code}':<52}{persons:>10}{stream_s * 1000:>8.0f}"
              f"{query_s / stream_s:>8.2f}")
    print("\nphase wall times")
    for name, seconds in phases.items():
        print(f"  {name:<50}{seconds:>8.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stays", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--population", type=int, default=10_000_000)
    uvloop.run(main(parser.parse_args()))

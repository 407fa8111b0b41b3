"""Carrier stays ingested per second and the affected-persons stream, next to raw asyncpg, in one run.

    .venv/bin/python -m tools.benchmarks.itinerary_stays [--stays 1000000] [--persons 100000] [--population 10000000]

Identity and itinerary run in their own processes; this one is the carrier and the authority.
Seeding registers `persons` passports (setup: itinerary asks identity about every batch's persons).
ingest: `stays` stays streamed through IngestCarrierStays (chunks of 10,000, batches of up to
1,000,000) next to asyncpg COPY of the same rows into a plain, logged table with itinerary.stays'
columns, primary key and index. "send" lasts until the last chunk is written (the server decodes
as it receives); "answer" is the rest: identity lookups, then staging COPY, judging and merge.
affected: `population` stays are COPYed into itinerary.stays (setup); a county (~5,000 stays at
10 M) and a city are declared HIGH over the whole window; StreamAffectedPersons is timed from the
request to the last chunk, next to the same DISTINCT query fetched whole by asyncpg; medians of 3.
Postgres, both services and this client share 2 cores (LIMITS.md: ±30 % drift): compare the
ratios printed here, not figures across machines. Uses HEALTHCODE_DATABASE_URL when set (and
writes into it), otherwise an embedded Postgres in a temporary directory.
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
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import grpc
import uvloop
from google.protobuf.timestamp_pb2 import Timestamp
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2 as pb
from healthcode.itinerary.v1 import itinerary_pb2_grpc

from tools.load.processes import spawn_server, stop
from services import areas
from services.identity import bootstrap as identity
from services.itinerary import bootstrap as itinerary
from services.itinerary.model import area_code_range
from services.itinerary.clients import RegisteredPersons
from services.runtime.database import migrate
from services.runtime.postgres import EmbeddedPostgres

CARRIER = "bench-carrier"
CHUNK = 10_000         # the service's per-chunk limit
BATCH = 1_000_000      # half of HEALTHCODE_ITINERARY_MAX_BATCH_ROWS' default
WINDOW = 14 * 24 * 60  # minutes
# Counties GB/T 2260 has assigned in the 31 mainland provinces (a made-up code is refused as
# AREA_UNKNOWN, and DeclareRiskArea refuses it): ~6,300 codes, ~1,600 stays each at 10 M.
COUNTIES = [code for code in areas.known_area_codes() if code[4:] != "00" and code[:2] < "71"]
# The repository's query, verbatim, for the baseline.
AFFECTED_SQL = """SELECT DISTINCT person_id FROM itinerary.stays
                  WHERE area_code >= $1 AND area_code < $2 AND departure_time > $3
                    AND ($4::timestamptz IS NULL OR arrival_time < $4)
                    AND ($5::uuid IS NULL OR person_id > $5)
                  ORDER BY person_id"""


def minutes() -> tuple[list[datetime], list[Timestamp]]:
    """A datetime and a Timestamp per whole minute back from now: carriers report minutes, and
    sharing these objects keeps building millions of rows cheap."""
    base = int(time.time()) // 60 * 60
    return ([datetime.fromtimestamp(base - m * 60, timezone.utc) for m in range(WINDOW + 721)],
            [Timestamp(seconds=base - m * 60) for m in range(WINDOW + 721)])


def stay() -> tuple[int, int]:
    """(arrival, departure) in minutes ago: 4-12 h, departing inside the window with an hour to spare."""
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


def build(person_ids: list[str], count: int) -> tuple[list, list, list[list[pb.IngestCarrierStaysRequest]]]:
    """The same stays three ways: (person, area, arrival, departure) rows, COPY records, request chunks."""
    moments, stamps = minutes()
    rows = [(person_ids[i % len(person_ids)], random.choice(COUNTIES), *stay()) for i in range(count)]
    records = [(p, code, moments[a], moments[d], 1, CARRIER) for p, code, a, d in rows]
    run = uuid.uuid4().hex[:8]  # fresh batch ids: a reused one would be answered as a replay
    requests = [[pb.IngestCarrierStaysRequest(
        batch_id=f"bench-{run}-{b}", source_carrier=CARRIER,
        stays=[pb.CarrierStay(person_id=p, area_code=code, arrival_time=stamps[a],
                              departure_time=stamps[d]) for p, code, a, d in rows[c:c + CHUNK]])
        for c in range(b, min(b + BATCH, count), CHUNK)] for b in range(0, count, BATCH)]
    return rows, records, requests


async def ingest(stub, requests: list[list[pb.IngestCarrierStaysRequest]]) -> tuple[float, float, list]:
    """Sends each batch as one stream; returns (send seconds, answer seconds, responses)."""
    send = answer = 0.0
    responses = []
    for batch in requests:
        started = time.perf_counter()
        call = stub.IngestCarrierStays()
        for request in batch:
            await call.write(request)
        await call.done_writing()
        sent = time.perf_counter()
        responses.append(await call)
        send, answer = send + sent - started, answer + time.perf_counter() - sent
    return send, answer, responses


async def raw_copy(url: str, records: list[tuple]) -> float:
    connection = await asyncpg.connect(url)
    # LIKE gives a plain table the partitioned parent's columns, primary key and index.
    await connection.execute("DROP TABLE IF EXISTS public.bench_stays; "
                             "CREATE TABLE public.bench_stays (LIKE itinerary.stays INCLUDING ALL)")
    started = time.perf_counter()
    await connection.copy_records_to_table("bench_stays", schema_name="public", records=records)
    elapsed = time.perf_counter() - started
    await connection.execute("DROP TABLE public.bench_stays")
    await connection.close()
    return elapsed


async def load_population(url: str, count: int) -> None:
    """Setup: random persons, 10 stays each, made here while Postgres indexes the previous chunks.

    Persons come in key order, so the primary key grows at its right edge: twice as fast as random
    order once the indexes outgrow shared_buffers. The area index, which the stream reads, fills
    in random order either way."""
    moments, _ = minutes()
    persons = sorted(uuid.uuid4() for _ in range(max(1, count // 10)))
    queue: asyncio.Queue = asyncio.Queue(maxsize=2)

    async def produce() -> None:
        for start in range(0, count, 200_000):
            await queue.put([(persons[i * len(persons) // count], random.choice(COUNTIES),
                              *(moments[m] for m in stay()), 1, CARRIER)
                             for i in range(start, min(start + 200_000, count))])
        for _ in range(2):
            await queue.put(None)

    async def consume() -> None:
        connection = await asyncpg.connect(url)
        while (chunk := await queue.get()) is not None:
            await connection.copy_records_to_table("stays", schema_name="itinerary", records=chunk)
        await connection.close()

    await asyncio.gather(produce(), consume(), consume())


async def affected(stub, url: str, area_code: str, repeats: int = 3) -> tuple[int, float, int, float]:
    """Declares `area_code` HIGH over the window; (persons, median s) streamed, then queried raw."""
    declaration = (await stub.DeclareRiskArea(pb.DeclareRiskAreaRequest(
        area_code=area_code, level=common_pb2.RISK_LEVEL_HIGH, authority="bench", request_id=uuid.uuid4().hex,
        effective_time=Timestamp(seconds=int(time.time()) - WINDOW * 60)))).declaration
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
        rows = await connection.fetch(AFFECTED_SQL, *area_code_range(area_code), start, None, None)
        queried.append(time.perf_counter() - started)
    await connection.close()
    return persons, statistics.median(streamed), len(rows), statistics.median(queried)


async def main(args: argparse.Namespace) -> None:
    phases: dict[str, float] = {}
    started = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal started
        phases[name], started = time.perf_counter() - started, time.perf_counter()

    embedded = None
    url = os.environ.get("HEALTHCODE_DATABASE_URL")
    if not url:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="hc-bench-")) / "pg", keep=False)
        url = embedded.start()
    for service in (identity, itinerary):
        await migrate(url, service.SCHEMA, service.MIGRATIONS)
    environ = {**os.environ, "HEALTHCODE_DATABASE_URL": url, "HEALTHCODE_IDENTITY_PORT": "0",
               "HEALTHCODE_ITINERARY_PORT": "0", "HEALTHCODE_LOG_LEVEL": "warning", "HEALTHCODE_METRICS_PORT": "0",
               "HEALTHCODE_POOL_MAX_SIZE": "8", "HEALTHCODE_POOL_MIN_SIZE": "8",
               "HEALTHCODE_IDENTITY_SEALING_KEYS": "b:" + base64.b64encode(secrets.token_bytes(32)).decode(),
               "HEALTHCODE_IDENTITY_LOOKUP_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
               "HEALTHCODE_FEDERATION_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    processes = []
    try:
        # Itinerary calls identity, so it starts second, with identity's actual address.
        process, identity_address = await spawn_server(["-m", "cli.healthcode", "identity"], environ)
        processes.append(process)
        process, address = await spawn_server(["-m", "cli.healthcode", "itinerary"],
                                        {**environ, "HEALTHCODE_IDENTITY_ADDRESS": identity_address})
        processes.append(process)
        phase("start postgres, migrate, spawn services")
        async with grpc.aio.insecure_channel(identity_address) as identity_channel, \
                grpc.aio.insecure_channel(address) as channel:
            stub = itinerary_pb2_grpc.ItineraryServiceStub(channel)
            person_ids = await seed(identity_pb2_grpc.IdentityServiceStub(identity_channel), args.persons)
            phase(f"seed {args.persons} persons (setup)")
            rows, records, requests = build(person_ids, args.stays)
            phase(f"build {args.stays} stays as rows, records, protos (setup)")
            copy_s = await raw_copy(url, records)
            send_s, answer_s, responses = await ingest(stub, requests)
            # The ledger's step before its transaction, alone: ask identity about every distinct person.
            distinct = sorted({row[0] for row in rows})
            lookup_started = time.perf_counter()
            await RegisteredPersons(identity_channel).unknown(distinct)
            lookup_s = time.perf_counter() - lookup_started
            phase("ingest: raw COPY, RPC, identity alone")
            del rows, records, requests
            await load_population(url, args.population)
            phase(f"load {args.population} stays by COPY (setup)")
            connection = await asyncpg.connect(url)
            # Index-only scans need the visibility map, which autovacuum would set soon after a load.
            await connection.execute("VACUUM ANALYZE itinerary.stays")
            total = await connection.fetchval("SELECT count(*) FROM itinerary.stays")
            await connection.close()
            phase("vacuum analyze (setup)")
            county = random.choice(COUNTIES)
            city = random.choice([c[:4] + "00" for c in COUNTIES
                                  if c[:4] != county[:4] and areas.has_existed(c[:4] + "00")])
            measured = [(level, code, await affected(stub, url, code))
                        for level, code in (("county", county), ("city", city))]
            phase("declare and stream: 2 areas × 3 × 2 paths")
    finally:
        await stop(*reversed(processes))
        if embedded is not None:
            embedded.stop()

    def line(name: str, *cells: str) -> None:
        print(f"{name:<52}" + "".join(f"{cell:>10}" for cell in cells))

    fields = ("stored", "duplicates", "below_threshold", "rejected")
    rpc_s = send_s + answer_s
    print(f"\n{os.cpu_count()} cores; {args.stays} stays of {len(distinct)} persons in {len(responses)} batch(es); "
          + ", ".join(f"{f} {sum(getattr(r, f) for r in responses)}" for f in fields))
    line("ingest", "rows/s", "s", "× COPY")
    line("baseline: asyncpg COPY, plain logged table, PK+index", f"{args.stays / copy_s:.0f}", f"{copy_s:.2f}", "1.00")
    line("IngestCarrierStays, chunks of 10,000", f"{args.stays / rpc_s:.0f}", f"{rpc_s:.2f}", f"{copy_s / rpc_s:.2f}")
    line("  send: until the last chunk is written", "", f"{send_s:.2f}")
    line("  answer: after the last chunk (identity + SQL)", "", f"{answer_s:.2f}")
    line("  identity alone, run apart (BatchGetPersons)", "", f"{lookup_s:.2f}")
    print(f"\naffected persons, HIGH over the whole window, {total} stays in itinerary.stays, medians of 3")
    line("path", "persons", "ms", "× query")
    for level, code, (persons, stream_s, found, query_s) in measured:
        line(f"baseline: asyncpg DISTINCT fetch, {level} {code}", str(found), f"{query_s * 1000:.0f}", "1.00")
        line(f"StreamAffectedPersons, {level} {code}", str(persons), f"{stream_s * 1000:.0f}",
             f"{query_s / stream_s:.2f}")
    print("\nphase wall times (s)")
    for name, seconds in phases.items():
        line(f"  {name}", f"{seconds:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stays", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--population", type=int, default=10_000_000)
    uvloop.run(main(parser.parse_args()))

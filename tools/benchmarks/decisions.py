"""Decisions per second with one and with two status worker processes, next to a bare grpc.aio echo
server in the same run, and how many decisions wait on an audit chain's head meanwhile.

    .venv/bin/python -m tools.benchmarks.decisions [--persons 6000] [--concurrency 32] [--workers 1,2]

Identity, itinerary and the echo server run in their own processes; status runs as `healthcode status`
with HEALTHCODE_WORKERS=N (N processes on one port, SO_REUSEPORT), once per N, each time over persons
of its own (COPYed in with their evidence, as in status_codes.py). This process opens four channels
(the kernel balances connections, not calls, over the workers) and, closed-loop with `concurrency`
calls in flight, makes for each person one call of each path:
- GetStatus, first read: the person has no status yet; status decides, stores and chains the first entry;
- RecordCheckIn: a normal check-in of a person just read; status decides again (nothing changes colour).
While each runs, pg_stat_activity is sampled every 20 ms for backends waiting on a lock in a statement
on status.audit_head: how many decisions queue on a chain's head (a single global head made them
queue: docs/benchmarks.md), and Postgres CPU is split by the pool (application_name) of each backend.
Last, the pieces a decision is made of (a primary-key SELECT, a transaction with the persons lock,
one with an INSERT, itinerary's exposure query) are timed through raw asyncpg on the same database:
the baseline a decision's Postgres and client CPU are read against. Postgres, the services and this
client share the machine: compare the ratios of one run. Uses HEALTHCODE_DATABASE_URL when set (and writes into it), otherwise an embedded
Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import uvloop
from healthcode.status.v1 import status_pb2 as pb
from healthcode.status.v1 import status_pb2_grpc

from services.identity import bootstrap as identity
from services.itinerary import bootstrap as itinerary
from services.runtime.logs import configure_logging
from services.runtime.sealing import Keyring
from services.runtime.settings import Env
from services.status import bootstrap as status
from tools.benchmarks.status_codes import (EXPOSURES_SQL, LOCK_SQL, declare_high_county, person_ids, seed_population,
                                           vacuum)
from tools.load.baselines import echo_call
from tools.load.cpu import CpuMeter, announce, listening_pids, process_cpu
from tools.load.measure import Measured, cpu_columns, measure, measure_each, quiet, rate_columns
from tools.load.processes import benchmark_database, service_environment, spawn_server, stop
from tools.load.table import Column, print_table

CHANNELS = 4
HEAD_WAITS_SQL = """SELECT count(*) FROM pg_stat_activity
                    WHERE wait_event_type = 'Lock' AND query LIKE '%status.audit_head%'"""


@dataclass(frozen=True)
class Timed:
    measured: Measured
    head_waits: float                  # mean backends waiting on a head's lock while it ran
    postgres_by_pool: dict[str, float]  # Postgres CPU seconds by the application_name of the backend


@dataclass(frozen=True)
class Run:
    workers: int
    echo: Measured
    paths: list[Timed]


async def head_waits(url: str, stop_sampling: asyncio.Event) -> float:
    """The mean number of backends waiting on an audit head's lock, sampled every 20 ms until stopped."""
    connection = await asyncpg.connect(url)
    samples = []
    try:
        while not stop_sampling.is_set():
            samples.append(await connection.fetchval(HEAD_WAITS_SQL))
            try:
                await asyncio.wait_for(stop_sampling.wait(), 0.02)
            except TimeoutError:
                pass
    finally:
        await connection.close()
    return sum(samples) / len(samples) if samples else 0.0


async def backends(url: str) -> dict[int, tuple[str, float]]:
    """Each Postgres backend's pool (application_name) and CPU seconds so far."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT pid, application_name FROM pg_stat_activity WHERE backend_type = "
                                      "'client backend' AND pid <> pg_backend_pid()")
    finally:
        await connection.close()
    return {row["pid"]: (row["application_name"] or "other", process_cpu(row["pid"])) for row in rows}


async def sampled(url: str, measuring) -> Timed:
    """A path measured, with the head waits sampled and Postgres CPU split by pool meanwhile (pools open
    their connections on first use, so the split counts backends alive at both ends)."""
    before = await backends(url)
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(head_waits(url, stop_sampling))
    try:
        measured = await measuring
    finally:
        stop_sampling.set()
    waits = await sampler
    after = await backends(url)
    by_pool: dict[str, float] = {}
    for pid, (pool, cpu) in after.items():
        if pid in before:
            by_pool[pool] = by_pool.get(pool, 0.0) + cpu - before[pid][1]
    return Timed(measured, waits, by_pool)


async def one_run(args: argparse.Namespace, workers: int, url: str, environ: dict[str, str],
                  servers: dict[str, asyncio.subprocess.Process], echo_address: str) -> Run:
    settings = status.StatusSettings.read(Env(environ))
    connection = await asyncpg.connect(url)
    ids = person_ids(args.persons)
    await seed_population(connection, Keyring(settings.sealing_keys), ids, datetime.now(UTC), random.Random(workers))
    await connection.close()
    await vacuum(url)
    people = [str(person) for person in ids]
    random.Random(workers).shuffle(people)
    process, address = await spawn_server(["-m", "cli.healthcode", "status"],
                                          {**environ, "HEALTHCODE_WORKERS": str(workers)})
    try:
        port = int(address.rsplit(":", 1)[1])
        meter = await CpuMeter.watching({name: p.pid for name, p in servers.items()}, url)
        meter.add_group("status", listening_pids([port]).get(port, []))
        channels = [grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(CHANNELS)]
        echo_channel = grpc.aio.insecure_channel(echo_address)
        try:
            stubs = [status_pb2_grpc.StatusServiceStub(channel) for channel in channels]
            loop = {"concurrency": args.concurrency, "meter": meter}
            turn = iter(range(1 << 62))

            def stub() -> status_pb2_grpc.StatusServiceStub:
                return stubs[next(turn) % len(stubs)]
            await quiet(f"{workers} worker(s)")
            echo = await measure("baseline: grpc.aio echo", echo_call(echo_channel, pb.GetStatusRequest(
                person_id=people[0])), seconds=args.seconds, server="echo", **loop)
            paths = [await sampled(url, measure_each(
                "GetStatus, first read (decides)",
                lambda person: stub().GetStatus(pb.GetStatusRequest(person_id=person)), people,
                server="status", **loop))]
            paths.append(await sampled(url, measure_each(
                "RecordCheckIn (decides again)",
                lambda person: stub().RecordCheckIn(pb.RecordCheckInRequest(
                    person_id=person, temperature_celsius=36.6, request_id=uuid.uuid4().hex)), people,
                server="status", **loop)))
        finally:
            for channel in (*channels, echo_channel):
                await channel.close()
    finally:
        await stop(process)
    return Run(workers, echo, paths)


async def statement_costs(url: str, calls: int = 2000) -> list[tuple[str, float, float]]:
    """(statement, Postgres µs, client µs) per call of the pieces a decision is made of, one connection,
    one at a time, over the persons seeded: the raw asyncpg baseline a decision's cost is read against."""
    # Generic plans, as itinerary's pool runs its statements (services/itinerary/bootstrap.py).
    connection = await asyncpg.connect(url, server_settings={"plan_cache_mode": "force_generic_plan"})
    try:
        backend = await connection.fetchval("SELECT pg_backend_pid()")
        persons = [row[0] for row in await connection.fetch("SELECT person_id FROM status.persons LIMIT $1", calls)]
        window_start = datetime.now(UTC) - timedelta(days=14)
        await connection.execute("CREATE TEMP TABLE written (id uuid PRIMARY KEY)")

        async def locked(person: uuid.UUID) -> None:
            async with connection.transaction():
                await connection.fetchrow(LOCK_SQL, [person])

        async def locked_and_written(person: uuid.UUID) -> None:
            async with connection.transaction():
                await connection.fetchrow(LOCK_SQL, [person])
                await connection.execute("INSERT INTO written VALUES ($1)", uuid.uuid4())

        pieces = [
            ("a primary-key SELECT", lambda person: connection.fetchrow(
                "SELECT * FROM status.persons WHERE person_id = $1", person)),
            ("BEGIN, the persons lock, COMMIT", locked),
            ("BEGIN, the lock, an INSERT, COMMIT", locked_and_written),
            ("itinerary's exposure query, one person", lambda person: connection.fetch(
                EXPOSURES_SQL, [person], window_start, 2))]
        costs = []
        for name, piece in pieces:
            before, started = process_cpu(backend), time.process_time()
            for person in persons:
                await piece(person)
            count = len(persons) or 1
            costs.append((name, (process_cpu(backend) - before) / count * 1e6,
                          (time.process_time() - started) / count * 1e6))
        return costs
    finally:
        await connection.close()


def report(args: argparse.Namespace, runs: list[Run], costs: list[tuple[str, float, float]]) -> None:
    print(f"\n{args.persons} persons per run, {args.concurrency} calls in flight over {CHANNELS} channels; "
          "echo measured in each run")
    for run in runs:
        waits = {path.measured.name: path.head_waits for path in run.paths}
        columns = (rate_columns(run.echo) + cpu_columns(("server µs", "server"), ("itin µs", "itinerary"),
                                                        ("pg µs", "postgres"))
                   + [Column("head waits", lambda row: f"{waits[row.name]:.2f}" if row.name in waits else "")])
        rows = [(run.echo.name, run.echo)] + [(path.measured.name, path.measured) for path in run.paths]
        print_table(f"status with {run.workers} worker(s)", columns, rows, label_width=38)
        for path in run.paths:
            split = ", ".join(f"{pool} {seconds / path.measured.calls * 1e6:.0f}"
                              for pool, seconds in sorted(path.postgres_by_pool.items(), key=lambda item: -item[1])
                              if path.measured.calls and seconds > 0)
            print(f"   {path.measured.name}: Postgres µs per call by pool: {split}")
    first = runs[0]
    for run in runs[1:]:
        for base, path in zip(first.paths, run.paths):
            base, path = base.measured, path.measured
            print(f"{path.name}: {run.workers} workers / {first.workers}: {path.per_second / base.per_second:.2f}× "
                  f"per s ({path.versus(run.echo):.2f} × echo against {base.versus(first.echo):.2f})")
    print("(head waits: backends waiting on an audit head's lock, mean of 20 ms samples; server µs: CPU per call "
          "of every status worker; itin µs: of itinerary, asked for each decision's exposures; pg µs: of Postgres)")
    print("\nbaseline: a decision's pieces through raw asyncpg, one connection, one call at a time")
    print_table("statement", [Column("pg µs", lambda cost: f"{cost[1]:.0f}"),
                              Column("client µs", lambda cost: f"{cost[2]:.0f}")],
                [(cost[0], cost) for cost in costs], label_width=44)


async def main(args: argparse.Namespace) -> None:
    now = announce("decisions")
    url, embedded = await benchmark_database(identity, itinerary, status)
    environ = service_environment(url, HEALTHCODE_MIGRATE_ON_START="false")
    servers: dict[str, asyncio.subprocess.Process] = {}
    try:
        servers["echo"], echo_address = await spawn_server(["-m", "tools.load.echo"], environ)
        servers["identity"], environ["HEALTHCODE_IDENTITY_ADDRESS"] = await spawn_server(
            ["-m", "cli.healthcode", "identity"], environ)
        servers["itinerary"], environ["HEALTHCODE_ITINERARY_ADDRESS"] = await spawn_server(
            ["-m", "cli.healthcode", "itinerary"], environ)
        async with grpc.aio.insecure_channel(environ["HEALTHCODE_ITINERARY_ADDRESS"]) as channel:
            await declare_high_county(channel, now)
        runs = [await one_run(args, workers, url, environ, servers, echo_address) for workers in args.workers]
        costs = await statement_costs(url)
    finally:
        await stop(*servers.values())
        if embedded:
            embedded.stop()
    report(args, runs, costs)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=6000, help="persons per run (default 6000)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=6.0, help="the echo baseline's seconds (default 6)")
    parser.add_argument("--workers", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2],
                        help="status worker counts to run, in order (default 1,2)")
    return parser.parse_args()


if __name__ == "__main__":
    configure_logging("warning")
    uvloop.run(main(parse_args()))

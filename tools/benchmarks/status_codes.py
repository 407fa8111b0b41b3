"""GetStatus and IssueCode per second next to a bare grpc.aio echo server, ES256 alone, and bulk
recomputation next to raw asyncpg, in one run.

    .venv/bin/python -m tools.benchmarks.status_codes [--seconds 10] [--concurrency 64] [--persons 10000]
                                                [--recompute-persons 1000000] [--profile]

Identity, itinerary, status and the echo baseline each run in their own process; the load comes
from this one, closed-loop, with `concurrency` calls in flight (as in identity_lookups.py; the
Python client costs about as much CPU as a server, so compare ratios measured here). Persons are
not registered with identity: they are COPYed into status.persons (what enrolment leaves behind,
with a random federation reference), with evidence COPYed beside them: every person one ordinary
stay, 10 % a stay in a county declared HIGH (DeclareRiskArea), 1 % an authority fact and 20 % a
check-in today, sealed with the service's own keyring and functions (the bytes RecordFacts and
RecordCheckIn would store). Home provinces: Qinghai, Jiangsu, Guangdong (national default rules,
valid 24 h), Hubei and Liaoning (their own rules, valid 24 h); not Beijing, whose statuses expire
at local midnight.

rpc: every person is read once first (GetStatus decides and stores), then GetStatus reads stored
statuses and IssueCode signs them, next to the echo server, with each server's CPU per call.
signatures: ES256 sign and verify with `cryptography` in this process, and the whole code
(CWT, COSE_Sign1, zlib, base45) that IssueCode signs.
recompute: `Decider.decide(ids, RISK_DECLARATION, refresh=False)` in batches of 1000 ascending
ids, in this process, against the same database and the identity and itinerary processes: what
`Recomputation._run` does per chunk of the affected-persons stream (less its progress UPDATE, and
it runs one batch at a time). The first pass creates every status (version 1, one audit entry
each); the second changes nothing. Baseline: the same SQL statements (the repositories' own text,
itinerary's exposure query included) through asyncpg, with fixed values written to copies of
status.statuses and status.audit_log. 1, 2 and 4 batches in flight are tried on separate slices
of fresh persons first; the full population runs at the best. Then one slice of batches, one at a
time, is timed stage by stage (`--profile` adds a cProfile of a few batches).
Postgres, three services and this client share the machine (LIMITS.md: ±30 % drift): compare
the ratios printed here, not figures across machines. Uses HEALTHCODE_DATABASE_URL when set (and
writes into it), otherwise an embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import json
import os
import pstats
import random
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

import asyncpg
import grpc
import uvloop
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.timestamp_pb2 import Timestamp
from healthcode.common.v1 import common_pb2
from healthcode.itinerary.v1 import itinerary_pb2, itinerary_pb2_grpc
from healthcode.status.v1 import status_pb2 as pb
from healthcode.status.v1 import status_pb2_grpc

from services.codes import CodeClaims, key_id_of, sign_code
from services.colours import Colour
from services.identity import bootstrap as identity
from services.itinerary import bootstrap as itinerary
from services.itinerary import repository as itinerary_repository
from services.runtime.clients import open_channel
from services.runtime.clock import SystemClock
from services.runtime.database import open_pool
from services.runtime.logs import configure_logging
from services.runtime.sealing import Keyring
from services.runtime.settings import Env
from services.status import bootstrap as status
from services.status import deciding as deciding_module
from services.status import facts as intake
from services.status import repository as status_repository
from services.status.deciding import Decider
from services.status.repository import StatusTransaction
from services.status.clients import Identity, Itinerary
from services.status.model import ChangeCause, Diagnosis, Fact, FactKind, QuarantinePlace, TestResult
from tools.load.baselines import echo_call
from tools.load.cpu import CpuMeter, announce, machine_busy
from tools.load.measure import Measured, cpu_columns, measure, measure_each, rate, rate_columns
from tools.load.table import Table, print_table
from tools.load.processes import benchmark_database, service_environment, spawn_server, stop

ROOT = Path(__file__).resolve().parent.parent.parent
BATCH = 1000                      # Recomputation's chunk: itinerary streams affected persons 1000 at a time
CONCURRENCIES = (1, 2, 4)
PROVINCES = ("630000",) * 30 + ("320000",) * 25 + ("440000",) * 20 + ("420000",) * 15 + ("210000",) * 10
HIGH_COUNTY = "630102"            # declared HIGH five days ago
ORDINARY_COUNTIES = [f"{p}{c:02d}{k:02d}" for p in ("32", "33", "37", "44", "51") for c in range(1, 9)
                     for k in range(1, 9)]
NAMES = ("张*", "王*", "李*", "赵*", "陈*", "刘*")
CARRIER = "bench-carrier"

# The repositories' statements, verbatim, for the raw baseline (status writes go to copies).
UNENROLLED_SQL, LOCK_SQL, STATE_SQL, FACTS_SQL, CHECK_INS_SQL = (
    status_repository.UNENROLLED_SQL, status_repository.LOCK_PERSONS_SQL, status_repository.DECISION_STATE_SQL,
    status_repository.FACTS_SQL, status_repository.CHECK_INS_SQL)
EXPOSURES_SQL = itinerary_repository.RISK_EXPOSURES_SQL
UPSERT_SQL = status_repository.WRITE_STATUSES_SQL.replace("status.statuses", "public.bench_statuses", 1)
AUDIT_COLUMNS = ["seq", "person_id", "version", "change_time", "previous_colour", "colour", "display_colour",
                 "reasons", "cause", "rule_province", "rule_version", "officer_ids", "legal_basis",
                 "previous_hash", "entry_hash"]
BASELINE_TABLES = """DROP TABLE IF EXISTS public.bench_statuses, public.bench_audit_log, public.bench_audit_head;
    DROP SEQUENCE IF EXISTS public.bench_audit_seq;
    CREATE TABLE public.bench_statuses (LIKE status.statuses INCLUDING ALL,
                                        FOREIGN KEY (person_id) REFERENCES status.persons);
    CREATE TABLE public.bench_audit_log (LIKE status.audit_log INCLUDING ALL);
    CREATE TABLE public.bench_audit_head (LIKE status.audit_head INCLUDING ALL);
    CREATE SEQUENCE public.bench_audit_seq;
    INSERT INTO public.bench_audit_head (shard, seq, entry_hash) SELECT s, 0, '\\x' FROM generate_series(0, 15) s"""


# Signatures, in-process

def signatures(seconds: float) -> tuple[list[tuple[str, float]], float]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    now = datetime.now(UTC).replace(microsecond=0)
    claims = CodeClaims(issuer_province="630000", code_id=os.urandom(16), national_colour=Colour.GREEN,
                        display_colour="green", status_version=1, masked_name="张*", issued_at=now,
                        person_ref=os.urandom(16), expires_at=now + timedelta(seconds=60))
    key_id = key_id_of(public)
    message = os.urandom(160)  # about a Sig_structure's size
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    busy, own, started = machine_busy(), time.process_time(), time.perf_counter()
    rates = [("ES256 sign (cryptography, 160 bytes)", rate(lambda: key.sign(message, ec.ECDSA(hashes.SHA256())),
                                                           seconds)),
             ("ES256 verify", rate(lambda: public.verify(signature, message, ec.ECDSA(hashes.SHA256())), seconds)),
             ("sign_code: CWT + COSE_Sign1 + zlib + base45", rate(lambda: sign_code(claims, key, key_id), seconds))]
    others = (machine_busy() - busy - (time.process_time() - own)) / (time.perf_counter() - started)
    return rates, max(0.0, others)


# Population

def person_ids(count: int) -> list[uuid.UUID]:
    return [uuid.UUID(bytes=os.urandom(16), version=4) for _ in range(count)]


async def seed_population(connection: asyncpg.Connection, keyring: Keyring, ids: Sequence[uuid.UUID],
                          now: datetime, rng: random.Random) -> dict[str, int]:
    """Enrolled persons with their evidence, COPYed in key order."""
    ids = sorted(ids)
    hour = timedelta(hours=1)
    # A random federation reference stands for the one identity would have handed over at enrolment.
    await connection.copy_records_to_table(
        "persons", schema_name="status",
        columns=["person_id", "province_code", "masked_name", "person_ref", "enrol_time"],
        records=[(p, rng.choice(PROVINCES), rng.choice(NAMES), os.urandom(16), now - timedelta(days=30)) for p in ids])
    stays = []
    for p in ids:
        departure = now - rng.uniform(1, 240) * hour
        stays.append((p, rng.choice(ORDINARY_COUNTIES), departure - rng.uniform(4, 12) * hour, departure, 1, CARRIER))
        if rng.random() < 0.10:
            arrival = now - rng.uniform(16, 96) * hour
            stays.append((p, HIGH_COUNTY, arrival, arrival + rng.uniform(4, 12) * hour, 1, CARRIER))
    stays.sort(key=lambda s: (s[0], s[1]))
    await connection.copy_records_to_table("stays", schema_name="itinerary", records=stays)
    facts = []
    for n, p in enumerate(rng.sample(ids, len(ids) // 100)):
        fact_id, kind = str(uuid.uuid4()), rng.random()
        if kind < 0.4:
            fact = Fact(fact_id, FactKind.NUCLEIC_ACID_TEST, now - 20 * hour, result=TestResult.NEGATIVE)
        elif kind < 0.7:
            fact = Fact(fact_id, FactKind.DIAGNOSIS, now - 48 * hour, diagnosis=Diagnosis.CLOSE_CONTACT)
        else:
            fact = Fact(fact_id, FactKind.QUARANTINE_ORDER, now - 72 * hour, now + 11 * 24 * hour,
                        place=QuarantinePlace.HOME)
        sealed = keyring.seal(intake.seal_fact_body(fact), intake.fact_context(fact_id))
        facts.append((p, uuid.UUID(fact_id), "bench-cdc", f"r{n}", 1, now, sealed.key_id, sealed.ciphertext))
    facts.sort(key=lambda f: f[0])
    await connection.copy_records_to_table(
        "facts", schema_name="status", records=facts,
        columns=["person_id", "fact_id", "authority", "authority_record_id", "source", "record_time", "sealed_key_id",
                 "sealed"])
    check_ins = []
    for p in rng.sample(ids, len(ids) // 5):
        check_in_id, abnormal = str(uuid.uuid4()), rng.random() < 0.02
        body = json.dumps({"temperature": "37.8" if abnormal else "36.6", "symptoms": []}).encode()
        sealed = keyring.seal(body, intake.check_in_context(check_in_id))
        check_ins.append((p, now - rng.uniform(0.1, 20) * hour, uuid.UUID(check_in_id), p, abnormal, None,
                          sealed.key_id, sealed.ciphertext))
    check_ins.sort(key=lambda c: c[0])
    await connection.copy_records_to_table("check_ins", schema_name="status", records=check_ins)
    return {"persons": len(ids), "stays": len(stays), "high_stays": sum(1 for s in stays if s[1] == HIGH_COUNTY),
            "facts": len(facts), "check_ins": len(check_ins)}


async def vacuum(url: str) -> None:
    """What autovacuum would do soon after a load, done now so it does not run while timing."""
    connection = await asyncpg.connect(url)
    await connection.execute("VACUUM ANALYZE status.persons, status.statuses, status.facts, status.check_ins, "
                             "status.audit_log, status.issued_codes, itinerary.stays")
    await connection.execute("CHECKPOINT")
    await connection.close()


# Recomputation

def batches(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]


async def run_batches(work: Callable[[Sequence[str]], Awaitable[int]], ids: Sequence[str], concurrency: int,
                      cpu: CpuMeter) -> dict:
    """`work` on every batch, `concurrency` at a time; wall seconds, CPU by process, and its count."""
    pending = iter(batches(ids))
    counted = 0

    async def worker() -> None:
        nonlocal counted
        for batch in pending:
            done = await work(batch)  # not `counted += await ...`: that reads `counted` before awaiting
            counted += done

    before, started = cpu.snapshot(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"persons": len(ids), "concurrency": concurrency, "seconds": elapsed, "per_second": len(ids) / elapsed,
            "cpu": cpu.spent(before, cpu.snapshot()), "counted": counted}


def service_work(board: Decider) -> Callable[[Sequence[str]], Awaitable[int]]:
    async def work(batch: Sequence[str]) -> int:
        return (await board.decide(batch, ChangeCause.RISK_DECLARATION, refresh=False)).changed

    return work


class RawBaseline:
    """The service's statements for one batch, without the service: no gRPC, no rules, no sealing, no HMAC."""

    def __init__(self, pool: asyncpg.Pool, writes: bool, timings: dict[str, float] | None = None, *,
                 itinerary_pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._itinerary_pool = itinerary_pool  # the exposure query runs as itinerary runs it: generic plans
        self._writes = writes
        self._timings = timings
        now = datetime.now(UTC)
        self._now, self._valid = now, now + timedelta(hours=24)
        self._window_start, self._since = now - timedelta(days=14), now - timedelta(days=30)
        self._hash = secrets.token_bytes(32)

    async def _timed(self, stage: str, statement: Awaitable):
        started = time.perf_counter()
        result = await statement
        if self._timings is not None:
            self._timings[stage] += time.perf_counter() - started
        return result

    async def work(self, batch: Sequence[str]) -> int:
        started = time.perf_counter()
        try:
            return await self._work(batch)
        finally:
            if self._timings is not None:
                self._timings["total"] += time.perf_counter() - started

    async def _work(self, batch: Sequence[str]) -> int:
        n, now = len(batch), self._now
        async with self._pool.acquire() as connection:
            await self._timed("unenrolled", connection.fetch(UNENROLLED_SQL, batch))
            await self._timed("exposures", self._itinerary_pool.fetch(EXPOSURES_SQL, batch, self._window_start, 2))
            async with connection.transaction():
                await self._timed("lock", connection.fetch(LOCK_SQL, batch))
                await self._timed("lock", connection.fetch(STATE_SQL, batch))
                await self._timed("facts", connection.fetch(FACTS_SQL, batch))
                await self._timed("check_ins", connection.fetch(CHECK_INS_SQL, batch, self._since))
                if not self._writes:
                    return 0
                await self._timed("write", connection.execute(
                    UPSERT_SQL, batch, [1] * n, [1] * n, ["green"] * n, ["[]"] * n, ["630000"] * n, [1] * n,
                    [now] * n, [self._valid] * n, [None] * n, list(range(1, n + 1)), [self._hash] * n, [None] * n))
                started = time.perf_counter()
                # A batch of 1000 persons spans every shard: every head is locked, n seqs drawn.
                await connection.fetch("SELECT shard FROM public.bench_audit_head ORDER BY shard FOR UPDATE")
                seqs = await connection.fetchval(
                    "SELECT array_agg(nextval('public.bench_audit_seq')) FROM generate_series(1, $1)", n)
                await connection.copy_records_to_table(
                    "bench_audit_log", schema_name="public", columns=AUDIT_COLUMNS,
                    records=[(seq, person_id, 1, now, 0, 1, "green", "[]", 1, "630000", 1, [], "",
                              self._hash, self._hash) for seq, person_id in zip(sorted(seqs), batch)])
                await connection.execute(
                    "UPDATE public.bench_audit_head SET seq = $1, entry_hash = $2 WHERE shard = ANY($3::smallint[])",
                    max(seqs), self._hash, list(range(16)))
                for start in range(0, n, 200):
                    await connection.execute("SELECT pg_notify($1, $2)", "bench_changed",
                                             ",".join(batch[start:start + 200]))
                if self._timings is not None:
                    self._timings["audit"] += time.perf_counter() - started
        return n


def _partition_scans(node: dict) -> tuple[dict[str, int], int]:
    """Scan kinds over itinerary's day partitions in an EXPLAIN ANALYZE plan, and the rows they read."""
    scans: dict[str, int] = defaultdict(int)
    read = 0
    if str(node.get("Relation Name", "")).startswith("stays_p"):
        scans[node["Node Type"]] += 1
        read += (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * node.get("Actual Loops", 1)
    for child in node.get("Plans", ()):
        child_scans, child_read = _partition_scans(child)
        for kind, count in child_scans.items():
            scans[kind] += count
        read += child_read
    return scans, read


async def explain_exposures(pool: asyncpg.Pool, ids: Sequence[str]) -> str:
    """How Postgres runs itinerary's exposure query for one batch, as a custom plan (what PostgreSQL may
    keep choosing for a prepared statement) and as the generic plan itinerary's pool forces."""
    window_start = datetime.now(UTC) - timedelta(days=14)
    # Our own canonical UUIDs and an ISO time: safe as literals (EXECUTE takes no bind parameters).
    execute = f"EXECUTE bench_exposures('{{{','.join(ids)}}}'::uuid[], '{window_start.isoformat()}', 2)"
    described = []
    async with pool.acquire() as connection:
        await connection.execute(f"PREPARE bench_exposures(uuid[], timestamptz, int) AS {EXPOSURES_SQL}")
        try:
            for mode in ("custom", "generic"):
                await connection.execute(f"SET plan_cache_mode = force_{mode}_plan")
                plan = json.loads(await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {execute}"))[0]
                scans, read = _partition_scans(plan["Plan"])
                kinds = ", ".join(f"{kind} ×{count}" for kind, count in sorted(scans.items()))
                described.append(f"{mode} plan: {kinds} over the day partitions, ~{read} stay rows read, "
                                 f"{plan['Planning Time'] + plan['Execution Time']:.0f} ms")
        finally:
            await connection.execute("RESET plan_cache_mode; DEALLOCATE bench_exposures")
    stays = await pool.fetchval("SELECT count(*) FROM itinerary.stays")
    return f"{len(ids)} ids, {stays} stays; " + "; ".join(described)


async def reset_baseline(url: str) -> None:
    connection = await asyncpg.connect(url)
    await connection.execute(BASELINE_TABLES)
    await connection.close()


class StageTimer:
    """Wall time per stage of `Decider.decide`, by wrapping the decider's collaborators on this
    instance only (one batch at a time, so the stages add up)."""

    def __init__(self, board: Decider, itinerary: Itinerary) -> None:
        self.times: dict[str, float] = defaultdict(float)
        self._board = board
        self._itinerary = itinerary
        self._undo: list[Callable[[], None]] = []

    def _wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name)
        times = self.times
        if asyncio.iscoroutinefunction(original):
            async def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    times[stage] += time.perf_counter() - started
        else:
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    times[stage] += time.perf_counter() - started
        own = name in vars(owner)
        setattr(owner, name, wrapper)
        self._undo.append(lambda: setattr(owner, name, original) if own else delattr(owner, name))

    def __enter__(self) -> Self:
        board = self._board
        self._wrap(board, "_enrol_missing", "unenrolled")
        self._wrap(self._itinerary, "exposures", "exposures")
        # Statements inside a decision run on its transaction (every instance: one batch at a time).
        self._wrap(StatusTransaction, "lock_for_decision", "lock")
        self._wrap(StatusTransaction, "sealed_facts", "facts")
        self._wrap(StatusTransaction, "check_ins", "check_ins")
        self._wrap(board, "_evidence", "evidence")
        self._wrap(deciding_module, "decide", "model")
        self._wrap(StatusTransaction, "record_decided", "write")
        self._wrap(board, "_chained", "audit")
        self._wrap(board, "decide", "total")
        return self

    def __exit__(self, *exc) -> None:
        for undo in reversed(self._undo):
            undo()


async def profiled(work: Callable[[Sequence[str]], Awaitable[int]], ids: Sequence[str], top: int = 25) -> str:
    profile = cProfile.Profile()
    profile.enable()
    for batch in batches(ids):
        await work(batch)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# The run

async def declare_high_county(channel: grpc.aio.Channel, now: datetime) -> None:
    stub = itinerary_pb2_grpc.ItineraryServiceStub(channel)
    await stub.DeclareRiskArea(itinerary_pb2.DeclareRiskAreaRequest(
        area_code=HIGH_COUNTY, level=common_pb2.RISK_LEVEL_HIGH, authority="bench", reason="benchmark",
        request_id=uuid.uuid4().hex, effective_time=Timestamp(seconds=int((now - timedelta(days=5)).timestamp()))))


async def main(args: argparse.Namespace) -> None:
    configure_logging("warning")
    phases: dict[str, float] = {}
    started = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal started
        phases[name], started = time.perf_counter() - started, time.perf_counter()

    now = announce("status_codes")
    print(f"(UTC+8: {now + timedelta(hours=8):%H:%M})", flush=True)
    signed = signatures(2.0)
    phase("signatures (in-process)")

    url, embedded = await benchmark_database(identity, itinerary, status)
    await reset_baseline(url)
    # Recomputation is driven from this process; the service's own jobs stay quiet while timing.
    environ = service_environment(url, HEALTHCODE_POOL_MAX_SIZE="8", HEALTHCODE_POOL_MIN_SIZE="8")
    processes: dict[str, asyncio.subprocess.Process] = {}
    rpc, recompute, stages, profiles = [], {}, {}, []
    try:
        processes["echo"], echo_address = await spawn_server(["-m", "tools.load.echo"],
                                                       environ)
        processes["identity"], environ["HEALTHCODE_IDENTITY_ADDRESS"] = await spawn_server(
            ["-m", "cli.healthcode", "identity"], environ)
        processes["itinerary"], environ["HEALTHCODE_ITINERARY_ADDRESS"] = await spawn_server(
            ["-m", "cli.healthcode", "itinerary"], environ)
        processes["status"], address = await spawn_server(["-m", "cli.healthcode", "status"], environ)
        cpu = await CpuMeter.watching({name: process.pid for name, process in processes.items()}, url)
        settings = status.StatusSettings.read(Env(environ))
        keyring = Keyring(settings.sealing_keys)
        rng = random.Random(2260)
        phase("start postgres, migrate, spawn 4 servers")

        async with grpc.aio.insecure_channel(echo_address) as echo_channel, \
                grpc.aio.insecure_channel(address) as channel, \
                grpc.aio.insecure_channel(environ["HEALTHCODE_ITINERARY_ADDRESS"]) as itinerary_channel:
            await declare_high_county(itinerary_channel, now)
            connection = await asyncpg.connect(url)
            rpc_population = await seed_population(connection, keyring, person_ids(args.persons), now, rng)
            rpc_ids = [str(r[0]) for r in await connection.fetch("SELECT person_id FROM status.persons")]
            await connection.close()
            await vacuum(url)
            phase(f"seed {args.persons} persons by COPY (setup)")

            stub = status_pb2_grpc.StatusServiceStub(channel)
            loop = {"concurrency": args.concurrency, "meter": cpu}
            rpc.append(await measure_each(
                "GetStatus, first read (decides, stores)",
                lambda person_id: stub.GetStatus(pb.GetStatusRequest(person_id=person_id)),
                rpc_ids, server="status", **loop))
            warmed = datetime.now(UTC)
            phase("first read of every person")
            loop["seconds"] = args.seconds
            echo = echo_call(echo_channel, pb.GetStatusRequest(person_id=rpc_ids[0]))
            rpc.append(await measure("baseline: grpc.aio echo", echo, server="echo", **loop))
            rpc.append(await measure(
                "GetStatus (stored status)",
                lambda: stub.GetStatus(pb.GetStatusRequest(person_id=random.choice(rpc_ids))),
                server="status", **loop))
            rpc.append(await measure(
                "IssueCode (requester = person)",
                lambda: stub.IssueCode(pb.IssueCodeRequest(person_id=random.choice(rpc_ids))),
                server="status", **loop))
            connection = await asyncpg.connect(url)
            redecided = await connection.fetchval(
                "SELECT count(*) FROM status.statuses WHERE compute_time > $1", warmed)
            rpc_colours = await connection.fetch(
                "SELECT colour, count(*) FROM status.statuses GROUP BY colour ORDER BY colour")
            phase("rpc: echo, GetStatus, IssueCode")

            # Recomputation, in this process, against the same database and peers.
            trial_size = max(5 * BATCH, min(50 * BATCH, args.recompute_persons // 10 // BATCH * BATCH))
            profile_size = 10 * BATCH
            cprofile_size = 5 * BATCH if args.profile else 0
            everyone = person_ids(args.recompute_persons + len(CONCURRENCIES) * trial_size + profile_size
                                  + cprofile_size)
            population = await seed_population(connection, keyring, everyone, now, rng)
            everyone = [str(p) for p in everyone]  # in random order: each group is spread over the key space
            groups, at = [], 0
            for size in (args.recompute_persons, *(trial_size,) * len(CONCURRENCIES), profile_size, cprofile_size):
                groups.append(sorted(everyone[at:at + size]))
                at += size
            main_ids, trials, profile_ids, cprofile_ids = groups[0], groups[1:4], groups[4], groups[5]
            await connection.close()
            del everyone
            await vacuum(url)
            phase(f"seed {len(main_ids) + 3 * trial_size + profile_size + cprofile_size} persons by COPY (setup)")

            pool = await open_pool(settings.server, "status-bench")
            itinerary_pool = await open_pool(settings.server, "itinerary-bench", generic_plans=True)
            raw = functools.partial(RawBaseline, itinerary_pool=itinerary_pool)
            identity_channel = open_channel(environ["HEALTHCODE_IDENTITY_ADDRESS"])
            peer_channel = open_channel(environ["HEALTHCODE_ITINERARY_ADDRESS"])
            parts = await status.build_parts(settings, pool, Identity(identity_channel), Itinerary(peer_channel),
                                             SystemClock())
            board = parts.decider
            service = service_work(board)

            # Trials: 1, 2, 4 batches in flight, each on its own fresh persons, raw and service, in the
            # order of the full run (raw first pass, service first pass, vacuum, service second, raw reads).
            for concurrency, ids in zip(CONCURRENCIES, trials):
                await reset_baseline(url)
                recompute[("raw trial", 1, concurrency)] = await run_batches(
                    raw(pool, writes=True).work, ids, concurrency, cpu)
            for concurrency, ids in zip(CONCURRENCIES, trials):
                recompute[("trial", 1, concurrency)] = await run_batches(service, ids, concurrency, cpu)
            await vacuum(url)
            for concurrency, ids in zip(CONCURRENCIES, trials):
                recompute[("trial", 2, concurrency)] = await run_batches(service, ids, concurrency, cpu)
            for concurrency, ids in zip(CONCURRENCIES, trials):
                recompute[("raw trial", 2, concurrency)] = await run_batches(
                    raw(pool, writes=False).work, ids, concurrency, cpu)

            def best(kind: str, pass_number: int) -> int:
                return max(CONCURRENCIES, key=lambda c: recompute[(kind, pass_number, c)]["per_second"])

            phase(f"trials: 3 × {trial_size} persons, 2 passes, service and raw")

            await reset_baseline(url)
            recompute[("raw", 1)] = await run_batches(raw(pool, writes=True).work, main_ids,
                                                      best("raw trial", 1), cpu)
            phase(f"raw first pass, {len(main_ids)} persons")
            recompute[("service", 1)] = await run_batches(service, main_ids, best("trial", 1), cpu)
            phase(f"service first pass, {len(main_ids)} persons")
            await vacuum(url)
            phase("vacuum analyze (setup)")
            recompute[("service", 2)] = await run_batches(service, main_ids, best("trial", 2), cpu)
            phase(f"service second pass, {len(main_ids)} persons")
            recompute[("raw", 2)] = await run_batches(raw(pool, writes=False).work, main_ids,
                                                      best("raw trial", 2), cpu)
            phase(f"raw second pass, {len(main_ids)} persons")

            exposure_plan = await explain_exposures(pool, main_ids[:BATCH])
            # Stage by stage, one batch at a time: raw first-pass shape, service passes, raw reads.
            await reset_baseline(url)
            stages["raw 1"] = defaultdict(float)
            await run_batches(raw(pool, True, stages["raw 1"]).work, profile_ids, 1, cpu)
            for pass_number in (1, 2):
                with StageTimer(board, parts.itinerary) as timer:
                    await run_batches(service, profile_ids, 1, cpu)
                stages[f"service {pass_number}"] = timer.times
            stages["raw 2"] = defaultdict(float)
            await run_batches(raw(pool, False, stages["raw 2"]).work, profile_ids, 1, cpu)
            if cprofile_ids:
                for pass_number in (1, 2):
                    profiles.append((pass_number, await profiled(service, cprofile_ids)))
            phase("stages" + (" and cProfile" if cprofile_ids else ""))

            connection = await asyncpg.connect(url)
            colours = await connection.fetch(
                """SELECT s.colour, s.display_colour, count(*) FROM status.statuses s
                   WHERE s.person_id = ANY($1::uuid[]) GROUP BY 1, 2 ORDER BY 1, 2""", main_ids)
            audit_rows = await connection.fetchval("SELECT count(*) FROM status.audit_log")
            await connection.close()
            await identity_channel.close()
            await peer_channel.close()
            await pool.close()
            await itinerary_pool.close()
    finally:
        await stop(*reversed(processes.values()))
        if embedded is not None:
            embedded.stop()
    report_signatures(signed)
    report_rpc(args, RpcFigures(rpc, rpc_population, rpc_colours, redecided))
    report_recompute(Recomputed(recompute, population, len(main_ids), trial_size, colours, audit_rows))
    report_stages(Stages(stages, len(profile_ids), exposure_plan, profiles), phases)


@dataclass(frozen=True)
class RpcFigures:
    """The rpc part: each path measured (the echo first among them), over what population."""

    measured: list[Measured]
    population: dict[str, int]
    colours: list
    redecided: int


@dataclass(frozen=True)
class Recomputed:
    """The recompute part: each run by key (("raw"|"service", pass) and trials), over what population."""

    runs: dict
    population: dict[str, int]
    main_count: int
    trial_size: int
    colours: list
    audit_rows: int


@dataclass(frozen=True)
class Stages:
    """One batch at a time, stage by stage, and the plans and profiles taken."""

    times: dict[str, dict[str, float]]
    profile_count: int
    exposure_plan: str
    profiles: list[tuple[int, str]]


def report_signatures(signed: tuple[list[tuple[str, float]], float]) -> None:
    rates, others = signed
    print(f"\nsignatures, in this process, one core (others: {others:.2f} cores busy outside this benchmark)")
    Table().print("path", "per s", "µs each")
    for name, per_second in rates:
        Table().print(name, f"{per_second:.0f}", f"{1e6 / per_second:.1f}")


def report_rpc(args: argparse.Namespace, rpc: RpcFigures) -> None:
    echo = next(r for r in rpc.measured if r.name.startswith("baseline"))
    colour_text = ", ".join(f"{Colour(r[0]).name.lower()} {r[1]}" for r in rpc.colours)
    print(f"\nrpc: {args.persons} persons ({_evidence(rpc.population)}; {colour_text}), "
          f"{args.concurrency} calls in flight, {args.seconds:.0f} s each (the first read: one per person)")
    columns = rate_columns(echo) + cpu_columns(("server µs", "server"), ("pg µs", "postgres"), ("client µs", "client"))
    print_table("path", columns, [(r.name, r) for r in rpc.measured], label_width=42)
    print(f"(server/pg/client µs: CPU per call of the answering server, of Postgres, of this process; others: "
          f"cores busy outside this benchmark; statuses decided again while timing GetStatus and IssueCode: "
          f"{rpc.redecided})")


def report_recompute(computed: Recomputed) -> None:
    recompute, population, main_count, trial_size = (computed.runs, computed.population, computed.main_count,
                                                     computed.trial_size)
    colours, audit_rows = computed.colours, computed.audit_rows
    line = Table(44).print
    print(f"\nrecompute: {main_count} persons, batches of {BATCH} ascending ids ({_evidence(population)} "
          f"over all {population['persons']} seeded)")
    print("colours after the first pass: " + ", ".join(f"{r[1]} {r[2]}" for r in colours)
          + f"; audit entries in total {audit_rows}")
    line("path", "in flight", "persons/s", "s", "× raw", "changed", "bench cpu", "itin cpu", "pg cpu", "others")
    rows = [("baseline: raw asyncpg, same SQL, writes", ("raw", 1), None),
            ("Decider.decide, first pass", ("service", 1), ("raw", 1)),
            ("baseline: raw asyncpg, same SQL, reads only", ("raw", 2), None),
            ("Decider.decide, second pass", ("service", 2), ("raw", 2))]
    for name, key, raw in rows:
        r = recompute[key]
        ratio = r["seconds"] / recompute[raw]["seconds"] if raw else 1.0
        changed = str(r["counted"]) if key[0] == "service" else ""
        line(name, str(r["concurrency"]), f"{r['per_second']:.0f}", f"{r['seconds']:.1f}", f"{ratio:.2f}", changed,
             f"{r['cpu']['client']:.1f}", f"{r['cpu']['itinerary']:.1f}", f"{r['cpu']['postgres']:.1f}",
             f"{r['cpu']['others']:.1f}")
    print("(× raw: how many times longer than raw asyncpg; cpu: CPU seconds of this process, itinerary, Postgres, "
          "and of processes outside this benchmark)")
    print(f"trials, {trial_size} fresh persons each, persons/s at 1 / 2 / 4 batches in flight:")
    for kind, name in (("trial", "Decider.decide"), ("raw trial", "raw asyncpg")):
        for pass_number in (1, 2):
            line(f"  {name}, pass {pass_number}",
                 *(f"{recompute[(kind, pass_number, c)]['per_second']:.0f}" for c in CONCURRENCIES))


def report_stages(timed: Stages, phases: dict[str, float]) -> None:
    stages, profile_count, exposure_plan, profiles = timed.times, timed.profile_count, timed.exposure_plan, \
        timed.profiles
    line = Table(58).print
    print(f"\nwhere one batch of {BATCH} goes, one batch at a time, mean of {profile_count // BATCH} batches (ms)")
    line("stage", "pass 1", "raw 1", "pass 2", "raw 2")
    batches_timed = profile_count // BATCH
    service_1, service_2 = stages["service 1"], stages["service 2"]

    def ms(times: dict, stage: str) -> str:
        return f"{times.get(stage, 0.0) / batches_timed * 1000:.1f}"

    def derived(times: dict) -> dict[str, float]:
        known = ("unenrolled", "exposures", "lock", "evidence", "model", "write", "audit")
        return {"opening": times["evidence"] - times["facts"] - times["check_ins"],
                "other": times["total"] - sum(times[s] for s in known)}

    extra_1, extra_2 = derived(service_1), derived(service_2)
    for label, stage in (("unenrolled persons? (SQL; identity only for new ones)", "unenrolled"),
                         ("itinerary exposures (service: gRPC; raw: its SQL)", "exposures"),
                         ("lock persons + read statuses (SELECT … FOR UPDATE)", "lock"),
                         ("facts (SQL)", "facts"), ("check-ins (SQL)", "check_ins")):
        line(f"  {label}", ms(service_1, stage), ms(stages["raw 1"], stage), ms(service_2, stage),
             ms(stages["raw 2"], stage))
    line("  open sealed facts, build evidence (Python)", ms(extra_1, "opening"), "", ms(extra_2, "opening"), "")
    line("  model.decide × persons (Python)", ms(service_1, "model"), "", ms(service_2, "model"), "")
    line("  write: statuses, entries, heads, notify", ms(service_1, "write"), ms(stages["raw 1"], "write"),
         ms(service_2, "write"), "")
    line("  audit: head locks, seqs, HMAC chain", ms(service_1, "audit"), ms(stages["raw 1"], "audit"),
         ms(service_2, "audit"), "")
    line("  other: pool, BEGIN/COMMIT, loop, entries (Python)", ms(extra_1, "other"), "", ms(extra_2, "other"), "")
    line("  total", ms(service_1, "total"), ms(stages["raw 1"], "total"), ms(service_2, "total"),
         ms(stages["raw 2"], "total"))
    print(f"itinerary's exposure query, EXPLAIN ANALYZE: {exposure_plan}")
    for pass_number, text in profiles:
        print(f"\ncProfile of Decider.decide, pass {pass_number}, {BATCH}-person batches, by own time")
        print("\n".join(text.strip().splitlines()[:40]))

    print("\nphase wall times (s)")
    for name, seconds in phases.items():
        Table(60).print(f"  {name}", f"{seconds:.1f}")


def _evidence(population: dict[str, int]) -> str:
    persons = population["persons"]
    return (f"{population['high_stays'] / persons:.0%} with a HIGH stay, {population['facts'] / persons:.0%} a fact, "
            f"{population['check_ins'] / persons:.0%} a check-in, {population['stays']} stays")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--recompute-persons", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="also cProfile a few batches of each pass")
    uvloop.run(main(parser.parse_args()))

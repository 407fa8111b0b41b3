"""VerifyCode online, offline verification and contact tracing among 10 M visits, each next to a
baseline measured in the same run.

    .venv/bin/python -m tools.benchmarks.verification_checks [--seconds 10] [--concurrency 64] [--codes 2000]
                                                       [--visits 10000000] [--rounds 3] [--profile]

Identity, itinerary, status, verification and a bare grpc.aio echo server each run in their own
process (`healthcode <service>` from HEALTHCODE_* settings, one deployment serving every province,
codes living 600 s); the load comes from this one, closed-loop, with `concurrency` calls in flight
(as identity_lookups.py; the Python client costs about as much CPU as a server, LIMITS.md, so
compare the ratios printed here, not figures across machines).

online: `codes` persons registered with identity (passports), then one code each from IssueCode.
1 % of them are on this province's red/yellow list (PublishRiskList, beside 10,000 strangers'
records) and 1 % are declared close contacts after their code was issued (their codes are stale).
Each VerifyCode asks status for the code's standing (GetCodeStanding, one SQL join there), looks
the holder up in verification.risk_records and INSERTs the decision into verification.decisions;
it is timed next to the echo server, GetCodeStanding asked of status directly and VerifyCode of a
corrupt payload (no status call, no risk-list SELECT), with each process's CPU per call; the four
take turns, `rounds` times, and medians are printed (the machine drifts).
offline: the snapshot from GetOfflineSnapshot applied to `OfflineCheckpoint` in this process,
then `OfflineCheckpoint.verify` over the same codes on one core (pinned), next to the ES256
signature check alone (`cryptography`, the same keys, signatures and signed bytes) and to
`read_code` alone (base45, zlib, CBOR, structure); every code's offline verdict is compared
with its online one.
tracing: `visits` visits over 16 days by 1,000,000 persons (Poisson, ~10 each) at 50,000 venues
(log-normal popularity; a smaller --visits keeps 10 visits a person and 200 a venue), in daytime
hours of UTC+8 with lunch and evening peaks, 3 % flagged, COPYed into verification.visits (indexes
in place; persons in key order) while this process builds the next chunk; the persons are COPYed into identity.persons (random bytes where documents and
lookups go: nothing here opens them) and status.persons, as registration and enrolment leave them,
so status accepts the contacts' facts. For three case persons with exactly the mean number of
visits: the contacts query through `VenueRepository.contacts` next to the same SQL through
asyncpg (medians of 3, after a warm-up), then `VenueBook.trace_contacts` once with close contacts
only and once with secondary contacts (a new trace id: the close contacts get a second fact), its
SQL and its reporting to the real status service (RecordTracedContacts, 1000 contacts a call) timed apart.
`--profile` samples the verification and status servers with py-spy during extra VerifyCode load.

Uses HEALTHCODE_DATABASE_URL when set (and writes into it), otherwise an embedded Postgres in a
temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import math
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
import itertools
import uuid
from collections import Counter
from dataclasses import dataclass
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import grpc
import uvloop
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from google.protobuf.timestamp_pb2 import Timestamp
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc

from services import areas
from cli.healthcode import SERVICES
from services.codes import read_code
from tools.load.baselines import echo_call
from tools.load.cpu import CpuMeter, code_state, machine_line
from tools.load.measure import Measured, concurrently, measure, quiet, rate
from tools.load.processes import spawn_server, stop
from tools.load.table import Table
from services.runtime.clients import open_channel
from services.runtime.clock import SystemClock
from services.runtime.database import migrate, open_pool
from services.runtime.logs import configure_logging
from services.runtime.postgres import EmbeddedPostgres
from services.runtime.settings import Env
from services.verification import bootstrap as verification
from services.verification.recognition.checker import Decision
from services.verification.clients import ContactReport, StatusContactReporter
from services.verification.recognition.offline import OfflineCheckpoint
from services.verification.venues.book import VenueBook, VenuePolicy
from services.verification.venues.repository import _CONTACTS_SQL as CONTACTS_SQL  # the service's text, verbatim
from services.verification.venues.repository import VenueRepository

ROOT = Path(__file__).resolve().parent.parent.parent
# Home provinces of the code holders: national default rules, Hubei's and Liaoning's; not Beijing,
# whose statuses end at local midnight (a code never outlives its status).
TRACER, BASIS = "000000.bench-tracer", "《传染病防治法》第十二条 (benchmark)"
PROVINCES = ("320000",) * 30 + ("440000",) * 25 + ("630000",) * 20 + ("420000",) * 15 + ("210000",) * 10
CHECKPOINT, CHECKPOINT_AREA = "gate-01", "320102"
STRANGER_RECORDS = 10_000          # other persons on the red/yellow list
LISTED_SHARE = STALE_SHARE = 0.01  # of the code holders
CODE_LIFETIME = 600
# Tracing population: per 10,000,000 visits, 1,000,000 persons (~10 visits each) and 50,000 venues; a
# smaller --visits keeps both ratios, so a case meets as many people at a venue as at full size.
VISITS_PER_PERSON, VISITS_PER_VENUE, DAYS = 10, 200, 16
FLAGGED_SHARE = 0.03
VENUE_POPULARITY_SIGMA = 1.0       # log-normal: the busiest venues see ~50 times the median's visits
# Relative visits per local hour (UTC+8): nothing from 23:00 to 6:00, peaks at lunch and dinner.
HOUR_WEIGHTS = {6: 2, 7: 5, 8: 8, 9: 6, 10: 6, 11: 8, 12: 10, 13: 8, 14: 6, 15: 6, 16: 6, 17: 8, 18: 10, 19: 9,
                20: 7, 21: 4, 22: 2}
LOCAL = timedelta(hours=8)
CHUNK = 200_000
CASES = 3
COUNTIES = [f"{p}{c:02d}{k:02d}" for p in sorted(areas.PROVINCES) if p < "71" for c in range(1, 9)
            for k in range(1, 9)]


# Where CPU goes: tools.load.cpu.CpuMeter

def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


# The code pool

class CodePool:
    """Code holders registered with identity, one current code each; some listed, some stale."""

    def __init__(self, persons: list[tuple[str, bytes]], status_stub, verification_admin,
                 rng: random.Random) -> None:
        self.persons = persons
        self._status = status_stub
        self._admin = verification_admin
        self._rng = rng
        self._unused = list(range(len(persons)))  # neither listed nor stale yet: a second diagnosis changes no status
        rng.shuffle(self._unused)
        self.payloads: list[str] = []
        self.expires = datetime.min.replace(tzinfo=UTC)
        self.stale: set[int] = set()
        self.listed: set[int] = set()

    @classmethod
    async def register(cls, identity_stub, status_stub, verification_admin, count: int,
                       rng: random.Random) -> CodePool:
        async def one(i: int) -> tuple[str, bytes]:
            response = await identity_stub.RegisterPerson(identity_pb2.RegisterPersonRequest(
                name="测试人", document=identity_pb2.Document(kind=identity_pb2.DOCUMENT_KIND_PASSPORT,
                                                           number=f"E{i:08d}", country_code="FRA"),
                home_province_code=PROVINCES[i % len(PROVINCES)]))
            return response.person.person_id, bytes(response.person.federation_ref)

        return cls(await concurrently(list(range(count)), one, 64), status_stub, verification_admin, rng)

    async def publish_risk_list(self) -> int:
        """This province's red/yellow list: strangers and 1 % of the code holders (yellow, 7 days)."""
        self.listed = set(self._unused[:max(1, int(len(self.persons) * LISTED_SHARE))])
        self._unused = self._unused[len(self.listed):]
        expire = Timestamp(seconds=int(time.time()) + 7 * 86400)
        records = [pb.RiskListRecord(person_ref=self.persons[i][1], colour=2, reason="CLOSE_CONTACT",
                                     source="bench-cdc", expire_time=expire) for i in sorted(self.listed)]
        records += [pb.RiskListRecord(person_ref=os.urandom(16), colour=self._rng.choice((2, 3)),
                                      reason="CLOSE_CONTACT", source="bench-cdc", expire_time=expire)
                    for _ in range(STRANGER_RECORDS)]
        response = await self._admin.PublishRiskList(pb.PublishRiskListRequest(batch_id=f"bench-{uuid.uuid4().hex}",
                                                                                records=records))
        return response.stored_count

    async def issue(self) -> float:
        """A new code for everyone, then a close-contact diagnosis for 1 % fresh holders (their status turns
        red, so their codes are stale); seconds taken."""
        started = time.perf_counter()
        responses = await concurrently([p for p, _ in self.persons],
                               lambda person_id: self._status.IssueCode(status_pb2.IssueCodeRequest(
                                   person_id=person_id)), 64)
        elapsed = time.perf_counter() - started
        self.payloads = [r.payload for r in responses]
        self.expires = min(r.expire_time.ToDatetime(tzinfo=UTC) for r in responses)
        count = max(1, int(len(self.persons) * STALE_SHARE))
        self.stale, self._unused = set(self._unused[:count]), self._unused[count:]
        # Not a check-in with a cough: status stores a check-in after the instant its decision is made for, so
        # that decision ignores it and the code stays current (reported with this benchmark).
        effective = Timestamp(seconds=int(time.time()) - 3600)
        facts = [status_pb2.Fact(person_id=self.persons[i][0], kind=status_pb2.FACT_KIND_DIAGNOSIS,
                                 diagnosis=status_pb2.DIAGNOSIS_CLOSE_CONTACT, authority="bench-cdc",
                                 authority_record_id=f"bench-{uuid.uuid4().hex}", source=status_pb2.FACT_SOURCE_HEALTH,
                                 effective_time=effective) for i in sorted(self.stale)]
        await self._status.RecordFacts(status_pb2.RecordFactsRequest(facts=facts))
        return elapsed

    async def fresh_for(self, seconds: float) -> None:
        """Re-issues every code unless all stay valid for `seconds` more (plus a margin)."""
        if datetime.now(UTC) + timedelta(seconds=seconds + 30) > self.expires:
            await self.issue()


def verdict_name(decision: int, reason: str) -> str:
    return Decision(decision).name + (f" {reason}" if reason else "")


# Offline

def each_in_turn(items: Sequence, check: Callable[[object], object]) -> Callable[[], object]:
    """A call that checks the next item each time (round the list)."""
    turn = itertools.cycle(items)
    return lambda: check(next(turn))


def offline_rates(device: OfflineCheckpoint, payloads: list[str], keys: dict[bytes, ec.EllipticCurvePublicKey],
                  seconds: float) -> list[tuple[str, float]]:
    """On one core: the device's whole check, the signature check alone, and decoding alone."""
    signed = []
    for payload in payloads:
        code = read_code(payload)
        der = encode_dss_signature(int.from_bytes(code.signature[:32], "big"),
                                   int.from_bytes(code.signature[32:], "big"))
        signed.append((keys[code.key_id], der, code.signed_bytes))
    algorithm = ec.ECDSA(hashes.SHA256())
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(affinity)})
    try:
        return [
            ("baseline: ES256 verify alone (cryptography)",
             rate(each_in_turn(signed, lambda s: s[0].verify(s[1], s[2], algorithm)), seconds)),
            ("read_code alone (base45, zlib, CBOR, structure)", rate(each_in_turn(payloads, read_code), seconds)),
            ("OfflineCheckpoint.verify (whole check)",
             rate(each_in_turn(payloads, lambda p: device.verify(p, datetime.now(UTC))), seconds)),
        ]
    finally:
        os.sched_setaffinity(0, affinity)


# The tracing population

def poisson_counts(persons: int, total: int, rng: random.Random) -> list[int]:
    """Visits per person, Poisson around the mean, adjusted to add up to exactly `total`."""
    mean = total / persons
    cdf, k, p = [], 0, math.exp(-mean)
    cumulative = p
    while cumulative < 1 - 1e-12 and k < 10 * mean + 50:
        cdf.append(cumulative)
        k += 1
        p *= mean / k
        cumulative += p
    counts = [bisect.bisect(cdf, rng.random()) for _ in range(persons)]
    difference = total - sum(counts)
    while difference:
        i = rng.randrange(persons)
        if difference > 0:
            counts[i] += 1
            difference -= 1
        elif counts[i]:
            counts[i] -= 1
            difference += 1
    return counts


def visit_slots(now: datetime) -> tuple[list[datetime], list[float]]:
    """Every 10 s of the last 16 days (less a 10-minute margin) in daytime hours, with cumulative weights."""
    start = now - timedelta(days=DAYS) + timedelta(minutes=10)
    start = start.replace(microsecond=0) - timedelta(seconds=start.second % 10)
    slots, cumulative, total = [], [], 0.0
    moment, step = start, timedelta(seconds=10)
    while moment < now - timedelta(minutes=1):
        weight = HOUR_WEIGHTS.get((moment + LOCAL).hour, 0)
        if weight:
            slots.append(moment)
            total += weight
            cumulative.append(total)
        moment += step
    return slots, cumulative


async def seed_persons(url: str, persons: list[uuid.UUID], identity_key_id: str, rng: random.Random,
                       now: datetime) -> float:
    """Registered and enrolled, as RegisterPerson and status's enrolment leave them; seconds taken."""
    refs = [rng.randbytes(16) for _ in persons]
    provinces = [PROVINCES[i % len(PROVINCES)] for i in range(len(persons))]
    enrolled = now - timedelta(days=60)
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    for start in range(0, len(persons), CHUNK):
        part = range(start, min(start + CHUNK, len(persons)))
        await connection.copy_records_to_table(
            "persons", schema_name="identity",
            columns=["person_id", "document_lookup", "name_lookup", "document_kind", "document_country_code",
                     "sealed_key_id", "sealed_record", "masked_name", "masked_document_number", "home_province_code",
                     "face_check_time", "create_time", "update_time", "federation_ref"],
            records=[(persons[i], rng.randbytes(32), rng.randbytes(32), 2, "FRA", identity_key_id, rng.randbytes(80),
                      "王*", "E*******" + f"{i % 100:02d}", provinces[i], None, enrolled, enrolled, refs[i])
                     for i in part])
        await connection.copy_records_to_table(
            "persons", schema_name="status", columns=["person_id", "province_code", "masked_name", "enrol_time",
                                                      "person_ref"],
            records=[(persons[i], provinces[i], "王*", enrolled, refs[i]) for i in part])
    await connection.close()
    return time.perf_counter() - started


async def seed_venues(url: str, count: int, rng: random.Random, now: datetime) -> tuple[list[uuid.UUID], list[float]]:
    venues = sorted(uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count))
    connection = await asyncpg.connect(url)
    await connection.copy_records_to_table(
        "venues", schema_name="verification",
        columns=["venue_id", "name", "area_code", "category", "request_id", "create_time"],
        records=[(v, f"场所 {i}", rng.choice(COUNTIES), rng.choice((1, 1, 2, 3, 3, 6, 6, 6, 4, 5, 7)), None,
                  now - timedelta(days=90)) for i, v in enumerate(venues)])
    await connection.close()
    popularity = [rng.lognormvariate(0.0, VENUE_POPULARITY_SIGMA) for _ in venues]
    cumulative, total = [], 0.0
    for weight in popularity:
        total += weight
        cumulative.append(total)
    return venues, cumulative


async def seed_visits(url: str, persons: list[uuid.UUID], counts: list[int], venues: list[uuid.UUID],
                      venue_weights: list[float], now: datetime, rng: random.Random) -> int:
    """COPY of every visit, persons in key order, built here while two connections write."""
    slots, slot_weights = visit_slots(now)
    queue: asyncio.Queue = asyncio.Queue(maxsize=2)

    async def produce() -> None:
        chunk_persons: list[uuid.UUID] = []
        for person, count in zip(persons, counts):
            chunk_persons.extend([person] * count)
            if len(chunk_persons) >= CHUNK:
                await queue.put(build(chunk_persons))
                chunk_persons = []
        if chunk_persons:
            await queue.put(build(chunk_persons))
        for _ in range(2):
            await queue.put(None)

    def build(chunk_persons: list[uuid.UUID]) -> list[tuple]:
        n = len(chunk_persons)
        where = rng.choices(venues, cum_weights=venue_weights, k=n)
        when = rng.choices(slots, cum_weights=slot_weights, k=n)
        getrandbits, random_ = rng.getrandbits, rng.random
        return [(p, t, v, uuid.UUID(int=getrandbits(128), version=4), random_() < FLAGGED_SHARE)
                for p, t, v in zip(chunk_persons, when, where)]

    async def consume() -> None:
        connection = await asyncpg.connect(url)
        while (chunk := await queue.get()) is not None:
            await connection.copy_records_to_table(
                "visits", schema_name="verification",
                columns=["person_id", "visit_time", "venue_id", "visit_id", "flagged"], records=chunk)
        await connection.close()

    await asyncio.gather(produce(), consume(), consume())
    return sum(counts)


# Tracing, timed in parts

class TimedRepository:
    """The service's repository, with the wall time of each contacts query kept."""

    def __init__(self, repository: VenueRepository) -> None:
        self._repository = repository
        self.seconds: list[float] = []

    async def contacts(self, sources, window, excluding):
        started = time.perf_counter()
        try:
            return await self._repository.contacts(sources, window, excluding)
        finally:
            self.seconds.append(time.perf_counter() - started)

    def __getattr__(self, name):
        return getattr(self._repository, name)


class TimedReporter:
    """The status reporter, with its wall time and what status made of the facts kept."""

    def __init__(self, reporter: StatusContactReporter) -> None:
        self._reporter = reporter
        self.seconds = 0.0
        self.last = ContactReport()

    async def authorize(self, mandate) -> None:
        await self._reporter.authorize(mandate)

    async def report(self, mandate, close, secondary) -> ContactReport:
        started = time.perf_counter()
        self.last = await self._reporter.report(mandate, close, secondary)
        self.seconds = time.perf_counter() - started
        return self.last


async def raw_contacts(connection: asyncpg.Connection, case: str, since: datetime, window: timedelta,
                       secondary: bool) -> tuple[float, dict[str, datetime], dict[str, datetime]]:
    """The service's SQL through asyncpg: the close query, and the secondary one when asked."""
    started = time.perf_counter()
    close = {r[0]: r[1] for r in await connection.fetch(CONTACTS_SQL, [case], [since], window, [case])}
    further: dict[str, datetime] = {}
    if secondary and close:
        items = sorted(close.items())
        further = {r[0]: r[1] for r in await connection.fetch(
            CONTACTS_SQL, [p for p, _ in items], [t for _, t in items], window, [case, *sorted(close)])}
    return time.perf_counter() - started, close, further


async def service_contacts(repository: VenueRepository, case: str, since: datetime, window: timedelta,
                           secondary: bool) -> tuple[float, dict[str, datetime], dict[str, datetime]]:
    """The same two steps through VenueRepository.contacts, as VenueBook.trace_contacts takes them."""
    started = time.perf_counter()
    close = await repository.contacts([(case, since)], window, [case])
    further: dict[str, datetime] = {}
    if secondary and close:
        further = await repository.contacts(sorted(close.items()), window, [case, *sorted(close)])
    return time.perf_counter() - started, close, further


async def plan_summary(connection: asyncpg.Connection, args: tuple) -> str:
    rows = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + CONTACTS_SQL, *args)
    # The excluded ids are spelled out in the filter: counted instead.
    return "\n".join("    " + re.sub(r"'\{[0-9a-f,-]{37,}\}'", lambda m: f"'{{{m[0].count(',') + 1} ids}}'", r[0])
                     for r in rows)


# py-spy

def py_spy() -> Path | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return candidate if candidate.exists() else None


async def sampled(pid: int, seconds: float, load: Callable[[float], Awaitable[object]], out: Path) -> None:
    """py-spy samples `pid` (200 Hz, on-CPU only, native frames too: grpc's and uvloop's Cython) while `load`
    runs; it pauses the process for each sample, so the load runs slower than when measured."""
    spy = await asyncio.create_subprocess_exec(str(py_spy()), "record", "--pid", str(pid), "--duration",
                                               str(int(seconds)), "--rate", "200", "--native", "--format", "raw",
                                               "--output", str(out), stdout=asyncio.subprocess.DEVNULL,
                                               stderr=asyncio.subprocess.DEVNULL)
    await load(seconds + 1.0)
    await spy.wait()


# Where a sample is counted: the first bucket one of whose functions is on its stack.
PROFILE_BUCKETS = {
    "verification": [
        ("grpc's completion-queue poller thread", ("Thread.run",)),
        ("VerifyCode: read_code (base45, zlib, CBOR)", ("read_code",)),
        ("VerifyCode: ES256 signature check", ("SignedCode.verify",)),
        ("VerifyCode: GetCodeStanding call to status", ("LocalStatus.standings",)),
        ("VerifyCode: risk-list SELECT (pool)", ("VerificationRepository.listed_colour",)),
        ("VerifyCode: decision INSERT (pool)", ("VerificationRepository.record_decision",)),
        ("VerifyCode: the rest (checks, interceptor, response)",
         ("Checkpoint.verify", "VerificationServicer.VerifyCode", "CallInterceptor")),
    ],
    "status": [
        ("grpc's completion-queue poller thread", ("Thread.run",)),
        ("GetCodeStanding: code_versions SELECT (pool)", ("StatusRepository.code_versions",)),
        ("GetCodeStanding: stored statuses not in memory (pool)", ("StatusRepository.enrolled",)),
        ("GetCodeStanding: the rest (parse, interceptor, response)",
         ("Codes.code_standings", "Decider.current_versions", "StatusServicer.GetCodeStanding", "CallInterceptor")),
    ],
}
_SYSCALLS = {"sendmsg", "write", "writev", "recvmsg", "recv", "read", "syscall", "getpid", "eventfd_write", "futex",
             "poll"}
_WAITS = {"epoll_wait", "epoll_pwait"}  # a thread blocked for events; py-spy's native mode counts it as busy
# What is left over, by the library on the stack (native frames name their shared object).
_LIBRARIES = (("grpc core and its Cython layer, outside a handler", "grpc/"),
              ("asyncpg protocol, outside a handler", "asyncpg/"),
              ("event loop (uvloop, asyncio) and the rest", ""))


def summarise_profile(path: Path, buckets: list[tuple[str, tuple[str, ...]]], top: int = 12) -> str:
    """Samples by bucket (and how many of them sat in a system call), then the busiest functions by own
    time, from py-spy's collapsed stacks; samples blocked in epoll are left out."""
    own: Counter = Counter()
    counted: Counter = Counter()
    in_syscalls: Counter = Counter()
    total = waiting = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        leaf = frames[-1].split(" (", 1)[0]
        if leaf in _WAITS:
            waiting += count
            continue
        total += count
        names = {f.split(" (", 1)[0] for f in frames}
        bucket = next((label for label, functions in buckets
                       if any(name == f or name.startswith(f + ".") for f in functions for name in names)), None)
        if bucket is None:
            bucket = next(label for label, marker in _LIBRARIES if any(marker in f for f in frames))
        counted[bucket] += count
        own[frames[-1]] += count
        if leaf in _SYSCALLS:
            in_syscalls[bucket] += count
    if not total:
        return "    (no samples)"
    lines = [(f"    {total} samples busy ({waiting} more blocked in epoll_wait, left out); by where they were, with "
              "the share of each inside a system call:")]
    for label in [label for label, _ in buckets] + [label for label, _ in _LIBRARIES]:
        if counted[label]:
            lines.append(f"    {100 * counted[label] / total:5.1f} %  {label:<58} "
                         f"{100 * in_syscalls[label] / counted[label]:3.0f} % in syscalls")
    lines.append("    busiest functions by own time:")
    lines += [f"    {100 * c / total:5.1f} %  {f}" for f, c in own.most_common(top)]
    return "\n".join(lines)


def _frame(text: str) -> str:
    match = re.match(r"(.*) \((.*?):\d+\)$", text.strip())
    if not match:
        return text.strip()
    function, file = match.groups()
    parts = Path(file).parts
    short = "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts else \
        "/".join(parts[-2:])
    return f"{function} ({short})"


# The run

async def main(args: argparse.Namespace) -> None:
    configure_logging("warning")
    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        phases[name], mark = time.perf_counter() - mark, time.perf_counter()

    now = datetime.now(UTC)
    print(f"verification_checks: {now:%Y-%m-%d %H:%M} UTC ({now + LOCAL:%H:%M} UTC+8)", flush=True)
    print(f"machine: {machine_line()}", flush=True)
    print(f"code: {code_state()}", flush=True)
    rng = random.Random(2_260)
    work = Path(tempfile.mkdtemp(prefix="hc-bench-"))
    embedded = None
    url = os.environ.get("HEALTHCODE_DATABASE_URL")
    if not url:
        embedded = EmbeddedPostgres(work / "pg", keep=False)
        url = embedded.start()
    for service in SERVICES:
        await migrate(url, service.schema, service.migrations)
    exchange_secret, venue_key = secrets.token_bytes(32), secrets.token_bytes(32)
    environ = {**os.environ, "HEALTHCODE_DATABASE_URL": url, "HEALTHCODE_LOG_LEVEL": "warning", "HEALTHCODE_METRICS_PORT": "0",
               "HEALTHCODE_MIGRATE_ON_START": "false",
               "HEALTHCODE_POOL_MAX_SIZE": "8", "HEALTHCODE_POOL_MIN_SIZE": "8",
               **{f"HEALTHCODE_{s.name.upper()}_PORT": "0" for s in SERVICES},
               "HEALTHCODE_IDENTITY_SEALING_KEYS": f"b:{key()}", "HEALTHCODE_IDENTITY_LOOKUP_KEY": key(),
               "HEALTHCODE_FEDERATION_KEY": key(),
               "HEALTHCODE_STATUS_SEALING_KEYS": f"b:{key()}", "HEALTHCODE_STATUS_AUDIT_KEY": key(),
               "HEALTHCODE_STATUS_DEV_SIGNING_KEYS": "true",
               "HEALTHCODE_STATUS_CODE_LIFETIME_SECONDS": str(CODE_LIFETIME),
               "HEALTHCODE_VERIFICATION_PROVINCES": "all",
               "HEALTHCODE_VERIFICATION_EXCHANGE_KEY": base64.b64encode(exchange_secret).decode(),
               "HEALTHCODE_VERIFICATION_VENUE_KEY": base64.b64encode(venue_key).decode(),
               # Background jobs stay quiet while timing (the trust sync, every 60 s, stays on).
               "HEALTHCODE_STATUS_FOLLOW_INTERVAL_SECONDS": "0", "HEALTHCODE_STATUS_REVIEW_INTERVAL_SECONDS": "3600",
               "HEALTHCODE_STATUS_PURGE_INTERVAL_SECONDS": "3600",
               "HEALTHCODE_VERIFICATION_PURGE_INTERVAL_SECONDS": "3600"}
    processes: dict[str, asyncio.subprocess.Process] = {}
    channels: list[grpc.aio.Channel] = []
    online: list[OnlinePath] = []
    profiles: list[tuple[str, str]] = []
    try:
        processes["echo"], echo_address = await spawn_server(["-m", "tools.load.echo"], environ,
                                                             log=work / "echo.log")
        # Each service reaches the ones started before it where they actually listen.
        for name in ("identity", "itinerary", "status", "verification"):
            processes[name], environ[f"HEALTHCODE_{name.upper()}_ADDRESS"] = await spawn_server(
                ["-m", "cli.healthcode", name], environ, log=work / f"{name}.log")
        meter = await CpuMeter.watching({name: p.pid for name, p in processes.items()}, url)

        def channel(address: str) -> grpc.aio.Channel:
            channels.append(grpc.aio.insecure_channel(address))
            return channels[-1]

        identity_stub = identity_pb2_grpc.IdentityServiceStub(channel(environ["HEALTHCODE_IDENTITY_ADDRESS"]))
        status_channel = channel(environ["HEALTHCODE_STATUS_ADDRESS"])
        status_stub = status_pb2_grpc.StatusServiceStub(status_channel)
        verification_channel = channel(environ["HEALTHCODE_VERIFICATION_ADDRESS"])
        verifier = verification_pb2_grpc.VerificationServiceStub(verification_channel)
        admin = verification_pb2_grpc.RecognitionAdminServiceStub(verification_channel)
        synced = await admin.SyncTrustList(pb.SyncTrustListRequest())
        phase("start postgres, migrate, spawn 5 servers")

        # Online
        codes = await CodePool.register(identity_stub, status_stub, admin, args.codes, rng)
        listed_stored = await codes.publish_risk_list()
        issue_seconds = await codes.issue()
        phase(f"register {args.codes} persons, publish risk list, issue codes (setup)")
        await codes.fresh_for(3 * args.seconds + 60)

        def request(payload: str) -> pb.VerifyCodeRequest:
            return pb.VerifyCodeRequest(payload=payload, checkpoint_id=CHECKPOINT, area_code=CHECKPOINT_AREA,
                                        temperature_celsius=36.5)

        verdicts = await concurrently(codes.payloads, lambda p: verifier.VerifyCode(request(p)), args.concurrency)
        online_verdicts = [verdict_name(v.decision, v.reason) for v in verdicts]
        code_ids = [read_code(p).claims.code_id.hex() for p in codes.payloads]
        echo = echo_call(channel(echo_address), request(codes.payloads[0]))
        corrupt: list[pb.VerifyCodeRequest] = []
        paths = [
            ("baseline: grpc.aio echo", echo, "echo"),
            ("GetCodeStanding, asked of status directly", lambda: status_stub.GetCodeStanding(
                status_pb2.GetCodeStandingRequest(code_ids=[rng.choice(code_ids)])), "status"),
            ("VerifyCode", lambda: verifier.VerifyCode(request(rng.choice(codes.payloads))), "verification"),
            ("VerifyCode, corrupt payload (decode fails)", lambda: verifier.VerifyCode(rng.choice(corrupt)),
             "verification"),
        ]
        rounds: list[dict[str, dict]] = []
        for _ in range(args.rounds):
            await codes.fresh_for(len(paths) * (args.seconds + 3) + 30)
            code_ids[:] = [read_code(p).claims.code_id.hex() for p in codes.payloads]
            # A broken zlib header: refused right after base45, so no status call and no risk-list SELECT.
            corrupt[:] = [request(p[:5] + "000" + p[8:]) for p in codes.payloads]
            await quiet("the online measurements")
            rounds.append({name: await measure(name, call, seconds=args.seconds, concurrency=args.concurrency,
                                               meter=meter, server=server)
                           for name, call, server in paths})
        for name, _, _ in paths:
            ordered = sorted((r[name] for r in rounds), key=lambda r: r.per_second)
            ratios = sorted(r[name].versus(r[paths[0][0]]) for r in rounds)
            online.append(OnlinePath(ordered[len(ordered) // 2], ratios[len(ratios) // 2],
                                     [r[name].per_second for r in rounds]))
        phase(f"online: echo, GetCodeStanding, VerifyCode × {args.rounds} rounds")

        if args.profile:
            if py_spy() is None:
                profiles.append(("py-spy", "    not installed in .venv: profile skipped"))
            else:
                async def load(seconds: float) -> None:
                    await measure("profiled", lambda: verifier.VerifyCode(request(rng.choice(codes.payloads))),
                                  seconds=seconds, concurrency=args.concurrency)

                for name in ("verification", "status"):
                    await quiet(f"profiling {name}")
                    out = work / f"py-spy-{name}.txt"
                    await sampled(processes[name].pid, args.seconds, load, out)
                    profiles.append((name, summarise_profile(out, PROFILE_BUCKETS[name])))
            phase("py-spy profiles under VerifyCode load")

        # Offline
        await quiet("the offline measurements")
        await codes.fresh_for(3 * args.seconds + 60)
        verdicts = await concurrently(codes.payloads, lambda p: verifier.VerifyCode(request(p)), args.concurrency)
        online_verdicts = [verdict_name(v.decision, v.reason) for v in verdicts]
        started = time.perf_counter()
        snapshot = await verifier.GetOfflineSnapshot(pb.GetOfflineSnapshotRequest())
        snapshot_ms = (time.perf_counter() - started) * 1000
        device = OfflineCheckpoint(verification.exchange_key_from_secret(exchange_secret).public_key(),
                                   timedelta(hours=24))
        started = time.perf_counter()
        device.apply(snapshot)
        apply_ms = (time.perf_counter() - started) * 1000
        parsed = pb.OfflineSnapshot.FromString(snapshot.snapshot)
        public_keys = {bytes.fromhex(k.key_id): serialization.load_der_public_key(k.public_key) for k in parsed.keys}
        at = datetime.now(UTC)
        offline_verdicts = [verdict_name(v.decision, v.reason)
                            for v in (device.verify(p, at, None) for p in codes.payloads)]
        mismatches = sum(1 for a, b in zip(online_verdicts, offline_verdicts) if a != b)
        offline = offline_rates(device, codes.payloads, public_keys, max(2.0, args.seconds / 2))
        phase("offline: snapshot, verdicts, rates on one core")

        # Tracing
        connection = await asyncpg.connect(url)
        person_count = max(1000, args.visits // VISITS_PER_PERSON)
        venue_count = max(100, args.visits // VISITS_PER_VENUE)
        persons = sorted(uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(person_count))
        persons_seconds = await seed_persons(url, persons, "b", rng, now)  # "b": identity's sealing key id
        venues, venue_weights = await seed_venues(url, venue_count, rng, now)
        counts = poisson_counts(person_count, args.visits, rng)
        phase(f"seed {person_count} persons (identity, status) and {venue_count} venues by COPY (setup)")
        await quiet("seeding visits")
        before = meter.snapshot()
        started = time.perf_counter()
        total_visits = await seed_visits(url, persons, counts, venues, venue_weights, datetime.now(UTC), rng)
        visits_seconds = time.perf_counter() - started
        visits_cpu = meter.spent(before, meter.snapshot())
        phase(f"seed {total_visits} visits by COPY")
        await connection.execute("VACUUM ANALYZE verification.visits, verification.venues, identity.persons, "
                                 "status.persons")
        await connection.execute("CHECKPOINT")
        table_size = await connection.fetchval(
            "SELECT pg_size_pretty(pg_total_relation_size('verification.visits'))")
        phase("vacuum analyze, checkpoint (setup)")

        mean = round(args.visits / person_count)
        candidates = [i for i, c in enumerate(counts) if c == mean]
        cases = [str(persons[i]) for i in rng.sample(candidates, CASES)]
        policy = VenuePolicy()
        window = policy.default_window
        pool = await open_pool(verification.VerificationSettings.read(Env(environ)).server, "verification-bench")
        repository = TimedRepository(VenueRepository(pool))
        channels.append(open_channel(environ["HEALTHCODE_STATUS_ADDRESS"]))
        reporter = TimedReporter(StatusContactReporter(channels[-1]))
        book = VenueBook(repository, reporter, venue_key, policy, SystemClock())
        # A trace is an officer's act: a national contact tracer (granted here directly, as an
        # administrator's grant leaves it) traces each case, which a CDC has diagnosed.
        await connection.execute(
            """INSERT INTO status.officers (officer_id, province_code, roles, update_time, granted_by)
               SELECT $1, p, ARRAY[3]::smallint[], now(), 'bench-administrator' FROM unnest($2::text[]) AS p
               ON CONFLICT (officer_id, province_code) DO UPDATE SET roles = EXCLUDED.roles""",
            TRACER, sorted(set(PROVINCES)))
        await status_stub.RecordFacts(status_pb2.RecordFactsRequest(facts=[status_pb2.Fact(
            person_id=case, kind=status_pb2.FACT_KIND_DIAGNOSIS, authority="bench-cdc",
            authority_record_id=f"bench-case-{case}", source=status_pb2.FACT_SOURCE_HEALTH,
            effective_time=Timestamp(seconds=int(time.time()) - 3600), diagnosis=status_pb2.DIAGNOSIS_CONFIRMED)
            for case in cases]))
        traced = []
        await quiet("tracing")
        for case in cases:
            since = policy.retention_start(datetime.now(UTC))
            cold, _, _ = await raw_contacts(connection, case, since, window, True)
            case_visits = await connection.fetch(
                "SELECT flagged FROM verification.visits WHERE person_id = $1", uuid.UUID(case))
            row = {"case": case, "visits": len(case_visits), "flagged": sum(1 for v in case_visits if v[0]),
                   "cold_ms": cold * 1000}
            for secondary in (False, True):
                raw_times, service_times = [], []
                for _ in range(3):
                    raw_s, raw_close, raw_further = await raw_contacts(connection, case, since, window, secondary)
                    service_s, close, further = await service_contacts(repository._repository, case, since, window,
                                                                       secondary)
                    raw_times.append(raw_s)
                    service_times.append(service_s)
                    assert (set(raw_close), set(raw_further)) == (set(close), set(further)), "paths disagree"
                repository.seconds.clear()
                started = time.perf_counter()
                found_close, found_further = await book.trace_contacts(case, 0, None, secondary,
                                                                       f"bench-{uuid.uuid4().hex[:16]}",
                                                                       tracer_id=TRACER, legal_basis=BASIS)
                trace_s = time.perf_counter() - started
                row[secondary] = {"raw": statistics.median(raw_times), "service": statistics.median(service_times),
                                  "trace": trace_s, "sql": sum(repository.seconds), "report": reporter.seconds,
                                  "facts": reporter.last, "close": len(raw_close), "further": len(raw_further),
                                  "trace_found": (len(found_close), len(found_further))}
            traced.append(row)
        plan_case = cases[0]
        since = policy.retention_start(datetime.now(UTC))
        close_plan = await plan_summary(connection, ([plan_case], [since], window, [plan_case]))
        _, close_now, _ = await raw_contacts(connection, plan_case, since, window, False)
        items = sorted(close_now.items())
        secondary_plan = await plan_summary(connection, ([p for p, _ in items], [t for _, t in items], window,
                                                         [plan_case, *sorted(close_now)])) if items else ""
        colours = await connection.fetch(
            """SELECT s.colour, count(*) FROM status.statuses s
               WHERE s.person_id IN (SELECT person_id FROM status.facts WHERE authority = 'verification-tracing')
               GROUP BY 1 ORDER BY 1""")
        await pool.close()
        await connection.close()
        phase(f"tracing: {CASES} cases × 2 modes")
    finally:
        for c in channels:
            await c.close()
        await stop(*reversed(processes.values()))
        if embedded is not None:
            embedded.stop()

    report_online(args, Online(synced.key_count, listed_stored, issue_seconds, codes, online_verdicts, online,
                               profiles))
    report_offline(Offline(snapshot, parsed, snapshot_ms, apply_ms, offline_verdicts, mismatches, offline),
                   len(codes.payloads))
    report_tracing(Tracing(persons_seconds, person_count, venue_count, total_visits, visits_seconds, visits_cpu,
                           table_size, traced, close_plan, secondary_plan, colours))
    print("\nphase wall times (s)")
    for name, seconds in phases.items():
        Table(64).print(f"  {name}", f"{seconds:.1f}")
    print(f"server logs and raw profiles: {work}")


@dataclass(frozen=True)
class OnlinePath:
    """One online path over the rounds: its median round, the median ratio to the echo, each round's rate."""

    measured: Measured
    ratio: float
    rounds: list[float]


@dataclass(frozen=True)
class Online:
    trust_keys: int
    listed_stored: int
    issue_seconds: float
    codes: CodePool
    verdicts: list[str]
    paths: list[OnlinePath]
    profiles: list[tuple[str, str]]


@dataclass(frozen=True)
class Offline:
    snapshot: pb.GetOfflineSnapshotResponse
    parsed: pb.OfflineSnapshot
    snapshot_ms: float
    apply_ms: float
    verdicts: list[str]
    mismatches: int
    rates: list[tuple[str, float]]


@dataclass(frozen=True)
class Tracing:
    persons_seconds: float
    person_count: int
    venue_count: int
    total_visits: int
    visits_seconds: float
    visits_cpu: dict[str, float]
    table_size: str
    traced: list[dict]
    close_plan: str
    secondary_plan: str
    colours: list


def report_online(args: argparse.Namespace, found: Online) -> None:
    codes, online, profiles = found.codes, found.paths, found.profiles
    line = Table(44).print
    n = len(codes.payloads)
    print(f"\n1. VerifyCode online: {n} codes of {n} persons ({len(codes.listed)} on the risk list beside "
          f"{STRANGER_RECORDS} strangers: {found.listed_stored} records stored; {len(codes.stale)} stale), "
          f"{args.concurrency} calls in flight, "
          f"{args.seconds:.0f} s each; trust list {found.trust_keys} keys; IssueCode {n / found.issue_seconds:.0f}/s "
          f"while setting up")
    print("   each VerifyCode: decode + ES256 check, GetCodeStanding to status (status: one SQL join), "
          "a risk-list SELECT and a decision INSERT in Postgres")
    print("   verdicts over the pool: " + ", ".join(f"{name} {count}" for name, count in
                                                   Counter(found.verdicts).most_common()))
    print(f"   medians of {args.rounds} rounds, the four paths in turn in each round; a row's other figures come "
          "from its median round, × echo is the median of the rounds' ratios")
    line("path", "per s", "p50 ms", "p99 ms", "× echo", "server µs", "kernel", "status µs", "pg µs", "client µs",
         "others")
    for path in online:
        r = path.measured
        line(r.name, f"{r.per_second:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", f"{path.ratio:.2f}",
             f"{r.us_per_call(r.server):.0f}", f"{r.kernel_share(r.server):.0%}",
             f"{r.us_per_call('status'):.0f}" if r.server != "status" else "", f"{r.us_per_call('postgres'):.0f}",
             f"{r.us_per_call('client'):.0f}", f"{r.cores('others'):.2f}")
    print("   (µs: CPU per call of the server called (kernel: its share in system calls), of status behind it, of "
          "Postgres, of this client; others: cores busy outside this benchmark)")
    print("   per s in each round: " + "; ".join(
        f"{p.measured.name.split(',')[0] if not p.measured.name.startswith('VerifyCode,') else 'corrupt'} "
        + " / ".join(f"{v:.0f}" for v in p.rounds) for p in online))
    for name, text in profiles:
        print(f"\n   py-spy, {name} server under VerifyCode load ({args.concurrency} in flight):")
        print(text)


def report_offline(found: Offline, n: int) -> None:
    snapshot, parsed, offline = found.snapshot, found.parsed, found.rates
    print(f"\n2. Offline verification, one core, this process: snapshot {len(snapshot.snapshot)} bytes "
          f"({len(parsed.keys)} keys, {len(parsed.risk_records)} risk records, {len(parsed.stale_codes)} stale codes), "
          f"GetOfflineSnapshot {found.snapshot_ms:.0f} ms, apply {found.apply_ms:.0f} ms")
    print("   offline verdicts: " + ", ".join(f"{name} {count}" for name, count in
                                               Counter(found.verdicts).most_common())
          + f"; differing from the online verdict: {found.mismatches} of {n}")
    raw_rate = offline[0][1]
    Table(52).print("path", "per s", "µs each", "× ES256")
    for name, per_second in offline:
        Table(52).print(name, f"{per_second:.0f}", f"{1e6 / per_second:.1f}", f"{per_second / raw_rate:.2f}")


def report_tracing(tracing: Tracing) -> None:
    total_visits, visits_seconds, visits_cpu = tracing.total_visits, tracing.visits_seconds, tracing.visits_cpu
    person_count, traced = tracing.person_count, tracing.traced
    line = Table(38).print

    print(f"\n3. Contact tracing among {total_visits} visits ({person_count} persons, {tracing.venue_count} venues, {DAYS} days, "
          f"{FLAGGED_SHARE:.0%} flagged; verification.visits {tracing.table_size} with indexes)")
    print(f"   seeding: {total_visits / visits_seconds:.0f} visits/s by COPY ({visits_seconds:.1f} s; CPU s: this "
          f"process {visits_cpu['client']:.0f}, Postgres {visits_cpu['postgres']:.0f}, others "
          f"{visits_cpu['others']:.0f}, kernel writeback included); persons into identity and status {2 * person_count / tracing.persons_seconds:.0f} "
          "rows/s")
    print("   window ±60 min; medians of 3 for the SQL paths; trace_contacts once per case and mode (new trace ids)")
    line("case (visits, flagged)", "contacts", "raw ms", "repo ms", "× raw", "trace ms", "× raw", "sql ms",
         "report ms", "stored")
    for row in traced:
        for secondary in (False, True):
            r = row[secondary]
            found = r["close"] + r["further"]
            label = (f"{row['case'][:8]} ({row['visits']}, {row['flagged']}) " +
                     ("+ secondary" if secondary else "close only"))
            line(label, f"{r['close']}+{r['further']}" if secondary else str(found), f"{r['raw'] * 1000:.1f}",
                 f"{r['service'] * 1000:.1f}", f"{r['service'] / r['raw']:.2f}", f"{r['trace'] * 1000:.0f}",
                 f"{r['trace'] / r['raw']:.2f}", f"{r['sql'] * 1000:.1f}", f"{r['report'] * 1000:.0f}",
                 f"{r['facts'].stored}")
    for secondary in (False, True):
        rows = [row[secondary] for row in traced]
        label = "median, " + ("+ secondary" if secondary else "close only")
        line(label, "", f"{statistics.median(r['raw'] for r in rows) * 1000:.1f}",
             f"{statistics.median(r['service'] for r in rows) * 1000:.1f}",
             f"{statistics.median(r['service'] / r['raw'] for r in rows):.2f}",
             f"{statistics.median(r['trace'] for r in rows) * 1000:.0f}",
             f"{statistics.median(r['trace'] / r['raw'] for r in rows):.2f}")
    print("   (contacts: close, or close+secondary; raw: the service's SQL through asyncpg; repo: "
          "VenueRepository.contacts; trace: VenueBook.trace_contacts = sql + report to status; stored: facts "
          "status stored; first raw run of each case, cold: " +
          ", ".join(f"{row['cold_ms']:.0f} ms" for row in traced) + ")")
    rejected = sum(row[s]["facts"].rejected for row in traced for s in (False, True))
    print(f"   facts rejected by status: {rejected}; colours of traced persons now: "
          + ", ".join(f"{['', 'green', 'yellow', 'red'][r[0]]} {r[1]}" for r in tracing.colours))
    print("   plan of the close query (first case):")
    print(tracing.close_plan)
    if tracing.secondary_plan:
        print("   plan of the secondary query (first case):")
        print(tracing.secondary_plan)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--codes", type=int, default=2000)
    parser.add_argument("--visits", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the online measurements (medians)")
    parser.add_argument("--profile", action="store_true", help="sample the servers with py-spy under VerifyCode load")
    uvloop.run(main(parser.parse_args()))

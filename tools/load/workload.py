"""The morning rush over gRPC: what each kind of call does, the mix of them, and the two ways of driving
it (open-loop arrivals at a target rate, closed-loop with N calls in flight), with a risk declaration
in the middle of the run and a surge.

Open loop: arrivals are a Poisson process at the phase's rate, and every latency is measured from the
moment the call was meant to be sent, so a platform (or a client) that falls behind shows its backlog
in the latencies instead of hiding it (coordinated omission). When the harness's own cap on calls in
flight is reached, arrivals wait for a free slot, and that wait counts too.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from healthcode.common.v1 import common_pb2
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2

from services.areas import province_code_of
from tools.load.callers import Callers, Metadata
from tools.load.client import Channels
from tools.load.population import COUNTIES, Population, county_of
from tools.load.recorder import Recorder

# The morning rush, per hundred operations: people show their codes (IssueCode) and checkpoints scan
# them (VerifyCode); some look at their status, check in, scan a venue's code (GetVenueCode, then
# RecordVisit); carriers send their stays in batches.
DEFAULT_MIX = {"IssueCode": 40.0, "VerifyCode": 35.0, "GetStatus": 10.0, "RecordCheckIn": 7.0, "VenueScan": 7.0,
               "IngestCarrierStays": 1.0}
OPERATIONS = tuple(DEFAULT_MIX)
# The RPCs each operation makes.
RPCS = {"IssueCode": ("IssueCode",), "VerifyCode": ("VerifyCode",), "GetStatus": ("GetStatus",),
        "RecordCheckIn": ("RecordCheckIn",), "VenueScan": ("GetVenueCode", "RecordVisit"),
        "IngestCarrierStays": ("IngestCarrierStays",)}
DEPENDENT_SHARE = 0.1          # codes shown, and check-ins made, by a holder for a dependent (他人代查)
FEVER_SHARE = 0.002            # checkpoint readings of 37.3 ℃ or more
SYMPTOM_SHARE = 0.01           # check-ins with a cough
CODE_MARGIN = 5.0              # a code within this many seconds of expiring is not scanned any more


def parse_mix(text: str) -> dict[str, float]:
    """`IssueCode=40,VerifyCode=35,...`: weights of the operations named (the others are left out)."""
    mix = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, weight = item.partition("=")
        if name not in DEFAULT_MIX:
            raise ValueError(f"unknown operation {name!r}; known: {', '.join(OPERATIONS)}")
        mix[name] = float(weight)
    if not mix or sum(mix.values()) <= 0:
        raise ValueError("the mix needs at least one operation with a positive weight")
    return mix


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


class CodePool:
    """Codes recently shown (issued), ready to be scanned; a code may be scanned at several doors."""

    def __init__(self, size: int = 4096) -> None:
        self._codes: list[tuple[str, float]] = []
        self._size = size

    def add(self, payload: str, expire_epoch: float) -> None:
        if len(self._codes) >= self._size:
            del self._codes[:self._size // 2]
        self._codes.append((payload, expire_epoch))

    def take(self, rng: random.Random) -> str | None:
        """A code from those not about to expire (codes are added in issue order, so expired ones lead)."""
        now = time.time()
        stale = 0
        while stale < len(self._codes) and self._codes[stale][1] - CODE_MARGIN <= now:
            stale += 1
        del self._codes[:stale]
        return rng.choice(self._codes)[0] if self._codes else None

    def __len__(self) -> int:
        return len(self._codes)


class Workload:
    """Every operation of the mix, as one person, checkpoint, venue or carrier makes it."""

    def __init__(self, channels: Channels, population: Population, run_id: str, *, batch_rows: int = 1000,
                 deadline: float = 30.0, seed: int = 1, hot_persons: int | None = None,
                 callers: Callers | None = None) -> None:
        self.channels = channels
        self.population = population
        self.callers = callers or Callers()
        # Who calls: everyone (each morning's first read of a status decides it again), or only the first
        # `hot_persons`, whose statuses are soon stored and read back as they are.
        hot = min(hot_persons or population.size, population.size)
        self.persons = population.person_ids[:hot]
        self.home_provinces = {person: province_code_of(county_of(index)) for index, person in enumerate(self.persons)}
        callers = set(self.persons)
        self.links = [(holder, dependent) for holder, dependent in population.links
                      if holder in callers and dependent in callers]
        self.run_id = run_id
        self.batch_rows = batch_rows
        self.deadline = deadline
        self.codes = CodePool()
        self.rng = random.Random(seed)
        self._serial = 0
        self.operations: dict[str, Callable] = {
            "IssueCode": self.issue_code, "VerifyCode": self.verify_code, "GetStatus": self.get_status,
            "RecordCheckIn": self.record_check_in, "VenueScan": self.venue_scan,
            "IngestCarrierStays": self.ingest_carrier_stays}

    def _request_id(self) -> str:
        self._serial += 1
        return f"load-{self.run_id}-{self._serial}"

    def _person(self) -> str:
        return self.rng.choice(self.persons)

    def _as_person(self, person_id: str) -> Metadata:
        return self.callers.person(person_id, self.home_provinces[person_id])

    async def _call(self, method, request, recorder: Recorder, rpc: str, since: float, phase: str,
                    outcome: Callable[[object], str | None] | None = None, rows: int = 0, metadata: Metadata = ()):
        """One call, recorded with its latency from `since` (the intended send time in open loop)."""
        try:
            response = await method(request, timeout=self.deadline, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            recorder.record(rpc, time.perf_counter() - since, error.code().name, time.perf_counter(), phase=phase,
                            rows=rows)
            return None
        recorder.record(rpc, time.perf_counter() - since, None, time.perf_counter(), phase=phase,
                        outcome=outcome(response) if outcome else None, rows=rows)
        return response

    async def run(self, operation: str, recorder: Recorder, since: float, phase: str = "") -> None:
        await self.operations[operation](recorder, since, phase)

    # The operations

    async def issue_code(self, recorder: Recorder, since: float, phase: str) -> None:
        if self.links and self.rng.random() < DEPENDENT_SHARE:
            holder, person = self.rng.choice(self.links)
            request = status_pb2.IssueCodeRequest(person_id=person, requester_person_id=holder)
        else:
            holder = person = self._person()
            request = status_pb2.IssueCodeRequest(person_id=person)
        response = await self._call(self.channels.status().IssueCode, request, recorder, "IssueCode", since, phase,
                                    outcome=lambda r: "for a dependent" if request.requester_person_id else "own",
                                    metadata=self._as_person(holder))
        if response is not None:
            self.codes.add(response.payload, response.expire_time.seconds)

    async def verify_code(self, recorder: Recorder, since: float, phase: str) -> None:
        payload = self.codes.take(self.rng)
        if payload is None:
            # Nobody has shown a code yet: someone shows one first (recorded as IssueCode).
            await self.issue_code(recorder, since, phase)
            payload = self.codes.take(self.rng)
            if payload is None:
                return
            since = time.perf_counter()
        reading = self.rng.random()
        gate, area = f"load-gate-{self.rng.randrange(100):02d}", self.rng.choice(COUNTIES)
        request = verification_pb2.VerifyCodeRequest(
            payload=payload, checkpoint_id=self.callers.checkpoint_id(gate, area), area_code=area)
        if reading < FEVER_SHARE:
            request.temperature_celsius = 37.8
        elif reading < 0.8:
            request.temperature_celsius = round(self.rng.uniform(36.0, 37.0), 1)
        await self._call(self.channels.verification().VerifyCode, request, recorder, "VerifyCode", since, phase,
                         outcome=lambda r: verification_pb2.Decision.Name(r.decision).removeprefix("DECISION_")
                         + (f" {r.reason}" if r.reason else ""),
                         metadata=self.callers.checkpoint(gate, area))

    async def get_status(self, recorder: Recorder, since: float, phase: str) -> None:
        person = self._person()
        await self._call(self.channels.status().GetStatus, status_pb2.GetStatusRequest(person_id=person),
                         recorder, "GetStatus", since, phase,
                         outcome=lambda r: common_pb2.Colour.Name(r.status.colour).removeprefix("COLOUR_"),
                         metadata=self._as_person(person))

    async def record_check_in(self, recorder: Recorder, since: float, phase: str) -> None:
        if self.links and self.rng.random() < DEPENDENT_SHARE:
            reporter, person = self.rng.choice(self.links)
        else:
            reporter = person = self._person()
        request = status_pb2.RecordCheckInRequest(
            person_id=person, reporter_person_id=reporter, temperature_celsius=round(self.rng.uniform(36.1, 36.9), 1),
            request_id=self._request_id())
        if self.rng.random() < SYMPTOM_SHARE:
            request.symptoms.append(status_pb2.SYMPTOM_COUGH)
        await self._call(self.channels.status().RecordCheckIn, request, recorder, "RecordCheckIn", since, phase,
                         outcome=lambda r: common_pb2.Colour.Name(r.status.colour).removeprefix("COLOUR_"),
                         metadata=self._as_person(reporter))

    async def venue_scan(self, recorder: Recorder, since: float, phase: str) -> None:
        """The venue's screen shows its current code; a visitor's app scans it."""
        stub = self.channels.verification()
        venue = await self._call(stub.GetVenueCode, verification_pb2.GetVenueCodeRequest(
            venue_id=self.rng.choice(self.population.venue_ids)), recorder, "GetVenueCode", since, phase)
        if venue is None:
            return
        visitor = self._person()
        await self._call(stub.RecordVisit, verification_pb2.RecordVisitRequest(
            person_id=visitor, venue_code=venue.payload, request_id=self._request_id()),
            recorder, "RecordVisit", time.perf_counter(), phase,
            outcome=lambda r: "flagged" if r.visit.flagged else "recorded", metadata=self._as_person(visitor))

    async def ingest_carrier_stays(self, recorder: Recorder, since: float, phase: str) -> None:
        """A carrier's batch: trips of the last two days, four to ten hours long."""
        now = datetime.now(UTC).replace(microsecond=0)
        stays = []
        for _ in range(self.batch_rows):
            departure = now - timedelta(minutes=self.rng.randrange(60, 48 * 60))
            stays.append(itinerary_pb2.CarrierStay(
                person_id=self._person(), area_code=self.rng.choice(COUNTIES),
                arrival_time=_timestamp(departure - timedelta(minutes=self.rng.randrange(240, 600))),
                departure_time=_timestamp(departure)))
        request = itinerary_pb2.IngestCarrierStaysRequest(batch_id=self._request_id(), source_carrier="load-carrier",
                                                          stays=stays)
        await self._call(lambda r, timeout, metadata: self.channels.itinerary().IngestCarrierStays(
            iter([r]), timeout=timeout, metadata=metadata),
            request, recorder, "IngestCarrierStays", since, phase, rows=len(stays),
            outcome=lambda r: "rejected rows" if r.rejected else "stored", metadata=self.callers.carrier())

    # The risk declaration

    async def declare_risk_area(self, recorder: Recorder, phase: str, area: str | None = None) -> dict:
        """Declares a county of the population HIGH from ten days ago: status's follower then recomputes
        everyone with a stay there. The county is the first one not at risk already (each run raises a
        fresh one; when all are, the first is declared again and nothing is raised)."""
        itinerary = self.channels.itinerary()
        if area is None:
            at_risk, token = set(), ""
            while True:
                page = await itinerary.ListRiskAreas(itinerary_pb2.ListRiskAreasRequest(page_size=1000,
                                                                                         page_token=token))
                at_risk |= {d.area_code for d in page.declarations}
                token = page.next_page_token
                if not token:
                    break
            area = next((c for c in COUNTIES if c not in at_risk), COUNTIES[0])
        since = time.perf_counter()
        metadata, authority = self.callers.declarer()
        response = await self._call(itinerary.DeclareRiskArea, itinerary_pb2.DeclareRiskAreaRequest(
            area_code=area, level=common_pb2.RISK_LEVEL_HIGH,
            effective_time=_timestamp(datetime.now(UTC) - timedelta(days=10)), authority=authority,
            reason=f"synthetic load run {self.run_id}", request_id=f"load-{self.run_id}-declaration"),
            recorder, "DeclareRiskArea", since, phase, metadata=metadata)
        if response is None:
            return {"area_code": area, "error": "DeclareRiskArea failed"}
        return {"area_code": area, "declaration_id": response.declaration.declaration_id, "raised": response.raised,
                "declared_at_s": since - recorder.start}

    async def follow_recompute(self, declaration: dict, recorder: Recorder, limit: float) -> None:
        """Fills in how far status's recomputation of the declaration got, and when it finished (polls once a
        second for at most `limit` seconds; 0: one look)."""
        declaration_id = declaration.get("declaration_id")
        if not declaration_id:
            return
        ends = time.perf_counter() + limit
        while True:
            try:
                runs = await self.channels.status_admin().ListRecomputeRuns(
                    status_pb2.ListRecomputeRunsRequest(page_size=20), timeout=self.deadline,
                    metadata=self.callers.operator())
            except grpc.aio.AioRpcError:
                runs = None
            run = next((r for r in runs.runs if r.declaration_id == declaration_id), None) if runs else None
            if run is not None:
                declaration.setdefault("recompute_seen_at_s", time.perf_counter() - recorder.start)
                declaration.update(recompute_state=status_pb2.RecomputeState.Name(run.state),
                                   persons_done=run.persons_done, persons_changed=run.persons_changed)
                if run.state != status_pb2.RECOMPUTE_STATE_RUNNING:
                    declaration["recompute_seconds"] = (run.finish_time.ToDatetime()
                                                        - run.start_time.ToDatetime()).total_seconds()
                    declaration["recompute_done_at_s"] = time.perf_counter() - recorder.start
                    return
            if time.perf_counter() >= ends:
                return
            await asyncio.sleep(1.0)


@dataclass(frozen=True)
class Phase:
    name: str
    start: float            # seconds from the run's start
    factor: float           # times the base rate (open loop) or the base calls in flight (closed loop)


def phases(duration: float, declare_at: float, surge_at: float, surge_seconds: float,
           surge_factor: float) -> list[Phase]:
    """rush → declared (from the risk declaration on) → surge → recovery."""
    found = [Phase("rush", 0.0, 1.0)]
    if declare_at < duration:
        found.append(Phase("declared", declare_at, 1.0))
    if surge_seconds > 0 and surge_at < duration:
        found.append(Phase("surge", surge_at, surge_factor))
        if surge_at + surge_seconds < duration:
            found.append(Phase("recovery", surge_at + surge_seconds, 1.0))
    return sorted(found, key=lambda p: p.start)


def phase_at(timeline: list[Phase], offset: float) -> Phase:
    current = timeline[0]
    for phase in timeline:
        if phase.start <= offset:
            current = phase
    return current


class Mix:
    def __init__(self, weights: dict[str, float]) -> None:
        self.names = [name for name, weight in weights.items() if weight > 0]
        self.weights = [weights[name] for name in self.names]

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.names, self.weights)[0]


async def open_loop(workload: Workload, mix: Mix, recorder: Recorder, rate: float, duration: float,
                    timeline: list[Phase], max_in_flight: int, seed: int = 2) -> None:
    """Poisson arrivals at `rate` × the phase's factor for `duration` seconds; latencies from each arrival's
    intended time."""
    rng = random.Random(seed)
    slots = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task] = set()
    start = recorder.start
    intended = start
    current = None

    def done(task: asyncio.Task) -> None:
        tasks.discard(task)
        slots.release()
        recorder.in_flight -= 1

    while True:
        phase = phase_at(timeline, intended - start)
        if phase is not current:
            current = phase
            recorder.enter_phase(phase.name, start + phase.start)
        intended += rng.expovariate(rate * phase.factor)
        if intended - start >= duration:
            break
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        recorder.in_flight += 1
        recorder.mark(intended, phase=phase.name, target_per_second=rate * phase.factor,
                      in_flight=recorder.in_flight)
        task = asyncio.create_task(workload.run(mix.pick(rng), recorder, intended, phase.name))
        tasks.add(task)
        task.add_done_callback(done)
    if tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)
    recorder.close_phases(time.perf_counter())


async def closed_loop(workload: Workload, mix: Mix, recorder: Recorder, concurrency: int, duration: float,
                      timeline: list[Phase], seed: int = 3) -> None:
    """`concurrency` × the phase's factor callers, each making its next call when the last one returns."""
    rng = random.Random(seed)
    start = recorder.start
    ends = start + duration

    async def caller(index: int) -> None:
        while (now := time.perf_counter()) < ends:
            phase = phase_at(timeline, now - start)
            if index >= round(concurrency * phase.factor):
                await asyncio.sleep(0.05)  # a surge caller waiting for its phase, or done with it
                continue
            recorder.in_flight += 1
            recorder.mark(now, phase=phase.name, callers=round(concurrency * phase.factor),
                          in_flight=recorder.in_flight)
            try:
                await workload.run(mix.pick(rng), recorder, now, phase.name)
            finally:
                recorder.in_flight -= 1

    async def phase_marks() -> None:
        for phase in timeline:
            await asyncio.sleep(max(0.0, start + phase.start - time.perf_counter()))
            recorder.enter_phase(phase.name, start + phase.start)

    marks = asyncio.create_task(phase_marks())
    most = round(concurrency * max(p.factor for p in timeline))
    await asyncio.gather(*(caller(i) for i in range(most)))
    marks.cancel()
    recorder.close_phases(time.perf_counter())


async def isolated(workload: Workload, operation: str, recorder: Recorder, concurrency: int,
                   seconds: float) -> None:
    """One operation alone, closed loop: what that path sustains."""
    ends = recorder.start + seconds

    async def caller() -> None:
        while (now := time.perf_counter()) < ends:
            await workload.run(operation, recorder, now)

    await asyncio.gather(*(caller() for _ in range(concurrency)))


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"

"""One run of the harness: population, baselines, each path alone, then the morning rush; the report."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import grpc
from healthcode.status.v1 import status_pb2

from tools.load import baselines, population, report
from tools.load.callers import Callers
from tools.load.client import Channels, open_channels
from tools.load.cpu import CpuMeter, machine
from tools.load.display import Progress
from tools.load.measure import quiet
from tools.load.recorder import Recorder
from tools.load.workload import (
    DEFAULT_MIX,
    RPCS,
    Mix,
    Workload,
    closed_loop,
    isolated,
    new_run_id,
    open_loop,
    phases,
)


@dataclass
class Options:
    addresses: dict[str, str]
    out: Path
    credentials: grpc.ChannelCredentials | None = None
    via: str | None = None
    # Who each operation calls as (through a gateway: minted sessions of persons, checkpoints, feeds).
    callers: Callers = field(default_factory=Callers)
    # Where to look for the processes whose CPU is counted (default: `addresses`).
    cpu_addresses: dict[str, str] | None = None
    database_url: str | None = None
    keys: population.PopulationKeys | None = None
    persons: int = 200_000
    hot_persons: int | None = None     # calls come from the first this many persons (default: everyone)
    populate: bool = True
    mode: str = "open"                 # open: arrivals at `rate`; closed: `concurrency` callers
    rate: float = 40.0
    concurrency: int = 32
    duration: float = 120.0
    declare_at: float = 0.4            # fractions of the duration
    surge_at: float = 0.65
    surge_seconds: float | None = None  # default: a tenth of the duration
    surge_factor: float = 10.0
    risk_area: str | None = None
    isolated_seconds: float = 10.0
    isolated_concurrency: int = 32
    baseline_seconds: float = 5.0
    warmup_calls: int = 50
    channels: int = 4
    max_in_flight: int | None = None
    batch_rows: int = 1000
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    deadline: float = 30.0
    seed: int = 1
    chart: bool = True
    # Before each measurement, wait up to this long while another benchmark or load run uses the machine.
    quiet_wait: float = 900.0
    progress: Progress | None = None

    def public(self) -> dict:
        """The options as the report records them (no keys, no credentials)."""
        skipped = {"credentials", "callers", "keys", "progress", "out", "addresses", "cpu_addresses"}
        values = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skipped}
        values["database_url"] = "set" if self.database_url else None
        values["tls"] = self.credentials is not None
        return values


async def run(options: Options) -> dict:
    """The whole run; writes report.json (and chart.png) into `options.out` and returns the report."""
    progress = options.progress or Progress()
    run_id = new_run_id()
    options.out.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    result: dict = {"run_id": run_id, "started": started_at.isoformat(), "machine": machine(),
                    "options": options.public(), "addresses": options.addresses}
    # The echo server's process is started before this one opens any channel: forking a process whose grpc
    # threads run is what grpc warns against.
    echo = await baselines.start_echo() if options.baseline_seconds > 0 else None
    channels = open_channels(options.addresses, options.credentials, per_service=options.channels)
    try:
        await channels.wait_ready(15.0)
        progress.note(f"load {run_id}: platform at " + ", ".join(f"{k} {v}" for k, v in options.addresses.items()))
        waits = result["waited_for_quiet_s"] = {}
        if options.populate:
            await _quiet(options, "loading the population", progress, waits)
        result["population"] = await _populate(options, channels, progress)
        people = population.Population.of(options.persons)
        meter = await CpuMeter.for_platform(options.cpu_addresses or options.addresses, options.database_url)
        result["processes"] = meter.describe()
        if echo is not None:
            await _quiet(options, "the baselines", progress, waits)
            result["baselines"] = await _baselines(options, people, meter, echo, progress)
            await baselines.stop_echo(echo[0])
        workload = Workload(channels, people, run_id, callers=options.callers, batch_rows=options.batch_rows,
                            deadline=options.deadline, seed=options.seed, hot_persons=options.hot_persons)
        await _warm_up(workload, options, progress)
        if options.isolated_seconds > 0:
            result["isolated"] = await _isolated(workload, options, meter, progress, waits)
        if options.duration > 0:
            await _quiet(options, "the rush", progress, waits)
            result["scenario"] = await _scenario(workload, options, meter, progress)
    finally:
        await channels.close()
        if echo is not None:
            await baselines.stop_echo(echo[0])
    result["finished"] = datetime.now(UTC).isoformat()
    report.add_ratios(result)
    report.write(result, options.out, chart=options.chart)
    for line in report.text(result):
        progress.note(line)
    return result


async def _quiet(options: Options, what: str, progress: Progress, waits: dict) -> None:
    """Waits (polling every 5 s, at most `options.quiet_wait` s) while another benchmark or load run is on
    this machine: two measurements at once on two cores measure each other."""
    waited = await quiet(what, options.quiet_wait, poll=5.0, note=progress.note)
    if waited:
        waits[what] = waited


async def _populate(options: Options, channels: Channels, progress: Progress) -> dict:
    if not options.populate:
        return {"persons": population.rounded(options.persons), "loaded": False}
    if not options.database_url or options.keys is None:
        raise ValueError("loading a population needs the database URL and identity's keys "
                         "(or pass --no-populate against a platform already loaded)")
    progress.note(f"population: {population.rounded(options.persons)} persons "
                  f"(whatever the database lacks is added by COPY)")
    loaded = await population.load(options.database_url, options.keys, options.persons,
                                   progress=lambda text: progress.note(f"  {text}"))
    started = time.perf_counter()
    loaded.cases_recorded = await population.record_cases(
        channels.status(), options.persons, metadata=options.callers.health_authority(population.AUTHORITY))
    loaded.seconds["cases"] = time.perf_counter() - started
    summary = {**asdict(loaded), "loaded": True, "links": len(population.Population.of(options.persons).links),
               "venues": population.venue_count(population.rounded(options.persons)),
               "cases": len(population.case_indices(population.rounded(options.persons)))}
    progress.note(f"  added {loaded.persons_added} persons, {loaded.links_added} dependent links, "
                  f"{loaded.stays_added} stays, {loaded.venues_added} venues, {loaded.cases_recorded} new case facts "
                  f"in {sum(loaded.seconds.values()):.1f} s")
    return summary


async def _baselines(options: Options, people: population.Population, meter: CpuMeter,
                     echo: tuple[asyncio.subprocess.Process, str], progress: Progress) -> dict:
    seconds = options.baseline_seconds
    found: dict = {}
    progress.note(f"baselines: ES256 verify, asyncpg lookup, grpc.aio echo ({seconds:g} s each)")
    found["es256_verify"] = await asyncio.to_thread(baselines.es256_verify, seconds)
    if options.database_url:
        found["asyncpg_lookup"] = await baselines.asyncpg_lookup(options.database_url, people.person_ids, seconds)
    process, address = echo
    meter.add_group("echo", [process.pid])
    try:
        payload = status_pb2.IssueCodeRequest(person_id=people.person_ids[0]).SerializeToString()
        found["grpc_echo"] = await baselines.echo(address, options.channels, options.isolated_concurrency, seconds,
                                                  meter, payload)
    finally:
        meter.groups.pop("echo", None)
    return found


async def _warm_up(workload: Workload, options: Options, progress: Progress) -> None:
    """A few calls of every operation first: connections, prepared statements, caches, codes to scan."""
    if options.warmup_calls <= 0:
        return
    recorder = Recorder(time.perf_counter())
    if options.hot_persons:
        # Every caller's status read once, so that the measurements read stored statuses.
        pending = iter(workload.persons)

        async def first_reads() -> None:
            for person in pending:
                await workload.channels.status().GetStatus(status_pb2.GetStatusRequest(person_id=person),
                                                           timeout=options.deadline)

        await asyncio.gather(*(first_reads() for _ in range(options.isolated_concurrency)))
        progress.note(f"warm-up: the statuses of {len(workload.persons)} hot persons read once")
    for operation in options.mix:
        await asyncio.gather(*(workload.run(operation, recorder, time.perf_counter())
                               for _ in range(max(1, options.warmup_calls // (10 if operation ==
                                                                              "IngestCarrierStays" else 1)))))
    calls, errors = recorder.totals()
    progress.note(f"warm-up: {calls} calls, {errors} errors")


async def _measured(meter: CpuMeter, work) -> tuple[Recorder, dict]:
    before = meter.snapshot()
    recorder = Recorder(time.perf_counter())
    await work(recorder)
    return recorder, meter.spent(before, meter.snapshot())


async def _isolated(workload: Workload, options: Options, meter: CpuMeter, progress: Progress,
                    waits: dict) -> list[dict]:
    """Each operation alone, closed loop: what each path sustains, and at what cost."""
    found = []
    for operation in options.mix:
        await _quiet(options, operation, progress, waits)
        concurrency = min(options.isolated_concurrency, 4) if operation == "IngestCarrierStays" else \
            options.isolated_concurrency
        if operation == "VerifyCode":
            # Fresh codes to scan (they live a minute): a round of IssueCode first, not measured.
            scratch = Recorder(time.perf_counter())
            await asyncio.gather(*(workload.issue_code(scratch, time.perf_counter(), "")
                                   for _ in range(min(200, concurrency * 16))))
        recorder, cpu = await _measured(meter, lambda r, op=operation, c=concurrency: isolated(
            workload, op, r, c, options.isolated_seconds))
        for rpc in RPCS[operation]:
            summary = recorder.summary().get(rpc)
            if summary is None:
                continue
            found.append({"rpc": rpc, "operation": operation, "concurrency": concurrency,
                          "seconds": recorder.seconds(), **summary, "cpu_seconds": cpu})
        line = ", ".join(f"{r['rpc']} {r['per_second']:.0f}/s p99 {r['latency_ms'].get('p99', 0):.1f} ms"
                         for r in found if r["operation"] == operation)
        progress.note(f"alone, {concurrency} in flight, {recorder.seconds():.0f} s: {line}")
    return found


async def _scenario(workload: Workload, options: Options, meter: CpuMeter, progress: Progress) -> dict:
    duration = options.duration
    surge_seconds = duration / 10 if options.surge_seconds is None else options.surge_seconds
    timeline = phases(duration, options.declare_at * duration, options.surge_at * duration, surge_seconds,
                      options.surge_factor)
    mix = Mix(options.mix)
    max_in_flight = min(options.max_in_flight or workload.channels.max_in_flight, workload.channels.max_in_flight)
    how = (f"open loop, {options.rate:g} arrivals/s" if options.mode == "open"
           else f"closed loop, {options.concurrency} callers")
    progress.note(f"morning rush: {how} for {duration:g} s; risk declaration at {options.declare_at * duration:g} s; "
                  f"surge ×{options.surge_factor:g} from {options.surge_at * duration:g} s for {surge_seconds:g} s")
    declaration: dict = {}

    async def declare(recorder: Recorder) -> None:
        await asyncio.sleep(max(0.0, recorder.start + options.declare_at * duration - time.perf_counter()))
        declaration.update(await workload.declare_risk_area(recorder, "declared", options.risk_area))
        progress.note(f"declared {declaration.get('area_code')} HIGH "
                      f"({'raised' if declaration.get('raised') else 'not raised: it already was'})")
        await workload.follow_recompute(declaration, recorder, limit=24 * 3600)

    async def drive(recorder: Recorder) -> None:
        display = asyncio.create_task(progress.follow(recorder, "rush", duration))
        declaring = asyncio.create_task(declare(recorder)) if options.declare_at * duration < duration else None
        try:
            if options.mode == "open":
                await open_loop(workload, mix, recorder, options.rate, duration, timeline, max_in_flight,
                                seed=options.seed + 1)
            else:
                await closed_loop(workload, mix, recorder, options.concurrency, duration, timeline,
                                  seed=options.seed + 2)
        finally:
            display.cancel()
            await asyncio.gather(display, return_exceptions=True)
            if declaring is not None:
                # A last look at the recomputation, however far it got.
                declaring.cancel()
                await asyncio.gather(declaring, return_exceptions=True)

    recorder, cpu = await _measured(meter, drive)
    if declaration.get("declaration_id") and "recompute_done_at_s" not in declaration:
        await workload.follow_recompute(declaration, recorder, limit=0)
    return {"mode": options.mode, "rate": options.rate if options.mode == "open" else None,
            "concurrency": options.concurrency if options.mode == "closed" else None,
            "max_in_flight": max_in_flight if options.mode == "open" else None,
            "duration": duration, "seconds": recorder.seconds(),
            "phases": [{"name": p.name, "start_s": p.start, "factor": p.factor} for p in timeline],
            "rpcs": recorder.summary(), "per_phase": recorder.phase_summary(), "declaration": declaration,
            "cpu_seconds": cpu, "timeline": recorder.timeline(), "codes_in_pool": len(workload.codes)}


def default_out(environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ if environ is None else environ)
    return Path(environ.get("HEALTHCODE_DATA_DIR", ".data")) / "load" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

"""A closed loop of calls, measured: rate, latency percentiles, errors and where the CPU went.

`measure` keeps `concurrency` calls in flight for a time (or a number of calls) after a warm-up;
`measure_each` makes one call per item. Both return a `Measured`, which the tables of table.py print
next to a baseline measured the same way in the same run.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from tools.load.cpu import CpuMeter, other_measurements
from tools.load.recorder import Recorder
from tools.load.table import Column

T = TypeVar("T")
Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Measured:
    """One closed loop: calls, wall seconds, latency (ms), gRPC errors by code, CPU seconds by group."""

    name: str
    calls: int
    seconds: float
    concurrency: int
    latency_ms: dict[str, float]
    errors: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    kernel: dict[str, float] = field(default_factory=dict)
    server: str = ""          # the group whose CPU per call is the "server" figure

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return self.latency_ms.get("p50", 0.0)

    @property
    def p99_ms(self) -> float:
        return self.latency_ms.get("p99", 0.0)

    def us_per_call(self, group: str) -> float:
        """CPU µs per call of a group (a process name, `postgres`, `client`)."""
        return self.cpu.get(group, 0.0) / self.calls * 1e6 if self.calls else 0.0

    def kernel_share(self, group: str) -> float:
        return self.kernel.get(group, 0.0) / self.cpu[group] if self.cpu.get(group) else 0.0

    def cores(self, group: str) -> float:
        """Cores a group kept busy (`others`: everything outside this measurement)."""
        return self.cpu.get(group, 0.0) / self.seconds if self.seconds else 0.0

    def versus(self, baseline: Measured) -> float:
        return self.per_second / baseline.per_second if baseline.per_second else 0.0


async def quiet(what: str, limit: float = 900.0, *, poll: float = 10.0,
                note: Callable[[str], None] = lambda text: print(text, flush=True)) -> float:
    """Before measuring `what`: waits (polling, at most `limit` s) while another benchmark or `healthcode
    load` runs on this machine (two measurements at once measure each other); the seconds waited."""
    waited = 0.0
    while limit > 0 and (others := other_measurements()) and waited < limit:
        if not waited:
            note(f"   (waiting before {what}: another benchmark or load run is on this machine, pids {others})")
        await asyncio.sleep(poll)
        waited += poll
    if waited and other_measurements():
        note(f"   (measuring {what} although another benchmark still runs after {waited:.0f} s)")
    return waited


def round_robin(calls: Sequence[Call]) -> Call:
    """One call that takes the given ones in turn (several channels, as several clients would open)."""
    turn = itertools.cycle(calls)
    return lambda: next(turn)()


async def _timed(call: Call, recorder: Recorder) -> None:
    started = time.perf_counter()
    try:
        await call()
        code = None
    except grpc.aio.AioRpcError as error:
        code = error.code().name
    now = time.perf_counter()
    recorder.record("call", now - started, code, now)


async def _loop(name: str, workers: Iterable[Awaitable[None]], recorder: Recorder, concurrency: int,
                meter: CpuMeter | None, server: str) -> Measured:
    before = meter.snapshot() if meter else None
    recorder.start = recorder.end = time.perf_counter()
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - recorder.start
    cpu = kernel = {}
    if meter:
        after = meter.snapshot()
        cpu, kernel = meter.spent(before, after), meter.kernel(before, after)
    summary = recorder.summary().get("call", {"calls": 0, "latency_ms": {}, "errors": {}})
    return Measured(name, summary["calls"], elapsed, concurrency, summary["latency_ms"], summary["errors"], cpu,
                    kernel, server)


async def measure(name: str, call: Call, *, concurrency: int, seconds: float | None = None,
                  calls: int | None = None, meter: CpuMeter | None = None, server: str = "",
                  warm_up: int = 200) -> Measured:
    """`concurrency` workers calling for `seconds` (or until `calls` are made) after `warm_up` calls
    (connections, prepared statements, caches); CPU counted over the measured calls only."""
    if (seconds is None) == (calls is None):
        raise ValueError("measure for a time or for a number of calls")
    for _ in range(warm_up):
        await call()
    recorder = Recorder(time.perf_counter())
    budget = iter(range(calls)) if calls is not None else None
    deadline = time.perf_counter() + seconds if seconds is not None else 0.0

    async def worker() -> None:
        while (next(budget, None) is not None) if budget is not None else time.perf_counter() < deadline:
            await _timed(call, recorder)

    return await _loop(name, (worker() for _ in range(concurrency)), recorder, concurrency, meter, server)


async def measure_each(name: str, call: Callable[[T], Awaitable[object]], items: Sequence[T], *, concurrency: int,
                       seconds: float | None = None, meter: CpuMeter | None = None, server: str = "") -> Measured:
    """One call per item, `concurrency` in flight (for at most `seconds`): first reads, with no warm-up."""
    pending = iter(items)
    recorder = Recorder(time.perf_counter())
    deadline = time.perf_counter() + seconds if seconds is not None else float("inf")

    async def worker() -> None:
        for item in pending:
            if time.perf_counter() >= deadline:
                return
            await _timed(lambda: call(item), recorder)

    return await _loop(name, (worker() for _ in range(concurrency)), recorder, concurrency, meter, server)


async def concurrently(items: Sequence[T], call: Callable[[T], Awaitable[object]], concurrency: int) -> list:
    """`call` once per item, `concurrency` in flight; the results in item order (setup, not measured)."""
    results: list = [None] * len(items)
    pending = iter(range(len(items)))

    async def worker() -> None:
        for index in pending:
            results[index] = await call(items[index])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of a synchronous call on this core, in rounds of 100."""
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            call()
        count += 100
    return count / (time.perf_counter() - started)



def rate_columns(baseline: Measured, versus: str = "× echo") -> list[Column[Measured]]:
    """Per second, p50 and p99 (ms), and the rate over the baseline's."""
    return [Column("per s", lambda m: f"{m.per_second:.0f}"), Column("p50 ms", lambda m: f"{m.p50_ms:.2f}"),
            Column("p99 ms", lambda m: f"{m.p99_ms:.2f}"), Column(versus, lambda m: f"{m.versus(baseline):.2f}")]


def cpu_columns(*groups: tuple[str, str]) -> list[Column[Measured]]:
    """CPU µs per call of each (title, group): `server` is each row's own server; then others' cores."""
    return [*(Column(title, lambda m, g=group: f"{m.us_per_call(m.server if g == 'server' else g):.0f}")
              for title, group in groups), Column("others", lambda m: f"{m.cores('others'):.2f}")]

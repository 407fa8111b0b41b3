"""What the workload measured: per RPC an HDR histogram of latencies, calls, errors by gRPC code and
outcomes (a check's decision), overall and per phase, and a time series per second."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

# Microseconds, from 1 µs to 10 minutes, three significant digits (0.1 % resolution).
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 600_000_000, 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


@dataclass
class RpcStats:
    histogram: HdrHistogram = field(default_factory=lambda: HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS))
    calls: int = 0
    errors: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    # Stays carried by IngestCarrierStays calls (rows per second is that path's figure).
    rows: int = 0

    def add(self, latency_s: float, code: str | None, outcome: str | None, rows: int) -> None:
        self.histogram.record_value(min(_HIGHEST_US, max(_LOWEST_US, round(latency_s * 1e6))))
        self.calls += 1
        if code is not None:
            self.errors[code] += 1
        if outcome is not None:
            self.outcomes[outcome] += 1
        self.rows += rows

    def summary(self, seconds: float) -> dict:
        """Calls, rate, latency percentiles (ms; of every call, failed ones too), errors and outcomes."""
        h = self.histogram
        latency = ({f"p{p:g}": h.get_value_at_percentile(p) / 1000 for p in PERCENTILES}
                   | {"mean": h.get_mean_value() / 1000, "max": h.get_max_value() / 1000}) if self.calls else {}
        summary = {"calls": self.calls, "per_second": self.calls / seconds if seconds else 0.0,
                   "ok": self.calls - sum(self.errors.values()), "latency_ms": latency,
                   "errors": dict(self.errors.most_common())}
        if self.outcomes:
            summary["outcomes"] = dict(self.outcomes.most_common())
        if self.rows:
            summary["rows"] = self.rows
            summary["rows_per_second"] = self.rows / seconds if seconds else 0.0
        return summary


class Recorder:
    """Collects one segment of load: overall and per-phase statistics per RPC, and each second's."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.end = start
        self.rpcs: dict[str, RpcStats] = defaultdict(RpcStats)
        self.phases: dict[str, dict[str, RpcStats]] = defaultdict(lambda: defaultdict(RpcStats))
        self.phase_spans: dict[str, list[float]] = {}
        # second → rpc → latencies (s) and errors
        self._seconds: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self._second_errors: dict[int, Counter] = defaultdict(Counter)
        self._second_marks: dict[int, dict] = {}
        self.in_flight = 0

    def record(self, rpc: str, latency_s: float, code: str | None, at: float, *, phase: str = "",
               outcome: str | None = None, rows: int = 0) -> None:
        self.rpcs[rpc].add(latency_s, code, outcome, rows)
        if phase:
            self.phases[phase][rpc].add(latency_s, code, outcome, rows)
        second = int(at - self.start)
        self._seconds[second][rpc].append(latency_s)
        if code is not None:
            self._second_errors[second][rpc] += 1
        self.end = max(self.end, at)

    def mark(self, at: float, **values) -> None:
        """Per-second context: the phase, the target rate, calls in flight."""
        self._second_marks.setdefault(int(at - self.start), {}).update(values)

    def enter_phase(self, phase: str, at: float) -> None:
        for span in self.phase_spans.values():
            if len(span) == 1:
                span.append(at - self.start)
        self.phase_spans[phase] = [at - self.start]

    def close_phases(self, at: float) -> None:
        for span in self.phase_spans.values():
            if len(span) == 1:
                span.append(at - self.start)

    def last_second(self, now: float) -> dict:
        """The last whole second: calls, errors, p99 (ms), for the live display."""
        second = int(now - self.start) - 1
        latencies = [v for values in self._seconds.get(second, {}).values() for v in values]
        return {"calls": len(latencies), "errors": sum(self._second_errors.get(second, Counter()).values()),
                "p99_ms": _quantile(latencies, 0.99) * 1000 if latencies else 0.0}

    def current_mark(self, now: float) -> dict:
        second = int(now - self.start)
        return self._second_marks.get(second) or self._second_marks.get(second - 1) or {}

    def totals(self) -> tuple[int, int]:
        return (sum(s.calls for s in self.rpcs.values()), sum(sum(s.errors.values()) for s in self.rpcs.values()))

    def seconds(self) -> float:
        return max(1e-9, self.end - self.start)

    def summary(self) -> dict:
        return {rpc: stats.summary(self.seconds()) for rpc, stats in sorted(self.rpcs.items())}

    def phase_summary(self) -> dict:
        return {phase: {"from_s": span[0], "to_s": span[1] if len(span) > 1 else self.seconds(),
                        "rpcs": {rpc: stats.summary((span[1] if len(span) > 1 else self.seconds()) - span[0])
                                 for rpc, stats in sorted(self.phases[phase].items())}}
                for phase, span in self.phase_spans.items()}

    def timeline(self) -> list[dict]:
        """One entry per second: each RPC's completed calls, errors, p50 and p99 (ms), and the marks."""
        last = max([*self._seconds, *self._second_marks], default=-1)
        series = []
        for second in range(last + 1):
            rpcs = {}
            for rpc, values in sorted(self._seconds.get(second, {}).items()):
                rpcs[rpc] = {"calls": len(values), "errors": self._second_errors.get(second, Counter())[rpc],
                             "p50_ms": _quantile(values, 0.5) * 1000, "p99_ms": _quantile(values, 0.99) * 1000}
            every = [v for values in self._seconds.get(second, {}).values() for v in values]
            rpcs["all"] = {"calls": len(every), "errors": sum(self._second_errors.get(second, Counter()).values()),
                           "p50_ms": _quantile(every, 0.5) * 1000, "p99_ms": _quantile(every, 0.99) * 1000}
            series.append({"second": second, **self._second_marks.get(second, {}), "rpcs": rpcs})
        return series


def _quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]

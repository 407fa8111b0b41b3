"""What an operator alerts on in status: statuses changed per cause, recomputation backlog and lag, and
how old the audit chain's head is (a head that stops moving while changes are expected is a stuck
writer). Binding failures are counted where they are found (board.BINDING_FAILURES)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge

CHANGES = Counter("healthcode_status_changes", "Status changes written to the audit log, by cause and new colour.",
                  ("cause", "colour"))
AUDIT_HEAD = Gauge("healthcode_status_audit_head_timestamp_seconds",
                   "Change time (epoch seconds) of the newest audit entry this process appended.")
RECOMPUTE_RUNNING = Gauge("healthcode_status_recompute_runs_running",
                          "Recomputation runs after risk declarations not yet finished (the backlog).")
RECOMPUTE_LAG = Gauge("healthcode_status_recompute_lag_seconds",
                      "Age of the oldest unfinished recomputation run (0 when none): how far colours trail "
                      "a risk declaration.")
RECOMPUTE_PERSONS = Counter("healthcode_status_recompute_persons", "Persons decided again by recomputation runs.")


def changed(entries: Iterable[tuple[str, str]], at: datetime) -> None:
    """(cause, colour) names of the entries one decision appended, at its change time."""
    any_entry = False
    for cause, colour in entries:
        CHANGES.labels(cause, colour).inc()
        any_entry = True
    if any_entry:
        AUDIT_HEAD.set(at.timestamp())


def backlog(start_times: Iterable[datetime], now: datetime) -> None:
    starts = list(start_times)
    RECOMPUTE_RUNNING.set(len(starts))
    RECOMPUTE_LAG.set(max(0.0, (now - min(starts)).total_seconds()) if starts else 0.0)

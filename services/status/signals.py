"""What an operator alerts on in status: statuses changed per cause, recomputation backlog and lag, and
how old the audit chains' newest entry is (a head that stops moving while changes are expected is a stuck
writer), and what the background check of the chain finds (chain_check.py). Binding failures are
counted where they are found (deciding.BINDING_FAILURES)."""

from __future__ import annotations

import collections
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
CHAIN_CHECK_FAILURES = Counter(
    "healthcode_audit_chain_verification_failures",
    "Problems the background check found in the audit chain (an edited, inserted or missing entry, or a head "
    "that does not match): check new for entries verified the first time, recheck for older ones verified again.",
    ("check",))
CHAIN_VERIFIED_SEQ = Gauge("healthcode_audit_chain_verified_seq",
                           "The seq up to which the background check has verified every entry of the audit chains "
                           "it last checked.")
CHAIN_HEAD_SEQ = Gauge("healthcode_audit_chain_head_seq",
                       "The newest of the chains' heads as the background check last read them (the head minus "
                       "the verified seq is how far checking trails).")
CHAIN_CHECKED = Gauge("healthcode_audit_chain_checked_timestamp_seconds",
                      "When this process last checked the audit chain (epoch seconds); the age says whether "
                      "any replica still checks.")
RECOMPUTE_PERSONS = Counter("healthcode_status_recompute_persons", "Persons decided again by recomputation runs.")


def changed(entries: Iterable[tuple[str, str]], at: datetime) -> None:
    """(cause, colour) names of the entries one decision appended, at its change time."""
    counted = collections.Counter(entries)  # a batch of 1,000 entries: a few label lookups, not 1,000
    for (cause, colour), count in counted.items():
        CHANGES.labels(cause, colour).inc(count)
    if counted:
        AUDIT_HEAD.set(at.timestamp())


def backlog(start_times: Iterable[datetime], now: datetime) -> None:
    starts = list(start_times)
    RECOMPUTE_RUNNING.set(len(starts))
    RECOMPUTE_LAG.set(max(0.0, (now - min(starts)).total_seconds()) if starts else 0.0)


def chain_checked(new_problems: int, recheck_problems: int, verified_seq: int, head_seq: int, at: datetime) -> None:
    CHAIN_CHECK_FAILURES.labels("new").inc(new_problems)
    CHAIN_CHECK_FAILURES.labels("recheck").inc(recheck_problems)
    CHAIN_VERIFIED_SEQ.set(verified_seq)
    CHAIN_HEAD_SEQ.set(head_seq)
    CHAIN_CHECKED.set(at.timestamp())

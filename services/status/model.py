"""The colour decision: a pure, deterministic function of (evidence, rule set, now), without I/O.

What each finding means is fixed here; how it shows is the province's rule set:

- CONFIRMED, ASYMPTOMATIC, POSITIVE_TEST: from the diagnosis or sample time until the
  first discharge or quarantine-release certificate after it; SUSPECTED also ends on a
  later negative test.
- CLOSE_CONTACT, SECONDARY_CONTACT: from the diagnosis time until a later release
  certificate, at most the rule's `days`.
- CENTRAL_QUARANTINE, HOME_QUARANTINE, INBOUND_QUARANTINE: the order's period, ended
  early by a release certificate within it.
- HIGH_RISK_STAY, MEDIUM_RISK_STAY: from arrival until the rule's window after departure.
- FEVER_CHECK_IN, FEVER_ON_SITE: from an abnormal reading until the next normal check-in.
- CLOSED_AREA_RESIDENCE: the residence's period (a lift is its end time), ended early by a
  release certificate.
- CASE_REPORTED_STAY: a stay in a county with reported cases whose level was not yet raised,
  from arrival until the rule's window after departure, like a risky stay.
- FEVER_MEDICINE_PURCHASE, FEVER_CLINIC_VISIT: from the purchase or visit for the rule's `days`.
- HOTEL_STAY: from a hotel registration until the rule's window after check-out.
- PEER_PROVINCE_RED, PEER_PROVINCE_YELLOW: a red or yellow list record another province sent
  (外省推送红码), from its receipt until it expires or the next record of that province about the
  person (a GREEN one delists; a new colour replaces it).
- A rule's `release` replaces how a finding ends: once every condition holds (days served,
  a streak of daily check-ins, negative samples on given isolation days), never before the
  natural end of an order or a stay; a clearing certificate ends it too when allowed.
- A rule's waivers (`unless`) hide a finding while a negative test is recent enough, or from a
  pop-up acknowledgement (the person pressed "continue") whose itinerary query, and every stay
  learned of since, show no medium- or high-risk stay in the days before it (and, when the rule
  names provinces, no stay outside them).
- A rule's `in_provinces` counts a finding that names an area only for areas in those provinces.
- A finding is held `hold_days` after it ends; findings marked `recovery` are then
  followed by RECOVERING until the rule's days or consecutive daily check-ins.
- With no finding and no recovery, a rule set with `green_lapse` shows CHECK_IN_OVERDUE
  once the last check-in (or the end of the last finding) is older than its hours.
- An approved appeal dismisses named findings; an approved manual override forces a
  colour for its period. Both arrive as facts, so the decision stays a function of facts.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services import areas
from services.colours import Colour
from services.status.rules import FINDINGS, CheckInStreak, DisplayColour, FindingRule, Release, RuleSet, Waiver

FEVER_CELSIUS = Decimal("37.3")
# Every reason code a status may carry: the findings, then what the engine adds on its own. Pages
# explain each one in words (the gateway's message catalogue has an entry for every code here).
REASON_CODES = (*FINDINGS, "RECOVERING", "CHECK_IN_OVERDUE", "MANUAL_OVERRIDE")


class FactKind(enum.IntEnum):
    """Numbered as in healthcode.status.v1.FactKind."""

    DIAGNOSIS = 1
    QUARANTINE_ORDER = 2
    NUCLEIC_ACID_TEST = 3
    INBOUND_QUARANTINE = 4
    DISCHARGE = 5
    QUARANTINE_RELEASE = 6
    FEVER_ON_SITE = 7
    APPEAL_GRANTED = 8
    MANUAL_OVERRIDE = 9
    CLOSED_AREA_RESIDENCE = 10
    FEVER_MEDICINE_PURCHASE = 11
    FEVER_CLINIC_VISIT = 12
    HOTEL_REGISTRATION = 13
    CASE_REPORTED_STAY = 14
    POPUP_ACKNOWLEDGEMENT = 21
    PEER_PROVINCE_LISTING = 40


class Diagnosis(enum.IntEnum):
    CONFIRMED = 1
    SUSPECTED = 2
    ASYMPTOMATIC = 3
    CLOSE_CONTACT = 4
    SECONDARY_CONTACT = 5


class QuarantinePlace(enum.IntEnum):
    CENTRAL = 1
    HOME = 2


class TestResult(enum.IntEnum):
    POSITIVE = 1
    NEGATIVE = 2


@dataclass(frozen=True)
class Fact:
    """One authority fact (or an appeal / override decision) as the engine reads it.

    Which optional fields matter depends on `kind`; `services.status.facts` checks them.
    """

    fact_id: str
    kind: FactKind
    effective_time: datetime
    end_time: datetime | None = None
    diagnosis: Diagnosis | None = None
    place: QuarantinePlace | None = None
    result: TestResult | None = None
    temperature: Decimal | None = None
    dismissed: tuple[str, ...] = ()       # APPEAL_GRANTED: finding keys found wrong
    colour: Colour | None = None          # MANUAL_OVERRIDE: the colour forced
    reason_code: str = ""                 # MANUAL_OVERRIDE: the officials' reason code
    area_code: str = ""                   # CASE_REPORTED_STAY (required), CLOSED_AREA_RESIDENCE, HOTEL_REGISTRATION
    # POPUP_ACKNOWLEDGEMENT, what the itinerary query made with it found in the window: the latest
    # departure of a medium- or high-risk stay (None: none), and each province stayed in with its
    # latest departure (nothing finer: the query's answer is kept only as far as rules ask).
    risky_departure: datetime | None = None
    stayed_provinces: tuple[tuple[str, datetime], ...] = ()
    # Another province's word (PEER_PROVINCE_LISTING, and a FEVER_ON_SITE it reported): the province,
    # and where it said it ("<batch id>/<record index>" or the report id). A listing's `colour` is the
    # record's (GREEN: a delisting), `reason_code` its reason, `end_time` its expiry.
    origin_province: str = ""
    provenance: str = ""
    list_sequence: int = 0                # the origin's own order of its records about the person (0: none)


@dataclass(frozen=True)
class CheckIn:
    check_in_id: str
    check_in_time: datetime
    abnormal: bool  # 37.3 ℃ or more, or a listed symptom


@dataclass(frozen=True)
class Exposure:
    """A stay in an area at MEDIUM or HIGH risk while the person was there (from itinerary)."""

    area_code: str
    arrival_time: datetime
    departure_time: datetime
    high: bool


@dataclass(frozen=True)
class ListedStay:
    """A stay of the person's itinerary as the 14-day query lists it, whatever its risk."""

    area_code: str
    departure_time: datetime
    risky: bool  # MEDIUM or HIGH was in force while the person was there


def popup_acknowledgement(fact_id: str, at: datetime, stays: Sequence[ListedStay]) -> Fact:
    """The press of the pop-up's "continue" at `at`, with the answer of the itinerary query made then."""
    provinces: dict[str, datetime] = {}
    for stay in stays:
        code = areas.province_code_of(stay.area_code)
        provinces[code] = max(provinces.get(code, stay.departure_time), stay.departure_time)
    return Fact(fact_id, FactKind.POPUP_ACKNOWLEDGEMENT, at,
                risky_departure=max((s.departure_time for s in stays if s.risky), default=None),
                stayed_provinces=tuple(sorted(provinces.items())))


@dataclass(frozen=True)
class Evidence:
    enrolled_time: datetime
    facts: Sequence[Fact] = ()
    check_ins: Sequence[CheckIn] = ()
    exposures: Sequence[Exposure] = ()


@dataclass(frozen=True)
class ReleaseProgress:
    """How far the person's own part of a release has come ("14 daily check-ins, 9 to go"): local
    days with a check-in that count, of those needed; isolation days with a negative sample, of
    those that need one."""

    check_ins_required: int = 0
    check_ins_done: int = 0
    consecutive: bool = False
    tests_required: int = 0
    tests_done: int = 0


@dataclass(frozen=True)
class Reason:
    """Why a colour is what it is, in words a person can read back: a stable code, the
    finding it came from (an appeal names it), its period, and what the person has done
    towards its release when the rule set releases it on their check-ins or tests."""

    code: str
    key: str
    since: datetime
    until: datetime | None
    detail: str = ""
    progress: ReleaseProgress | None = None


@dataclass(frozen=True)
class Decision:
    colour: Colour
    display: str
    reasons: tuple[Reason, ...]
    valid_until: datetime
    next_change_time: datetime | None  # when time alone changes the decision; None: only new evidence
    rule_province: str
    rule_version: int
    # The sample time of the latest nucleic-acid result when it is negative (what a code carries:
    # "negative, sampled then"); None with no result, or when the latest one is positive.
    negative_test_time: datetime | None = None

    def same_outcome(self, other: Decision | None) -> bool:
        """Equal colours, reasons and latest negative test: a new status version is due only when this is False."""
        return other is not None and (self.colour, self.display, self.reasons, self.negative_test_time) == (
            other.colour, other.display, other.reasons, other.negative_test_time)


@dataclass(frozen=True)
class _Finding:
    code: str
    key: str
    since: datetime
    until: datetime | None
    display: DisplayColour
    recovery: bool = False
    detail: str = ""
    progress: ReleaseProgress | None = None
    # When time alone changes the progress shown (a consecutive count broken by a missed day).
    progress_change: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.since <= now and (self.until is None or now < self.until)

    def reason(self) -> Reason:
        return Reason(self.code, self.key, self.since, self.until, self.detail, self.progress)


_CLEARED_BY = {
    "CONFIRMED": {FactKind.DISCHARGE, FactKind.QUARANTINE_RELEASE},
    "ASYMPTOMATIC": {FactKind.DISCHARGE, FactKind.QUARANTINE_RELEASE},
    "POSITIVE_TEST": {FactKind.DISCHARGE, FactKind.QUARANTINE_RELEASE},
    "SUSPECTED": {FactKind.DISCHARGE, FactKind.QUARANTINE_RELEASE, FactKind.NUCLEIC_ACID_TEST},
    "CLOSE_CONTACT": {FactKind.QUARANTINE_RELEASE},
    "SECONDARY_CONTACT": {FactKind.QUARANTINE_RELEASE},
    "CENTRAL_QUARANTINE": {FactKind.QUARANTINE_RELEASE},
    "HOME_QUARANTINE": {FactKind.QUARANTINE_RELEASE},
    "INBOUND_QUARANTINE": {FactKind.QUARANTINE_RELEASE},
    "CLOSED_AREA_RESIDENCE": {FactKind.QUARANTINE_RELEASE},
}


@dataclass
class _Collector:
    rules: RuleSet
    evidence: Evidence
    now: datetime
    findings: list[_Finding] = field(default_factory=list)

    def add(self, code: str, key: str, since: datetime, natural_end: datetime | None, detail: str = "",
            period_end: datetime | None = None, ongoing: bool = False) -> None:
        """`natural_end`: when the finding ends by itself; `period_end`: when the fact's own period
        ends (a check-out), for waivers that apply during or after it; `ongoing`: the finding has
        not ended yet (a fever with no normal reading since), so no release can end it."""
        rule = self.rules.findings.get(code)
        if rule is None or (rule.provinces and areas.province_code_of(detail) not in rule.provinces):
            return
        release = rule.release
        end = natural_end
        if rule.days is not None:
            end = since + rule.days if end is None else min(end, since + rule.days)
        cleared = None
        if code in _CLEARED_BY and (release is None or release.certificate):
            cleared = self._first_clearing(code, since, natural_end if release is None else None)
        if release is not None:
            met = _release_met(release, since, self.evidence, self.rules, self.now)
            end = None if met is None or ongoing else (met if end is None else max(end, met))
        if cleared is not None:
            end = cleared if end is None else min(end, cleared)
        until = None if end is None else end + rule.hold
        progress, progress_change = (_release_progress(release, since, self.evidence, self.rules, self.now)
                                     if release is not None else (None, None))
        for start, stop in _unwaived(rule, since, until, period_end, self.evidence, self.now):
            self.findings.append(_Finding(code, key, start, stop, rule.display, rule.recovery, detail,
                                          progress, progress_change))

    def _first_clearing(self, code: str, since: datetime, before: datetime | None) -> datetime | None:
        kinds = _CLEARED_BY[code]
        times = [fact.effective_time for fact in self.evidence.facts
                 if fact.kind in kinds and fact.effective_time > since
                 and (before is None or fact.effective_time < before)
                 and (fact.kind is not FactKind.NUCLEIC_ACID_TEST or fact.result is TestResult.NEGATIVE)]
        return min(times, default=None)


def _negative_samples(evidence: Evidence, now: datetime) -> list[datetime]:
    return sorted(f.effective_time for f in evidence.facts
                  if f.kind is FactKind.NUCLEIC_ACID_TEST and f.result is TestResult.NEGATIVE
                  and f.effective_time <= now)


def _release_met(release: Release, since: datetime, evidence: Evidence, rules: RuleSet, now: datetime
                 ) -> datetime | None:
    """When every condition of the release holds (a future time for days still to serve); None
    while a check-in or a test it needs is missing."""
    times = [since + release.after] if release.after is not None else []
    first_day = _local_day(since, rules)
    if release.check_ins is not None:
        done = _streak_done(evidence.check_ins, first_day, release.check_ins, rules, now)
        if done is None:
            return None
        times.append(done)
    samples = _negative_samples(evidence, now)
    for isolation_day in release.negative_tests_on_days:
        wanted = first_day + timedelta(days=isolation_day - 1)
        on_day = [moment for moment in samples if _local_day(moment, rules) == wanted]
        if not on_day:
            return None
        times.append(on_day[0])
    return max(times, default=since)


def _release_progress(release: Release, since: datetime, evidence: Evidence, rules: RuleSet, now: datetime
                      ) -> tuple[ReleaseProgress | None, datetime | None]:
    """The person's check-ins and tests towards `release` so far, and when a missed day will
    break the count; None when the release needs neither."""
    if release.check_ins is None and not release.negative_tests_on_days:
        return None, None
    first_day = _local_day(since, rules)
    done, broken_at = 0, None
    if release.check_ins is not None:
        streak = release.check_ins
        done, broken_at = _streak_count(evidence.check_ins, first_day, streak, rules, now)
    samples = {_local_day(moment, rules) for moment in _negative_samples(evidence, now)}
    tests_done = sum(first_day + timedelta(days=d - 1) in samples for d in release.negative_tests_on_days)
    streak_days = release.check_ins.days if release.check_ins is not None else 0
    consecutive = release.check_ins is not None and release.check_ins.consecutive
    return ReleaseProgress(streak_days, min(done, streak_days), consecutive,
                           len(release.negative_tests_on_days), tests_done), broken_at


def _local_midnight(day: date, rules: RuleSet) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) - rules.utc_offset


def _streak_count(check_ins: Sequence[CheckIn], first_day: date, streak: CheckInStreak, rules: RuleSet,
                  now: datetime) -> tuple[int, datetime | None]:
    """The days counted so far towards `streak` (as `_streak_done` counts them), and, for a
    consecutive run, when it breaks unless the person checks in (the end of the day after the
    last counted one); a run already broken by a missed day counts 0."""
    start_day = first_day + timedelta(days=streak.from_day - 1)
    by_day = _check_in_days(check_ins, start_day, rules, now)
    run, previous = 0, None
    for local in sorted(by_day):
        if streak.normal and by_day[local][1]:
            run, previous = (0, None) if streak.consecutive else (run, previous)
            continue
        if streak.consecutive and not (previous is not None and local == previous + timedelta(days=1)):
            run = 0
        run, previous = run + 1, local
        if run >= streak.days:
            return streak.days, None
    if not streak.consecutive or previous is None:
        return run, None
    breaks = _local_midnight(previous + timedelta(days=2), rules)
    return (0, None) if breaks <= now else (run, breaks)


def _check_in_days(check_ins: Sequence[CheckIn], start_day: date, rules: RuleSet, now: datetime
                   ) -> dict[date, tuple[datetime, bool]]:
    """Local day → (its first check-in, whether any check-in that day was abnormal), from `start_day`."""
    by_day: dict[date, tuple[datetime, bool]] = {}
    for check_in in sorted(check_ins, key=lambda c: (c.check_in_time, c.check_in_id)):
        if check_in.check_in_time > now:
            continue
        local = _local_day(check_in.check_in_time, rules)
        if local < start_day:
            continue
        first, abnormal = by_day.get(local, (check_in.check_in_time, False))
        by_day[local] = (first, abnormal or check_in.abnormal)
    return by_day


def _streak_done(check_ins: Sequence[CheckIn], first_day: date, streak: CheckInStreak, rules: RuleSet,
                 now: datetime) -> datetime | None:
    """When check-ins on `streak.days` local days (from isolation day `from_day`) were complete."""
    start_day = first_day + timedelta(days=streak.from_day - 1)
    by_day = _check_in_days(check_ins, start_day, rules, now)
    run, previous = 0, None
    for local in sorted(by_day):
        first, abnormal = by_day[local]
        if streak.normal and abnormal:
            run, previous = (0, None) if streak.consecutive else (run, previous)
            continue
        if streak.consecutive and not (previous is not None and local == previous + timedelta(days=1)):
            run = 0
        run, previous = run + 1, local
        if run == streak.days:
            return first
    return None


def _unwaived(rule: FindingRule, since: datetime, until: datetime | None, period_end: datetime | None,
              evidence: Evidence, now: datetime) -> list[tuple[datetime, datetime | None]]:
    """The parts of [since, until) no waiver covers, in order."""
    if not rule.waivers:
        return [(since, until)]
    samples = _negative_samples(evidence, now)
    waived: list[tuple[datetime, datetime | None]] = []
    for waiver in rule.waivers:
        if waiver.clear_days is not None:
            waived += _acknowledged(waiver, since, until, evidence, now)
            continue
        if waiver.applies == "period":
            low, high = since, period_end if period_end is not None else until
        elif waiver.applies == "after_period":
            if period_end is None:
                continue
            low, high = period_end, until
        else:
            low, high = since, until
        if waiver.measured_from == "start":
            qualifying = [m for m in samples if m >= since - waiver.within and (high is None or m < high)]
            spans = [(max(qualifying[0], low), high)] if qualifying else []
        else:
            spans = [(max(m, low), m + waiver.within if high is None else min(m + waiver.within, high))
                     for m in samples]
        waived += [(a, b) for a, b in spans if b is None or a < b]
    parts: list[tuple[datetime, datetime | None]] = []
    cursor: datetime | None = since
    for a, b in sorted(waived, key=lambda span: span[0]):
        if cursor is None:
            break
        if a > cursor:
            parts.append((cursor, a if until is None else min(a, until)))
        if b is None:
            cursor = None
        elif b > cursor:
            cursor = b
    if cursor is not None and (until is None or cursor < until):
        parts.append((cursor, until))
    return [(a, b) for a, b in parts if b is None or a < b]


def _acknowledged(waiver: Waiver, since: datetime, until: datetime | None, evidence: Evidence,
                  now: datetime) -> list[tuple[datetime, datetime | None]]:
    """From the first clean pop-up acknowledgement made while the finding holds, to its end: no risky
    stay in the `clear_days` before it and, when the waiver names provinces, no stay outside them."""
    for ack in sorted((f for f in evidence.facts if f.kind is FactKind.POPUP_ACKNOWLEDGEMENT
                       and since <= f.effective_time <= now and (until is None or f.effective_time < until)),
                      key=lambda f: (f.effective_time, f.fact_id)):
        checked_from = ack.effective_time - (waiver.clear_days or timedelta())
        # What the query at the press found, and any risky stay itinerary reported since.
        if ack.risky_departure is not None and ack.risky_departure > checked_from:
            continue
        if waiver.provinces and any(departure > checked_from and code not in waiver.provinces
                                    for code, departure in ack.stayed_provinces):
            continue
        if any(e.departure_time > checked_from and e.arrival_time <= ack.effective_time for e in evidence.exposures):
            continue
        return [(ack.effective_time, until)]
    return []


def latest_negative_test(evidence: Evidence, now: datetime) -> datetime | None:
    """The sample time of the latest nucleic-acid result up to `now` if it is negative."""
    tests = [f for f in evidence.facts if f.kind is FactKind.NUCLEIC_ACID_TEST and f.result is not None
             and f.effective_time <= now]
    if not tests:
        return None
    # A positive and a negative sampled together: the positive counts as the latest.
    latest = max(tests, key=lambda f: (f.effective_time, f.result is TestResult.POSITIVE))
    return latest.effective_time if latest.result is TestResult.NEGATIVE else None


def _local_day(moment: datetime, rules: RuleSet) -> date:
    return (moment.astimezone(UTC) + rules.utc_offset).date()


def _fever_findings(collector: _Collector, evidence: Evidence, now: datetime) -> None:
    """One finding per fever episode: from the first abnormal reading after a normal
    check-in until the next normal one."""
    readings = sorted(
        [(c.check_in_time, c.abnormal, "FEVER_CHECK_IN", f"check-in:{c.check_in_id}", "") for c in evidence.check_ins
         if c.check_in_time <= now]
        + [(f.effective_time, True, "FEVER_ON_SITE", f"fact:{f.fact_id}", _peer_detail(f)) for f in evidence.facts
           if f.kind is FactKind.FEVER_ON_SITE])
    episode: tuple[datetime, str, str, str] | None = None
    for moment, abnormal, code, key, detail in readings:
        if abnormal and episode is None:
            episode = (moment, code, key, detail)
        elif not abnormal and episode is not None:
            collector.add(episode[1], episode[2], episode[0], moment, detail=episode[3])
            episode = None
    if episode is not None:
        collector.add(episode[1], episode[2], episode[0], None, ongoing=True, detail=episode[3])


def _peer_detail(fact: Fact) -> str:
    """Another province's word, as a reason shows it: `<province>/<batch>/<record>[/<reason>]`."""
    if not fact.origin_province:
        return ""
    return "/".join(part for part in (fact.origin_province, fact.provenance, fact.reason_code) if part)


def _listing_order(fact: Fact) -> tuple[datetime, str, int]:
    """A province's records about a person in the order received: by receipt, then by batch and
    position (records of one batch are received together)."""
    batch, _, index = fact.provenance.rpartition("/")
    return fact.effective_time, batch, int(index) if index.isdigit() else 0


def _said_after(later: Fact, earlier: Fact) -> bool:
    """Whether the province said `later` after `earlier`: by its own sequence when both carry one (a
    batch delayed by the outbox cannot undo a newer word), else in the order received."""
    if later.list_sequence and earlier.list_sequence:
        return later.list_sequence > earlier.list_sequence
    return _listing_order(later) > _listing_order(earlier)


def _listing_end(fact: Fact, facts: Sequence[Fact]) -> datetime | None:
    """A listing ends when it expires or when its province next says something about the person (from
    that word's receipt, or at once for a newer word that arrived first)."""
    later = [max(f.effective_time, fact.effective_time) for f in facts if f.kind is FactKind.PEER_PROVINCE_LISTING
             and f.origin_province == fact.origin_province and f.fact_id != fact.fact_id and _said_after(f, fact)]
    return min([moment for moment in (fact.end_time, *later) if moment is not None], default=None)


def _findings(evidence: Evidence, rules: RuleSet, now: datetime) -> list[_Finding]:
    collector = _Collector(rules, evidence, now)
    for fact in evidence.facts:
        key = f"fact:{fact.fact_id}"
        if fact.kind is FactKind.DIAGNOSIS and fact.diagnosis is not None:
            collector.add(fact.diagnosis.name, key, fact.effective_time, None)
        elif fact.kind is FactKind.NUCLEIC_ACID_TEST and fact.result is TestResult.POSITIVE:
            collector.add("POSITIVE_TEST", key, fact.effective_time, None)
        elif fact.kind is FactKind.QUARANTINE_ORDER and fact.place is not None:
            collector.add(f"{fact.place.name}_QUARANTINE", key, fact.effective_time, fact.end_time)
        elif fact.kind is FactKind.INBOUND_QUARANTINE:
            collector.add("INBOUND_QUARANTINE", key, fact.effective_time, fact.end_time)
        elif fact.kind is FactKind.CLOSED_AREA_RESIDENCE:
            collector.add("CLOSED_AREA_RESIDENCE", key, fact.effective_time, fact.end_time, detail=fact.area_code)
        elif fact.kind is FactKind.CASE_REPORTED_STAY:
            collector.add("CASE_REPORTED_STAY", key, fact.effective_time,
                          fact.end_time + rules.window if fact.end_time else None, detail=fact.area_code,
                          period_end=fact.end_time)
        elif fact.kind is FactKind.FEVER_MEDICINE_PURCHASE or fact.kind is FactKind.FEVER_CLINIC_VISIT:
            collector.add(fact.kind.name, key, fact.effective_time, None)
        elif fact.kind is FactKind.HOTEL_REGISTRATION:
            collector.add("HOTEL_STAY", key, fact.effective_time,
                          fact.end_time + rules.window if fact.end_time else None, detail=fact.area_code,
                          period_end=fact.end_time)
        elif fact.kind is FactKind.PEER_PROVINCE_LISTING and fact.colour in (Colour.RED, Colour.YELLOW):
            collector.add(f"PEER_PROVINCE_{fact.colour.name}", key, fact.effective_time,
                          _listing_end(fact, evidence.facts), detail=_peer_detail(fact))
    for exposure in evidence.exposures:
        collector.add("HIGH_RISK_STAY" if exposure.high else "MEDIUM_RISK_STAY",
                      f"stay:{exposure.area_code}:{int(exposure.arrival_time.timestamp())}",
                      exposure.arrival_time, exposure.departure_time + rules.window, detail=exposure.area_code)
    _fever_findings(collector, evidence, now)
    dismissed = {key for fact in evidence.facts if fact.kind is FactKind.APPEAL_GRANTED
                 and fact.effective_time <= now for key in fact.dismissed}
    return [finding for finding in collector.findings if finding.key not in dismissed]


def _recovery(findings: list[_Finding], evidence: Evidence, rules: RuleSet, now: datetime) -> _Finding | None:
    """RECOVERING after the last finding marked for recovery ended (active or already served)."""
    recovery = rules.recovery
    ended = [f.until for f in findings if f.recovery and f.until is not None and f.since <= now]
    if recovery is None or not ended or any(f.recovery and f.active(now) for f in findings):
        return None
    start = max(ended)
    if start > now:
        return None
    progress, progress_change = None, None
    if recovery.days is not None:
        end: datetime | None = start + recovery.days
    else:
        days = recovery.check_in_days or 0
        end = _consecutive_check_ins_done(evidence.check_ins, start, days, rules, now)
        # Recovery counts the consecutive days after the one it starts on, whatever the readings.
        streak = CheckInStreak(days, consecutive=True, normal=False, from_day=2)
        done, progress_change = _streak_count(evidence.check_ins, _local_day(start, rules), streak, rules, now)
        progress = ReleaseProgress(days, done, True)
    return _Finding("RECOVERING", f"recovery:{int(start.timestamp())}", start, end, recovery.display,
                    progress=progress, progress_change=progress_change)


def _consecutive_check_ins_done(check_ins: Sequence[CheckIn], start: datetime, days: int, rules: RuleSet,
                                now: datetime) -> datetime | None:
    """When check-ins on `days` consecutive local days after `start`'s day were complete; None if not yet."""
    first_by_day: dict[date, datetime] = {}
    for check_in in sorted(check_ins, key=lambda c: c.check_in_time):
        if start <= check_in.check_in_time <= now:
            first_by_day.setdefault(_local_day(check_in.check_in_time, rules), check_in.check_in_time)
    run, previous = 0, None
    for day in sorted(day for day in first_by_day if day > _local_day(start, rules)):
        run = run + 1 if previous is not None and day == previous + timedelta(days=1) else 1
        previous = day
        if run == days:
            return first_by_day[day]
    return None


def _green_lapse(findings: list[_Finding], evidence: Evidence, rules: RuleSet, now: datetime) -> _Finding | None:
    """Green lapses `after` the latest of enrolment, a check-in, or the end of a finding or recovery."""
    lapse = rules.green_lapse
    if lapse is None:
        return None
    anchors = [evidence.enrolled_time] + [c.check_in_time for c in evidence.check_ins if c.check_in_time <= now]
    anchors += [f.until for f in findings if f.until is not None and f.until <= now]
    lapsed_at = max(anchors) + lapse.after
    return _Finding("CHECK_IN_OVERDUE", f"lapse:{int(lapsed_at.timestamp())}", lapsed_at, None, lapse.display)


def _override(evidence: Evidence, rules: RuleSet, now: datetime) -> tuple[_Finding | None, list[datetime]]:
    """The latest approved override in force, and the times overrides start or end."""
    overrides = [fact for fact in evidence.facts if fact.kind is FactKind.MANUAL_OVERRIDE and fact.colour]
    changes = [moment for fact in overrides for moment in (fact.effective_time, fact.end_time) if moment]
    active = [fact for fact in overrides
              if fact.effective_time <= now and (fact.end_time is None or now < fact.end_time)]
    if not active:
        return None, changes
    # The latest approved wins; a tie goes to the more severe colour, then the fact id, so
    # the decision never depends on the order facts were read in.
    fact = max(active, key=lambda f: (f.effective_time, f.colour, f.fact_id))
    return _Finding("MANUAL_OVERRIDE", f"fact:{fact.fact_id}", fact.effective_time, fact.end_time,
                    rules.default_display(fact.colour), detail=fact.reason_code), changes


def _valid_until(rules: RuleSet, now: datetime) -> datetime:
    if rules.valid_until_midnight:
        midnight = datetime.combine(_local_day(now, rules) + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        return midnight - rules.utc_offset
    return now + (rules.valid_hours or timedelta(hours=24))


# Decisions shared between persons of one batch whose evidence is the same in everything the
# decision reads: no facts and no check-ins (their ids are in reason keys, so no two persons'
# would match), the same exposures, the same rule set object and the same `now` (a batch decides
# everyone at one `now`), and the same enrolment time when the rule set lets green lapse (the only
# place the engine reads it). Most of a population has no evidence at all, so a batch of 1000
# decides a handful of times. The key is the whole input the decision reads, so a person whose
# evidence differs in anything can never be handed another's decision; the table is emptied
# whenever `now` moves on and is bounded, and the rule set object is held with each decision, so
# a reloaded rule set (a new object) never meets a decision of the old one.
_SHARED_LIMIT = 4096
_shared: dict[tuple, tuple[RuleSet, Decision]] = {}
_shared_now: list[tuple | None] = [None]


def _sharing_key(evidence: Evidence, rules: RuleSet, now: datetime) -> tuple | None:
    if evidence.facts or evidence.check_ins:
        return None
    return (id(rules), evidence.enrolled_time if rules.green_lapse is not None else None, tuple(evidence.exposures))


def decide(evidence: Evidence, rules: RuleSet, now: datetime) -> Decision:
    """The person's colour at `now`, every reason for it, and when time alone will change it
    (shared with an earlier call whose inputs were the same, see `_shared`)."""
    key = _sharing_key(evidence, rules, now)
    if key is None:
        return _decide(evidence, rules, now)
    # The same instant in another zone is another input: decisions carry times in `now`'s zone.
    if _shared_now[0] != (now, now.tzinfo) or len(_shared) >= _SHARED_LIMIT:
        _shared.clear()
        _shared_now[0] = (now, now.tzinfo)
    held = _shared.get(key)
    if held is not None and held[0] is rules:
        return held[1]
    decision = _decide(evidence, rules, now)
    _shared[key] = (rules, decision)
    return decision


def _decide(evidence: Evidence, rules: RuleSet, now: datetime) -> Decision:
    findings = _findings(evidence, rules, now)
    changes = [moment for f in findings for moment in (f.since, f.until, f.progress_change) if moment is not None]
    changes += [f.effective_time for f in evidence.facts if f.kind is FactKind.APPEAL_GRANTED]
    active = [f for f in findings if f.active(now)]
    recovering = _recovery(findings, evidence, rules, now)
    if recovering is not None:
        # Recovery ends on its date or on a check-in (which recomputes anyway); its end is a change.
        findings.append(recovering)
        changes += [moment for moment in (recovering.until, recovering.progress_change) if moment]
        if recovering.active(now):
            active.append(recovering)
    if not active:
        lapse = _green_lapse(findings, evidence, rules, now)
        if lapse is not None:
            changes.append(lapse.since)
            if lapse.active(now):
                active.append(lapse)
    override, override_changes = _override(evidence, rules, now)
    changes += override_changes
    if override is not None:
        active = [override]
    if active:
        shown = max(active, key=lambda f: (f.display.national, rules.display_rank(f.display)))
        colour, display = shown.display.national, shown.display.name
    else:
        colour, display = Colour.GREEN, rules.default_display(Colour.GREEN).name
    reasons = tuple(f.reason() for f in sorted(
        active, key=lambda f: (-f.display.national, -rules.display_rank(f.display), f.since, f.key)))
    next_change = min((moment for moment in changes if moment > now), default=None)
    valid_until = _valid_until(rules, now)
    if next_change is not None:
        valid_until = min(valid_until, next_change)
    return Decision(colour, display, reasons, valid_until, next_change, rules.province_code, rules.version,
                    latest_negative_test(evidence, now))


@dataclass(frozen=True)
class Status:
    """A stored decision: what GetStatus returns and codes carry."""

    person_id: str
    province_code: str
    masked_name: str      # as identity masks it: what a code shows the checkpoint
    # Identity's federation reference (16 bytes), what a code carries for cross-province lists;
    # None for a person enrolled before references existed. Personal data, pseudonymous.
    person_ref: bytes | None = field(repr=False)
    version: int
    decision: Decision
    compute_time: datetime
    audit_seq: int | None = None       # the audit entry that recorded this version (None: not stored yet)
    binding: bytes | None = field(default=None, repr=False)  # keyed MAC tying the row to that entry


_PROGRESS_FIELDS = ("check_ins_required", "check_ins_done", "consecutive", "tests_required", "tests_done")


def reasons_to_json(reasons: Sequence[Reason]) -> list[dict]:
    """Reasons as stored (statuses, audit log): plain JSON values, times in ISO 8601. `progress`
    only when there is one, so reasons stored before it existed read back (and chain) unchanged."""
    stored = []
    for r in reasons:
        entry = {"code": r.code, "key": r.key, "since": r.since.isoformat(),
                 "until": r.until.isoformat() if r.until else None, "detail": r.detail}
        if r.progress is not None:
            entry["progress"] = {name: getattr(r.progress, name) for name in _PROGRESS_FIELDS}
        stored.append(entry)
    return stored


def reasons_from_json(stored: Sequence[dict]) -> tuple[Reason, ...]:
    return tuple(Reason(r["code"], r["key"], datetime.fromisoformat(r["since"]),
                        datetime.fromisoformat(r["until"]) if r["until"] else None, r["detail"],
                        ReleaseProgress(**r["progress"]) if r.get("progress") else None) for r in stored)


class FactSource(enum.IntEnum):
    """Numbered as in healthcode.status.v1.FactSource: who states a fact."""

    HEALTH = 1
    POLICE = 2
    BORDER = 3
    COMMUNITY = 4
    AVIATION = 5
    RAIL = 6
    CHECKPOINT = 7
    MARKET_REGULATION = 8
    LABORATORY = 9
    PEER_PROVINCE = 40


class Symptom(enum.IntEnum):
    """Numbered as in healthcode.status.v1.Symptom."""

    FEVER = 1
    COUGH = 2
    SORE_THROAT = 3
    SHORTNESS_OF_BREATH = 4
    DIARRHOEA = 5
    FATIGUE = 6
    LOSS_OF_SMELL_OR_TASTE = 7
    DRY_COUGH = 8
    SPUTUM = 9
    NASAL_CONGESTION = 10
    RUNNY_NOSE = 11
    DIFFICULTY_BREATHING = 12
    MUSCLE_ACHE = 13
    HEADACHE = 14
    JOINT_PAIN = 15
    ABDOMINAL_PAIN = 16
    NAUSEA_OR_VOMITING = 17
    CONJUNCTIVAL_CONGESTION = 18
    OTHER_RESPIRATORY = 19


class OfficerRole(enum.IntEnum):
    """Numbered as in healthcode.status.v1.OfficerRole."""

    APPEAL_REVIEWER = 1
    OVERRIDE_OFFICER = 2
    CONTACT_TRACER = 3
    ADMINISTRATOR = 4


class AppealCategory(enum.IntEnum):
    """Numbered as in healthcode.status.v1.AppealCategory."""

    ITINERARY = 1
    DIAGNOSIS = 2
    QUARANTINE = 3
    READING = 4
    OTHER = 5


class AppealState(enum.IntEnum):
    """Numbered as in healthcode.status.v1.AppealState (status.appeals.state)."""

    PENDING = 1
    APPROVED = 2
    REJECTED = 3


class OverrideState(enum.IntEnum):
    """Numbered as in healthcode.status.v1.OverrideState (status.overrides.state)."""

    PROPOSED = 1
    APPROVED = 2
    REJECTED = 3


class RecomputeState(enum.IntEnum):
    """Numbered as in healthcode.status.v1.RecomputeState (status.recompute_runs.state)."""

    RUNNING = 1
    DONE = 2
    FAILED = 3


class CorrectionKind(enum.IntEnum):
    """Numbered as in healthcode.status.v1.CorrectionKind."""

    FACT_RETRACTED = 1
    FACT_AMENDED = 2
    STAY_CORRECTED = 3
    STAY_WITHDRAWN = 4


class ChangeCause(enum.IntEnum):
    """Numbered as in healthcode.status.v1.ChangeCause."""

    ENROLMENT = 1
    FACT = 2
    CHECK_IN = 3
    SCHEDULE = 4
    RISK_DECLARATION = 5
    APPEAL = 6
    OVERRIDE = 7
    REVALIDATION = 8
    STAY = 9
    CONTACT_TRACE = 10
    CORRECTION = 20
    PEER_PROVINCE = 40

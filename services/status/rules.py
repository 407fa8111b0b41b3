"""Province rule sets: versioned data that parameterise the colour decision, parsed and checked here.

A rule set is a JSON document stored per province with an effective time; status
never hard-codes a province. The engine (`services.status.model`) fixes what each
finding means (when a diagnosis starts, what clears it); a rule set says which
colour each finding shows, how long colours are held, how people recover and for
how long a status is valid. Since the seed provinces' rules, a finding may also say when it
is released (days served, a streak of daily check-ins, negative tests on given days of the
isolation), when it is waived (a recent negative test, or the pop-up's "continue" with a clean
itinerary), in which provinces a finding that names an area counts, and every rule may carry a
`comment` citing the document it comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from services import areas
from services.colours import Colour
from services.runtime.errors import InvalidArgument

SCHEMA_VERSION = 1
# The national default is stored under this code and used where a province has published none.
NATIONAL = "000000"
MAX_DOCUMENT_BYTES = 64 * 1024

# Every finding the engine can derive, in the order the engine documents them.
FINDINGS = (
    "CONFIRMED", "SUSPECTED", "ASYMPTOMATIC", "POSITIVE_TEST", "CLOSE_CONTACT", "SECONDARY_CONTACT",
    "CENTRAL_QUARANTINE", "HOME_QUARANTINE", "INBOUND_QUARANTINE", "HIGH_RISK_STAY", "MEDIUM_RISK_STAY",
    "FEVER_CHECK_IN", "FEVER_ON_SITE",
    "CLOSED_AREA_RESIDENCE", "CASE_REPORTED_STAY", "FEVER_MEDICINE_PURCHASE", "FEVER_CLINIC_VISIT", "HOTEL_STAY",
    "PEER_PROVINCE_RED", "PEER_PROVINCE_YELLOW",
)
# Findings added after rule sets were first published: a document that leaves one out does not
# count it (null), so every stored version stays valid. A finding added later (such as a red
# pushed by another province) is appended to both tuples and rule sets may then name it.
LATER_FINDINGS = frozenset({
    "CLOSED_AREA_RESIDENCE", "CASE_REPORTED_STAY", "FEVER_MEDICINE_PURCHASE", "FEVER_CLINIC_VISIT", "HOTEL_STAY",
    "PEER_PROVINCE_RED", "PEER_PROVINCE_YELLOW",
})
# Findings that name the area they happened in: a rule may count them only in given provinces.
AREA_FINDINGS = frozenset({
    "HIGH_RISK_STAY", "MEDIUM_RISK_STAY", "CLOSED_AREA_RESIDENCE", "CASE_REPORTED_STAY", "HOTEL_STAY",
})
# Findings from facts kept only this long after they take effect (the personal data of a purchase,
# a clinic visit, a hotel stay): a rule may show them only within it, with no release or recovery.
SHORT_LIVED = {
    "FEVER_MEDICINE_PURCHASE": timedelta(days=30),
    "FEVER_CLINIC_VISIT": timedelta(days=60),
    "HOTEL_STAY": timedelta(days=60),
}
SHIPPED = Path(__file__).parent / "rulesets"
# Rule sets the project ships for no particular province (a seed that names none): published by hand.
TEMPLATES = SHIPPED / "templates"
MAX_COMMENT_CHARS = 500


@dataclass(frozen=True)
class DisplayColour:
    name: str
    national: Colour


@dataclass(frozen=True)
class CheckInStreak:
    """Daily check-ins on `days` local days from isolation day `from_day` on (day 1 is the day
    the finding starts); `consecutive`: without a missed day; `normal`: a day with an abnormal
    check-in does not count (and breaks a consecutive run)."""

    days: int
    consecutive: bool
    normal: bool
    from_day: int


@dataclass(frozen=True)
class Release:
    """When a finding ends, in place of its natural end: once every condition given holds (and
    not before the natural end of an order or a stay). With `certificate`, a release or
    discharge certificate that clears the finding also ends it."""

    after: timedelta | None                    # served at least this long
    check_ins: CheckInStreak | None
    negative_tests_on_days: tuple[int, ...]    # a negative sample on each of these isolation days
    certificate: bool
    comment: str = ""


@dataclass(frozen=True)
class Waiver:
    """A finding is not shown while a negative test is recent enough, or once the person
    pressed "continue" on the pop-up with a clean itinerary.

    `measured_from` "start": a test sampled at most `within` before the finding started (or
    after it) waives it from that test on; "now": each test waives it for `within` after its
    sample. `applies` limits the waiver to the fact's own period ("period", e.g. a hotel stay
    until check-out), to the time after it ("after_period"), or not at all ("whole").
    `clear_days` (in place of a test): a pop-up acknowledgement made during the finding waives
    it from then on when the itinerary query made with it, and every stay learned of since,
    show no medium- or high-risk stay in the `clear_days` before it, and, with `provinces`, no
    stay then outside those provinces."""

    within: timedelta | None
    measured_from: str
    applies: str
    comment: str = ""
    clear_days: timedelta | None = None
    provinces: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FindingRule:
    """How one finding shows: its display colour, how long it is held after it ends, and
    whether the person then goes through recovery. `days` bounds findings that have no
    natural end (a contact with no release certificate)."""

    display: DisplayColour
    hold: timedelta
    days: timedelta | None
    recovery: bool
    release: Release | None = None
    waivers: tuple[Waiver, ...] = ()
    comment: str = ""
    # Counted only for areas in these provinces (findings that name an area); empty: everywhere.
    provinces: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Recovery:
    """After a finding marked `recovery` ends: shown in `display` until `days` have passed,
    or until check-ins on `check_in_days` consecutive local days."""

    display: DisplayColour
    days: timedelta | None
    check_in_days: int | None
    comment: str = ""


@dataclass(frozen=True)
class GreenLapse:
    """Green stays green only while a check-in is at most `after` old (Hubei 2020)."""

    after: timedelta
    display: DisplayColour
    comment: str = ""


@dataclass(frozen=True)
class RuleSet:
    province_code: str
    version: int
    effective_time: datetime
    name: str
    displays: tuple[DisplayColour, ...]   # ordered from least to most severe for display
    findings: dict[str, FindingRule | None]  # None: this province does not count the finding
    recovery: Recovery | None
    green_lapse: GreenLapse | None
    valid_hours: timedelta | None           # a status is valid this long, or
    valid_until_midnight: bool              # until the next local midnight (Beijing)
    utc_offset: timedelta                   # local days for midnights and daily check-ins
    window: timedelta                       # how long a risky stay counts after departure

    def default_display(self, colour: Colour) -> DisplayColour:
        return next(display for display in self.displays if display.national is colour)

    def display_rank(self, display: DisplayColour) -> int:
        return self.displays.index(display)


def parse_rule_set(province_code: str, version: int, effective_time: datetime, document: str) -> RuleSet:
    """A checked rule set, or InvalidArgument naming the first bad field under `rule_set`."""
    if len(document.encode()) > MAX_DOCUMENT_BYTES:
        raise _invalid("", f"is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        raw = json.loads(document)
    except ValueError as error:
        raise _invalid("", f"is not JSON ({error.msg} at line {error.lineno})") from None
    if province_code != NATIONAL and not areas.is_province_code(province_code):
        raise InvalidArgument.for_field("province_code", "is not a GB/T 2260 province code",
                                        reason="PROVINCE_CODE_INVALID")
    return _RuleSetReader(raw).read(province_code, version, effective_time)


def shipped_rule_sets() -> list[tuple[str, str]]:
    """(province code, JSON document) of the rule sets the project ships, from `rulesets/`."""
    shipped = []
    for path in sorted(SHIPPED.glob("*.json")):
        document = path.read_text(encoding="utf-8")
        shipped.append((json.loads(document)["province_code"], document))
    return shipped


def template_rule_sets() -> list[tuple[str, str]]:
    """(file name, JSON document) of the shipped templates, from `rulesets/templates/`."""
    return [(path.name, path.read_text(encoding="utf-8")) for path in sorted(TEMPLATES.glob("*.json"))]


def _invalid(path: str, description: str) -> InvalidArgument:
    return InvalidArgument.for_field(f"rule_set{'.' + path if path else ''}", description, reason="RULE_SET_INVALID")


class _RuleSetReader:
    def __init__(self, raw: object) -> None:
        self._raw = raw

    def read(self, province_code: str, version: int, effective_time: datetime) -> RuleSet:
        raw = self._object(self._raw, "", {"schema", "name", "province_code", "displays", "findings", "recovery",
                                           "green_lapse", "validity", "utc_offset_hours", "window_days",
                                           "comment"})
        if raw.get("schema") != SCHEMA_VERSION:
            raise _invalid("schema", f"must be {SCHEMA_VERSION}")
        if raw.get("province_code", province_code) != province_code:
            raise _invalid("province_code", "does not match the province it is published for")
        name = raw.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise _invalid("name", "must be 1 to 100 characters")
        displays = self._displays(raw.get("displays"))
        by_name = {display.name: display for display in displays}
        findings = self._findings(raw.get("findings"), by_name)
        recovery = self._recovery(raw.get("recovery"), by_name)
        if recovery is None and any(rule and rule.recovery for rule in findings.values()):
            raise _invalid("recovery", "is required when a finding goes through recovery")
        valid_hours, until_midnight = self._validity(raw.get("validity"))
        offset = self._number(raw.get("utc_offset_hours", 8), "utc_offset_hours", -12, 14)
        window = self._number(raw.get("window_days", 14), "window_days", 1, 60)
        self._comment(raw, "")
        return RuleSet(
            province_code=province_code, version=version, effective_time=effective_time, name=name,
            displays=displays, findings=findings, recovery=recovery,
            green_lapse=self._green_lapse(raw.get("green_lapse"), by_name),
            valid_hours=valid_hours, valid_until_midnight=until_midnight,
            utc_offset=timedelta(hours=offset), window=timedelta(days=window))

    @staticmethod
    def _object(value: object, path: str, allowed: set[str]) -> dict:
        if not isinstance(value, dict):
            raise _invalid(path, "must be an object")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise _invalid(f"{path + '.' if path else ''}{unknown[0]}", "is not a known field")
        return value

    @staticmethod
    def _comment(raw: dict, path: str) -> str:
        """A rule's citation (the seed file and sentence it comes from): free text, bounded."""
        value = raw.get("comment", "")
        if not isinstance(value, str) or len(value) > MAX_COMMENT_CHARS or not value.isprintable():
            raise _invalid(f"{path + '.' if path else ''}comment",
                           f"must be printable text of at most {MAX_COMMENT_CHARS} characters")
        return value

    @staticmethod
    def _number(value: object, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _invalid(path, f"must be a whole number from {low} to {high}")
        return value

    def _displays(self, value: object) -> tuple[DisplayColour, ...]:
        if not isinstance(value, list) or not value:
            raise _invalid("displays", "must list the display colours, least severe first")
        displays: list[DisplayColour] = []
        for index, entry in enumerate(value):
            path = f"displays[{index}]"
            entry = self._object(entry, path, {"name", "national", "comment"})
            self._comment(entry, path)
            name, national = entry.get("name"), entry.get("national")
            if not isinstance(name, str) or not name.isascii() or not name.isalpha() or not name.islower() \
                    or len(name) > 16:
                raise _invalid(f"{path}.name", "must be 1 to 16 lower-case letters")
            if any(display.name == name for display in displays):
                raise _invalid(f"{path}.name", "is listed twice")
            try:
                colour = Colour.parse(national) if isinstance(national, str) else None
            except ValueError:
                colour = None
            if colour is None:
                raise _invalid(f"{path}.national", "must be GREEN, YELLOW or RED")
            if displays and colour < displays[-1].national:
                raise _invalid(f"{path}.national", "display colours must be ordered from least to most severe")
            displays.append(DisplayColour(name, colour))
        for colour in Colour:
            if not any(display.national is colour for display in displays):
                raise _invalid("displays", f"must map at least one display colour to {colour.name}")
        return tuple(displays)

    @staticmethod
    def _display(value: object, path: str, by_name: dict[str, DisplayColour]) -> DisplayColour:
        if value not in by_name:
            raise _invalid(path, "must name one of the display colours")
        return by_name[value]

    def _findings(self, value: object, by_name: dict[str, DisplayColour]) -> dict[str, FindingRule | None]:
        raw = self._object(value, "findings", set(FINDINGS))
        findings: dict[str, FindingRule | None] = {}
        for kind in FINDINGS:
            path = f"findings.{kind}"
            if kind not in raw and kind not in LATER_FINDINGS:
                raise _invalid(path, "is missing (use null for a finding this province does not count)")
            if raw.get(kind) is None:
                findings[kind] = None
                continue
            entry = self._object(raw[kind], path, {"display", "hold_days", "days", "recovery", "release", "unless",
                                                   "in_provinces", "comment"})
            display = self._display(entry.get("display"), f"{path}.display", by_name)
            if display.national is Colour.GREEN:
                raise _invalid(f"{path}.display", "a finding cannot show green")
            days = entry.get("days")
            recovery = entry.get("recovery", False)
            if not isinstance(recovery, bool):
                raise _invalid(f"{path}.recovery", "must be true or false")
            rule = FindingRule(
                display=display, hold=timedelta(days=self._number(entry.get("hold_days", 0), f"{path}.hold_days",
                                                                   0, 60)),
                days=None if days is None else timedelta(days=self._number(days, f"{path}.days", 1, 60)),
                recovery=recovery, release=self._release(entry.get("release"), f"{path}.release"),
                waivers=self._waivers(entry.get("unless"), f"{path}.unless"), comment=self._comment(entry, path),
                provinces=self._provinces(kind, entry.get("in_provinces"), f"{path}.in_provinces"))
            if kind in SHORT_LIVED:
                self._short_lived(kind, rule, path)
            findings[kind] = rule
        for kind in ("CLOSE_CONTACT", "SECONDARY_CONTACT"):
            if findings[kind] is not None and findings[kind].days is None:
                raise _invalid(f"findings.{kind}.days", "is required: a contact may never receive a release")
        return findings

    @staticmethod
    def _provinces(kind: str, value: object, path: str) -> frozenset[str]:
        if value is None:
            return frozenset()
        if kind not in AREA_FINDINGS:
            raise _invalid(path, "applies only to findings that name an area")
        return _RuleSetReader._province_list(value, path)

    @staticmethod
    def _province_list(value: object, path: str) -> frozenset[str]:
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not 1 <= len(value) <= 34:
            raise _invalid(path, "must list 1 to 34 province codes")
        for index, code in enumerate(value):
            if not isinstance(code, str) or not areas.is_province_code(code):
                raise _invalid(f"{path}[{index}]", "is not a GB/T 2260 province code")
        if len(set(value)) != len(value):
            raise _invalid(path, "must list each province once")
        return frozenset(value)

    @staticmethod
    def _short_lived(kind: str, rule: FindingRule, path: str) -> None:
        """Its facts are purged after SHORT_LIVED[kind]: the rule must not reach beyond that."""
        kept = SHORT_LIVED[kind]
        if rule.days is None:
            raise _invalid(f"{path}.days", f"is required: these facts are kept {kept.days} days")
        if rule.days + rule.hold > kept:
            raise _invalid(f"{path}.days", f"with hold_days must not exceed the {kept.days} days these facts are kept")
        if rule.recovery:
            raise _invalid(f"{path}.recovery", f"cannot be true: these facts are kept only {kept.days} days")
        if rule.release is not None:
            raise _invalid(f"{path}.release", f"is not allowed: these facts are kept only {kept.days} days")

    def _release(self, value: object, path: str) -> Release | None:
        if value is None:
            return None
        raw = self._object(value, path, {"after_days", "check_ins", "negative_tests_on_days", "certificate",
                                         "comment"})
        after = raw.get("after_days")
        streak = None
        if raw.get("check_ins") is not None:
            entry = self._object(raw["check_ins"], f"{path}.check_ins", {"days", "consecutive", "normal", "from_day"})
            flags = {}
            for name in ("consecutive", "normal"):
                flags[name] = entry.get(name, False)
                if not isinstance(flags[name], bool):
                    raise _invalid(f"{path}.check_ins.{name}", "must be true or false")
            streak = CheckInStreak(self._number(entry.get("days"), f"{path}.check_ins.days", 1, 60),
                                   flags["consecutive"], flags["normal"],
                                   self._number(entry.get("from_day", 1), f"{path}.check_ins.from_day", 1, 60))
        tests = raw.get("negative_tests_on_days", [])
        if not isinstance(tests, list) or len(tests) > 10:
            raise _invalid(f"{path}.negative_tests_on_days", "must list at most 10 isolation days")
        days = tuple(self._number(d, f"{path}.negative_tests_on_days[{i}]", 1, 60) for i, d in enumerate(tests))
        if list(days) != sorted(set(days)):
            raise _invalid(f"{path}.negative_tests_on_days", "must list each day once, in ascending order")
        certificate = raw.get("certificate", False)
        if not isinstance(certificate, bool):
            raise _invalid(f"{path}.certificate", "must be true or false")
        if after is None and streak is None and not days:
            raise _invalid(path, "must give at least one of after_days, check_ins and negative_tests_on_days")
        return Release(None if after is None else timedelta(days=self._number(after, f"{path}.after_days", 1, 60)),
                       streak, days, certificate, self._comment(raw, path))

    def _waivers(self, value: object, path: str) -> tuple[Waiver, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > 4:
            raise _invalid(path, "must list at most 4 waivers")
        waivers = []
        for index, entry in enumerate(value):
            item = f"{path}[{index}]"
            raw = self._object(entry, item, {"negative_test_within_hours", "measured_from", "applies",
                                             "popup_acknowledged_clear_days", "itinerary_in_provinces", "comment"})
            applies = raw.get("applies", "whole")
            if applies not in ("whole", "period", "after_period"):
                raise _invalid(f"{item}.applies", "must be whole, period or after_period")
            if "popup_acknowledged_clear_days" in raw:
                # The pop-up's "continue" with a clean itinerary: no test, so no test fields.
                for name in ("negative_test_within_hours", "measured_from"):
                    if name in raw:
                        raise _invalid(f"{item}.{name}", "does not apply to a pop-up acknowledgement")
                clear = self._number(raw["popup_acknowledged_clear_days"], f"{item}.popup_acknowledged_clear_days",
                                     1, 30)
                provinces = self._province_list(raw.get("itinerary_in_provinces"), f"{item}.itinerary_in_provinces")
                waivers.append(Waiver(None, "now", applies, self._comment(raw, item), timedelta(days=clear),
                                      provinces))
                continue
            if "itinerary_in_provinces" in raw:
                raise _invalid(f"{item}.itinerary_in_provinces", "applies only to a pop-up acknowledgement")
            within = self._number(raw.get("negative_test_within_hours"), f"{item}.negative_test_within_hours", 1, 720)
            measured_from = raw.get("measured_from", "now")
            if measured_from not in ("start", "now"):
                raise _invalid(f"{item}.measured_from", "must be start or now")
            waivers.append(Waiver(timedelta(hours=within), measured_from, applies, self._comment(raw, item)))
        return tuple(waivers)

    def _recovery(self, value: object, by_name: dict[str, DisplayColour]) -> Recovery | None:
        if value is None:
            return None
        raw = self._object(value, "recovery", {"display", "days", "check_in_days", "comment"})
        display = self._display(raw.get("display"), "recovery.display", by_name)
        comment = self._comment(raw, "recovery")
        if ("days" in raw) == ("check_in_days" in raw):
            raise _invalid("recovery", "must give exactly one of days and check_in_days")
        if "days" in raw:
            return Recovery(display, timedelta(days=self._number(raw["days"], "recovery.days", 1, 60)), None, comment)
        return Recovery(display, None, self._number(raw["check_in_days"], "recovery.check_in_days", 1, 60), comment)

    def _green_lapse(self, value: object, by_name: dict[str, DisplayColour]) -> GreenLapse | None:
        if value is None:
            return None
        raw = self._object(value, "green_lapse", {"hours", "display", "comment"})
        display = self._display(raw.get("display"), "green_lapse.display", by_name)
        if display.national is Colour.GREEN:
            raise _invalid("green_lapse.display", "a lapsed green cannot show green")
        return GreenLapse(timedelta(hours=self._number(raw.get("hours"), "green_lapse.hours", 1, 720)), display,
                          self._comment(raw, "green_lapse"))

    def _validity(self, value: object) -> tuple[timedelta | None, bool]:
        raw = self._object(value, "validity", {"hours", "until_local_midnight", "comment"})
        self._comment(raw, "validity")
        if raw.get("until_local_midnight") is True and "hours" not in raw:
            return None, True
        if "until_local_midnight" in raw and raw["until_local_midnight"] is not False:
            raise _invalid("validity", "must give either hours or until_local_midnight: true")
        return timedelta(hours=self._number(raw.get("hours"), "validity.hours", 1, 168)), False

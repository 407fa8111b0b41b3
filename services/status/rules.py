"""Province rule sets: versioned data that parameterise the colour decision, parsed and checked here.

A rule set is a JSON document stored per province with an effective time; status
never hard-codes a province. The engine (`services.status.model`) fixes what each
finding means (when a diagnosis starts, what clears it); a rule set says which
colour each finding shows, how long colours are held, how people recover and for
how long a status is valid.
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
)
SHIPPED = Path(__file__).parent / "rulesets"


@dataclass(frozen=True)
class DisplayColour:
    name: str
    national: Colour


@dataclass(frozen=True)
class FindingRule:
    """How one finding shows: its display colour, how long it is held after it ends, and
    whether the person then goes through recovery. `days` bounds findings that have no
    natural end (a contact with no release certificate)."""

    display: DisplayColour
    hold: timedelta
    days: timedelta | None
    recovery: bool


@dataclass(frozen=True)
class Recovery:
    """After a finding marked `recovery` ends: shown in `display` until `days` have passed,
    or until check-ins on `check_in_days` consecutive local days."""

    display: DisplayColour
    days: timedelta | None
    check_in_days: int | None


@dataclass(frozen=True)
class GreenLapse:
    """Green stays green only while a check-in is at most `after` old (Hubei 2020)."""

    after: timedelta
    display: DisplayColour


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


def _invalid(path: str, description: str) -> InvalidArgument:
    return InvalidArgument.for_field(f"rule_set{'.' + path if path else ''}", description, reason="RULE_SET_INVALID")


class _RuleSetReader:
    def __init__(self, raw: object) -> None:
        self._raw = raw

    def read(self, province_code: str, version: int, effective_time: datetime) -> RuleSet:
        raw = self._object(self._raw, "", {"schema", "name", "province_code", "displays", "findings", "recovery",
                                           "green_lapse", "validity", "utc_offset_hours", "window_days"})
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
            entry = self._object(entry, path, {"name", "national"})
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
            if kind not in raw:
                raise _invalid(path, "is missing (use null for a finding this province does not count)")
            if raw[kind] is None:
                findings[kind] = None
                continue
            entry = self._object(raw[kind], path, {"display", "hold_days", "days", "recovery"})
            display = self._display(entry.get("display"), f"{path}.display", by_name)
            if display.national is Colour.GREEN:
                raise _invalid(f"{path}.display", "a finding cannot show green")
            days = entry.get("days")
            recovery = entry.get("recovery", False)
            if not isinstance(recovery, bool):
                raise _invalid(f"{path}.recovery", "must be true or false")
            findings[kind] = FindingRule(
                display=display, hold=timedelta(days=self._number(entry.get("hold_days", 0), f"{path}.hold_days",
                                                                   0, 60)),
                days=None if days is None else timedelta(days=self._number(days, f"{path}.days", 1, 60)),
                recovery=recovery)
        for kind in ("CLOSE_CONTACT", "SECONDARY_CONTACT"):
            if findings[kind] is not None and findings[kind].days is None:
                raise _invalid(f"findings.{kind}.days", "is required: a contact may never receive a release")
        return findings

    def _recovery(self, value: object, by_name: dict[str, DisplayColour]) -> Recovery | None:
        if value is None:
            return None
        raw = self._object(value, "recovery", {"display", "days", "check_in_days"})
        display = self._display(raw.get("display"), "recovery.display", by_name)
        if ("days" in raw) == ("check_in_days" in raw):
            raise _invalid("recovery", "must give exactly one of days and check_in_days")
        if "days" in raw:
            return Recovery(display, timedelta(days=self._number(raw["days"], "recovery.days", 1, 60)), None)
        return Recovery(display, None, self._number(raw["check_in_days"], "recovery.check_in_days", 1, 60))

    def _green_lapse(self, value: object, by_name: dict[str, DisplayColour]) -> GreenLapse | None:
        if value is None:
            return None
        raw = self._object(value, "green_lapse", {"hours", "display"})
        display = self._display(raw.get("display"), "green_lapse.display", by_name)
        if display.national is Colour.GREEN:
            raise _invalid("green_lapse.display", "a lapsed green cannot show green")
        return GreenLapse(timedelta(hours=self._number(raw.get("hours"), "green_lapse.hours", 1, 720)), display)

    def _validity(self, value: object) -> tuple[timedelta | None, bool]:
        raw = self._object(value, "validity", {"hours", "until_local_midnight"})
        if raw.get("until_local_midnight") is True and "hours" not in raw:
            return None, True
        if "until_local_midnight" in raw and raw["until_local_midnight"] is not False:
            raise _invalid("validity", "must give either hours or until_local_midnight: true")
        return timedelta(hours=self._number(raw.get("hours"), "validity.hours", 1, 168)), False

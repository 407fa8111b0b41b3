"""Stays, risk levels and declarations: the rules of the 14-day itinerary, without I/O."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services import areas
from services.runtime.errors import InvalidArgument

# Person ids are identity's UUIDs, in their canonical lower-case form.
_PERSON_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_CARRIER = re.compile(r"^[a-z0-9-]{1,64}\Z")
_BATCH_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")

MAX_STAYS_PER_CHUNK = 10_000
MAX_REPORTED_REJECTIONS = 10_000
MAX_DECLARED_STAYS = 100
MAX_REASON_LENGTH = 500
MAX_PERSONS_PER_LOOKUP = 1000


class RiskLevel(enum.IntEnum):
    """Numbered as in healthcode.common.v1.RiskLevel; NONE also marks a lift."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


# A stay exposes a person when its area was at this level or above while they were there.
EXPOSING_LEVEL = RiskLevel.MEDIUM


class StaySource(enum.IntEnum):
    CARRIER = 1
    DECLARED = 2


# Why a carrier row was refused, and which field it names. The order is the order
# rows are judged in (repository SQL follows it).
REJECTION_FIELDS = {
    "PERSON_ID_INVALID": "person_id",
    "AREA_UNKNOWN": "area_code",
    "ARRIVAL_TIME_OUT_OF_RANGE": "arrival_time",
    "DEPARTURE_TIME_OUT_OF_RANGE": "departure_time",
    "DEPARTURE_NOT_AFTER_ARRIVAL": "departure_time",
    "TIME_IN_FUTURE": "departure_time",
    "TIME_BEFORE_WINDOW": "departure_time",
    "PERSON_UNKNOWN": "person_id",
}


@dataclass(frozen=True)
class StayPolicy:
    """How long stays count and are kept, and how long a stay must be to count."""

    window: timedelta            # 14 days
    grace: timedelta             # kept this much longer before the purge
    minimum_stay: timedelta      # 4 hours
    clock_skew: timedelta        # how far in the future a departure may be reported

    def window_start(self, now: datetime) -> datetime:
        return now - self.window

    def retention_start(self, now: datetime) -> datetime:
        return now - self.window - self.grace


@dataclass(frozen=True)
class Stay:
    area_code: str
    arrival_time: datetime
    departure_time: datetime
    source: StaySource
    source_carrier: str
    verified: bool
    highest_risk_level: RiskLevel


@dataclass(frozen=True)
class RiskDeclaration:
    declaration_id: str
    area_code: str
    level: RiskLevel
    effective_time: datetime
    end_time: datetime | None
    authority: str
    reason: str
    create_time: datetime

    def raises(self, level_before: RiskLevel) -> bool:
        """Whether this declaration puts its area above the level declared for it just before."""
        return self.level > level_before

    def affected_stays(self, level_before: RiskLevel, window_start: datetime) -> tuple[datetime, datetime | None]:
        """The stays under the area whose exposure this declaration may change: those departing
        after the first time and arriving before the second (None: no bound).

        A raise may expose whoever was there while it is in force. Anything else (a lift, a
        lower or equal level) may end the exposure of whoever was there before it, within the
        window, and lowers the stays made while it is in force: both, from the window's start
        until the declaration ends.
        """
        if self.raises(level_before):
            return max(self.effective_time, window_start), self.end_time
        return window_start, self.end_time


@dataclass(frozen=True)
class RiskExposure:
    """A stay made while its area, city or province was at MEDIUM or HIGH risk."""

    person_id: str
    area_code: str
    arrival_time: datetime
    departure_time: datetime
    level: RiskLevel
    declaration_id: str  # the declaration that gave the level


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    received: int
    stored: int
    duplicates: int
    below_threshold: int
    rejected: int
    rejected_rows: list[tuple[int, str]]  # (row, reason)
    replayed: bool = False


def is_person_id(value: str) -> bool:
    return bool(_PERSON_ID.match(value))


def checked_person_ids(values: Sequence[str], field_path: str) -> list[str]:
    """1 to 1000 person ids, each once and in ascending order; a malformed one is named by its index."""
    if not 1 <= len(values) <= MAX_PERSONS_PER_LOOKUP:
        raise InvalidArgument.for_field(field_path, f"must hold 1 to {MAX_PERSONS_PER_LOOKUP} person ids",
                                        reason="PERSON_IDS_COUNT_INVALID")
    for index, value in enumerate(values):
        if not is_person_id(value):
            raise InvalidArgument.for_field(f"{field_path}[{index}]", "must be a person id",
                                            reason="PERSON_ID_INVALID")
    return sorted(set(values))


def checked_person_id(value: str) -> str | None:
    """The id in canonical form, or None when it is not a person id (that row is then refused).

    Checked once per row here: the same regular expression in SQL cost ~7 µs a row.
    """
    value = value.lower()
    return value if _PERSON_ID.match(value) else None


def check_batch_header(batch_id: str, source_carrier: str) -> None:
    if not _BATCH_ID.match(batch_id):
        raise InvalidArgument.for_field("batch_id", "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':', '-'",
                                        reason="BATCH_ID_INVALID")
    if not _CARRIER.match(source_carrier):
        raise InvalidArgument.for_field("source_carrier", "must be 1 to 64 characters of a-z, 0-9, '-'",
                                        reason="CARRIER_INVALID")


def check_area_code(code: str, field_path: str) -> str:
    if not areas.is_area_code(code):
        raise InvalidArgument.for_field(field_path, "must be a six-digit GB/T 2260 code under a known province",
                                        reason="AREA_UNKNOWN")
    return code


def area_code_range(code: str) -> tuple[str, str]:
    """The codes an area covers, as a half-open range: a province its cities and
    counties, a city its counties, a county itself (420000 → [420000, 430000))."""
    if code.endswith("0000"):
        prefix = code[:2]
    elif code.endswith("00"):
        prefix = code[:4]
    else:
        prefix = code
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return prefix.ljust(6, "0"), upper.ljust(6, "0")


def check_declared_stay(index: int, area_code: str, arrival: datetime, departure: datetime, now: datetime,
                        policy: StayPolicy) -> None:
    """A traveller's declaration is refused whole if any stay is impossible."""
    prefix = f"stays[{index}]"
    check_area_code(area_code, f"{prefix}.area_code")
    if departure <= arrival:
        raise InvalidArgument.for_field(f"{prefix}.departure_time", "must be after the arrival",
                                        reason="DEPARTURE_NOT_AFTER_ARRIVAL")
    if departure > now + policy.clock_skew:
        raise InvalidArgument.for_field(f"{prefix}.departure_time", "is in the future", reason="TIME_IN_FUTURE")
    if departure < policy.window_start(now):
        raise InvalidArgument.for_field(f"{prefix}.departure_time", "is before the 14-day window",
                                        reason="TIME_BEFORE_WINDOW")
    if departure - arrival < policy.minimum_stay:
        raise InvalidArgument.for_field(f"{prefix}.departure_time",
                                        f"stays shorter than {policy.minimum_stay} do not count",
                                        reason="STAY_TOO_SHORT")


def check_declaration(area_code: str, level: RiskLevel, authority: str, reason: str) -> None:
    check_area_code(area_code, "area_code")
    if level is RiskLevel.NONE:
        raise InvalidArgument.for_field("level", "must be LOW, MEDIUM or HIGH (use LiftRiskArea to lift)",
                                        reason="RISK_LEVEL_INVALID")
    check_authority(authority, reason)


def check_authority(authority: str, reason: str) -> None:
    if not 1 <= len(authority) <= 64:
        raise InvalidArgument.for_field("authority", "must be 1 to 64 characters", reason="AUTHORITY_INVALID")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidArgument.for_field("reason", f"must be at most {MAX_REASON_LENGTH} characters",
                                        reason="REASON_TOO_LONG")


_FEED_CURSOR = re.compile(r"^([0-9]{1,20})\.([0-9]{1,19})$")


def feed_cursor(position: tuple[int, int]) -> str:
    """Where a reader of the newly-risky-stays feed stands: the (transaction id, event id) it read last."""
    return f"{position[0]}.{position[1]}"


def parse_feed_cursor(cursor: str, field_path: str = "cursor") -> tuple[int, int]:
    """A cursor this service issued ("" is the feed's start); anything else is refused."""
    if not cursor:
        return 0, 0
    match = _FEED_CURSOR.fullmatch(cursor)
    if match is None or int(match[1]) >= 2**64 or int(match[2]) >= 2**63:
        raise InvalidArgument.for_field(field_path, "is not a cursor this service issued", reason="CURSOR_INVALID")
    return int(match[1]), int(match[2])


# Corrections of stays a carrier sent.

MAX_CORRECTIONS_PER_CALL = 1000


class StayCorrectionAction(enum.IntEnum):
    """Numbered as in healthcode.itinerary.v1.StayCorrectionAction."""

    CORRECT = 1
    WITHDRAW = 2


# (area code, arrival, departure): a stay of a known person, as a carrier names it.
StayKey = tuple[str, datetime, datetime]


@dataclass(frozen=True)
class SubmittedStayCorrection:
    """A correction as the carrier sent it; `refused` when the transport could not read a field."""

    person_id: str
    stay: StayKey | None
    action: int
    corrected: StayKey | None
    reason: str
    refused: InvalidArgument | None = None


@dataclass(frozen=True)
class StayCorrection:
    """A checked correction: the stay as sent, and what replaces it (None: withdrawn)."""

    index: int
    correction_id: str
    person_id: str
    stay: StayKey
    action: StayCorrectionAction
    corrected: StayKey | None
    changed_fields: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class StayChange:
    """A correction as the feed carries it to status: whose stay, what kind, which fields, why."""

    person_id: str
    correction_id: str
    source_carrier: str
    action: StayCorrectionAction
    changed_fields: tuple[str, ...]
    reason: str
    create_time: datetime


def check_correction_header(source_carrier: str, request_id: str, count: int) -> None:
    if not _CARRIER.match(source_carrier):
        raise InvalidArgument.for_field("source_carrier", "must be 1 to 64 characters of a-z, 0-9, '-'",
                                        reason="CARRIER_INVALID")
    if not _BATCH_ID.match(request_id):
        raise InvalidArgument.for_field("request_id", "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':', '-'",
                                        reason="REQUEST_ID_INVALID")
    if not 1 <= count <= MAX_CORRECTIONS_PER_CALL:
        raise InvalidArgument.for_field("corrections", f"must hold 1 to {MAX_CORRECTIONS_PER_CALL} corrections",
                                        reason="CORRECTIONS_COUNT_INVALID")


def check_stay_correction(index: int, submitted: SubmittedStayCorrection, correction_id: str, now: datetime,
                          policy: StayPolicy) -> StayCorrection:
    """A correction ready to apply, or InvalidArgument naming `corrections[index].<field>`. The stay as
    sent is only named (a stay that is not there is STAY_NOT_FOUND later); a replacement must be a
    stay that counts, as a declared one must."""
    prefix = f"corrections[{index}]"
    if submitted.refused is not None:
        raise submitted.refused
    person_id = checked_person_id(submitted.person_id)
    if person_id is None:
        raise InvalidArgument.for_field(f"{prefix}.stay.person_id", "must be a person id", reason="PERSON_ID_INVALID")
    if submitted.stay is None:
        raise InvalidArgument.for_field(f"{prefix}.stay", "is required: the stay as it was sent",
                                        reason="STAY_REQUIRED")
    check_area_code(submitted.stay[0], f"{prefix}.stay.area_code")
    if submitted.action not in StayCorrectionAction._value2member_map_:
        raise InvalidArgument.for_field(f"{prefix}.action", "must be CORRECT or WITHDRAW", reason="ACTION_INVALID")
    action = StayCorrectionAction(submitted.action)
    reason = submitted.reason.strip()
    if not reason or len(submitted.reason) > MAX_REASON_LENGTH:
        raise InvalidArgument.for_field(f"{prefix}.reason", f"must be 1 to {MAX_REASON_LENGTH} characters",
                                        reason="REASON_INVALID")
    corrected, changed = None, ("withdrawn",)
    if action is StayCorrectionAction.CORRECT:
        if submitted.corrected is None:
            raise InvalidArgument.for_field(f"{prefix}.corrected", "is required to correct a stay",
                                            reason="CORRECTED_STAY_REQUIRED")
        corrected = submitted.corrected
        try:
            check_declared_stay(index, *corrected, now, policy)
        except InvalidArgument as error:
            raise error.rebased(f"stays[{index}]", f"{prefix}.corrected") from None
        changed = tuple(name for name, old, new in zip(("area_code", "arrival_time", "departure_time"),
                                                       submitted.stay, corrected) if old != new)
        if not changed:
            raise InvalidArgument.for_field(f"{prefix}.corrected", "is the stay as sent", reason="STAY_UNCHANGED")
    elif submitted.corrected is not None:
        raise InvalidArgument.for_field(f"{prefix}.corrected", "a withdrawn stay has no replacement",
                                        reason="CORRECTED_STAY_UNEXPECTED")
    return StayCorrection(index, correction_id, person_id, submitted.stay, action, corrected, changed, reason)

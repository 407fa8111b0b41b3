"""Venues (场所码) and their rotating codes, without I/O: the checks, the payload, its tag and freshness.

A venue's screen shows `HCV1:<venue id, 32 hex>.<period>.<tag>`, where the period is
floor(unix seconds / rotation seconds) and the tag is the first 10 bytes of
HMAC-SHA256(venue key, "<venue id>.<period>") (the id in its canonical, hyphenated form)
in base32 without padding. Only this service holds the key, so a tag proves the code was
shown at that venue in that period. A code from the current or the previous period is
fresh; an older one (a forwarded photo) or one from a future period is recorded as a
flagged visit, which tracing never uses: in 2022 most wrongly red codes in Henan came from
forwarded venue codes.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services import areas
from services.runtime.errors import InvalidArgument

VENUE_CODE_PREFIX = "HCV1:"
TAG_BYTES = 10
MIN_KEY_BYTES = 32
MAX_NAME_LENGTH = 200

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Canonical form only: lower-case hex, a period without leading zeros, an upper-case tag.
_VENUE_CODE = re.compile(r"^HCV1:([0-9a-f]{32})\.(0|[1-9][0-9]{0,11})\.([A-Z2-7]{16})\Z")
_MAX_CODE_LENGTH = 80
_TRACE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")


class VenueCategory(enum.IntEnum):
    """Numbered as healthcode.verification.v1.VenueCategory."""

    RETAIL = 1
    TRANSPORT = 2
    OFFICE = 3
    SCHOOL = 4
    HEALTHCARE = 5
    RESTAURANT = 6
    OTHER = 7


@dataclass(frozen=True)
class VenuePolicy:
    """How codes rotate, how long visits are kept, and how close in time a contact is.

    Defaults: a new code every 5 minutes; visits kept 16 days (the 14-day window plus
    2 days of grace, as itinerary keeps stays); contacts within 60 minutes of the case's
    visit unless asked otherwise, and never more than 12 hours.
    """

    rotation: timedelta = timedelta(minutes=5)
    retention: timedelta = timedelta(days=16)
    default_window: timedelta = timedelta(minutes=60)
    max_window: timedelta = timedelta(hours=12)

    def __post_init__(self) -> None:
        if self.rotation < timedelta(seconds=1) or self.rotation % timedelta(seconds=1):
            raise ValueError("the rotation must be a whole number of seconds, at least one")
        if not timedelta(0) < self.default_window <= self.max_window:
            raise ValueError("the default contact window must be positive and at most the maximum")
        if self.retention <= timedelta(0):
            raise ValueError("the retention must be positive")

    def retention_start(self, now: datetime) -> datetime:
        """Visits before this are no longer kept (nor traced)."""
        return now - self.retention


@dataclass(frozen=True)
class VenueRecord:
    venue_id: str
    name: str
    area_code: str
    category: VenueCategory
    create_time: datetime


@dataclass(frozen=True)
class VisitRecord:
    """A scan of a venue's code. Personal data."""

    visit_id: str
    person_id: str
    venue_id: str
    visit_time: datetime
    # The code was out of date or from the future: kept, never used for tracing.
    flagged: bool


@dataclass(frozen=True)
class ScannedCode:
    """What a genuine venue code says: where, and in which period it was shown."""

    venue_id: str
    period: int


def check_venue(name: str, area_code: str, category: int) -> VenueCategory:
    """The venue's category, once every field is valid; else InvalidArgument naming the field."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH or "\x00" in name or not name.strip():
        raise InvalidArgument.for_field("name", f"must be 1 to {MAX_NAME_LENGTH} characters, not blank, without NUL",
                                        reason="VENUE_NAME_INVALID")
    if not areas.is_area_code(area_code):
        raise InvalidArgument.for_field("area_code", "must be a six-digit GB/T 2260 code under a known province",
                                        reason="AREA_UNKNOWN")
    try:
        return VenueCategory(category)
    except ValueError:
        raise InvalidArgument.for_field("category", "must be a known venue category",
                                        reason="VENUE_CATEGORY_INVALID") from None


def check_trace_id(trace_id: str) -> str | None:
    """A tracing run's id (None: the caller gave none); it becomes part of status record ids."""
    if not trace_id:
        return None
    if not _TRACE_ID.match(trace_id):
        raise InvalidArgument.for_field("trace_id", "must be 1 to 64 of A-Z, a-z, 0-9, '.', '_', ':' and '-'",
                                        reason="TRACE_ID_INVALID")
    return trace_id


def contact_window(minutes: int, policy: VenuePolicy) -> timedelta:
    """How far from a case's visit another visit makes a contact: 0 means the policy's default."""
    if minutes == 0:
        return policy.default_window
    window = timedelta(minutes=minutes)
    if not timedelta(0) < window <= policy.max_window:
        raise InvalidArgument.for_field("window_minutes", f"must be 1 to {policy.max_window // timedelta(minutes=1)} "
                                        "minutes (0 for the default)", reason="WINDOW_INVALID")
    return window


def period_of(moment: datetime, rotation: timedelta) -> int:
    """The code period `moment` falls in: floor(unix seconds / rotation seconds)."""
    return (moment - _EPOCH) // rotation


def period_end(period: int, rotation: timedelta) -> datetime:
    """When a period's code is replaced by the next one."""
    return _EPOCH + (period + 1) * rotation


def venue_code(key: bytes, venue_id: str, period: int) -> str:
    """The payload a venue shows during `period`."""
    return f"{VENUE_CODE_PREFIX}{uuid.UUID(venue_id).hex}.{period}.{_tag(key, venue_id, period)}"


def read_venue_code(key: bytes, payload: str) -> ScannedCode:
    """The venue and period of a genuine code; a malformed or forged one is refused."""
    match = _VENUE_CODE.match(payload) if len(payload) <= _MAX_CODE_LENGTH else None
    if match is not None:
        venue_id, period = str(uuid.UUID(match[1])), int(match[2])
        if hmac.compare_digest(_tag(key, venue_id, period), match[3]):
            return ScannedCode(venue_id, period)
    raise InvalidArgument.for_field("venue_code", "is not a venue code this service issued",
                                    reason="VENUE_CODE_INVALID")


def is_fresh(scanned: ScannedCode, now: datetime, rotation: timedelta) -> bool:
    """True for a code from the current or the previous period (a scan may straddle a rotation)."""
    current = period_of(now, rotation)
    return current - 1 <= scanned.period <= current


def _tag(key: bytes, venue_id: str, period: int) -> str:
    digest = hmac.new(key, f"{venue_id}.{period}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:TAG_BYTES]).decode().rstrip("=")

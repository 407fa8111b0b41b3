"""Recognition's plain data, as its use cases and clients pass it: what status and other provinces
answer (stale codes, colour changes, trust lists), the fevers reported between provinces, a refused
record, and the snapshot an offline checkpoint receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.verification.recognition.exchange import RiskRecord
    from services.verification.recognition.repository import AgreementRow, KeyRow


@dataclass(frozen=True)
class StaleCode:
    """A code a newer status made stale, until it expires (offline devices refuse it)."""

    code_id: bytes
    expire_time: datetime


@dataclass(frozen=True)
class FeverReport:
    """A fever read here on another province's code, as sent to its issuer."""

    report_id: str
    reporter_province: str
    payload: str = field(repr=False)
    reading_time: datetime | None       # None: unreadable as received (the report is refused)
    temperature: Decimal | float


@dataclass(frozen=True)
class PeerFever:
    """A fever another province read on one of our codes, its code checked: what our status records."""

    report_id: str
    code_id: bytes
    person_ref: bytes = field(repr=False)
    reading_time: datetime
    temperature: Decimal
    code_expire_time: datetime


@dataclass(frozen=True)
class ColourChange:
    """One of our persons' colour changes, as status's feed gives it (the exporter's input)."""

    sequence: int
    person_ref: bytes
    province_code: str
    previous_colour: int
    colour: int
    change_time: datetime
    reason: str


@dataclass(frozen=True)
class ColourChangePage:
    changes: list[ColourChange]
    last_sequence: int
    caught_up: bool


@dataclass(frozen=True)
class PeerTrustList:
    version: int
    exchange_key: KeyRow
    # The keys of provinces the peer is configured to speak for (its exchange key included).
    keys: list[KeyRow]


@dataclass(frozen=True)
class Rejection:
    """A record of a batch refused, by its index and field; the rest of the batch is kept."""

    index: int
    field: str
    reason: str


@dataclass(frozen=True)
class Snapshot:
    """What an offline checkpoint receives (the servicer serialises and signs it)."""

    version: int
    base_version: int
    issue_time: datetime
    own_provinces: frozenset[str]
    keys: list[KeyRow]
    agreements: list[AgreementRow]
    risk_records: list[RiskRecord]
    stale_codes: list[StaleCode]
    clock_skew: timedelta

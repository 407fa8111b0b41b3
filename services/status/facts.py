"""What authorities and people send in (facts, check-ins), checked field by field, and how
the health content is sealed at rest. Pure: no I/O."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services import areas
from services.colours import Colour
from services.codes.ids import parse_code_id
from services.runtime.errors import InvalidArgument
from services.runtime.requests import parse_uuid
from services.status.model import (FEVER_CELSIUS, Diagnosis, Fact, FactKind, FactSource, QuarantinePlace, Symptom,
                                   TestResult)
from services.status.rules import SHORT_LIVED

MAX_FACTS_PER_CALL = 1000
_AUTHORITY = re.compile(r"^[a-z0-9.-]{1,64}\Z")  # the gateway qualifies it: 420000.wuhan-cdc
_RECORD_ID = re.compile(r"^[\x21-\x7e]{1,128}\Z")  # printable ASCII, no spaces
FEED_KINDS = {FactKind.DIAGNOSIS, FactKind.QUARANTINE_ORDER, FactKind.NUCLEIC_ACID_TEST,
              FactKind.INBOUND_QUARANTINE, FactKind.DISCHARGE, FactKind.QUARANTINE_RELEASE,
              FactKind.FEVER_ON_SITE, FactKind.CLOSED_AREA_RESIDENCE, FactKind.FEVER_MEDICINE_PURCHASE,
              FactKind.FEVER_CLINIC_VISIT, FactKind.HOTEL_REGISTRATION, FactKind.CASE_REPORTED_STAY}
# Another province's word comes as a listing (listings.py), never in a feed.
_SOURCES = frozenset(FactSource) - {FactSource.PEER_PROVINCE}
_SYMPTOMS = frozenset(Symptom)

_CLASSIC_SOURCES = frozenset({FactSource.HEALTH, FactSource.POLICE, FactSource.BORDER, FactSource.COMMUNITY,
                              FactSource.AVIATION, FactSource.RAIL, FactSource.CHECKPOINT})
# Provenance: which kind of authority may state which fact. Kinds from before these feeds keep
# accepting the seven original sources; the newer feeds are each their own authority's word.
ALLOWED_SOURCES: dict[FactKind, frozenset[FactSource]] = {
    FactKind.NUCLEIC_ACID_TEST: frozenset({FactSource.HEALTH, FactSource.LABORATORY}),
    FactKind.CLOSED_AREA_RESIDENCE: frozenset({FactSource.COMMUNITY, FactSource.POLICE}),
    FactKind.FEVER_MEDICINE_PURCHASE: frozenset({FactSource.MARKET_REGULATION}),
    FactKind.FEVER_CLINIC_VISIT: frozenset({FactSource.HEALTH}),
    FactKind.HOTEL_REGISTRATION: frozenset({FactSource.POLICE}),
    FactKind.CASE_REPORTED_STAY: frozenset({FactSource.HEALTH}),
}
_PERIOD_KINDS = {FactKind.QUARANTINE_ORDER, FactKind.INBOUND_QUARANTINE, FactKind.CLOSED_AREA_RESIDENCE,
                 FactKind.HOTEL_REGISTRATION, FactKind.CASE_REPORTED_STAY}
_AREA_KINDS = {FactKind.CLOSED_AREA_RESIDENCE, FactKind.HOTEL_REGISTRATION, FactKind.CASE_REPORTED_STAY}
# Retention: facts of these kinds are deleted this long after they take effect, whatever the
# person's colour (rules.SHORT_LIVED bounds how long a rule set may show them).
RETENTION: dict[FactKind, timedelta] = {
    FactKind.FEVER_MEDICINE_PURCHASE: SHORT_LIVED["FEVER_MEDICINE_PURCHASE"],
    FactKind.FEVER_CLINIC_VISIT: SHORT_LIVED["FEVER_CLINIC_VISIT"],
    FactKind.HOTEL_REGISTRATION: SHORT_LIVED["HOTEL_STAY"],
    # A press of the pop-up's "continue" waives only short-lived findings: kept as long as they are.
    FactKind.POPUP_ACKNOWLEDGEMENT: max(SHORT_LIVED.values()),
}
MIN_BODY_CELSIUS, MAX_BODY_CELSIUS = Decimal("34.0"), Decimal("43.0")
# Another province's facts are recorded under the authority `<province code>.federation` (see
# peer_authority): no feed may use it, so nothing but that province's word reaches its facts.
PEER_AUTHORITY_SUFFIX = ".federation"
PEER_PROVINCE = 40  # FactSource: another province's deployment


@dataclass(frozen=True)
class SubmittedFact:
    """A fact as a feed sent it, before any check (the servicer fills it from the proto)."""

    person_id: str
    code_id: str        # instead of person_id, the hex id of the code shown (fever on site only)
    kind: int
    authority: str
    authority_record_id: str
    source: int
    effective_time: datetime | None
    end_time: datetime | None
    diagnosis: int
    place: int
    test_result: int
    temperature: float
    area_code: str = ""
    # A field the transport could not read (a time out of range): this fact is rejected for it.
    refused: InvalidArgument | None = None


@dataclass(frozen=True)
class AcceptedFact:
    """A checked fact; `person_id` is empty while the fact names a code, until intake finds
    whom the code was issued to."""

    person_id: str
    authority: str
    authority_record_id: str
    source: int
    fact: Fact
    code_id: bytes | None = None

    @property
    def retain_until(self) -> datetime | None:
        """When the fact is deleted whatever the person's colour; None: kept by the general rule."""
        kept = RETENTION.get(self.fact.kind)
        return None if kept is None else self.fact.effective_time + kept


def check_fact(index: int, submitted: SubmittedFact, fact_id: str, now: datetime,
               clock_skew: timedelta) -> AcceptedFact:
    """A fact ready to store, or InvalidArgument naming `facts[index].<field>`."""
    def refuse(field_name: str, description: str, reason: str) -> InvalidArgument:
        return InvalidArgument.for_field(f"facts[{index}].{field_name}", description, reason=reason)

    if submitted.refused is not None:
        raise submitted.refused
    code_id = None
    if submitted.code_id:
        # A checkpoint knows the code it scanned, not the person: only its own reading may name one.
        if submitted.person_id:
            raise refuse("code_id", "names the person a second way: give person_id or code_id",
                         "CODE_ID_UNEXPECTED")
        if submitted.kind != FactKind.FEVER_ON_SITE:
            raise refuse("code_id", "only fever on site may name a code", "CODE_ID_UNEXPECTED")
        person_id, code_id = "", parse_code_id(submitted.code_id, f"facts[{index}].code_id")
    else:
        person_id = parse_uuid(submitted.person_id, f"facts[{index}].person_id", "PERSON_ID_INVALID")
    try:
        kind = FactKind(submitted.kind)
    except ValueError:
        raise refuse("kind", "is not a known fact kind", "FACT_KIND_INVALID") from None
    if kind not in FEED_KINDS:
        raise refuse("kind", "is recorded by the service itself (appeals, overrides, pop-up presses)", "FACT_KIND_RESERVED")
    if not _AUTHORITY.match(submitted.authority):
        raise refuse("authority", "must be 1 to 64 of a-z, 0-9, '.' and '-'", "AUTHORITY_INVALID")
    if submitted.authority.endswith(PEER_AUTHORITY_SUFFIX):
        raise refuse("authority", "names another province's word, which only the federation brings",
                     "AUTHORITY_RESERVED")
    if not _RECORD_ID.match(submitted.authority_record_id):
        raise refuse("authority_record_id", "must be 1 to 128 printable characters without spaces",
                     "RECORD_ID_INVALID")
    if submitted.source not in _SOURCES:
        raise refuse("source", "is not a known source", "FACT_SOURCE_INVALID")
    if submitted.source not in ALLOWED_SOURCES.get(kind, _CLASSIC_SOURCES):
        raise refuse("source", "may not state this kind of fact", "FACT_SOURCE_NOT_ALLOWED")
    effective = submitted.effective_time
    if effective is None:
        raise refuse("effective_time", "is required", "EFFECTIVE_TIME_MISSING")
    if effective > now + clock_skew:
        raise refuse("effective_time", "is in the future", "EFFECTIVE_TIME_IN_FUTURE")
    end = submitted.end_time
    if kind in _PERIOD_KINDS:
        if end is not None and end <= effective:
            raise refuse("end_time", "must be after effective_time", "END_TIME_INVALID")
    elif end is not None:
        raise refuse("end_time", "applies only to orders, residences, registrations and stays", "END_TIME_UNEXPECTED")
    area_code = submitted.area_code
    if area_code:
        if kind not in _AREA_KINDS:
            raise refuse("area_code", "applies only to closed areas, hotel registrations and stays",
                         "AREA_CODE_UNEXPECTED")
        if not areas.is_area_code(area_code):
            raise refuse("area_code", "is not a GB/T 2260 area code", "AREA_CODE_INVALID")
    elif kind is FactKind.CASE_REPORTED_STAY:
        raise refuse("area_code", "is required: the county where cases were reported", "AREA_CODE_MISSING")
    fact = Fact(fact_id, kind, effective, end, area_code=area_code)
    if kind is FactKind.DIAGNOSIS:
        fact = _with_enum(fact, "diagnosis", Diagnosis, submitted.diagnosis, refuse)
    elif kind is FactKind.QUARANTINE_ORDER:
        fact = _with_enum(fact, "place", QuarantinePlace, submitted.place, refuse, field_name="place")
    elif kind is FactKind.NUCLEIC_ACID_TEST:
        fact = _with_enum(fact, "result", TestResult, submitted.test_result, refuse, field_name="test_result")
    elif kind is FactKind.FEVER_ON_SITE:
        fact = Fact(fact_id, kind, effective, None,
                    temperature=fever_reading(submitted.temperature, f"facts[{index}].temperature_celsius"))
    return AcceptedFact(person_id, submitted.authority, submitted.authority_record_id, submitted.source, fact,
                        code_id)


# Corrections of a fact by the authority that recorded it.
_REQUEST_ID = _RECORD_ID
MAX_CORRECTION_TEXT = 500
# What a fact says, by the name of the request field that carries it.
_FACT_FIELDS = (("effective_time", "effective_time"), ("end_time", "end_time"), ("diagnosis", "diagnosis"),
                ("place", "place"), ("result", "test_result"), ("temperature", "temperature_celsius"),
                ("area_code", "area_code"))


def check_correction(authority: str, record_id: str, reason: str, legal_basis: str, request_id: str) -> None:
    """The fields every correction carries, or InvalidArgument naming the one at fault."""
    if not _AUTHORITY.match(authority):
        raise InvalidArgument.for_field("authority", "must be 1 to 64 of a-z, 0-9, '.' and '-'",
                                        reason="AUTHORITY_INVALID")
    if not _RECORD_ID.match(record_id):
        raise InvalidArgument.for_field("authority_record_id", "must be 1 to 128 printable characters without spaces",
                                        reason="RECORD_ID_INVALID")
    for field_path, value in (("reason", reason), ("legal_basis", legal_basis)):
        if not value.strip() or len(value) > MAX_CORRECTION_TEXT:
            raise InvalidArgument.for_field(field_path, f"must be 1 to {MAX_CORRECTION_TEXT} characters",
                                            reason=f"{field_path.upper()}_INVALID")
    if not _REQUEST_ID.match(request_id):
        raise InvalidArgument.for_field("request_id", "must be 1 to 128 printable characters without spaces",
                                        reason="REQUEST_ID_INVALID")


def check_amendment(submitted: SubmittedFact, stored: Fact, now: datetime, clock_skew: timedelta
                    ) -> tuple[AcceptedFact, tuple[str, ...]]:
    """The amended fact, checked as RecordFacts checks one and named from `fact.`, with the names of
    the fields it changes; the same kind as the stored fact, and some change."""
    try:
        accepted = check_fact(0, submitted, stored.fact_id, now, clock_skew)
    except InvalidArgument as error:
        raise error.rebased("facts[0]", "fact") from None
    if accepted.fact.kind is not stored.kind:
        raise InvalidArgument.for_field("fact.kind", "must be the recorded fact's kind: retract it and record "
                                        "the other kind instead", reason="FACT_KIND_CHANGED")
    changed = tuple(name for attribute, name in _FACT_FIELDS
                    if getattr(accepted.fact, attribute) != getattr(stored, attribute))
    if not changed:
        raise InvalidArgument.for_field("fact", "says what the recorded fact says", reason="FACT_UNCHANGED")
    return accepted, changed


def _with_enum(fact: Fact, attribute: str, enum_type, value: int, refuse, field_name: str | None = None) -> Fact:
    try:
        member = enum_type(value)
    except ValueError:
        raise refuse(field_name or attribute, "is required for this kind of fact",
                     f"{(field_name or attribute).upper()}_INVALID") from None
    return Fact(fact.fact_id, fact.kind, fact.effective_time, fact.end_time, area_code=fact.area_code,
                **{attribute: member})


def body_temperature(value: float, field_path: str) -> Decimal:
    """A reading in ℃ to one decimal, within what a living body shows."""
    if not math.isfinite(value) or not float(MIN_BODY_CELSIUS) <= value <= float(MAX_BODY_CELSIUS):
        raise InvalidArgument.for_field(field_path, f"must be from {MIN_BODY_CELSIUS} to {MAX_BODY_CELSIUS} ℃",
                                        reason="TEMPERATURE_INVALID")
    return Decimal(str(round(value, 1)))


def fever_reading(value: float, field_path: str) -> Decimal:
    """A reading at a checkpoint that is a fever (37.3 ℃ or more), or InvalidArgument naming the field."""
    temperature = body_temperature(value, field_path)
    if temperature < FEVER_CELSIUS:
        raise InvalidArgument.for_field(field_path, f"is below {FEVER_CELSIUS} ℃: not a fever", reason="NOT_A_FEVER")
    return temperature


def check_symptoms(values: list[int]) -> tuple[int, ...]:
    for index, value in enumerate(values):
        if value not in _SYMPTOMS:
            raise InvalidArgument.for_field(f"symptoms[{index}]", "is not a known symptom", reason="SYMPTOM_INVALID")
    return tuple(sorted(set(values)))


def is_abnormal(temperature: Decimal, symptoms: tuple[int, ...]) -> bool:
    return temperature >= FEVER_CELSIUS or bool(symptoms)


# Sealing: the health content of a fact, as JSON, opened only to decide.

def seal_fact_body(fact: Fact) -> bytes:
    return json.dumps({
        "kind": int(fact.kind), "effective": fact.effective_time.timestamp(),
        "end": fact.end_time.timestamp() if fact.end_time else None,
        "diagnosis": fact.diagnosis and int(fact.diagnosis), "place": fact.place and int(fact.place),
        "result": fact.result and int(fact.result),
        "temperature": str(fact.temperature) if fact.temperature is not None else None,
        "dismissed": list(fact.dismissed), "colour": fact.colour and int(fact.colour),
        "reason_code": fact.reason_code, "area": fact.area_code,
        "risky": fact.risky_departure.timestamp() if fact.risky_departure else None,
        "provinces": [[code, departure.timestamp()] for code, departure in fact.stayed_provinces],
        **({"origin": fact.origin_province, "provenance": fact.provenance} if fact.origin_province else {}),
        **({"sequence": fact.list_sequence} if fact.list_sequence else {})},
        separators=(",", ":")).encode()


def open_fact_body(fact_id: str, body: bytes) -> Fact:
    raw = json.loads(body)
    return Fact(
        fact_id=fact_id, kind=FactKind(raw["kind"]),
        effective_time=datetime.fromtimestamp(raw["effective"], UTC),
        end_time=datetime.fromtimestamp(raw["end"], UTC) if raw["end"] is not None else None,
        diagnosis=Diagnosis(raw["diagnosis"]) if raw["diagnosis"] else None,
        place=QuarantinePlace(raw["place"]) if raw["place"] else None,
        result=TestResult(raw["result"]) if raw["result"] else None,
        temperature=Decimal(raw["temperature"]) if raw["temperature"] is not None else None,
        dismissed=tuple(raw["dismissed"]), colour=Colour(raw["colour"]) if raw["colour"] else None,
        reason_code=raw["reason_code"], area_code=raw.get("area", ""),
        risky_departure=datetime.fromtimestamp(raw["risky"], UTC) if raw.get("risky") is not None else None,
        stayed_provinces=tuple((code, datetime.fromtimestamp(departure, UTC))
                               for code, departure in raw.get("provinces", ())),
        origin_province=raw.get("origin", ""), provenance=raw.get("provenance", ""),
        list_sequence=raw.get("sequence", 0))


def fact_context(fact_id: str) -> bytes:
    return b"status.facts:" + fact_id.encode()


def check_in_context(check_in_id: str) -> bytes:
    return b"status.check_ins:" + check_in_id.encode()


def correction_context(correction_id: str) -> bytes:
    return b"status.corrections:" + correction_id.encode()


def appeal_context(appeal_id: str) -> bytes:
    return b"status.appeals:" + appeal_id.encode()


# Other provinces' word (RecordPeerListings, RecordPeerFevers): verification checked the batch's
# signature or the code's; what is checked here is each record's shape.

_PEER_BATCH_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_PEER_REASON = re.compile(r"^[A-Z0-9_]{1,64}\Z")
_PEER_SOURCE = re.compile(r"^[a-z0-9-]{1,64}\Z")
MAX_PEER_RECORD_INDEX = 1_000_000


def peer_authority(province_code: str) -> str:
    return province_code + PEER_AUTHORITY_SUFFIX


@dataclass(frozen=True)
class SubmittedListing:
    record_index: int
    person_ref: bytes
    colour: int
    reason: str
    source: str
    expire_time: datetime | None
    list_sequence: int = 0


@dataclass(frozen=True)
class SubmittedFever:
    report_id: str
    code_id: str
    person_ref: bytes
    reading_time: datetime | None
    temperature: float
    code_expire_time: datetime | None


def check_batch_id(batch_id: str) -> str:
    if not _PEER_BATCH_ID.match(batch_id):
        raise InvalidArgument.for_field("batch_id", "must be 1 to 128 of A-Z, a-z, 0-9, '.', '_', ':', '-'",
                                        reason="BATCH_ID_INVALID")
    return batch_id


def check_listing(index: int, submitted: SubmittedListing, origin: str, batch_id: str, receive_time: datetime,
                  fact_id: str) -> Fact:
    """A province's record as a PEER_PROVINCE_LISTING fact, or InvalidArgument naming `listings[index].<field>`."""
    def refuse(field_name: str, description: str, reason: str) -> InvalidArgument:
        return InvalidArgument.for_field(f"listings[{index}].{field_name}", description, reason=reason)

    if not 0 <= submitted.record_index <= MAX_PEER_RECORD_INDEX:
        raise refuse("record_index", f"must be from 0 to {MAX_PEER_RECORD_INDEX}", "RECORD_INDEX_INVALID")
    if len(submitted.person_ref) != 16:
        raise refuse("person_ref", "must be 16 bytes", "PERSON_REF_INVALID")
    if submitted.colour not in (Colour.GREEN, Colour.YELLOW, Colour.RED):
        raise refuse("colour", "must be RED or YELLOW (a listing) or GREEN (a delisting)", "COLOUR_INVALID")
    if not _PEER_REASON.match(submitted.reason):
        raise refuse("reason", "must be 1 to 64 of A-Z, 0-9, '_'", "REASON_INVALID")
    if not _PEER_SOURCE.match(submitted.source):
        raise refuse("source", "must be 1 to 64 of a-z, 0-9, '-'", "SOURCE_INVALID")
    if not 0 <= submitted.list_sequence < 2 ** 63:
        raise refuse("list_sequence", "must not be negative", "LIST_SEQUENCE_INVALID")
    colour = Colour(submitted.colour)
    expire = submitted.expire_time
    if colour is not Colour.GREEN and (expire is None or expire <= receive_time):
        raise refuse("expire_time", "must be after the batch's receipt", "EXPIRE_TIME_INVALID")
    return Fact(fact_id, FactKind.PEER_PROVINCE_LISTING, receive_time,
                None if colour is Colour.GREEN else expire, colour=colour, reason_code=submitted.reason,
                origin_province=origin, provenance=f"{batch_id}/{submitted.record_index}",
                list_sequence=submitted.list_sequence)


def check_peer_fever(index: int, submitted: SubmittedFever, origin: str, now: datetime, clock_skew: timedelta,
                     fact_id: str) -> tuple[bytes, Fact]:
    """A fever another province read on one of our codes: (code id, FEVER_ON_SITE fact), or
    InvalidArgument naming `fevers[index].<field>`. The code must have been valid at the reading."""
    def refuse(field_name: str, description: str, reason: str) -> InvalidArgument:
        return InvalidArgument.for_field(f"fevers[{index}].{field_name}", description, reason=reason)

    report_id = parse_uuid(submitted.report_id, f"fevers[{index}].report_id", "REPORT_ID_INVALID")
    code_id = parse_code_id(submitted.code_id, f"fevers[{index}].code_id")
    if len(submitted.person_ref) != 16:
        raise refuse("person_ref", "must be 16 bytes", "PERSON_REF_INVALID")
    reading = submitted.reading_time
    if reading is None:
        raise refuse("reading_time", "is required", "READING_TIME_MISSING")
    if reading > now + clock_skew:
        raise refuse("reading_time", "is in the future", "READING_TIME_IN_FUTURE")
    if submitted.code_expire_time is None or reading >= submitted.code_expire_time + clock_skew:
        raise refuse("code_expire_time", "the code had expired when it was read", "CODE_EXPIRED_AT_READING")
    temperature = fever_reading(submitted.temperature, f"fevers[{index}].temperature_celsius")
    return code_id, Fact(fact_id, FactKind.FEVER_ON_SITE, reading, None, temperature=temperature,
                         origin_province=origin, provenance=report_id)

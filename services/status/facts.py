"""What authorities and people send in (facts, check-ins), checked field by field, and how
the health content is sealed at rest. Pure: no I/O."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.colours import Colour
from services.codes.ids import parse_code_id
from services.runtime.errors import InvalidArgument
from services.runtime.requests import parse_uuid
from services.status.model import FEVER_CELSIUS, Diagnosis, Fact, FactKind, QuarantinePlace, TestResult

MAX_FACTS_PER_CALL = 1000
_AUTHORITY = re.compile(r"^[a-z0-9.-]{1,64}$")  # the gateway qualifies it: 420000.wuhan-cdc
_RECORD_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
FEED_KINDS = {FactKind.DIAGNOSIS, FactKind.QUARANTINE_ORDER, FactKind.NUCLEIC_ACID_TEST,
              FactKind.INBOUND_QUARANTINE, FactKind.DISCHARGE, FactKind.QUARANTINE_RELEASE,
              FactKind.FEVER_ON_SITE}
_SOURCES = range(1, 8)  # FactSource values
_SYMPTOMS = range(1, 8)  # Symptom values
MIN_BODY_CELSIUS, MAX_BODY_CELSIUS = Decimal("34.0"), Decimal("43.0")


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


@dataclass(frozen=True)
class AcceptedFact:
    """A checked fact; `person_id` is empty while the fact names a code, until the board finds
    whom the code was issued to."""

    person_id: str
    authority: str
    authority_record_id: str
    source: int
    fact: Fact
    code_id: bytes | None = None


def check_fact(index: int, submitted: SubmittedFact, fact_id: str, now: datetime,
               clock_skew: timedelta) -> AcceptedFact:
    """A fact ready to store, or InvalidArgument naming `facts[index].<field>`."""
    def refuse(field_name: str, description: str, reason: str) -> InvalidArgument:
        return InvalidArgument.for_field(f"facts[{index}].{field_name}", description, reason=reason)

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
        raise refuse("kind", "is recorded by the service itself (appeals, overrides)", "FACT_KIND_RESERVED")
    if not _AUTHORITY.match(submitted.authority):
        raise refuse("authority", "must be 1 to 64 of a-z, 0-9, '.' and '-'", "AUTHORITY_INVALID")
    if not _RECORD_ID.match(submitted.authority_record_id):
        raise refuse("authority_record_id", "must be 1 to 128 printable characters without spaces",
                     "RECORD_ID_INVALID")
    if submitted.source not in _SOURCES:
        raise refuse("source", "is not a known source", "FACT_SOURCE_INVALID")
    effective = submitted.effective_time
    if effective is None:
        raise refuse("effective_time", "is required", "EFFECTIVE_TIME_MISSING")
    if effective > now + clock_skew:
        raise refuse("effective_time", "is in the future", "EFFECTIVE_TIME_IN_FUTURE")
    end = submitted.end_time
    if kind in (FactKind.QUARANTINE_ORDER, FactKind.INBOUND_QUARANTINE):
        if end is not None and end <= effective:
            raise refuse("end_time", "must be after effective_time", "END_TIME_INVALID")
    elif end is not None:
        raise refuse("end_time", "applies only to quarantine orders", "END_TIME_UNEXPECTED")
    fact = Fact(fact_id, kind, effective, end)
    if kind is FactKind.DIAGNOSIS:
        fact = _with_enum(fact, "diagnosis", Diagnosis, submitted.diagnosis, refuse)
    elif kind is FactKind.QUARANTINE_ORDER:
        fact = _with_enum(fact, "place", QuarantinePlace, submitted.place, refuse, field_name="place")
    elif kind is FactKind.NUCLEIC_ACID_TEST:
        fact = _with_enum(fact, "result", TestResult, submitted.test_result, refuse, field_name="test_result")
    elif kind is FactKind.FEVER_ON_SITE:
        temperature = body_temperature(submitted.temperature, f"facts[{index}].temperature_celsius")
        if temperature < FEVER_CELSIUS:
            raise refuse("temperature_celsius", f"is below {FEVER_CELSIUS} ℃: not a fever", "NOT_A_FEVER")
        fact = Fact(fact_id, kind, effective, None, temperature=temperature)
    return AcceptedFact(person_id, submitted.authority, submitted.authority_record_id, submitted.source, fact,
                        code_id)


def _with_enum(fact: Fact, attribute: str, enum_type, value: int, refuse, field_name: str | None = None) -> Fact:
    try:
        member = enum_type(value)
    except ValueError:
        raise refuse(field_name or attribute, "is required for this kind of fact",
                     f"{(field_name or attribute).upper()}_INVALID") from None
    return Fact(fact.fact_id, fact.kind, fact.effective_time, fact.end_time, **{attribute: member})


def body_temperature(value: float, field_path: str) -> Decimal:
    """A reading in ℃ to one decimal, within what a living body shows."""
    if not math.isfinite(value) or not float(MIN_BODY_CELSIUS) <= value <= float(MAX_BODY_CELSIUS):
        raise InvalidArgument.for_field(field_path, f"must be from {MIN_BODY_CELSIUS} to {MAX_BODY_CELSIUS} ℃",
                                        reason="TEMPERATURE_INVALID")
    return Decimal(str(round(value, 1)))


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
        "reason_code": fact.reason_code}, separators=(",", ":")).encode()


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
        reason_code=raw["reason_code"])


def fact_context(fact_id: str) -> bytes:
    return b"status.facts:" + fact_id.encode()


def check_in_context(check_in_id: str) -> bytes:
    return b"status.check_ins:" + check_in_id.encode()


def appeal_context(appeal_id: str) -> bytes:
    return b"status.appeals:" + appeal_id.encode()

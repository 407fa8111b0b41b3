"""Helpers for status tests: persons in a chosen province, facts, and a clock moved for a while."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC
from decimal import Decimal

import asyncpg

from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2 as pb
from healthcode.common.v1 import common_pb2
from healthcode.itinerary.v1 import itinerary_pb2

from services.status.casework import bootstrap_administrator
from tests.support import ManualClock, passport, timestamp
from services.status.audit import AuditChain, verify_chain
from services.status.repository import StatusTransaction
from services.status.model import CheckIn, Decision, Diagnosis, Evidence, Exposure, Fact, FactKind, QuarantinePlace
from services.status.model import TestResult as SampleResult


_records = itertools.count()

HUBEI, LIAONING, BEIJING, NATIONAL_ONLY = "420000", "210000", "110000", "630000"  # Qinghai ships no rules


async def person_in(identity_env, province_code: str) -> str:
    """A freshly registered person whose home province is `province_code`."""
    response = await identity_env.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="路人甲", document=passport(), home_province_code=province_code))
    return response.person.person_id


def fact(person_id: str, kind: int, at: datetime, **fields) -> pb.Fact:
    """A feed's fact with a record id of its own (a resend reuses the returned message)."""
    end = fields.pop("end", None)
    message = pb.Fact(person_id=person_id, kind=kind, authority="test-cdc",
                      authority_record_id=f"rec-{next(_records)}", source=pb.FACT_SOURCE_HEALTH,
                      effective_time=timestamp(at), **fields)
    if end is not None:
        message.end_time.CopyFrom(timestamp(end))
    return message


def diagnosis(person_id: str, which: int, at: datetime) -> pb.Fact:
    return fact(person_id, pb.FACT_KIND_DIAGNOSIS, at, diagnosis=which)


async def record(status_env, *facts: pb.Fact) -> pb.RecordFactsResponse:
    return await status_env.stub.RecordFacts(pb.RecordFactsRequest(facts=list(facts)))


async def reference_of(identity_env, person_id: str) -> bytes:
    response = await identity_env.persons.GetPerson(identity_pb2.GetPersonRequest(person_id=person_id))
    return response.person.federation_ref


async def every_colour_change(status_env, after: int, provinces: list[str], page_size: int
                              ) -> list[pb.ColourChange]:
    """Every colour change ListColourChanges lists after `after`, page by page until caught up."""
    return (await _colour_changes_until_caught_up(status_env, after, provinces, page_size))[0]


async def feed_head(status_env, provinces: list[str]) -> int:
    """The last sequence ListColourChanges has read up to now (where a page of what comes next starts)."""
    return (await _colour_changes_until_caught_up(status_env, 0, provinces, 10_000))[1]


async def _colour_changes_until_caught_up(status_env, after: int, provinces: list[str], page_size: int
                                          ) -> tuple[list[pb.ColourChange], int]:
    changes = []
    while True:
        page = await status_env.stub.ListColourChanges(pb.ListColourChangesRequest(
            after_sequence=after, page_size=page_size, province_codes=provinces))
        changes += page.changes
        assert page.last_sequence >= after
        after = page.last_sequence
        if page.caught_up:
            return changes, after


async def status_of(status_env, person_id: str) -> pb.Status:
    return (await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person_id))).status


def later(clock: ManualClock, delta: timedelta):
    """Moves the shared clock forward for the block, and back after it."""
    return clock.at(clock.now() + delta)


# The national administrator the tests' grants come from (bootstrapped as `healthcode
# grant-administrator` does).
ADMINISTRATOR = "000000.test-administrator"


async def administrator(status_env) -> str:
    await bootstrap_administrator(status_env.parts.repository, ADMINISTRATOR, "000000",
                                  status_env.parts.decider.now())
    return ADMINISTRATOR


async def grant(status_env, officer_id: str, province_code: str, *roles: int) -> None:
    """The roles, granted by the national administrator (an administrator never grants their own)."""
    await status_env.admin.SetOfficerRoles(pb.SetOfficerRolesRequest(
        officer_id=officer_id, province_code=province_code, roles=list(roles),
        granted_by_id=await administrator(status_env)))


async def guardian_and_child(identity_env, clock) -> tuple[str, str]:
    """A parent and their six-year-old, linked in identity on the household register's attestation."""
    from tests.support.identity import attested_link, birth_date_for_age, person
    from tests.support import id_card

    parent_document, child_document = id_card(), id_card(birth_date_for_age(clock, 6))
    parent = await person(identity_env, parent_document)
    child = await person(identity_env, child_document, "陈小")
    await attested_link(identity_env, parent, child,
                        identity_env.register.relation(parent_document, child_document, clock.now()))
    return parent.person_id, child.person_id


@asynccontextmanager
async def tampering(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser's connection that can rewrite the log (triggers off); everything is rolled back."""
    connection = await asyncpg.connect(database_url)
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute("SET LOCAL session_replication_role = replica")
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


async def problems(status_env, connection: asyncpg.Connection, expected_heads=()) -> list[str]:
    transaction = StatusTransaction(connection)
    return await verify_chain(AuditChain(status_env.settings.audit_key),
                              lambda shard, seq: transaction.audit_chain(shard, seq, 1000),
                              await transaction.audit_heads(), expected_heads)


RED, YELLOW, GREEN = common_pb2.COLOUR_RED, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_GREEN


async def declared_high(itinerary_env, clock, area: str, days_ago: int = 10) -> str:
    response = await itinerary_env.stub.DeclareRiskArea(itinerary_pb2.DeclareRiskAreaRequest(
        area_code=area, level=common_pb2.RISK_LEVEL_HIGH,
        effective_time=timestamp(clock.now() - timedelta(days=days_ago)), authority="xinjiang-hc", reason="cases"))
    return response.declaration.declaration_id


async def recompute(status_env, declaration_id: str) -> None:
    """The declaration's own recomputation (as the follower would start it)."""
    recomputation = status_env.parts.recomputation
    await recomputation.start(declaration_id)
    await recomputation.work()


START = datetime(2020, 2, 1, tzinfo=UTC)  # 08:00 on 1 February in Beijing time (UTC+8)


TICK = timedelta(microseconds=1)


WUCHANG = "420106"


_ids = itertools.count(1)


def day(offset: float, hours: float = 0) -> datetime:
    """`offset` days and `hours` hours after START (00:00Z on 1 February 2020)."""
    return START + timedelta(days=offset, hours=hours)


def _fact(kind: FactKind, at: datetime, **fields) -> Fact:
    return Fact(f"fact-{next(_ids)}", kind, at, **fields)


def diagnosed(diagnosis: Diagnosis, at: datetime) -> Fact:
    return _fact(FactKind.DIAGNOSIS, at, diagnosis=diagnosis)


def discharged(at: datetime) -> Fact:
    return _fact(FactKind.DISCHARGE, at)


def released(at: datetime) -> Fact:
    return _fact(FactKind.QUARANTINE_RELEASE, at)


def sampled(result: SampleResult, at: datetime) -> Fact:
    return _fact(FactKind.NUCLEIC_ACID_TEST, at, result=result)


def quarantined(place: QuarantinePlace, start: datetime, end: datetime) -> Fact:
    return _fact(FactKind.QUARANTINE_ORDER, start, end_time=end, place=place)


def fever_on_site(at: datetime) -> Fact:
    return _fact(FactKind.FEVER_ON_SITE, at, temperature=Decimal("38.2"))


def check_in(at: datetime, abnormal: bool = False) -> CheckIn:
    return CheckIn(f"check-in-{next(_ids)}", at, abnormal)


def stay(arrival: datetime, departure: datetime, *, high: bool, area: str = WUCHANG) -> Exposure:
    return Exposure(area, arrival, departure, high)


def evidence(*items: Fact | CheckIn | Exposure, enrolled: datetime = START) -> Evidence:
    return Evidence(
        enrolled_time=enrolled,
        facts=tuple(item for item in items if isinstance(item, Fact)),
        check_ins=tuple(item for item in items if isinstance(item, CheckIn)),
        exposures=tuple(item for item in items if isinstance(item, Exposure)))


def codes(decision: Decision) -> list[str]:
    return [reason.code for reason in decision.reasons]

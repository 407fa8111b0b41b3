"""Helpers for status tests: persons in a chosen province, facts, and a clock moved for a while."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.status.casework import bootstrap_administrator
from tests.support import ManualClock, passport, timestamp

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


async def status_of(status_env, person_id: str) -> pb.Status:
    return (await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person_id))).status


def later(clock: ManualClock, delta: timedelta):
    """Moves the shared clock forward for the block, and back after it."""
    return clock.at(clock.now() + delta)


# The national administrator the tests' grants come from (bootstrapped as `healthcode
# grant-administrator` does).
ADMINISTRATOR = "000000.test-administrator"


async def administrator(status_env) -> str:
    await bootstrap_administrator(status_env.parts.board.repository, ADMINISTRATOR, "000000",
                                  status_env.parts.board.now())
    return ADMINISTRATOR


async def grant(status_env, officer_id: str, province_code: str, *roles: int) -> None:
    """The roles, granted by the national administrator (an administrator never grants their own)."""
    await status_env.admin.SetOfficerRoles(pb.SetOfficerRolesRequest(
        officer_id=officer_id, province_code=province_code, roles=list(roles),
        granted_by_id=await administrator(status_env)))


async def guardian_and_child(identity_env, clock) -> tuple[str, str]:
    """A parent and their six-year-old, linked in identity on the household register's attestation."""
    from tests.identity.test_dependents import attested_link, birth_date_for_age, person
    from tests.support import id_card

    parent_document, child_document = id_card(), id_card(birth_date_for_age(clock, 6))
    parent = await person(identity_env, parent_document)
    child = await person(identity_env, child_document, "陈小")
    await attested_link(identity_env, parent, child,
                        identity_env.register.relation(parent_document, child_document, clock.now()))
    return parent.person_id, child.person_id

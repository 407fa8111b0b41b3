"""Test support moved out of tests/identity/test_dependents.py: definitions other test modules use."""

from __future__ import annotations

from datetime import date, timedelta

from healthcode.identity.v1 import identity_pb2 as pb

from tests.support import id_card, years_from


async def person(env, document=None, name="陈大明"):
    return (await env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name=name, document=document or id_card(date(1960, 3, 3))))).person


def birth_date_for_age(clock, years: int, days_extra: int = 0) -> date:
    today = clock.now().date()
    return years_from(today, -years) - timedelta(days=days_extra)


async def attested_link(env, holder, dependent, attestation, relation=pb.RELATION_PARENT):
    return await env.persons.LinkDependent(pb.LinkDependentRequest(
        holder_person_id=holder.person_id, dependent_person_id=dependent.person_id, relation=relation,
        relation_attestation=attestation))

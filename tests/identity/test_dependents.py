"""Dependents (他人代查): consent by face check or guardianship of a minor, at most 4 live links."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import grpc

from healthcode.identity.v1 import identity_pb2 as pb
from tests.support import refused, error_details, id_card, years_from


async def person(env, document=None, name="陈大明"):
    return (await env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name=name, document=document or id_card(date(1960, 3, 3))))).person


async def link(env, holder, dependent, relation=pb.RELATION_CHILD, attestation=None):
    return await env.persons.LinkDependent(pb.LinkDependentRequest(
        holder_person_id=holder.person_id, dependent_person_id=dependent.person_id, relation=relation,
        dependent_face_attestation=attestation))


async def consenting(env, clock):
    """A registered adult and their fresh face-check attestation."""
    document = id_card(date(1950, 6, 1))
    return await person(env, document), env.provider.attest(document, clock.now())


def birth_date_for_age(clock, years: int, days_extra: int = 0) -> date:
    today = clock.now().date()
    return years_from(today, -years) - timedelta(days=days_extra)


async def test_an_adult_dependent_is_linked_by_their_own_face_check(identity_env, clock):
    holder = await person(identity_env)
    elder, attestation = await consenting(identity_env, clock)

    response = await link(identity_env, holder, elder, attestation=attestation)

    assert response.created
    assert response.link.basis == pb.LINK_BASIS_DEPENDENT_FACE_CHECK
    assert response.link.dependent.person_id == elder.person_id
    assert response.link.dependent.masked_name == "陈*明"


async def test_an_adult_dependent_without_a_face_check_is_refused(identity_env):
    holder, adult = await person(identity_env), await person(identity_env)

    error = await refused(link(identity_env, holder, adult, relation=pb.RELATION_PARENT))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(error)[0] == "DEPENDENT_CONSENT_REQUIRED"


async def test_a_parent_links_a_minor_child_without_a_face_check(identity_env, clock):
    parent = await person(identity_env)
    child = await person(identity_env, id_card(birth_date_for_age(clock, 17, days_extra=364)), "陈小")

    response = await link(identity_env, parent, child, relation=pb.RELATION_PARENT)

    assert response.link.basis == pb.LINK_BASIS_GUARDIANSHIP_OF_MINOR


async def test_a_child_on_their_eighteenth_birthday_must_consent_themselves(identity_env, clock):
    parent = await person(identity_env)
    adult_today = await person(identity_env, id_card(birth_date_for_age(clock, 18)), "陈成")

    error = await refused(link(identity_env, parent, adult_today, relation=pb.RELATION_PARENT))

    assert error_details(error)[0] == "DEPENDENT_CONSENT_REQUIRED"


async def test_a_minor_needs_a_parent_or_guardian_relation(identity_env, clock):
    stranger = await person(identity_env)
    child = await person(identity_env, id_card(birth_date_for_age(clock, 8)), "陈童")

    error = await refused(link(identity_env, stranger, child, relation=pb.RELATION_OTHER))

    assert error_details(error)[0] == "DEPENDENT_CONSENT_REQUIRED"


async def test_the_fifth_dependent_is_refused(identity_env, clock):
    holder = await person(identity_env)
    for _ in range(4):
        elder, attestation = await consenting(identity_env, clock)
        await link(identity_env, holder, elder, attestation=attestation)
    fifth, attestation = await consenting(identity_env, clock)

    error = await refused(link(identity_env, holder, fifth, attestation=attestation))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(error)[0] == "DEPENDENT_LIMIT_REACHED"
    listed = await identity_env.persons.ListDependents(pb.ListDependentsRequest(holder_person_id=holder.person_id))
    assert len(listed.links) == 4


async def test_concurrent_links_never_exceed_four(identity_env, clock):
    holder = await person(identity_env)
    candidates = [await consenting(identity_env, clock) for _ in range(6)]

    results = await asyncio.gather(*(link(identity_env, holder, elder, attestation=attestation)
                                     for elder, attestation in candidates), return_exceptions=True)

    assert sum(not isinstance(r, Exception) for r in results) == 4
    assert all(error_details(r)[0] == "DEPENDENT_LIMIT_REACHED" for r in results if isinstance(r, Exception))


async def test_removing_a_link_frees_a_place(identity_env, clock):
    holder = await person(identity_env)
    linked = []
    for _ in range(4):
        elder, attestation = await consenting(identity_env, clock)
        await link(identity_env, holder, elder, attestation=attestation)
        linked.append(elder)

    removed = await identity_env.persons.UnlinkDependent(pb.UnlinkDependentRequest(
        holder_person_id=holder.person_id, dependent_person_id=linked[0].person_id))
    newcomer, attestation = await consenting(identity_env, clock)
    response = await link(identity_env, holder, newcomer, attestation=attestation)

    assert removed.link.HasField("unlink_time")
    assert response.created


async def test_linking_twice_returns_the_live_link(identity_env, clock):
    holder = await person(identity_env)
    elder, attestation = await consenting(identity_env, clock)
    first = await link(identity_env, holder, elder, attestation=attestation)

    again = await link(identity_env, holder, elder)

    assert not again.created
    assert again.link.link_time == first.link.link_time


async def test_unlinking_twice_returns_the_removed_link(identity_env, clock):
    holder = await person(identity_env)
    elder, attestation = await consenting(identity_env, clock)
    await link(identity_env, holder, elder, attestation=attestation)
    request = pb.UnlinkDependentRequest(holder_person_id=holder.person_id, dependent_person_id=elder.person_id)

    first = await identity_env.persons.UnlinkDependent(request)
    second = await identity_env.persons.UnlinkDependent(request)

    assert second.link.unlink_time == first.link.unlink_time


async def test_unlinking_a_never_linked_pair_is_not_found(identity_env):
    a, b = await person(identity_env), await person(identity_env)

    error = await refused(identity_env.persons.UnlinkDependent(pb.UnlinkDependentRequest(
        holder_person_id=a.person_id, dependent_person_id=b.person_id)))

    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_a_person_cannot_be_their_own_dependent(identity_env):
    holder = await person(identity_env)

    error = await refused(link(identity_env, holder, holder))

    assert error_details(error) == ("SELF_LINK", ["dependent_person_id"])


async def test_linking_to_an_unknown_dependent_is_not_found(identity_env):
    holder = await person(identity_env)
    ghost = pb.Person(person_id="00000000-0000-4000-8000-000000000000")

    error = await refused(link(identity_env, holder, ghost))

    assert error_details(error)[0] == "DEPENDENT_NOT_FOUND"


async def test_acting_is_allowed_only_for_oneself_and_through_a_live_link(identity_env, clock):
    holder = await person(identity_env)
    elder, attestation = await consenting(identity_env, clock)
    stranger = await person(identity_env)
    await link(identity_env, holder, elder, attestation=attestation)

    async def basis(actor, subject):
        return (await identity_env.persons.CheckActingRight(pb.CheckActingRightRequest(
            actor_person_id=actor.person_id, subject_person_id=subject.person_id)))

    assert (await basis(holder, holder)).basis == pb.ACTING_BASIS_SELF
    assert (await basis(holder, elder)).allowed
    assert (await basis(holder, elder)).basis == pb.ACTING_BASIS_DEPENDENT_LINK
    assert not (await basis(elder, holder)).allowed
    assert not (await basis(stranger, elder)).allowed

    await identity_env.persons.UnlinkDependent(pb.UnlinkDependentRequest(
        holder_person_id=holder.person_id, dependent_person_id=elder.person_id))
    assert not (await basis(holder, elder)).allowed

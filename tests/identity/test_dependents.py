"""Dependents (他人代查): consent by face check or guardianship of a minor, at most 4 live links."""

from __future__ import annotations

import asyncio
from datetime import date

import grpc
from google.type import date_pb2

from healthcode.identity.v1 import identity_pb2 as pb
from tests.support import HouseholdRegister, error_details, id_card, passport, refused
from tests.support.identity import attested_link, birth_date_for_age, person


async def link(env, holder, dependent, relation=pb.RELATION_CHILD, attestation=None):
    return await env.persons.LinkDependent(pb.LinkDependentRequest(
        holder_person_id=holder.person_id, dependent_person_id=dependent.person_id, relation=relation,
        dependent_face_attestation=attestation))


async def consenting(env, clock):
    """A registered adult and their fresh face-check attestation."""
    document = id_card(date(1950, 6, 1))
    return await person(env, document), env.provider.attest(document, clock.now())


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


async def test_a_claimed_parent_cannot_link_a_minor(identity_env, clock):
    stranger = await person(identity_env)
    child = await person(identity_env, id_card(birth_date_for_age(clock, 17, days_extra=364)), "陈小")

    error = await refused(link(identity_env, stranger, child, relation=pb.RELATION_PARENT))

    assert error_details(error)[0] == "DEPENDENT_CONSENT_REQUIRED"


async def test_a_parent_the_household_register_attests_links_a_minor_child(identity_env, clock):
    parent_document, child_document = id_card(date(1985, 1, 1)), id_card(birth_date_for_age(clock, 17, 364))
    parent, child = await person(identity_env, parent_document), await person(identity_env, child_document, "陈小")

    response = await attested_link(identity_env, parent, child,
                                   identity_env.register.relation(parent_document, child_document, clock.now()))

    assert (response.created, response.link.basis) == (True, pb.LINK_BASIS_ATTESTED_GUARDIANSHIP)


async def test_a_registrants_birth_date_never_makes_an_adult_a_minor(identity_env, clock):
    # A foreign adult's passport registered beforehand with a child's birth date.
    squatter_document, adult_document = id_card(date(1985, 1, 1)), passport("FRA")
    squatter = await person(identity_env, squatter_document)
    adult = (await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name="Jean Dupont", document=adult_document, home_province_code="420000",
        birth_date=date_pb2.Date(year=2018, month=1, day=1)))).person

    claimed = await refused(link(identity_env, squatter, adult, relation=pb.RELATION_PARENT))
    # The register knows the passport holder as an adult: its date, not the registrant's, counts.
    attested = await refused(attested_link(identity_env, squatter, adult, identity_env.register.relation(
        squatter_document, adult_document, clock.now(), minor_birth_date=date(1980, 1, 1))))

    assert error_details(claimed)[0] == "DEPENDENT_CONSENT_REQUIRED"
    assert error_details(attested)[0] == "DEPENDENT_NOT_A_MINOR"


async def test_the_register_gives_the_birth_date_of_a_minor_whose_document_has_none(identity_env, clock):
    parent_document, child_document = id_card(date(1985, 1, 1)), passport("FRA")
    parent = await person(identity_env, parent_document)
    child = (await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name="Léa Dupont", document=child_document, home_province_code="420000"))).person

    response = await attested_link(identity_env, parent, child, identity_env.register.relation(
        parent_document, child_document, clock.now(), minor_birth_date=birth_date_for_age(clock, 9)))

    assert response.link.basis == pb.LINK_BASIS_ATTESTED_GUARDIANSHIP


async def test_a_relation_attestation_must_name_both_persons_and_come_from_the_register(identity_env, clock):
    parent_document, child_document = id_card(date(1985, 1, 1)), id_card(birth_date_for_age(clock, 6))
    parent, child = await person(identity_env, parent_document), await person(identity_env, child_document, "陈小")
    someone_else = id_card(date(1980, 1, 1))
    # A face-check provider's key signing a relation: the right kind of key matters.
    face_provider_as_register = HouseholdRegister(identity_env.provider.provider_id, identity_env.provider.key_id)
    face_provider_as_register.private_key = identity_env.provider.private_key
    genuine = identity_env.register.relation(parent_document, child_document, clock.now())

    wrong_guardian = await refused(attested_link(identity_env, parent, child, identity_env.register.relation(
        someone_else, child_document, clock.now())))
    wrong_kind = await refused(attested_link(identity_env, parent, child, face_provider_as_register.relation(
        parent_document, child_document, clock.now())))
    wrong_relation = await refused(attested_link(identity_env, parent, child, genuine, relation=pb.RELATION_GUARDIAN))

    assert error_details(wrong_guardian) == ("ATTESTATION_DOCUMENT_MISMATCH", ["relation_attestation"])
    assert error_details(wrong_kind) == ("ATTESTATION_KEY_KIND", ["relation_attestation"])
    assert error_details(wrong_relation)[0] == "RELATION_NOT_ATTESTED"


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

"""The federation person reference: a keyed hash of the document that every province computes
alike, exchanged instead of any document number, and never usable as identity's lookup hash."""

from __future__ import annotations

import hashlib
import hmac
import os

from healthcode.identity.v1 import identity_pb2 as pb

from services.identity.bootstrap import build_registry
from services.identity.repository import IdentityRepository
from services.identity.documents import (
    FEDERATION_PURPOSE,
    DocumentKind,
    federation_reference,
    parse_document,
)
from services.runtime.sealing import LookupHasher
from tests.support import id_card, id_card_number, passport

KEY = os.urandom(32)
FEDERATION = LookupHasher(KEY, FEDERATION_PURPOSE)
NUMBER = "11010519491231002X"


def _card(number: str = NUMBER):
    return parse_document(DocumentKind.RESIDENT_ID_CARD, number)


# The reference itself (no I/O).

def test_the_reference_is_16_bytes():
    assert len(federation_reference(_card(), FEDERATION)) == 16


def test_the_reference_is_the_same_for_every_spelling_of_one_document():
    spellings = [NUMBER, "110105 1949 1231 002x", "１１０１０５１９４９１２３１００２Ｘ"]

    assert len({federation_reference(_card(s), FEDERATION) for s in spellings}) == 1


def test_the_reference_is_the_documented_keyed_hash_another_province_can_compute():
    purpose_key = hmac.new(KEY, b"federation.person", hashlib.sha256).digest()
    expected = hmac.new(purpose_key, f"RESIDENT_ID_CARD:CHN:{NUMBER}".encode(), hashlib.sha256).digest()[:16]

    assert federation_reference(_card(), FEDERATION) == expected


def test_different_documents_have_different_references():
    other = _card(id_card_number())
    same_number_other_country = [parse_document(DocumentKind.PASSPORT, "E1234567", country)
                                 for country in ("FRA", "DEU")]

    assert federation_reference(other, FEDERATION) != federation_reference(_card(), FEDERATION)
    assert len({federation_reference(d, FEDERATION) for d in same_number_other_country}) == 2


def test_another_key_gives_another_reference():
    other_federation = LookupHasher(os.urandom(32), FEDERATION_PURPOSE)

    assert federation_reference(_card(), other_federation) != federation_reference(_card(), FEDERATION)


def test_the_same_key_never_yields_the_identity_lookup_hash():
    # Even an operator who reused one key for both could not match references against lookups.
    lookup = LookupHasher(KEY, "identity.document").digest(_card().lookup_key())
    reference = federation_reference(_card(), FEDERATION)

    assert reference not in lookup


# Through identity.

async def _register(identity_env, document: pb.Document, name: str = "林一") -> pb.Person:
    return (await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name=name, document=document, home_province_code="110000"))).person


def _expected(identity_env, document: pb.Document) -> bytes:
    parsed = parse_document(DocumentKind(document.kind), document.number, document.country_code)
    return federation_reference(parsed, LookupHasher(identity_env.settings.federation_key, FEDERATION_PURPOSE))


async def test_a_registered_person_carries_the_reference_of_their_document(identity_env):
    document = id_card()

    person = await _register(identity_env, document)

    assert person.federation_ref == _expected(identity_env, document)


async def test_the_reference_is_in_get_person_and_batch_get_persons(identity_env):
    person = await _register(identity_env, passport())

    got = (await identity_env.persons.GetPerson(pb.GetPersonRequest(person_id=person.person_id))).person
    batch = await identity_env.persons.BatchGetPersons(pb.BatchGetPersonsRequest(person_ids=[person.person_id]))

    assert len(person.federation_ref) == 16
    assert got.federation_ref == person.federation_ref
    assert [p.federation_ref for p in batch.persons] == [person.federation_ref]


async def test_registering_the_same_document_again_gives_the_same_reference(identity_env):
    document = id_card()
    first = await _register(identity_env, document)

    again = await _register(identity_env, document)

    assert again.federation_ref == first.federation_ref


async def test_two_persons_have_different_references(identity_env):
    first, second = [await _register(identity_env, id_card()) for _ in range(2)]

    assert first.federation_ref != second.federation_ref


async def test_the_reference_is_not_the_stored_lookup_hash(identity_env, db):
    person = await _register(identity_env, id_card())

    lookup = bytes(await db.fetchval("SELECT document_lookup FROM identity.persons WHERE person_id = $1",
                                     person.person_id))

    assert person.federation_ref not in lookup


async def test_reseal_fills_in_the_reference_of_a_person_registered_before_references(identity_env, db, clock):
    document = id_card()
    person = await _register(identity_env, document)
    await db.execute("UPDATE identity.persons SET federation_ref = NULL WHERE person_id = $1", person.person_id)
    before = (await identity_env.persons.GetPerson(pb.GetPersonRequest(person_id=person.person_id))).person

    filled = await build_registry(identity_env.settings, IdentityRepository(db), clock).reseal(batch_size=7)

    after = (await identity_env.persons.GetPerson(pb.GetPersonRequest(person_id=person.person_id))).person
    assert before.federation_ref == b""
    assert filled >= 1
    assert after.federation_ref == _expected(identity_env, document)
    assert await db.fetchval("SELECT count(*) FROM identity.persons WHERE federation_ref IS NULL") == 0

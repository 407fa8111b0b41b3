"""Rotating the sealing key: reseal moves every person to the new key, after which the old key may go."""

from __future__ import annotations

import os

import pytest

from healthcode.identity.v1 import identity_pb2 as pb
from services.identity import commands
from services.identity.bootstrap import build_registry
from services.identity.repository import IdentityRepository
from services.identity.model import LinkBasis, NameCorrectionState, Relation
from services.identity.servicer import _relation_attestation
from services.runtime.sealing import SealError
from tests.support import id_card, years_from


def _registry(identity_env, db, clock, keys):
    settings = identity_env.settings
    rotated = type(settings)(**{**settings.__dict__, "sealing_keys": keys})
    return build_registry(rotated, IdentityRepository(db), clock)


async def test_after_reseal_only_the_new_key_is_needed(identity_env, db, clock):
    old_keys = identity_env.settings.sealing_keys
    new_keys = {"rotated": os.urandom(32), **old_keys}
    parent_document = id_card()
    parent = (await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name="周父", document=parent_document))).person
    six_years_ago = years_from(clock.now().date(), -6)
    documents = [id_card(six_years_ago), id_card(six_years_ago)]
    child, sibling = [(await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name=name, document=document))).person for name, document in zip(("周子", "周女"), documents)]

    def attested(minor_document):
        """The household register's attestation, read as identity's transport reads it."""
        request = pb.LinkDependentRequest(relation_attestation=identity_env.register.relation(
            parent_document, minor_document, clock.now()))
        return _relation_attestation(request, "relation_attestation")
    # A name correction seals the old and new names under its own row: reseal moves it too.
    corrected = await identity_env.persons.CorrectName(pb.CorrectNameRequest(
        person_id=parent.person_id, name="周父亲", basis="身份证换发", request_id="rotation",
        face_attestation=identity_env.provider.attest(parent_document, clock.now())))
    try:
        resealed = await _registry(identity_env, db, clock, new_keys).reseal(batch_size=7)
        key_ids = {r[0] for r in await db.fetch("""SELECT DISTINCT sealed_key_id FROM identity.persons UNION
                                                   SELECT DISTINCT sealed_key_id FROM identity.name_corrections""")}
        only_new = _registry(identity_env, db, clock, {"rotated": new_keys["rotated"]})
        # Linking a minor opens the sealed document for its birth date: it works with the new key alone.
        link, _ = await only_new.link_dependent(parent.person_id, child.person_id, Relation.PARENT, None,
                                                attested(documents[0]))
        queue = await only_new.list_name_corrections(parent.home_province_code, NameCorrectionState.APPLIED, 1000, "")
        basis = next(c.basis for c in queue[0] if c.correction_id == corrected.correction.correction_id)
        again = await _registry(identity_env, db, clock, new_keys).reseal()
        only_old = _registry(identity_env, db, clock, old_keys)
        with pytest.raises(SealError):
            await only_old.link_dependent(parent.person_id, sibling.person_id, Relation.PARENT, None,
                                          attested(documents[1]))
    finally:
        # Back to the session's key, which the running test server holds.
        await _registry(identity_env, db, clock, {**old_keys, "rotated": new_keys["rotated"]}).reseal()

    assert resealed >= 2
    assert key_ids == {"rotated"}
    assert link.basis is LinkBasis.ATTESTED_GUARDIANSHIP
    assert basis == "身份证换发"  # opened with the new key alone
    assert again == 0  # nothing left: running it twice is harmless


async def test_the_reseal_command_opens_its_own_pool_and_moves_every_record(identity_env, db, clock):
    old_keys = identity_env.settings.sealing_keys
    new_keys = {"command": os.urandom(32), **old_keys}
    await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="吴运维", document=id_card()))
    settings = identity_env.settings
    try:
        resealed = await commands.reseal(type(settings)(**{**settings.__dict__, "sealing_keys": new_keys}))
        key_ids = {r[0] for r in await db.fetch("""SELECT DISTINCT sealed_key_id FROM identity.persons UNION
                                                   SELECT DISTINCT sealed_key_id FROM identity.name_corrections""")}
    finally:
        # Back to the session's key, which the running test server holds.
        await commands.reseal(type(settings)(**{**settings.__dict__,
                                                "sealing_keys": {**old_keys, "command": new_keys["command"]}}))
    assert resealed >= 1
    assert key_ids == {"command"}

"""Rotating the sealing key: reseal moves every person to the new key, after which the old key may go."""

from __future__ import annotations

import os

import pytest

from healthcode.identity.v1 import identity_pb2 as pb
from services.identity.bootstrap import build_registry
from services.identity.model import LinkBasis, Relation
from services.runtime.sealing import SealError
from tests.support import id_card, years_from


def _registry(identity_env, db, clock, keys):
    settings = identity_env.settings
    rotated = type(settings)(**{**settings.__dict__, "sealing_keys": keys})
    return build_registry(rotated, db, clock)


async def test_after_reseal_only_the_new_key_is_needed(identity_env, db, clock):
    old_keys = identity_env.settings.sealing_keys
    new_keys = {"rotated": os.urandom(32), **old_keys}
    parent = (await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="周父", document=id_card()))).person
    six_years_ago = years_from(clock.now().date(), -6)
    child, sibling = [(await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name=name, document=id_card(six_years_ago)))).person for name in ("周子", "周女")]
    try:
        resealed = await _registry(identity_env, db, clock, new_keys).reseal(batch_size=7)
        key_ids = {r[0] for r in await db.fetch("SELECT DISTINCT sealed_key_id FROM identity.persons")}
        only_new = _registry(identity_env, db, clock, {"rotated": new_keys["rotated"]})
        # Linking a minor opens the sealed birth date: it works with the new key alone.
        link, _ = await only_new.link_dependent(parent.person_id, child.person_id, Relation.PARENT, None)
        again = await _registry(identity_env, db, clock, new_keys).reseal()
        only_old = _registry(identity_env, db, clock, old_keys)
        with pytest.raises(SealError):
            await only_old.link_dependent(parent.person_id, sibling.person_id, Relation.PARENT, None)
    finally:
        # Back to the session's key, which the running test server holds.
        await _registry(identity_env, db, clock, {**old_keys, "rotated": new_keys["rotated"]}).reseal()

    assert resealed >= 2
    assert key_ids == {"rotated"}
    assert link.basis is LinkBasis.GUARDIANSHIP_OF_MINOR
    assert again == 0  # nothing left: running it twice is harmless

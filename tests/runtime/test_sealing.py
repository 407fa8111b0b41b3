"""Sealing: rotation keeps old data readable; a moved or edited ciphertext does not open."""

from __future__ import annotations

import os

import pytest

from services.runtime.sealing import Keyring, LookupHasher, SealError


def test_data_sealed_under_an_old_key_opens_after_rotation():
    old_key, new_key = os.urandom(32), os.urandom(32)
    sealed = Keyring({"old": old_key}).seal(b"record", b"row-1")

    rotated = Keyring({"new": new_key, "old": old_key})

    assert rotated.open(sealed, b"row-1") == b"record"
    assert rotated.seal(b"record", b"row-1").key_id == "new"


def test_a_ciphertext_moved_to_another_row_does_not_open():
    ring = Keyring({"k": os.urandom(32)})
    sealed = ring.seal(b"record", b"row-1")

    with pytest.raises(SealError):
        ring.open(sealed, b"row-2")


def test_an_unknown_key_id_does_not_open():
    sealed = Keyring({"gone": os.urandom(32)}).seal(b"record", b"row")

    with pytest.raises(SealError, match="no key"):
        Keyring({"k": os.urandom(32)}).open(sealed, b"row")


def test_lookup_hashes_differ_by_purpose_and_by_key():
    key = os.urandom(32)

    documents, names = LookupHasher(key, "document"), LookupHasher(key, "name")

    assert documents.digest(b"x") == LookupHasher(key, "document").digest(b"x")
    assert documents.digest(b"x") != names.digest(b"x")
    assert documents.digest(b"x") != LookupHasher(os.urandom(32), "document").digest(b"x")

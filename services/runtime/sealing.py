"""Personal data at rest: AES-GCM sealing with a rotatable keyring, and keyed hashes for lookups."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value could not be opened: unknown key id, or tampered ciphertext."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: bytes  # nonce || AES-GCM ciphertext and tag


class Keyring:
    """AES-256-GCM keys by id; the first is active for new data, all of them open old data.

    Each value is bound to its context (e.g. the table and row id) as associated
    data, so a ciphertext copied onto another row does not open.
    """

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = next(iter(keys))

    def seal(self, plaintext: bytes, context: bytes) -> Sealed:
        nonce = os.urandom(_NONCE_BYTES)
        return Sealed(self.active_key_id, nonce + self._ciphers[self.active_key_id].encrypt(nonce, plaintext, context))

    def open(self, sealed: Sealed, context: bytes) -> bytes:
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise SealError(f"no key {sealed.key_id!r} in the keyring")
        try:
            return cipher.decrypt(sealed.ciphertext[:_NONCE_BYTES], sealed.ciphertext[_NONCE_BYTES:], context)
        except InvalidTag as error:
            raise SealError("sealed value does not open: tampered or wrong context") from error


class LookupHasher:
    """HMAC-SHA256 under a secret key: equal inputs match, and the hash alone reveals nothing.

    A plain hash of an ID number would fall to enumeration (the number space is
    small); the key makes that impossible without the secret.
    """

    def __init__(self, key: bytes, purpose: str) -> None:
        if len(key) < 32:
            raise ValueError("lookup keys must be at least 32 bytes")
        # One key, separate purposes: a document hash can never collide with a name hash.
        self._key = hmac.new(key, purpose.encode(), hashlib.sha256).digest()

    def digest(self, value: bytes) -> bytes:
        return hmac.new(self._key, value, hashlib.sha256).digest()

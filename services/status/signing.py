"""Province signing keys and the codes they sign: keys are made here, sealed at rest, and
kept open in memory only for signing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services import areas
from services.codes import CodeClaims, key_id_of, sign_code
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.runtime import requests
from services.runtime.paging import Cursor
from services.runtime.requests import invalid_page_token
from services.runtime.requests import page_size as requested_page_size
from services.runtime.sealing import Keyring
from services.status.model import Status
from services.status.repository import StatusRepository, StoredKey

MAX_KEY_LIFETIME = timedelta(days=731)
SIGNING_KEYS = Cursor("signing_keys", str, bytes)  # by province, then key id


def _key_context(key_id: bytes) -> bytes:
    return b"status.signing_keys:" + key_id


@dataclass(frozen=True)
class IssuedCode:
    payload: str
    code_id: bytes
    expire_time: datetime


class Signer:
    """Signs codes with each province's newest usable key; keys are re-read periodically
    (and on changes made here), so a rotation or revocation reaches every replica."""

    def __init__(self, repository: StatusRepository, keyring: Keyring, code_lifetime: timedelta,
                 publish_lead: timedelta = timedelta(0)) -> None:
        self._repository = repository
        self._publish_lead = publish_lead
        self._keyring = keyring
        self._lifetime = code_lifetime
        self._keys: dict[str, list[tuple[StoredKey, ec.EllipticCurvePrivateKey]]] = {}

    async def reload(self, now: datetime) -> None:
        keys: dict[str, list[tuple[StoredKey, ec.EllipticCurvePrivateKey]]] = {}
        for stored in await self._repository.usable_keys(now):
            private = serialization.load_der_private_key(
                self._keyring.open(stored.sealed, _key_context(stored.key_id)), password=None)
            keys.setdefault(stored.province_code, []).append((stored, private))
        self._keys = keys

    def issue(self, status: Status, now: datetime) -> IssuedCode:
        if status.person_ref is None:
            raise FailedPrecondition(reason="PERSON_REFERENCE_MISSING",
                                     message="identity has no federation reference for this person yet, "
                                             "and every code must carry one")
        # Codes carry whole seconds; the key must be valid at the time the code states.
        issued = now.replace(microsecond=0)
        usable = [(stored, private) for stored, private in self._keys.get(status.province_code, ())
                  if stored.not_before <= issued < stored.not_after]
        if not usable:
            raise FailedPrecondition(reason="NO_SIGNING_KEY",
                                     message=f"province {status.province_code} has no signing key in force")
        # The newest key in force signs; ties (keys made together) go to the later made, then the id.
        stored, private = max(usable, key=lambda pair: (pair[0].not_before, pair[0].create_time, pair[0].key_id))
        # A code never outlives the status it carries, nor the key that signs it.
        expires = min(issued + self._lifetime, status.decision.valid_until, stored.not_after).replace(microsecond=0)
        if expires <= issued:
            expires = issued + timedelta(seconds=1)
        code_id = os.urandom(16)
        claims = CodeClaims(
            issuer_province=status.province_code, code_id=code_id, national_colour=status.decision.colour,
            display_colour=status.decision.display, status_version=status.version, masked_name=status.masked_name,
            person_ref=status.person_ref, issued_at=issued, expires_at=expires,
            negative_test_time=_whole_second(status.decision.negative_test_time, issued))
        return IssuedCode(sign_code(claims, private, stored.key_id), code_id, expires)

    async def create_key(self, province_code: str, not_before: datetime | None, not_after: datetime | None,
                         now: datetime, *, reload: bool = True) -> StoredKey:
        requests.province_code(province_code, "province_code")
        # Whole seconds, as the codes it signs state their times.
        start = (not_before or now).replace(microsecond=0)
        if any(stored.not_before <= now < stored.not_after for stored, _ in self._keys.get(province_code, ())):
            # A rotation: the new key signs only once peers have had time to learn it (a first key cannot wait).
            start = max(start, (now + self._publish_lead).replace(microsecond=0))
        end = (not_after or start + timedelta(days=365)).replace(microsecond=0)
        if end <= start or end - start > MAX_KEY_LIFETIME:
            raise InvalidArgument.for_field("not_after_time", "must be after not_before_time, within two years",
                                            reason="KEY_VALIDITY_INVALID")
        private = ec.generate_private_key(ec.SECP256R1())
        public = private.public_key()
        key_id = key_id_of(public)
        der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        stored = StoredKey(
            key_id=key_id, province_code=province_code,
            public_key=public.public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo),
            sealed=self._keyring.seal(der, _key_context(key_id)), not_before=start, not_after=end,
            create_time=now, revoke_time=None)
        await self._repository.insert_key(stored)
        if reload:
            await self.reload(now)
        return stored

    async def revoke_key(self, key_id_hex: str, now: datetime) -> StoredKey:
        key_id = _parse_key_id(key_id_hex)
        stored = await self._repository.revoke_key(key_id, now)
        if stored is None:
            raise NotFound(reason="SIGNING_KEY_NOT_FOUND", message="no signing key with this id")
        await self.reload(now)
        return stored

    async def ensure_key_per_province(self, province_codes: list[str], now: datetime) -> None:
        """A key for each province with none in force (a development deployment, `healthcode up`)."""
        listed, token = [], ""
        while True:
            page, token = await self.list_keys("", 1000, token)
            listed += page
            if not token:
                break
        covered = {key.province_code for key in listed
                   if key.revoke_time is None and key.not_before <= now < key.not_after}
        for province_code in province_codes:
            if province_code not in covered:
                await self.create_key(province_code, None, None, now, reload=False)
        await self.reload(now)

    async def list_keys(self, province_code: str, page_size: int, page_token: str) -> tuple[list[StoredKey], str]:
        if province_code:
            requests.province_code(province_code, "province_code")
        size = requested_page_size(page_size)
        after = SIGNING_KEYS.after(page_token)
        if after is not None:
            province, key_id = after
            if not areas.is_province_code(province):
                raise invalid_page_token()
            after = (province, _parse_key_id(key_id.hex(), "page_token"))
        keys = await self._repository.list_keys(province_code or None, after, size + 1)
        if len(keys) <= size:
            return keys, ""
        last = keys[size - 1]
        return keys[:size], SIGNING_KEYS.token(last.province_code, last.key_id)


def _whole_second(moment: datetime | None, issued: datetime) -> datetime | None:
    """A sample time as a code states it: UTC, whole seconds, never after the code's issue."""
    if moment is None:
        return None
    return min(moment.astimezone(UTC).replace(microsecond=0), issued)


def _parse_key_id(value: str, field_path: str = "key_id") -> bytes:
    try:
        key_id = bytes.fromhex(value)
    except ValueError:
        key_id = b""
    if len(key_id) != 8:
        raise InvalidArgument.for_field(field_path, "must be 16 hexadecimal digits", reason="KEY_ID_INVALID")
    return key_id

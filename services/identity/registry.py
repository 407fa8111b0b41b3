"""The identity use cases: register, look up, face checks, dependents, provider keys."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import replace
from datetime import date, datetime

from services import areas
from services.identity import model
from services.identity.attestation import (
    AttestationPolicy,
    FaceAttestation,
    RelationAttestation,
    RelationClaims,
    is_valid_identifier,
    load_public_key,
    verify_attestation,
    verify_relation,
)
from services.identity.documents import Document, federation_reference, mask_name, normalise_name, parse_document
from services.identity.model import (ActingBasis, Correction, DependentLink, FaceProviderKey, NameCorrection,
                                     NameCorrectionState, Person, ProviderKind, Relation)
from services.identity.repository import (
    IdentityRepository,
    IdentityTransaction,
    NewPerson,
    ResealRow,
    StoredNameCorrection,
    StoredPerson,
)
from services.runtime.clock import Clock
from services.runtime.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.runtime.logs import get_logger
from services.runtime.requests import page_size as requested_page_size
from services.runtime.paging import Cursor
from services.runtime.requests import parse_uuid
from services.runtime.requests import request_id as requested_id
from services.runtime.sealing import Keyring, LookupHasher, Sealed

log = get_logger(__name__)

MAX_BATCH_GET = 1000

# The page tokens of the lists, each the sort key of the last row a page returned.
NAME_CHANGES = Cursor("name_changes", int)
NAME_CORRECTIONS = Cursor("name_corrections", datetime, uuid.UUID)
PROVIDER_KEYS = Cursor("face_provider_keys", str, str)


class PersonRegistry:
    def __init__(self, repository: IdentityRepository, keyring: Keyring, document_hasher: LookupHasher,
                 name_hasher: LookupHasher, federation_hasher: LookupHasher, policy: AttestationPolicy,
                 clock: Clock) -> None:
        self._repository = repository
        self._keyring = keyring
        self._document_hasher = document_hasher
        self._name_hasher = name_hasher
        self._federation_hasher = federation_hasher
        self._policy = policy
        self._clock = clock

    # Persons

    async def register(self, name: str, document: Document, home_province_code: str, birth_date: date | None,
                       attestation: FaceAttestation | None) -> tuple[Person, bool, bool]:
        """(person, created, reclaimed). Idempotent on the document; a different name for a known
        document is refused, unless the holder proves it by a face check and so reclaims it."""
        name = normalise_name(name)
        province = model.resolve_home_province(document, home_province_code)
        now = self._clock.now()
        birth_date = model.resolve_birth_date(document, birth_date, now.date())
        document_lookup = self._document_hasher.digest(document.lookup_key())
        name_lookup = self._name_hasher.digest(name.encode())
        async with self._repository.transaction() as tx:
            if attestation is not None:
                await self._accept_face_check(tx, attestation, document_lookup, "register", now, "face_attestation")
            existing = await tx.find_stored_by_document(document_lookup)
            if existing is None:
                person_id = model.new_person_id()
                record = json.dumps({"name": name, "document_number": document.number,
                                     "birth_date": birth_date.isoformat() if birth_date else None}).encode()
                inserted = await tx.insert_person(NewPerson(
                    person_id=person_id, document_lookup=document_lookup, name_lookup=name_lookup,
                    document_kind=document.kind, document_country_code=document.country_code,
                    sealed=self._keyring.seal(record, _person_context(person_id)),
                    masked_name=mask_name(name), masked_document_number=document.masked_number(),
                    home_province_code=province,
                    face_check_time=attestation.claims.check_time if attestation else None, create_time=now,
                    federation_ref=federation_reference(document, self._federation_hasher)))
                if inserted:
                    stored = await tx.get_stored(person_id)
                    assert stored is not None
                    return stored.person, True, False
                existing = await tx.find_stored_by_document(document_lookup)
                assert existing is not None
            if existing.name_lookup != name_lookup:
                if attestation is None:
                    raise AlreadyExists(reason="DOCUMENT_NAME_CONFLICT",
                                        message="this document is registered under a different name")
                # The holder has just proven the document by a face check: the registration is theirs.
                # Locked and read again, so of concurrent reclaims one corrects and the others see it done.
                person_id = existing.person.person_id
                locked = await tx.get_stored(person_id, lock=True)
                assert locked is not None
                if locked.name_lookup == name_lookup:
                    return locked.person, False, False
                record = json.dumps({"name": name, "document_number": document.number,
                                     "birth_date": document.birth_date.isoformat() if document.birth_date else None
                                     }).encode()
                person = await tx.reclaim(person_id, name_lookup, self._keyring.seal(record, _person_context(person_id)),
                                          mask_name(name), attestation.claims.check_time, now)
                log.info("registration_reclaimed", person_id=person_id)
                return person, False, True
            person = existing.person
            if attestation is not None:
                person = await tx.record_face_check(person.person_id, attestation.claims.check_time, now)
            return person, False, False

    async def get(self, person_id: str) -> Person:
        person = await self._repository.get_person(model.parse_person_id(person_id, "person_id"))
        if person is None:
            raise NotFound(reason="PERSON_NOT_FOUND", message="no person with this id")
        return person

    async def find_by_document(self, document: Document) -> Person:
        person = await self._repository.find_person_by_document(
            self._document_hasher.digest(document.lookup_key()))
        if person is None:
            raise NotFound(reason="PERSON_NOT_FOUND", message="no person holds this document")
        return person

    async def get_many(self, person_ids: list[str]) -> tuple[list[Person], list[str]]:
        if len(person_ids) > MAX_BATCH_GET:
            raise InvalidArgument.for_field("person_ids", f"at most {MAX_BATCH_GET} ids per call",
                                            reason="BATCH_TOO_LARGE")
        wanted = list(dict.fromkeys(model.parse_person_id(p, f"person_ids[{i}]") for i, p in enumerate(person_ids)))
        persons = await self._repository.get_persons(wanted)
        found = {p.person_id for p in persons}
        return persons, [p for p in wanted if p not in found]

    async def find_by_federation_refs(self, federation_refs: list[bytes]) -> list[Person]:
        if len(federation_refs) > MAX_BATCH_GET:
            raise InvalidArgument.for_field("federation_refs", f"at most {MAX_BATCH_GET} references per call",
                                            reason="BATCH_TOO_LARGE")
        for index, reference in enumerate(federation_refs):
            if len(reference) != 16:
                raise InvalidArgument.for_field(f"federation_refs[{index}]", "must be 16 bytes",
                                                reason="FEDERATION_REF_INVALID")
        return await self._repository.get_persons_by_federation_ref(list(dict.fromkeys(federation_refs)))

    async def record_face_check(self, person_id: str, attestation: FaceAttestation) -> Person:
        person_id = model.parse_person_id(person_id, "person_id")
        now = self._clock.now()
        async with self._repository.transaction() as tx:
            stored = await self._stored_or_not_found(tx, person_id, "PERSON_NOT_FOUND")
            await self._accept_face_check(tx, attestation, stored.document_lookup, f"face-check:{person_id}", now,
                                          "face_attestation")
            return await tx.record_face_check(person_id, attestation.claims.check_time, now)

    async def sign_in(self, document: Document, attestation: FaceAttestation) -> Person:
        """The face check is verified and its nonce spent for good before the document is looked up,
        so whether the document is registered is told only to whoever just proved they hold it."""
        now = self._clock.now()
        document_lookup = self._document_hasher.digest(document.lookup_key())
        async with self._repository.transaction() as tx:
            await self._accept_face_check(tx, attestation, document_lookup, "sign-in", now, "face_attestation",
                                          once=True)
            stored = await tx.find_stored_by_document(document_lookup)
            person = None if stored is None else await tx.record_face_check(
                stored.person.person_id, attestation.claims.check_time, now)
        if person is None:
            # Raised after the commit: the nonce stays spent even for an unregistered document.
            raise NotFound(reason="PERSON_NOT_FOUND", message="no person holds this document; register first")
        return person

    # Sessions

    async def start_session(self, person_id: str) -> tuple[str, str, datetime]:
        """A new session for a person who has just proven who they are: (session id, refresh token, end)."""
        person_id = model.parse_person_id(person_id, "person_id")
        now = self._clock.now()
        session_id, refresh_token = model.new_person_id(), _refresh_token()
        expire_time = now + model.SESSION_LIFETIME
        async with self._repository.transaction() as tx:
            await self._stored_or_not_found(tx, person_id, "PERSON_NOT_FOUND")
            await tx.insert_session(session_id, person_id, _digest(refresh_token), now, expire_time)
        return session_id, refresh_token, expire_time

    async def refresh_session(self, refresh_token: str) -> tuple[str, Person, str]:
        """The session a refresh token belongs to, its person, and the token that replaces it (the
        presented one is spent: a second use, or a use after revocation, is refused)."""
        if not model.is_refresh_token(refresh_token):
            raise InvalidArgument.for_field("refresh_token", "is not a refresh token", reason="REFRESH_TOKEN_INVALID")
        replacement = _refresh_token()
        async with self._repository.transaction() as tx:
            found = await tx.rotate_refresh(_digest(refresh_token), _digest(replacement), self._clock.now())
            stored = None if found is None else await tx.get_stored(found[1])
        if found is None or stored is None:
            raise FailedPrecondition(reason="SESSION_ENDED",
                                     message="this session was revoked, has ended, or the token was used; sign in again")
        return found[0], stored.person, replacement

    async def session_is_live(self, session_id: str, person_id: str) -> bool:
        session_id = parse_uuid(session_id, "session_id", "SESSION_ID_INVALID")
        person_id = model.parse_person_id(person_id, "person_id")
        return await self._repository.session_is_live(session_id, person_id, self._clock.now())

    async def revoke_sessions(self, person_id: str, session_id: str, reason: str) -> int:
        """Ends one session of the person (logout) or, with no session id, all of them."""
        person_id = model.parse_person_id(person_id, "person_id")
        one = parse_uuid(session_id, "session_id", "SESSION_ID_INVALID") if session_id else None
        reason = model.check_revoke_reason(reason)
        return await self._repository.revoke_sessions(person_id, one, self._clock.now(), reason)

    async def purge_expired_sessions(self) -> int:
        return await self._repository.purge_expired_sessions(self._clock.now())

    # Dependents

    async def link_dependent(self, holder_id: str, dependent_id: str, relation: Relation | None,
                             attestation: FaceAttestation | None,
                             relation_attestation: RelationAttestation | None = None) -> tuple[DependentLink, bool]:
        holder_id = model.parse_person_id(holder_id, "holder_person_id")
        dependent_id = model.parse_person_id(dependent_id, "dependent_person_id")
        if holder_id == dependent_id:
            raise InvalidArgument.for_field("dependent_person_id", "a person cannot be their own dependent",
                                            reason="SELF_LINK")
        if relation is None:
            raise InvalidArgument.for_field("relation", "is required", reason="RELATION_REQUIRED")
        now = self._clock.now()
        async with self._repository.transaction() as tx:
            # Locking the holder serialises concurrent links, so two can't both pass the limit.
            holder = await self._stored_or_not_found(tx, holder_id, "HOLDER_NOT_FOUND", lock=True)
            dependent = await self._stored_or_not_found(tx, dependent_id, "DEPENDENT_NOT_FOUND")
            live = await tx.get_live_link(holder_id, dependent_id)
            if live is not None:
                return live, False
            purpose = f"link:{holder_id}:{dependent_id}"
            birth_date, attested = None, None
            if attestation is not None:
                await self._accept_face_check(tx, attestation, dependent.document_lookup, purpose, now,
                                              "dependent_face_attestation")
            elif relation_attestation is not None:
                claims = await self._accept_relation(tx, relation_attestation, holder, dependent, purpose, now)
                # The document's own birth date, else the register's: never one the registrant typed.
                birth_date = self._document_birth_date(dependent) or claims.minor_birth_date
                attested = claims.relation
            basis = model.decide_link_basis(relation, birth_date, now.date(), attestation is not None, attested)
            model.check_dependent_limit(await tx.count_live_links(holder_id))
            await tx.insert_link(holder_id, dependent_id, relation, basis, now)
            link = await tx.get_live_link(holder_id, dependent_id)
            assert link is not None
            return link, True

    async def unlink_dependent(self, holder_id: str, dependent_id: str) -> DependentLink:
        holder_id = model.parse_person_id(holder_id, "holder_person_id")
        dependent_id = model.parse_person_id(dependent_id, "dependent_person_id")
        async with self._repository.transaction() as tx:
            await tx.unlink(holder_id, dependent_id, self._clock.now())
            link = await tx.get_last_link(holder_id, dependent_id)
        if link is None:
            raise NotFound(reason="LINK_NOT_FOUND", message="the holder was never linked to this dependent")
        return link

    async def list_dependents(self, holder_id: str) -> list[DependentLink]:
        return await self._repository.list_live_links(model.parse_person_id(holder_id, "holder_person_id"))

    async def list_corrections(self, person_id: str) -> list[Correction]:
        return await self._repository.list_corrections(model.parse_person_id(person_id, "person_id"))

    async def name_changes(self, changed_after: datetime | None, page_size: int, page_token: str
                           ) -> tuple[list[tuple[str, str, datetime]], str]:
        """Persons whose name was corrected since `changed_after`: (person, masked name now, when)."""
        size = requested_page_size(page_size)
        (after_id,) = NAME_CHANGES.after(page_token) or (0,)
        rows = await self._repository.name_changes(changed_after, after_id, size + 1)
        token = NAME_CHANGES.token(rows[size - 1][0]) if len(rows) > size else ""
        return [(person_id, masked, when) for _, person_id, masked, when in rows[:size]], token

    # Name corrections

    async def correct_name(self, person_id: str, name: str, attestation: FaceAttestation, basis: str,
                           request_id: str) -> tuple[NameCorrection, Person, bool]:
        """The person, just face-checked on their own document, corrects their name: at once the first
        time, by an officer's review after that. (correction, person, duplicate)."""
        person_id = model.parse_person_id(person_id, "person_id")
        name = normalise_name(name)
        basis = model.check_correction_text(basis, "basis")
        checked_request_id = requested_id(request_id)
        if checked_request_id is None:
            raise InvalidArgument.for_field("request_id", "is required: it makes a retry safe",
                                            reason="REQUEST_ID_INVALID")
        now = self._clock.now()
        name_lookup = self._name_hasher.digest(name.encode())
        async with self._repository.transaction() as tx:
            # Locked first: of concurrent corrections of one person, one applies and the next sees it.
            stored = await self._stored_or_not_found(tx, person_id, "PERSON_NOT_FOUND", lock=True)
            await self._accept_face_check(tx, attestation, stored.document_lookup,
                                          f"name-correction:{person_id}:{checked_request_id}", now, "face_attestation")
            earlier = await tx.find_name_correction(person_id, checked_request_id)
            if earlier is not None:
                if earlier.new_name_lookup != name_lookup:
                    raise InvalidArgument.for_field("request_id", "was used for another correction",
                                                    reason="REQUEST_ID_REUSED")
                return self._opened(earlier), stored.person, True
            if stored.name_lookup == name_lookup:
                raise InvalidArgument.for_field("name", "is the registered name already", reason="NAME_UNCHANGED")
            counts = await tx.name_corrections_of(person_id)
            if counts.get(NameCorrectionState.PENDING):
                raise FailedPrecondition(reason="CORRECTION_PENDING",
                                         message="a name correction of this person is waiting for review")
            state = model.name_correction_state(counts.get(NameCorrectionState.APPLIED, 0))
            record = json.loads(self._keyring.open(stored.sealed, _person_context(person_id)))
            correction = NameCorrection(
                correction_id=model.new_person_id(), person_id=person_id, state=state,
                masked_old_name=stored.person.masked_name, masked_new_name=mask_name(name), basis=basis,
                home_province_code=stored.person.home_province_code, reviewer_id=None, decision_reason=None,
                create_time=now, decide_time=now if state is NameCorrectionState.APPLIED else None)
            await tx.insert_name_correction(
                correction, checked_request_id, stored.name_lookup, name_lookup,
                self._keyring.seal(json.dumps({"old_name": record["name"], "new_name": name, "basis": basis}).encode(),
                                   _name_correction_context(correction.correction_id)))
            person = stored.person
            if state is NameCorrectionState.APPLIED:
                person = await self._renamed(tx, stored, name, name_lookup, "holder",
                                             "the holder corrected their name once without review", now)
        log.info("name_correction_recorded", person_id=person_id, correction_id=correction.correction_id,
                 state=state.name)
        return correction, person, False

    async def decide_name_correction(self, correction_id: str, reviewer_id: str, approve: bool, reason: str
                                     ) -> tuple[NameCorrection, Person]:
        correction_id = parse_uuid(correction_id, "correction_id", "CORRECTION_ID_INVALID")
        reason = model.check_correction_text(reason, "reason")
        now = self._clock.now()
        async with self._repository.transaction() as tx:
            pending = await tx.get_name_correction(correction_id, lock=True)
            if pending is None:
                raise NotFound(reason="CORRECTION_NOT_FOUND", message="no name correction with this id")
            model.check_reviewer(reviewer_id, pending.correction.home_province_code)
            if pending.correction.state is not NameCorrectionState.PENDING:
                raise FailedPrecondition(reason="CORRECTION_DECIDED", message="this correction was already decided")
            stored = await tx.get_stored(pending.correction.person_id, lock=True)
            assert stored is not None
            person = stored.person
            if approve:
                if stored.name_lookup != pending.old_name_lookup:
                    raise FailedPrecondition(reason="NAME_CHANGED_SINCE",
                                             message="the name was changed since this correction was asked for; "
                                                     "reject it and let the person ask again")
                asked = json.loads(self._keyring.open(pending.sealed,
                                                      _name_correction_context(pending.correction.correction_id)))
                person = await self._renamed(tx, stored, asked["new_name"], pending.new_name_lookup, reviewer_id,
                                             f"name corrected on review: {reason}", now)
            decided = await tx.decide_name_correction(
                correction_id, NameCorrectionState.APPROVED if approve else NameCorrectionState.REJECTED,
                reviewer_id, reason, now)
        log.info("name_correction_decided", person_id=person.person_id, correction_id=correction_id, approve=approve)
        return self._opened(decided), person

    async def list_name_corrections(self, province_code: str, state: NameCorrectionState, page_size: int,
                                    page_token: str) -> tuple[list[NameCorrection], str]:
        if not areas.is_province_code(province_code):
            raise InvalidArgument.for_field("province_code", "must be a province's six-digit code",
                                            reason="PROVINCE_CODE_INVALID")
        size = requested_page_size(page_size)
        after = NAME_CORRECTIONS.after(page_token)
        found = await self._repository.list_name_corrections(province_code, state, after, size + 1)
        token = ""
        if len(found) > size:
            found = found[:size]
            token = NAME_CORRECTIONS.token(found[-1].correction.create_time, found[-1].correction.correction_id)
        return [self._opened(row) for row in found], token

    async def _renamed(self, tx: IdentityTransaction, stored: StoredPerson, name: str, name_lookup: bytes, actor: str,
                       reason: str, now: datetime) -> Person:
        person_id = stored.person.person_id
        record = json.loads(self._keyring.open(stored.sealed, _person_context(person_id)))
        record["name"] = name
        return await tx.correct_name(person_id, name_lookup,
                                     self._keyring.seal(json.dumps(record).encode(), _person_context(person_id)),
                                     mask_name(name), actor, reason, now)

    def _opened(self, stored: StoredNameCorrection) -> NameCorrection:
        """The correction as answered: masked names, and the basis opened from the sealed record."""
        correction = stored.correction
        sealed = json.loads(self._keyring.open(stored.sealed, _name_correction_context(correction.correction_id)))
        return replace(correction, basis=sealed["basis"])

    async def list_guardians(self, dependent_id: str) -> list[DependentLink]:
        return await self._repository.list_live_links_to(model.parse_person_id(dependent_id, "dependent_person_id"))

    async def acting_basis(self, actor_id: str, subject_id: str) -> ActingBasis:
        actor_id = model.parse_person_id(actor_id, "actor_person_id")
        subject_id = model.parse_person_id(subject_id, "subject_person_id")
        if actor_id == subject_id:
            return ActingBasis.SELF if await self._repository.get_person(actor_id) else ActingBasis.NONE
        if await self._repository.has_live_link(actor_id, subject_id):
            return ActingBasis.DEPENDENT_LINK
        return ActingBasis.NONE

    # Face-check provider keys

    async def register_provider_key(self, provider_id: str, key_id: str, public_key_der: bytes,
                                    valid_from: datetime | None, valid_until: datetime | None,
                                    kind: ProviderKind = ProviderKind.FACE_CHECK) -> tuple[FaceProviderKey, bool]:
        for field_path, value in (("provider_id", provider_id), ("key_id", key_id)):
            if not is_valid_identifier(value):
                raise InvalidArgument.for_field(field_path, "must be 1 to 64 characters of a-z, 0-9, '.', '_', '-'",
                                                reason="IDENTIFIER_INVALID")
        load_public_key(public_key_der, "public_key_der")
        now = self._clock.now()
        valid_from = valid_from or now
        if valid_until is not None and valid_until <= valid_from:
            raise InvalidArgument.for_field("valid_until_time", "must be after valid_from_time",
                                            reason="VALIDITY_INVALID")
        key = FaceProviderKey(provider_id, key_id, public_key_der, valid_from, valid_until, None, now, kind)
        async with self._repository.transaction() as tx:
            if await tx.insert_provider_key(key):
                return key, True
            existing = await tx.get_provider_key(provider_id, key_id)
        assert existing is not None
        if existing.public_key_der != public_key_der or existing.kind is not kind:
            raise AlreadyExists(reason="PROVIDER_KEY_EXISTS",
                                message="this provider already has a different key under this key id")
        return existing, False

    async def revoke_provider_key(self, provider_id: str, key_id: str) -> FaceProviderKey:
        async with self._repository.transaction() as tx:
            key = await tx.revoke_provider_key(provider_id, key_id, self._clock.now())
        if key is None:
            raise NotFound(reason="PROVIDER_KEY_NOT_FOUND", message="no such provider key")
        return key

    async def list_provider_keys(self, page_size: int, page_token: str) -> tuple[list[FaceProviderKey], str]:
        size = requested_page_size(page_size)
        keys = await self._repository.list_provider_keys(PROVIDER_KEYS.after(page_token), size + 1)
        if len(keys) <= size:
            return keys, ""
        last = keys[size - 1]
        return keys[:size], PROVIDER_KEYS.token(last.provider_id, last.key_id)

    async def reseal(self, batch_size: int = 1000) -> int:
        """Re-encrypts every person and name correction sealed under an older key with the active one,
        and fills in the federation reference of persons registered before it existed; returns how many
        records.

        After it finishes, old keys can leave the keyring. Safe to stop and run again.
        """
        total = 0
        while True:
            async with self._repository.needing_reseal(self._keyring.active_key_id, batch_size) as (batch, writer):
                if not batch:
                    break
                await writer.write([self._resealed(row) for row in batch])
            total += len(batch)
            log.info("persons_resealed", count=total, key_id=self._keyring.active_key_id)
        while True:
            async with self._repository.name_corrections_needing_reseal(self._keyring.active_key_id,
                                                                        batch_size) as (corrections, writer):
                if not corrections:
                    return total
                await writer.write_name_corrections([
                    (correction_id, self._keyring.seal(self._keyring.open(sealed, _name_correction_context(
                        correction_id)), _name_correction_context(correction_id)))
                    for correction_id, sealed in corrections])
            total += len(corrections)
            log.info("name_corrections_resealed", count=len(corrections), key_id=self._keyring.active_key_id)

    def _resealed(self, row: ResealRow) -> tuple[str, Sealed, bytes]:
        context = _person_context(row.person_id)
        plain = self._keyring.open(row.sealed, context)
        # The number is stored normalised, exactly as registration hashed it.
        document = Document(row.document_kind, json.loads(plain)["document_number"], row.document_country_code)
        sealed = row.sealed if row.sealed.key_id == self._keyring.active_key_id else self._keyring.seal(plain, context)
        return row.person_id, sealed, federation_reference(document, self._federation_hasher)

    async def purge_expired_nonces(self) -> int:
        return await self._repository.purge_expired_nonces(self._clock.now())

    # Internals

    async def _accept_face_check(self, tx: IdentityTransaction, attestation: FaceAttestation,
                                 document_lookup: bytes, purpose: str, now: datetime, field_path: str, *,
                                 once: bool = False) -> None:
        """Verifies the attestation, binds it to the person's document, and spends its nonce once."""
        claims = attestation.claims
        key = await tx.get_provider_key(claims.provider_id, claims.key_id)
        verify_attestation(attestation, key, now=now, policy=self._policy, field_path=field_path)
        if self._document_hasher.digest(claims.document.lookup_key()) != document_lookup:
            raise InvalidArgument.for_field(field_path, "attests a different document",
                                            reason="ATTESTATION_DOCUMENT_MISMATCH")
        expire_time = claims.check_time + self._policy.max_age + self._policy.clock_skew
        if not await tx.consume_nonce(claims.provider_id, claims.nonce, document_lookup, purpose, now, expire_time,
                                      once=once):
            raise FailedPrecondition(reason="ATTESTATION_REPLAYED",
                                     message=f"{field_path}: this attestation was already used")

    async def _accept_relation(self, tx: IdentityTransaction, attestation: RelationAttestation,
                               holder: StoredPerson, dependent: StoredPerson, purpose: str,
                               now: datetime) -> RelationClaims:
        """The household register's attestation: verified, naming exactly this guardian and this
        minor (by keyed hash), its nonce spent once."""
        field_path = "relation_attestation"
        claims = attestation.claims
        key = await tx.get_provider_key(claims.provider_id, claims.key_id)
        verify_relation(attestation, key, now=now, policy=self._policy, field_path=field_path)
        if (self._document_hasher.digest(claims.guardian.lookup_key()) != holder.document_lookup
                or self._document_hasher.digest(claims.minor.lookup_key()) != dependent.document_lookup):
            raise InvalidArgument.for_field(field_path, "attests other persons than the holder and the dependent",
                                            reason="ATTESTATION_DOCUMENT_MISMATCH")
        expire_time = claims.check_time + self._policy.max_age + self._policy.clock_skew
        if not await tx.consume_nonce(claims.provider_id, claims.nonce, dependent.document_lookup, purpose, now,
                                      expire_time):
            raise FailedPrecondition(reason="ATTESTATION_REPLAYED",
                                     message=f"{field_path}: this attestation was already used")
        return claims

    def _document_birth_date(self, stored: StoredPerson) -> date | None:
        """The birth date the document itself carries (an ID card's, a 2023 foreigner card's), if any."""
        record = json.loads(self._keyring.open(stored.sealed, _person_context(stored.person.person_id)))
        person = stored.person
        return parse_document(person.document_kind, record["document_number"], person.document_country_code,
                              today=self._clock.now().date()).birth_date

    async def _stored_or_not_found(self, tx: IdentityTransaction, person_id: str, reason: str, *,
                                   lock: bool = False) -> StoredPerson:
        stored = await tx.get_stored(person_id, lock=lock)
        if stored is None:
            raise NotFound(reason=reason, message="no person with this id")
        return stored



def _refresh_token() -> str:
    return model.REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def _digest(refresh_token: str) -> bytes:
    # A random 256-bit secret: a plain hash is enough to keep it unusable at rest.
    return hashlib.sha256(refresh_token.encode()).digest()


def _name_correction_context(correction_id: str) -> bytes:
    return f"identity.name_corrections:{correction_id}".encode()


def _person_context(person_id: str) -> bytes:
    return f"identity.persons:{person_id}".encode()

"""The identity schema: the only module with SQL. Sealed personal data in, masked models out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.identity.documents import DocumentKind
from services.identity.model import (Correction, DependentLink, FaceProviderKey, LinkBasis, NameCorrection,
                                     NameCorrectionState, Person, ProviderKind, Relation)
from services.runtime.sealing import Sealed

_PERSON_COLUMNS = """p.person_id, p.masked_name, p.document_kind, p.masked_document_number,
    p.document_country_code, p.home_province_code, p.face_check_time, p.create_time, p.federation_ref"""
_STORED_PERSON = f"""SELECT {_PERSON_COLUMNS}, p.document_lookup, p.name_lookup, p.sealed_key_id, p.sealed_record
    FROM identity.persons p"""
_LINKS = f"""SELECT l.holder_person_id, l.relation, l.basis, l.link_time, l.unlink_time, {_PERSON_COLUMNS}
    FROM identity.dependent_links l JOIN identity.persons p ON p.person_id = l.dependent_person_id"""


@dataclass(frozen=True)
class NewPerson:
    person_id: str
    document_lookup: bytes
    name_lookup: bytes
    document_kind: DocumentKind
    document_country_code: str
    sealed: Sealed
    masked_name: str
    masked_document_number: str
    home_province_code: str
    face_check_time: datetime | None
    create_time: datetime
    federation_ref: bytes


@dataclass(frozen=True)
class StoredPerson:
    """A person with what only identity itself may see: lookups and the sealed record."""

    person: Person
    document_lookup: bytes
    name_lookup: bytes
    sealed: Sealed


def _person(row: asyncpg.Record) -> Person:
    return Person(
        person_id=str(row["person_id"]), masked_name=row["masked_name"],
        document_kind=DocumentKind(row["document_kind"]),
        masked_document_number=row["masked_document_number"],
        document_country_code=row["document_country_code"], home_province_code=row["home_province_code"],
        face_check_time=row["face_check_time"], create_time=row["create_time"],
        federation_ref=bytes(row["federation_ref"]) if row["federation_ref"] is not None else None)


def _stored(row: asyncpg.Record) -> StoredPerson:
    return StoredPerson(_person(row), bytes(row["document_lookup"]), bytes(row["name_lookup"]),
                        Sealed(row["sealed_key_id"], bytes(row["sealed_record"])))


def _link(row: asyncpg.Record) -> DependentLink:
    return DependentLink(
        holder_person_id=str(row["holder_person_id"]), dependent=_person(row), relation=Relation(row["relation"]),
        basis=LinkBasis(row["basis"]), link_time=row["link_time"], unlink_time=row["unlink_time"])


@dataclass(frozen=True)
class StoredNameCorrection:
    """A name correction with what only identity sees: the lookups and the sealed names and basis."""

    correction: NameCorrection
    old_name_lookup: bytes
    new_name_lookup: bytes
    sealed: Sealed


_NAME_CORRECTIONS = "SELECT * FROM identity.name_corrections"


def _name_correction(row: asyncpg.Record, basis: str = "") -> StoredNameCorrection:
    return StoredNameCorrection(
        NameCorrection(
            correction_id=str(row["correction_id"]), person_id=str(row["person_id"]),
            state=NameCorrectionState(row["state"]), masked_old_name=row["masked_old_name"],
            masked_new_name=row["masked_new_name"], basis=basis, home_province_code=row["home_province_code"],
            reviewer_id=row["reviewer_id"], decision_reason=row["decision_reason"], create_time=row["create_time"],
            decide_time=row["decide_time"]),
        bytes(row["old_name_lookup"]), bytes(row["new_name_lookup"]),
        Sealed(row["sealed_key_id"], bytes(row["sealed_record"])))


def _key(row: asyncpg.Record) -> FaceProviderKey:
    return FaceProviderKey(
        provider_id=row["provider_id"], key_id=row["key_id"], public_key_der=bytes(row["public_key_der"]),
        valid_from_time=row["valid_from_time"], valid_until_time=row["valid_until_time"],
        revoke_time=row["revoke_time"], create_time=row["create_time"], kind=ProviderKind(row["kind"]))


class IdentityRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[IdentityTransaction]:
        async with self._pool.acquire() as connection, connection.transaction():
            yield IdentityTransaction(connection)

    async def get_person(self, person_id: str) -> Person | None:
        row = await self._pool.fetchrow(f"SELECT {_PERSON_COLUMNS} FROM identity.persons p WHERE p.person_id = $1",
                                        person_id)
        return _person(row) if row else None

    async def find_person_by_document(self, document_lookup: bytes) -> Person | None:
        row = await self._pool.fetchrow(
            f"SELECT {_PERSON_COLUMNS} FROM identity.persons p WHERE p.document_lookup = $1", document_lookup)
        return _person(row) if row else None

    async def get_persons(self, person_ids: list[str]) -> list[Person]:
        rows = await self._pool.fetch(
            f"SELECT {_PERSON_COLUMNS} FROM identity.persons p WHERE p.person_id = ANY($1::uuid[])", person_ids)
        return [_person(row) for row in rows]

    async def get_persons_by_federation_ref(self, federation_refs: list[bytes]) -> list[Person]:
        rows = await self._pool.fetch(
            f"SELECT {_PERSON_COLUMNS} FROM identity.persons p WHERE p.federation_ref = ANY($1::bytea[])",
            federation_refs)
        return [_person(row) for row in rows]

    async def list_live_links(self, holder_person_id: str) -> list[DependentLink]:
        rows = await self._pool.fetch(
            f"""{_LINKS}
                WHERE l.holder_person_id = $1 AND l.unlink_time IS NULL ORDER BY l.link_id""", holder_person_id)
        return [_link(row) for row in rows]

    async def list_live_links_to(self, dependent_person_id: str) -> list[DependentLink]:
        rows = await self._pool.fetch(
            f"""{_LINKS}
                WHERE l.dependent_person_id = $1 AND l.unlink_time IS NULL ORDER BY l.link_id""", dependent_person_id)
        return [_link(row) for row in rows]

    async def list_corrections(self, person_id: str) -> list[Correction]:
        rows = await self._pool.fetch(
            """SELECT kind, actor, reason, links_ended, create_time FROM identity.corrections
               WHERE person_id = $1 ORDER BY correction_id DESC""", person_id)
        return [Correction(r["kind"], r["actor"], r["reason"], r["links_ended"], r["create_time"]) for r in rows]

    async def name_changes(self, changed_after: datetime | None, after_id: int, limit: int
                           ) -> list[tuple[int, str, str, datetime]]:
        """(correction id, person, masked name now, when) of every name correction or reclaim made at or
        after `changed_after`, by correction id from after `after_id`."""
        rows = await self._pool.fetch(
            """SELECT c.correction_id, c.person_id::text, p.masked_name, c.create_time
               FROM identity.corrections c JOIN identity.persons p USING (person_id)
               WHERE c.kind IN ('NAME', 'RECLAIM') AND ($1::timestamptz IS NULL OR c.create_time >= $1)
                 AND c.correction_id > $2
               ORDER BY c.correction_id LIMIT $3""", changed_after, after_id, limit)
        return [(r["correction_id"], r["person_id"], r["masked_name"], r["create_time"]) for r in rows]

    async def list_name_corrections(self, province_code: str, state: NameCorrectionState,
                                    after: tuple[datetime, str] | None, limit: int) -> list[StoredNameCorrection]:
        """A province's name corrections in one state, oldest first, from after (create time, id)."""
        rows = await self._pool.fetch(
            f"""{_NAME_CORRECTIONS} WHERE home_province_code = $1 AND state = $2
                  AND ($3::timestamptz IS NULL OR (create_time, correction_id) > ($3, $4::uuid))
                ORDER BY create_time, correction_id LIMIT $5""",
            province_code, int(state), after[0] if after else None, after[1] if after else None, limit)
        return [_name_correction(row) for row in rows]

    async def session_is_live(self, session_id: str, person_id: str, now: datetime) -> bool:
        return bool(await self._pool.fetchval(
            """SELECT EXISTS (SELECT 1 FROM identity.sessions WHERE session_id = $1 AND person_id = $2
                   AND revoke_time IS NULL AND expire_time > $3)""", session_id, person_id, now))

    async def revoke_sessions(self, person_id: str, session_id: str | None, now: datetime, reason: str) -> int:
        """Revokes one of the person's sessions, or all of them (session_id None); how many were live."""
        status = await self._pool.execute(
            """UPDATE identity.sessions SET revoke_time = $3, revoke_reason = $4
               WHERE person_id = $1 AND ($2::uuid IS NULL OR session_id = $2) AND revoke_time IS NULL""",
            person_id, session_id, now, reason)
        return int(status.split()[-1])

    async def purge_expired_sessions(self, now: datetime) -> int:
        status = await self._pool.execute("DELETE FROM identity.sessions WHERE expire_time < $1", now)
        return int(status.split()[-1])

    async def has_live_link(self, holder_person_id: str, dependent_person_id: str) -> bool:
        return bool(await self._pool.fetchval(
            """SELECT EXISTS (SELECT 1 FROM identity.dependent_links WHERE holder_person_id = $1
                   AND dependent_person_id = $2 AND unlink_time IS NULL)""", holder_person_id, dependent_person_id))

    async def list_provider_keys(self, after: tuple[str, str] | None, limit: int) -> list[FaceProviderKey]:
        rows = await self._pool.fetch(
            """SELECT * FROM identity.face_provider_keys
               WHERE $1::text IS NULL OR (provider_id, key_id) > ($1, $2)
               ORDER BY provider_id, key_id LIMIT $3""",
            after[0] if after else None, after[1] if after else None, limit)
        return [_key(row) for row in rows]

    @asynccontextmanager
    async def needing_reseal(self, active_key_id: str, limit: int
                             ) -> AsyncIterator[tuple[list[ResealRow], ResealWriter]]:
        """Up to `limit` persons sealed under another key than the active one, or without a
        federation reference, locked for rewriting.

        SKIP LOCKED lets several resealers (or a restarted one) share the work.
        """
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                """SELECT person_id, document_kind, document_country_code, sealed_key_id, sealed_record
                   FROM identity.persons WHERE sealed_key_id <> $1 OR federation_ref IS NULL
                   ORDER BY person_id LIMIT $2 FOR UPDATE SKIP LOCKED""",
                active_key_id, limit)
            yield ([ResealRow(str(r["person_id"]), DocumentKind(r["document_kind"]), r["document_country_code"],
                              Sealed(r["sealed_key_id"], bytes(r["sealed_record"]))) for r in rows],
                   ResealWriter(connection))

    @asynccontextmanager
    async def name_corrections_needing_reseal(self, active_key_id: str, limit: int
                                              ) -> AsyncIterator[tuple[list[tuple[str, Sealed]], ResealWriter]]:
        """Up to `limit` name corrections sealed under another key than the active one, locked."""
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                """SELECT correction_id::text, sealed_key_id, sealed_record FROM identity.name_corrections
                   WHERE sealed_key_id <> $1 ORDER BY correction_id LIMIT $2 FOR UPDATE SKIP LOCKED""",
                active_key_id, limit)
            yield ([(r["correction_id"], Sealed(r["sealed_key_id"], bytes(r["sealed_record"]))) for r in rows],
                   ResealWriter(connection))

    async def purge_expired_nonces(self, now: datetime) -> int:
        result = await self._pool.execute("DELETE FROM identity.face_check_nonces WHERE expire_time < $1", now)
        return int(result.split()[-1])


@dataclass(frozen=True)
class ResealRow:
    """What reseal needs of a person: the sealed record, and the document's kind and country
    to compute a missing federation reference from the number inside it."""

    person_id: str
    document_kind: DocumentKind
    document_country_code: str
    sealed: Sealed


class ResealWriter:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def write(self, resealed: list[tuple[str, Sealed, bytes]]) -> None:
        """(person id, sealed record, federation reference) rows, in one set-based UPDATE."""
        await self._connection.execute(
            """UPDATE identity.persons p SET sealed_key_id = r.key_id, sealed_record = r.record,
                   federation_ref = coalesce(p.federation_ref, r.federation_ref)
               FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bytea[])
                   AS r(person_id, key_id, record, federation_ref)
               WHERE p.person_id = r.person_id""",
            [person_id for person_id, _, _ in resealed], [s.key_id for _, s, _ in resealed],
            [s.ciphertext for _, s, _ in resealed], [ref for _, _, ref in resealed])

    async def write_name_corrections(self, resealed: list[tuple[str, Sealed]]) -> None:
        await self._connection.execute(
            """UPDATE identity.name_corrections c SET sealed_key_id = r.key_id, sealed_record = r.record
               FROM unnest($1::uuid[], $2::text[], $3::bytea[]) AS r(correction_id, key_id, record)
               WHERE c.correction_id = r.correction_id""",
            [correction_id for correction_id, _ in resealed], [s.key_id for _, s in resealed],
            [s.ciphertext for _, s in resealed])


class IdentityTransaction:
    """Statements that must share one transaction (locks, check-then-write)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def find_stored_by_document(self, document_lookup: bytes, *, lock: bool = False) -> StoredPerson | None:
        row = await self._connection.fetchrow(
            f"""{_STORED_PERSON} WHERE p.document_lookup = $1 {'FOR UPDATE' if lock else ''}""",
            document_lookup)
        return _stored(row) if row else None

    async def get_stored(self, person_id: str, *, lock: bool = False) -> StoredPerson | None:
        row = await self._connection.fetchrow(
            f"""{_STORED_PERSON} WHERE p.person_id = $1 {'FOR UPDATE' if lock else ''}""", person_id)
        return _stored(row) if row else None

    async def insert_person(self, new: NewPerson) -> bool:
        """False when another registration of the same document won the race."""
        inserted = await self._connection.fetchval(
            """INSERT INTO identity.persons (person_id, document_lookup, name_lookup, document_kind,
                   document_country_code, sealed_key_id, sealed_record, masked_name, masked_document_number,
                   home_province_code, face_check_time, create_time, update_time, federation_ref)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
               ON CONFLICT (document_lookup) DO NOTHING RETURNING true""",
            new.person_id, new.document_lookup, new.name_lookup, int(new.document_kind),
            new.document_country_code, new.sealed.key_id, new.sealed.ciphertext, new.masked_name,
            new.masked_document_number, new.home_province_code, new.face_check_time, new.create_time,
            new.federation_ref)
        return bool(inserted)

    async def reclaim(self, person_id: str, name_lookup: bytes, sealed: Sealed, masked_name: str,
                      check_time: datetime, now: datetime) -> Person:
        """The holder takes the registration back: the name replaced, others' links to them ended, their
        sessions revoked, the correction recorded — one transaction."""
        ended = await self._connection.execute(
            """UPDATE identity.dependent_links SET unlink_time = $2
               WHERE dependent_person_id = $1 AND unlink_time IS NULL""", person_id, now)
        await self._connection.execute(
            """UPDATE identity.sessions SET revoke_time = $2, revoke_reason = 'RECLAIMED'
               WHERE person_id = $1 AND revoke_time IS NULL""", person_id, now)
        await self._connection.execute(
            """INSERT INTO identity.corrections (person_id, kind, actor, reason, links_ended, create_time)
               VALUES ($1, 'RECLAIM', 'holder', 'the holder proved the document by a face check', $2, $3)""",
            person_id, int(ended.split()[-1]), now)
        row = await self._connection.fetchrow(
            f"""UPDATE identity.persons p SET name_lookup = $2, sealed_key_id = $3, sealed_record = $4,
                       masked_name = $5, face_check_time = GREATEST(p.face_check_time, $6), update_time = $7
                WHERE p.person_id = $1 RETURNING {_PERSON_COLUMNS}""",
            person_id, name_lookup, sealed.key_id, sealed.ciphertext, masked_name, check_time, now)
        return _person(row)

    async def find_name_correction(self, person_id: str, request_id: str) -> StoredNameCorrection | None:
        row = await self._connection.fetchrow(
            f"{_NAME_CORRECTIONS} WHERE person_id = $1 AND request_id = $2", person_id, request_id)
        return _name_correction(row) if row else None

    async def get_name_correction(self, correction_id: str, *, lock: bool = False) -> StoredNameCorrection | None:
        row = await self._connection.fetchrow(
            f"{_NAME_CORRECTIONS} WHERE correction_id = $1 {'FOR UPDATE' if lock else ''}", correction_id)
        return _name_correction(row) if row else None

    async def name_corrections_of(self, person_id: str) -> dict[NameCorrectionState, int]:
        rows = await self._connection.fetch(
            "SELECT state, count(*) FROM identity.name_corrections WHERE person_id = $1 GROUP BY state", person_id)
        return {NameCorrectionState(row[0]): row[1] for row in rows}

    async def insert_name_correction(self, correction: NameCorrection, request_id: str, old_name_lookup: bytes,
                                     new_name_lookup: bytes, sealed: Sealed) -> None:
        await self._connection.execute(
            """INSERT INTO identity.name_corrections (correction_id, person_id, request_id, state, home_province_code,
                   old_name_lookup, new_name_lookup, masked_old_name, masked_new_name, sealed_key_id, sealed_record,
                   create_time, decide_time)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
            correction.correction_id, correction.person_id, request_id, int(correction.state),
            correction.home_province_code, old_name_lookup, new_name_lookup, correction.masked_old_name,
            correction.masked_new_name, sealed.key_id, sealed.ciphertext, correction.create_time,
            correction.decide_time)

    async def decide_name_correction(self, correction_id: str, state: NameCorrectionState, reviewer_id: str,
                                     reason: str, now: datetime) -> StoredNameCorrection:
        row = await self._connection.fetchrow(
            """UPDATE identity.name_corrections SET state = $2, reviewer_id = $3, decision_reason = $4,
                   decide_time = $5 WHERE correction_id = $1 RETURNING *""",
            correction_id, int(state), reviewer_id, reason, now)
        return _name_correction(row)

    async def correct_name(self, person_id: str, name_lookup: bytes, sealed: Sealed, masked_name: str, actor: str,
                           reason: str, now: datetime) -> Person:
        """The person's name replaced and the correction recorded in their history, in this transaction."""
        await self._connection.execute(
            """INSERT INTO identity.corrections (person_id, kind, actor, reason, links_ended, create_time)
               VALUES ($1, 'NAME', $2, $3, 0, $4)""", person_id, actor, reason, now)
        row = await self._connection.fetchrow(
            f"""UPDATE identity.persons p SET name_lookup = $2, sealed_key_id = $3, sealed_record = $4,
                       masked_name = $5, update_time = $6
                WHERE p.person_id = $1 RETURNING {_PERSON_COLUMNS}""",
            person_id, name_lookup, sealed.key_id, sealed.ciphertext, masked_name, now)
        return _person(row)

    async def record_face_check(self, person_id: str, check_time: datetime, now: datetime) -> Person:
        row = await self._connection.fetchrow(
            f"""UPDATE identity.persons p SET face_check_time = GREATEST(p.face_check_time, $2), update_time = $3
                WHERE p.person_id = $1 RETURNING {_PERSON_COLUMNS}""", person_id, check_time, now)
        return _person(row)

    async def insert_session(self, session_id: str, person_id: str, refresh_digest: bytes, now: datetime,
                             expire_time: datetime) -> None:
        await self._connection.execute(
            """INSERT INTO identity.sessions (session_id, person_id, refresh_digest, create_time, refresh_time,
                   expire_time) VALUES ($1, $2, $3, $4, $4, $5)""", session_id, person_id, refresh_digest, now,
            expire_time)

    async def rotate_refresh(self, old_digest: bytes, new_digest: bytes, now: datetime) -> tuple[str, str] | None:
        """(session id, person id) when `old_digest` is a live session's current refresh token, which is
        replaced by `new_digest` in the same statement: of two concurrent refreshes one wins."""
        row = await self._connection.fetchrow(
            """UPDATE identity.sessions SET refresh_digest = $2, refresh_time = $3
               WHERE refresh_digest = $1 AND revoke_time IS NULL AND expire_time > $3
               RETURNING session_id::text, person_id::text""", old_digest, new_digest, now)
        return (row["session_id"], row["person_id"]) if row else None

    async def consume_nonce(self, provider_id: str, nonce: str, document_lookup: bytes, purpose: str,
                            now: datetime, expire_time: datetime, *, once: bool = False) -> bool:
        """True if the nonce is fresh, or (unless `once`) was consumed by this same request before (a retry)."""
        inserted = await self._connection.fetchval(
            """INSERT INTO identity.face_check_nonces
                   (provider_id, nonce, document_lookup, purpose, consume_time, expire_time)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider_id, nonce) DO NOTHING RETURNING true""",
            provider_id, nonce, document_lookup, purpose, now, expire_time)
        if inserted or once:
            return bool(inserted)
        return bool(await self._connection.fetchval(
            """SELECT document_lookup = $3 AND purpose = $4 FROM identity.face_check_nonces
               WHERE provider_id = $1 AND nonce = $2""", provider_id, nonce, document_lookup, purpose))

    async def get_provider_key(self, provider_id: str, key_id: str) -> FaceProviderKey | None:
        row = await self._connection.fetchrow(
            "SELECT * FROM identity.face_provider_keys WHERE provider_id = $1 AND key_id = $2", provider_id, key_id)
        return _key(row) if row else None

    async def insert_provider_key(self, key: FaceProviderKey) -> bool:
        inserted = await self._connection.fetchval(
            """INSERT INTO identity.face_provider_keys
                   (provider_id, key_id, public_key_der, valid_from_time, valid_until_time, create_time, kind)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (provider_id, key_id) DO NOTHING RETURNING true""",
            key.provider_id, key.key_id, key.public_key_der, key.valid_from_time, key.valid_until_time,
            key.create_time, int(key.kind))
        return bool(inserted)

    async def revoke_provider_key(self, provider_id: str, key_id: str, now: datetime) -> FaceProviderKey | None:
        row = await self._connection.fetchrow(
            """UPDATE identity.face_provider_keys SET revoke_time = COALESCE(revoke_time, $3)
               WHERE provider_id = $1 AND key_id = $2 RETURNING *""", provider_id, key_id, now)
        return _key(row) if row else None

    async def get_live_link(self, holder_person_id: str, dependent_person_id: str) -> DependentLink | None:
        row = await self._connection.fetchrow(
            f"""{_LINKS}
                WHERE l.holder_person_id = $1 AND l.dependent_person_id = $2 AND l.unlink_time IS NULL""",
            holder_person_id, dependent_person_id)
        return _link(row) if row else None

    async def get_last_link(self, holder_person_id: str, dependent_person_id: str) -> DependentLink | None:
        row = await self._connection.fetchrow(
            f"""{_LINKS}
                WHERE l.holder_person_id = $1 AND l.dependent_person_id = $2
                ORDER BY l.link_id DESC LIMIT 1""", holder_person_id, dependent_person_id)
        return _link(row) if row else None

    async def count_live_links(self, holder_person_id: str) -> int:
        return int(await self._connection.fetchval(
            "SELECT count(*) FROM identity.dependent_links WHERE holder_person_id = $1 AND unlink_time IS NULL",
            holder_person_id))

    async def insert_link(self, holder_person_id: str, dependent_person_id: str, relation: Relation,
                          basis: LinkBasis, now: datetime) -> None:
        await self._connection.execute(
            """INSERT INTO identity.dependent_links
                   (holder_person_id, dependent_person_id, relation, basis, link_time)
               VALUES ($1, $2, $3, $4, $5)""", holder_person_id, dependent_person_id, int(relation), int(basis), now)

    async def unlink(self, holder_person_id: str, dependent_person_id: str, now: datetime) -> bool:
        result = await self._connection.execute(
            """UPDATE identity.dependent_links SET unlink_time = $3
               WHERE holder_person_id = $1 AND dependent_person_id = $2 AND unlink_time IS NULL""",
            holder_person_id, dependent_person_id, now)
        return result != "UPDATE 0"


"""The synthetic population: persons, dependents, carrier stays, venues and enrolments by COPY, written
exactly as the services write them, and a few cases recorded through status's RecordFacts.

Who is in it follows from a person's index alone, so a load is idempotent and a larger one extends a
smaller one: person `i` belongs to household `i // 10` and has role `i % 10` in it (0–6 adults, 7 an
elderly parent, 8 and 9 children). Documents are mainland ID cards of twenty counties of five provinces
no test uses (Shanxi, Inner Mongolia, Jilin, Guizhou, Shaanxi), with sequence numbers 800–999: a range kept for
synthetic loads, with valid GB 11643 check characters. Rows are sealed and hashed with the services'
own functions and keys, so the services read them back as if RegisterPerson had written them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp
from healthcode.status.v1 import status_pb2
from stdnum.cn import ric

from services.identity.documents import (
    FEDERATION_PURPOSE,
    Document,
    DocumentKind,
    federation_reference,
    mask_name,
    normalise_name,
    parse_document,
)
from services.identity.model import LinkBasis, Relation
from services.identity.registry import _person_context
from tools.load.client import with_development_secrets
from services.runtime.sealing import Keyring, LookupHasher
from services.runtime.settings import Env

HOUSEHOLD = 10
ADULT_ROLES = range(7)
ELDERLY_ROLE = 7
CHILD_ROLES = (8, 9)
# Twenty counties of five provinces that no test uses, each known to stdnum for every birth year used here.
COUNTIES = ("140121", "140122", "140123",                       # 山西 Shanxi
            "150121", "150122", "150221", "150222", "152201",   # 内蒙古 Inner Mongolia
            "222401", "222402", "222424", "222426",             # 吉林 Jilin
            "520201", "520203", "522323", "522324",             # 贵州 Guizhou
            "610322", "610323", "610324", "610326")             # 陕西 Shaanxi
PROVINCES = tuple(sorted({county[:2] + "0000" for county in COUNTIES}))
FIRST_SEQUENCE, SEQUENCES = 800, 200   # GB 11643 sequence numbers 800–999: synthetic people only
# Birth years by role, five years apart: with under five years of birth days per (county, sequence),
# no two persons share a document. Children are minors until 2029 and beyond.
_BIRTH_YEARS = (1962, 1967, 1972, 1977, 1982, 1987, 1992, 1940, 2011, 2016)
_DAYS_PER_ROLE = 1826
MAX_PERSONS = HOUSEHOLD * len(COUNTIES) * SEQUENCES * _DAYS_PER_ROLE
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建文"
CARRIER = "load-carrier"
AUTHORITY = "load-cdc"
CASE_EVERY = 1000                       # person 3 of every thousand is a confirmed case,
CONFIRMED_AT, CLOSE_CONTACT_AT = 3, 503  # person 503 a close contact
PERSONS_PER_VENUE = 200


@dataclass(frozen=True)
class PopulationKeys:
    """The secrets identity writes persons with (the same HEALTHCODE_* settings the service reads)."""

    sealing_keys: dict[str, bytes] = field(repr=False)
    lookup_key: bytes = field(repr=False)
    federation_key: bytes = field(repr=False)

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> PopulationKeys:
        """From the environment, or else from the development keys `healthcode up` keeps in its data dir."""
        env = Env(with_development_secrets(environ, "IDENTITY_LOOKUP_KEY"))
        keys = cls(env.secret_keyring("IDENTITY_SEALING_KEYS"), env.secret_key("IDENTITY_LOOKUP_KEY"),
                   env.secret_key("FEDERATION_KEY"))
        env.check()
        return keys


def _derived_id(kind: bytes, index: int) -> uuid.UUID:
    """A stable, random-looking version-4 id: the same person or venue in every load."""
    digest = hmac.new(b"healthcode.load." + kind, index.to_bytes(8, "big"), hashlib.sha256).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def person_id(index: int) -> uuid.UUID:
    return _derived_id(b"person", index)


def venue_id(index: int) -> uuid.UUID:
    return _derived_id(b"venue", index)


def role_of(index: int) -> int:
    return index % HOUSEHOLD


def county_of(index: int) -> str:
    return COUNTIES[(index // HOUSEHOLD) % len(COUNTIES)]


def document_number(index: int) -> str:
    return _document(index)[0]


def _document(index: int) -> tuple[str, date]:
    """The person's ID card number and birth date."""
    household, role = divmod(index, HOUSEHOLD)
    if index >= MAX_PERSONS:
        raise ValueError(f"the synthetic range holds at most {MAX_PERSONS} persons")
    block = household // len(COUNTIES)
    sequence = FIRST_SEQUENCE + block % SEQUENCES
    born = date(_BIRTH_YEARS[role], 1, 1) + timedelta(days=block // SEQUENCES)
    body = f"{county_of(index)}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0"), born  # stdnum ignores the last character


def name_of(index: int) -> str:
    given = _GIVEN[(index // len(_SURNAMES)) % len(_GIVEN)]
    if index % 3:
        given += _GIVEN[(index // 7) % len(_GIVEN)]
    return _SURNAMES[index % len(_SURNAMES)] + given


def dependent_links(household: int) -> list[tuple[int, int, Relation, LinkBasis]]:
    """(holder, dependent, relation, basis) in a household: the first adult acts for both children
    (a parent the household register attested, for minors), the second for the elderly parent (who
    consented by a face check)."""
    first = household * HOUSEHOLD
    return [(first, first + CHILD_ROLES[0], Relation.PARENT, LinkBasis.ATTESTED_GUARDIANSHIP),
            (first, first + CHILD_ROLES[1], Relation.PARENT, LinkBasis.ATTESTED_GUARDIANSHIP),
            (first + 1, first + ELDERLY_ROLE, Relation.CHILD, LinkBasis.DEPENDENT_FACE_CHECK)]


def case_indices(size: int) -> list[tuple[int, int]]:
    """(person index, status_pb2 Diagnosis) of the population's cases."""
    cases = []
    for start in range(0, size, CASE_EVERY):
        for offset, diagnosis in ((CONFIRMED_AT, status_pb2.DIAGNOSIS_CONFIRMED),
                                  (CLOSE_CONTACT_AT, status_pb2.DIAGNOSIS_CLOSE_CONTACT)):
            if start + offset < size:
                cases.append((start + offset, diagnosis))
    return cases


@dataclass(frozen=True)
class Population:
    """Who the workload acts as: every person, who may act for whom, and every venue (no database needed)."""

    size: int
    person_ids: list[str]
    # (holder, dependent) person ids.
    links: list[tuple[str, str]]
    venue_ids: list[str]

    @classmethod
    def of(cls, size: int) -> Population:
        size = rounded(size)
        ids = [str(person_id(i)) for i in range(size)]
        links = [(ids[h], ids[d]) for household in range(size // HOUSEHOLD)
                 for h, d, _, _ in dependent_links(household)]
        return cls(size, ids, links, [str(venue_id(j)) for j in range(venue_count(size))])


def rounded(size: int) -> int:
    """Whole households only: a household's links are written with it."""
    return max(HOUSEHOLD, -(-size // HOUSEHOLD) * HOUSEHOLD)


def venue_count(size: int) -> int:
    return max(10, size // PERSONS_PER_VENUE)


@dataclass
class LoadResult:
    persons: int = 0
    persons_added: int = 0
    links_added: int = 0
    stays_added: int = 0
    venues_added: int = 0
    cases_recorded: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class PersonWriter:
    """Identity's rows for a person, built by the same functions RegisterPerson uses."""

    def __init__(self, keys: PopulationKeys) -> None:
        self._keyring = Keyring(keys.sealing_keys)
        self._documents = LookupHasher(keys.lookup_key, "identity.document")
        self._names = LookupHasher(keys.lookup_key, "identity.name")
        self._federation = LookupHasher(keys.federation_key, FEDERATION_PURPOSE)
        self._checked: set[tuple[str, date]] = set()

    def identity_row(self, index: int, created: datetime, today: date) -> tuple:
        pid = person_id(index)
        document = self.document(index, today)
        name = normalise_name(name_of(index))
        record = json.dumps({"name": name, "document_number": document.number,
                             "birth_date": document.birth_date.isoformat() if document.birth_date else None}).encode()
        sealed = self._keyring.seal(record, _person_context(str(pid)))
        return (pid, self._documents.digest(document.lookup_key()), self._names.digest(name.encode()),
                int(document.kind), document.country_code, sealed.key_id, sealed.ciphertext, mask_name(name),
                document.masked_number(), county_of(index)[:2] + "0000", None, created, created,
                federation_reference(document, self._federation))

    def document(self, index: int, today: date) -> Document:
        """The document as RegisterPerson's parse_document leaves it. It is parsed for real once per county
        and birth date (the sequence number changes neither the region's nor the date's validity): two
        thirds of the time it would take otherwise."""
        number, born = _document(index)
        document = Document(DocumentKind.RESIDENT_ID_CARD, number, "CHN", born)
        if (number[:6], born) not in self._checked:
            parsed = parse_document(DocumentKind.RESIDENT_ID_CARD, number, today=today)
            if parsed != document:
                raise AssertionError(f"synthetic person {index}'s document does not parse as built")
            self._checked.add((number[:6], born))
        return document


_IDENTITY_COLUMNS = ["person_id", "document_lookup", "name_lookup", "document_kind", "document_country_code",
                     "sealed_key_id", "sealed_record", "masked_name", "masked_document_number",
                     "home_province_code", "face_check_time", "create_time", "update_time", "federation_ref"]


async def load(url: str, keys: PopulationKeys, size: int, *, now: datetime | None = None,
               seed: int = 7, progress=None) -> LoadResult:
    """Adds whatever part of the population of `size` persons the database lacks, in one transaction."""
    now = now or datetime.now(UTC)
    size = rounded(size)
    result = LoadResult(persons=size)
    rng = random.Random(seed)
    connection = await asyncpg.connect(url, server_settings={"application_name": "healthcode-load"})
    try:
        started = time.perf_counter()
        ids = [person_id(i) for i in range(size)]
        present = {row[0] for row in await connection.fetch(
            "SELECT person_id FROM identity.persons WHERE person_id = ANY($1::uuid[])", ids)}
        new = [i for i in range(size) if ids[i] not in present]
        venues = [venue_id(j) for j in range(venue_count(size))]
        venues_present = {row[0] for row in await connection.fetch(
            "SELECT venue_id FROM verification.venues WHERE venue_id = ANY($1::uuid[])", venues)}
        new_venues = [j for j, v in enumerate(venues) if v not in venues_present]
        await _require_partitions(connection, now)
        result.seconds["check"] = time.perf_counter() - started

        started = time.perf_counter()
        writer = PersonWriter(keys)
        created = now - timedelta(days=60)
        today = now.date()
        identity_rows = []
        for n, i in enumerate(new):
            identity_rows.append(writer.identity_row(i, created, today))
            if progress and n % 20_000 == 0:
                progress(f"sealing persons {n}/{len(new)}")
        identity_rows.sort(key=lambda row: row[0])
        result.seconds["build"] = time.perf_counter() - started

        started = time.perf_counter()
        async with connection.transaction():
            if identity_rows:
                await connection.copy_records_to_table("persons", schema_name="identity", columns=_IDENTITY_COLUMNS,
                                                       records=identity_rows)
                # What status's enrolment would have kept on the first read of each person.
                await connection.copy_records_to_table(
                    "persons", schema_name="status",
                    columns=["person_id", "province_code", "masked_name", "enrol_time", "person_ref"],
                    records=[(row[0], row[9], row[7], created, row[13]) for row in identity_rows])
            new_set = set(new)
            links = [(ids[h], ids[d], int(relation), int(basis), created)
                     for household in sorted({i // HOUSEHOLD for i in new})
                     for h, d, relation, basis in dependent_links(household) if h in new_set]
            if links:
                await connection.copy_records_to_table(
                    "dependent_links", schema_name="identity",
                    columns=["holder_person_id", "dependent_person_id", "relation", "basis", "link_time"],
                    records=links)
            stays = sorted(_stays(new, ids, now, rng))
            if stays:
                await connection.copy_records_to_table("stays", schema_name="itinerary", records=stays)
            if new_venues:
                await connection.copy_records_to_table(
                    "venues", schema_name="verification",
                    columns=["venue_id", "name", "area_code", "category", "request_id", "create_time"],
                    records=[(venues[j], f"合成场所{j:06d}", COUNTIES[j % len(COUNTIES)], j % 7 + 1,
                              f"load-venue-{j}", now - timedelta(days=90)) for j in new_venues])
        result.seconds["copy"] = time.perf_counter() - started
        if identity_rows:
            started = time.perf_counter()
            # Now rather than by autovacuum in the middle of the measurements: statistics, the visibility
            # map of the new rows, and their dirty pages written out.
            await connection.execute("VACUUM (ANALYZE) identity.persons, identity.dependent_links, status.persons, "
                                     "itinerary.stays, verification.venues")
            await connection.execute("CHECKPOINT")
            result.seconds["vacuum"] = time.perf_counter() - started
        result.persons_added, result.links_added = len(identity_rows), len(links)
        result.stays_added, result.venues_added = len(stays), len(new_venues)
        return result
    finally:
        await connection.close()


def _stays(indices: Iterable[int], ids: list[uuid.UUID], now: datetime, rng: random.Random) -> Iterable[tuple]:
    """Carrier stays in the last ten days, four to twelve hours long: one each (spread evenly over the
    counties, so declaring one county touches a twentieth of everyone), and a second for three in ten."""
    hour = timedelta(hours=1)
    for i in indices:
        counties = [COUNTIES[(i * 7 + 3) % len(COUNTIES)]]
        if rng.random() < 0.3:
            counties.append(rng.choice(COUNTIES))
        for county in dict.fromkeys(counties):
            departure = (now - rng.uniform(1, 240) * hour).replace(microsecond=0)
            yield ids[i], county, departure - rng.uniform(4, 12) * hour, departure, 1, CARRIER


async def _require_partitions(connection: asyncpg.Connection, now: datetime) -> None:
    """Stays go into itinerary's daily partitions, which the running service makes."""
    missing = await connection.fetchval(
        """SELECT count(*) FROM generate_series(($1::timestamptz - interval '11 days')::date, $1::date,
                                                interval '1 day') AS day
           WHERE NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                             WHERE i.inhparent = 'itinerary.stays'::regclass
                               AND c.relname = 'stays_p' || to_char(day, 'YYYYMMDD'))""", now)
    if missing:
        raise RuntimeError("itinerary's stay partitions for the last 11 days are missing: start the platform "
                           "(healthcode up) before loading a population")


async def record_cases(status_stub, size: int, now: datetime | None = None,
                       metadata: tuple[tuple[str, str], ...] = ()) -> int:
    """The population's cases, through RecordFacts (1000 a call) as the authority AUTHORITY: idempotent per
    person, so a reload stores nothing new. Returns how many facts were new."""
    now = now or datetime.now(UTC)
    effective = Timestamp()
    effective.FromDatetime(now - timedelta(days=2))
    facts = [status_pb2.Fact(person_id=str(person_id(i)), kind=status_pb2.FACT_KIND_DIAGNOSIS, diagnosis=diagnosis,
                             authority=AUTHORITY, authority_record_id=f"load-case-{i}",
                             source=status_pb2.FACT_SOURCE_HEALTH, effective_time=effective)
             for i, diagnosis in case_indices(rounded(size))]
    stored = 0
    for start in range(0, len(facts), 1000):
        response = await status_stub.RecordFacts(status_pb2.RecordFactsRequest(facts=facts[start:start + 1000]),
                                                 timeout=120, metadata=metadata)
        stored += response.stored_count
    return stored

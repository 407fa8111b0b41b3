"""Test helpers: a controllable clock, valid documents, signed face attestations, error details."""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import grpc
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from stdnum.cn import ric

from healthcode.identity.v1 import identity_pb2 as pb

from services import areas
from services.codes import low_s_der


class ManualClock:
    """A clock tests move by hand; starts at the real time so stored rows look ordinary."""

    def __init__(self) -> None:
        self._now = datetime.now(UTC).replace(microsecond=0)
        # Each reading moves the clock on by this much, as a real clock does between two reads.
        self.tick = timedelta(0)

    def now(self) -> datetime:
        now = self._now
        self._now += self.tick
        return now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        """The clock reads `moment` for the block, and goes back after it (tests share one clock)."""
        start = self._now
        self._now = moment
        try:
            yield
        finally:
            self._now = start


def random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


# Numbers come from a counter, so no two documents of one test session collide
# (a collision would silently return an earlier person).
_serial = itertools.count()


def id_card_number(birth: date | None = None, region: str = "110105") -> str:
    """A fresh, valid GB 11643 number, unique within the session."""
    serial = next(_serial)
    birth = birth or date(1960, 1, 1) + timedelta(days=serial % 20000)
    body = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character


def counties_of_distinct_cities(province_prefix: str) -> Iterator[str]:
    """Real county codes (GB/T 2260, ever assigned), one per city of the province: each city's "01",
    in cities that also have a "02" (420101, 420201, ...), so tests can own a city each."""
    known = areas.history()
    cities = sorted({code[:4] for code in known if code.startswith(province_prefix) and code[2:4] != "00"})
    return iter([f"{city}01" for city in cities if f"{city}01" in known and f"{city}02" in known])


def id_card(birth: date | None = None) -> pb.Document:
    return pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number=id_card_number(birth))


def passport(country: str = "DEU") -> pb.Document:
    return pb.Document(kind=pb.DOCUMENT_KIND_PASSPORT, number=f"C{next(_serial):08d}",
                       country_code=country)


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


class FaceProvider:
    """An outside face-check provider with its own P-256 key."""

    def __init__(self, provider_id: str = "", key_id: str = "k1") -> None:
        self.provider_id = provider_id or f"provider-{secrets.token_hex(4)}"
        self.key_id = key_id
        self.private_key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key_der(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def attest(self, document: pb.Document, check_time: datetime, nonce: str | None = None,
               key_id: str | None = None) -> pb.FaceAttestation:
        claims = pb.FaceCheckClaims(
            provider_id=self.provider_id, key_id=key_id or self.key_id, document=document,
            check_time=timestamp(check_time), nonce=nonce or secrets.token_urlsafe(24)).SerializeToString()
        # Providers sign in low-S form: identity accepts no other spelling of a signature.
        return pb.FaceAttestation(claims=claims, signature=low_s_der(self.private_key.sign(
            claims, ec.ECDSA(hashes.SHA256()))))


class HouseholdRegister(FaceProvider):
    """The household register (户籍) as an outside provider: attests who is a minor's parent or guardian."""

    def key_request(self, valid_from: datetime) -> pb.RegisterFaceProviderKeyRequest:
        return pb.RegisterFaceProviderKeyRequest(
            provider_id=self.provider_id, key_id=self.key_id, public_key_der=self.public_key_der,
            valid_from_time=timestamp(valid_from), kind=pb.PROVIDER_KIND_HOUSEHOLD_REGISTER)

    def relation(self, guardian: pb.Document, minor: pb.Document, check_time: datetime,
                 relation: int = pb.RELATION_PARENT, minor_birth_date: date | None = None) -> pb.RelationAttestation:
        claims = pb.RelationClaims(
            provider_id=self.provider_id, key_id=self.key_id, guardian_document=guardian, minor_document=minor,
            relation=relation, check_time=timestamp(check_time), nonce=secrets.token_urlsafe(24))
        if minor_birth_date is not None:
            claims.minor_birth_date.year, claims.minor_birth_date.month, claims.minor_birth_date.day = (
                minor_birth_date.year, minor_birth_date.month, minor_birth_date.day)
        signed = claims.SerializeToString()
        return pb.RelationAttestation(claims=signed, signature=low_s_der(self.private_key.sign(
            signed, ec.ECDSA(hashes.SHA256()))))


def error_details(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    """(ErrorInfo reason, BadRequest field paths) from a failed call's rich status."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            reason, fields = "", []
            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason = info.reason
                elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    fields = [v.field for v in bad.field_violations]
            return reason, fields
    return "", []


async def register_persons(persons_stub, count: int) -> list[str]:
    """Registers `count` fresh persons in identity; returns their ids.

    At most 100 calls are in flight: with ~1000 on one channel, grpc core cancels a
    few before any handler runs (seen with a bare grpc.aio echo server too).
    """
    in_flight = asyncio.Semaphore(100)

    async def register() -> str:
        async with in_flight:
            response = await persons_stub.RegisterPerson(pb.RegisterPersonRequest(name="路人甲", document=id_card()))
        return response.person.person_id

    return list(await asyncio.gather(*(register() for _ in range(count))))


async def ingest_one_stay(itinerary_stub, person_id: str, area_code: str, arrival: datetime, hours: float = 6) -> None:
    """A carrier reports one stay of `hours` for the person, in a batch of its own."""
    from healthcode.itinerary.v1 import itinerary_pb2

    async def requests():
        yield itinerary_pb2.IngestCarrierStaysRequest(
            batch_id=f"b-{secrets.token_hex(6)}", source_carrier="china-unicom",
            stays=[itinerary_pb2.CarrierStay(person_id=person_id, area_code=area_code, arrival_time=timestamp(arrival),
                                             departure_time=timestamp(arrival + timedelta(hours=hours)))])
    response = await itinerary_stub.IngestCarrierStays(requests())
    assert response.stored == 1, response


def years_from(day: date, years: int) -> date:
    """The same calendar day `years` later (or earlier, if negative); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


async def refused(call) -> grpc.aio.AioRpcError:
    """The error a call failed with; fails the test if it succeeded."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded; it should have been refused")

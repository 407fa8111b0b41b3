"""Status's view of identity and itinerary, asked over gRPC in batches (never their tables)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import grpc
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.itinerary.v1 import itinerary_pb2, itinerary_pb2_grpc

from services.runtime.clients import Upstream
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.timestamps import answer_datetime, to_timestamp
from services.status.model import Exposure, ListedStay

BATCH = 1000  # identity's and itinerary's batch limits


@dataclass(frozen=True)
class PersonCard:
    """What status keeps of an identity record: the masked name, the home province and the
    federation reference (None while identity has none for the person)."""

    person_id: str
    masked_name: str
    province_code: str
    person_ref: bytes | None


@dataclass(frozen=True)
class DeclarationNotice:
    declaration_id: str
    create_time: datetime


class Identity:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._upstream = Upstream("identity", batch=BATCH)

    async def persons(self, person_ids: Sequence[str]) -> dict[str, PersonCard]:
        """The persons identity knows among `person_ids`; unknown ids are absent."""
        async def call(chunk):
            return await self._stub.BatchGetPersons(identity_pb2.BatchGetPersonsRequest(person_ids=chunk))

        responses = await self._upstream.in_batches(person_ids, call)
        return {p.person_id: PersonCard(p.person_id, p.masked_name, p.home_province_code, p.federation_ref or None)
                for response in responses for p in response.persons}

    async def persons_by_ref(self, person_refs: Sequence[bytes]) -> dict[bytes, PersonCard]:
        """The persons identity knows by these federation references (1000 a call); unknown ones are absent."""
        async def call(chunk):
            return await self._stub.BatchLookupPersonsByFederationRef(
                identity_pb2.BatchLookupPersonsByFederationRefRequest(federation_refs=chunk))

        responses = await self._upstream.in_batches(person_refs, call)
        return {bytes(p.federation_ref): PersonCard(p.person_id, p.masked_name, p.home_province_code,
                                                    bytes(p.federation_ref))
                for response in responses for p in response.persons if p.federation_ref}

    async def name_changes(self, changed_after: datetime) -> list[tuple[str, str, datetime]]:
        """(person, masked name now, when) of every name corrected at or after `changed_after`, oldest first."""
        return await self._upstream.every_page(
            lambda token: self._stub.ListNameChanges(identity_pb2.ListNameChangesRequest(
                changed_after=to_timestamp(changed_after), page_size=1000, page_token=token)),
            lambda page: [(c.person_id, c.masked_name, answer_datetime(c.change_time)) for c in page.changes])

    async def may_act_for(self, actor_id: str, subject_id: str) -> bool:
        response = await self._upstream.call(self._stub.CheckActingRight(identity_pb2.CheckActingRightRequest(
            actor_person_id=actor_id, subject_person_id=subject_id)))
        return response.allowed


@dataclass(frozen=True)
class StayChange:
    """A stay a carrier corrected (or withdrew), from itinerary's feed."""

    person_id: str
    correction_id: str
    carrier: str
    withdrawn: bool
    changed_fields: tuple[str, ...]
    reason: str
    create_time: datetime


class Itinerary:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = itinerary_pb2_grpc.ItineraryServiceStub(channel)
        self._upstream = Upstream("itinerary", batch=BATCH)

    async def stays(self, person_id: str) -> list[ListedStay]:
        """The person's 14-day itinerary, every stay with whether MEDIUM or HIGH was in force there."""
        response = await self._upstream.call(
            self._stub.ListStays(itinerary_pb2.ListStaysRequest(person_id=person_id), timeout=30.0))
        return [ListedStay(s.area_code, answer_datetime(s.departure_time),
                           s.highest_risk_level >= common_pb2.RISK_LEVEL_MEDIUM)
                for s in response.stays]

    async def exposures(self, person_ids: Sequence[str]) -> dict[str, list[Exposure]]:
        """Stays at MEDIUM or HIGH risk in the window, per person (absent: none)."""
        async def call(chunk):
            return await self._stub.BatchGetRiskExposures(
                itinerary_pb2.BatchGetRiskExposuresRequest(person_ids=chunk), timeout=30.0)

        responses = await self._upstream.in_batches(person_ids, call)
        found: dict[str, list[Exposure]] = {}
        for response in responses:
            for e in response.exposures:
                found.setdefault(e.person_id, []).append(Exposure(
                    e.area_code, answer_datetime(e.arrival_time),
                    answer_datetime(e.departure_time), e.level == common_pb2.RISK_LEVEL_HIGH))
        return found

    async def declarations_since(self, created_after: datetime) -> list[DeclarationNotice]:
        """Every declaration (and lift) recorded at or after `created_after`, oldest first."""
        return await self._upstream.every_page(
            lambda token: self._stub.ListRiskDeclarations(itinerary_pb2.ListRiskDeclarationsRequest(
                created_after=to_timestamp(created_after), page_size=1000, page_token=token)),
            lambda page: [DeclarationNotice(d.declaration_id, answer_datetime(d.create_time))
                          for d in page.declarations])

    async def newly_risky_persons(self, cursor: str) -> tuple[list[str], list[StayChange], str]:
        """A page of persons whose new stays landed in an area already at risk, the stays carriers
        corrected in it, and where to resume."""
        response = await self._upstream.call(self._stub.ListNewlyRiskyPersons(
            itinerary_pb2.ListNewlyRiskyPersonsRequest(cursor=cursor, page_size=1000), timeout=30.0))
        changes = [StayChange(c.person_id, c.correction_id, c.source_carrier,
                              c.action == itinerary_pb2.STAY_CORRECTION_ACTION_WITHDRAW, tuple(c.changed_fields),
                              c.reason, answer_datetime(c.create_time)) for c in response.stay_changes]
        return list(response.person_ids), changes, response.cursor

    async def affected_persons(self, declaration_id: str, after_person_id: str) -> AsyncIterator[list[str]]:
        """Chunks of affected person ids in ascending order, resuming after `after_person_id`."""
        stream = self._stub.StreamAffectedPersons(itinerary_pb2.StreamAffectedPersonsRequest(
            declaration_id=declaration_id, after_person_id=after_person_id), timeout=3600.0)
        try:
            async for response in stream:
                yield list(response.person_ids)
        except grpc.aio.AioRpcError as error:
            # An unknown or malformed declaration id never becomes valid: the run fails, it is not retried.
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound(reason="DECLARATION_NOT_FOUND", message="itinerary has no such declaration") from None
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument.for_field("declaration_id", "itinerary refused it",
                                                reason="DECLARATION_ID_INVALID") from None
            raise self._upstream.unavailable(error) from None

"""Which person ids identity has registered, asked over gRPC (itinerary never reads identity's tables)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from services.runtime.clients import Upstream

BATCH_GET_LIMIT = 1000  # identity's BatchGetPersons limit


class RegisteredPersons:
    """The persons identity has registered: a carrier's stay or a declared itinerary names one of them."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._identity = Upstream("identity", batch=BATCH_GET_LIMIT)

    async def unknown(self, person_ids: Sequence[str]) -> set[str]:
        """The ids identity does not know (IDENTITY_UNAVAILABLE when it does not answer)."""
        answers = await self._identity.in_batches(person_ids, lambda chunk: self._stub.BatchGetPersons(
            identity_pb2.BatchGetPersonsRequest(person_ids=chunk)))
        return {person_id for answer in answers for person_id in answer.missing_person_ids}

    async def exists(self, person_id: str) -> bool:
        return not await self.unknown([person_id])

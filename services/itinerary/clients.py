"""Which person ids identity knows, asked over gRPC in batches (itinerary never reads identity's tables)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from services.runtime.errors import Unavailable

_BATCH = 1000  # identity's BatchGetPersons limit
_PARALLEL = 4


class PersonDirectory:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)

    async def unknown(self, person_ids: Sequence[str]) -> set[str]:
        """The ids identity does not know, asking for up to 1000 at a time, a few calls at once."""
        limit = asyncio.Semaphore(_PARALLEL)

        async def missing(chunk: Sequence[str]) -> list[str]:
            async with limit:
                response = await self._stub.BatchGetPersons(identity_pb2.BatchGetPersonsRequest(person_ids=chunk))
            return list(response.missing_person_ids)

        try:
            chunks = await asyncio.gather(*(missing(person_ids[i:i + _BATCH])
                                            for i in range(0, len(person_ids), _BATCH)))
        except grpc.aio.AioRpcError as error:
            raise Unavailable(reason="IDENTITY_UNAVAILABLE",
                              message=f"identity could not confirm the persons ({error.code().name}); retry") from None
        return {person_id for chunk in chunks for person_id in chunk}

    async def exists(self, person_id: str) -> bool:
        return not await self.unknown([person_id])

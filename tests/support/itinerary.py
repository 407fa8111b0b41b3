"""Test support moved out of tests/itinerary/test_ingest.py: definitions other test modules use."""

from __future__ import annotations

import secrets
from datetime import timedelta

from healthcode.itinerary.v1 import itinerary_pb2 as pb

from tests.support import timestamp


def stay(person_id, area="420106", arrival=None, hours=5.0, *, clock, departure=None):
    arrival = arrival or clock.now() - timedelta(days=2)
    return pb.CarrierStay(person_id=person_id, area_code=area, arrival_time=timestamp(arrival),
                          departure_time=timestamp(departure or arrival + timedelta(hours=hours)))


async def ingest(env, stays, batch_id=None, carrier="china-mobile", chunk=3):
    batch_id = batch_id or f"b-{secrets.token_hex(6)}"
    chunks = [stays[i:i + chunk] for i in range(0, len(stays), chunk)] or [[]]

    async def requests():
        for part in chunks:
            yield pb.IngestCarrierStaysRequest(batch_id=batch_id, source_carrier=carrier, stays=part)

    return await env.stub.IngestCarrierStays(requests())


async def listed(env, person_id):
    return list((await env.stub.ListStays(pb.ListStaysRequest(person_id=person_id))).stays)

"""Another province's red/yellow batch reaching our persons' status, next to baselines from the same run.

    .venv/bin/python -m tools.benchmarks.peer_word [--persons 2000] [--records 10000] [--rounds 3]

Two deployments (Hubei, Jiangsu) in this process, each its own database on one Postgres, their
verifications peers over mutual TLS, wired as the two-deployment tests wire them
(tests/support/deployments.py). `persons` Hubei residents are registered and enrolled (a status
each). Batches of `records` records signed with Jiangsu's exchange key are submitted to Hubei's
federation port (SubmitRiskList, as Jiangsu's outbox sends them), each timed to its answer:

- strangers: every record about someone Hubei does not know: the signature, the records stored in
  verification.risk_records and sent to status (RecordPeerListings, 1000 a call), which finds nobody;
- ours: the same size, `persons` of its records about Hubei residents: each becomes a fact and every
  person is decided (one decision per page of 1000), the rest as above;
- replayed: the `ours` batch again after status has taken it: acknowledged as a duplicate, nothing sent;
- decide alone: Decider.decide of the same persons with no new fact (the decision's own cost,
  what `ours` adds per person beyond storing facts).
Medians of `rounds` (each round new batches and new persons' facts). Uses HEALTHCODE_DATABASE_URL
when set (and writes into it), otherwise an embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import datetime, timedelta

import grpc
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc

from tools.load.cpu import announce
from tools.load.processes import benchmark_database
from services.codes import key_id_of
from services.colours import Colour
from services.runtime.logs import configure_logging
from services.status.model import ChangeCause
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.exchange import RISK_LIST, RiskRecord, risk_list_bytes, sign
from tests.support import passport, timestamp
from tests.support.deployments import HUBEI, JIANGSU, start_provinces


async def register(provinces, count: int) -> list[tuple[str, bytes]]:
    hubei = provinces.hubei
    limit = asyncio.Semaphore(32)

    async def one() -> str:
        async with limit:
            response = await hubei.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
                name="路人乙", document=passport(), home_province_code=HUBEI))
            return response.person.person_id

    ids = await asyncio.gather(*(one() for _ in range(count)))
    for start in range(0, len(ids), 1000):
        await hubei.status_parts.decider.decide(ids[start:start + 1000], ChangeCause.ENROLMENT)
    refs = {}
    for start in range(0, len(ids), 1000):
        response = await hubei.persons.BatchGetPersons(identity_pb2.BatchGetPersonsRequest(
            person_ids=ids[start:start + 1000]))
        refs.update((p.person_id, bytes(p.federation_ref)) for p in response.persons)
    return [(person_id, refs[person_id]) for person_id in ids]


def batch(key, batch_id: str, refs: list[bytes], expire: datetime) -> pb.SubmitRiskListRequest:
    records = [RiskRecord(ref, Colour.RED, "CLOSE_CONTACT", "jiangsu-cdc", expire) for ref in refs]
    signature = sign(key, RISK_LIST, risk_list_bytes(batch_id, JIANGSU, records))
    return pb.SubmitRiskListRequest(
        batch_id=batch_id, province_code=JIANGSU, key_id=key_id_of(key.public_key()).hex(), signature=signature,
        records=[pb.RiskListRecord(person_ref=r.person_ref, colour=common_pb2.COLOUR_RED, reason=r.reason,
                                   source=r.source, expire_time=timestamp(r.expire_time)) for r in records])


async def timed(call) -> float:
    start = time.perf_counter()
    await call
    return time.perf_counter() - start


async def main(args: argparse.Namespace) -> None:
    configure_logging("warning")
    announce("peer_word")
    url, embedded = await benchmark_database()
    provinces = await start_provinces(url)
    key = exchange_key_from_secret(provinces.jiangsu.exchange_secret)
    channel = grpc.aio.secure_channel(provinces.hubei.federation_address,
                                      provinces.jiangsu.verification_settings.federation_tls.channel_credentials())
    federation = verification_pb2_grpc.FederationServiceStub(channel)
    figures: dict[str, list[float]] = {"strangers": [], "ours": [], "replayed": [], "decide": []}
    try:
        for round_number in range(args.rounds):
            persons = await register(provinces, args.persons)
            expire = provinces.hubei.clock.now() + timedelta(days=7)
            strangers = batch(key, f"bench-strangers-{round_number}",
                              [os.urandom(16) for _ in range(args.records)], expire)
            ours = batch(key, f"bench-ours-{round_number}",
                         [ref for _, ref in persons] + [os.urandom(16) for _ in range(args.records - args.persons)],
                         expire)
            figures["strangers"].append(await timed(federation.SubmitRiskList(strangers)))
            figures["ours"].append(await timed(federation.SubmitRiskList(ours)))
            figures["replayed"].append(await timed(federation.SubmitRiskList(ours)))
            ids = [person_id for person_id, _ in persons]
            parts = provinces.hubei.status_parts

            async def decide_all() -> None:
                for start in range(0, len(ids), 1000):
                    await parts.decider.decide(ids[start:start + 1000], ChangeCause.REVALIDATION)

            figures["decide"].append(await timed(decide_all()))
            red = await parts.repository.pool.fetchval(
                "SELECT count(*) FROM status.statuses WHERE person_id = ANY($1::uuid[]) AND colour = 3", ids)
            assert red == len(ids), f"{red} of {len(ids)} persons red"
    finally:
        await channel.close()
        await provinces.stop()
        if embedded is not None:
            embedded.stop()
    median = {name: statistics.median(values) for name, values in figures.items()}
    print(f"\nbatches of {args.records:,} records, {args.persons:,} of them about Hubei residents "
          f"(medians of {args.rounds}):")
    print(f"  {'strangers only (baseline)':<28}{median['strangers']:7.2f} s  {args.records / median['strangers']:9,.0f} records/s")
    print(f"  {'with ' + format(args.persons, ',') + ' of ours':<28}{median['ours']:7.2f} s  {args.records / median['ours']:9,.0f} records/s"
          f"  (+{(median['ours'] - median['strangers']) * 1e3 / args.persons:.2f} ms per person)")
    print(f"  {'replayed (duplicate)':<28}{median['replayed']:7.2f} s")
    print(f"  {'decide alone, same persons':<28}{median['decide']:7.2f} s  "
          f"({median['decide'] * 1e3 / args.persons:.2f} ms per person: the decision's share of the above)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    if arguments.persons > arguments.records:
        parser.error("--persons must not exceed --records")
    asyncio.run(main(arguments))

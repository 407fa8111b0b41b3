"""Identity lookups per second next to a bare grpc.aio echo server and raw asyncpg, in one run.

    .venv/bin/python -m tools.benchmarks.identity_lookups [--seconds 10] [--concurrency 64] [--persons 10000]

Each server runs in its own process (so it has a core of its own on a 2-core machine);
the load comes from this process, closed-loop, with `concurrency` calls in flight. The
Python client costs about as much CPU as the server (LIMITS.md), so compare ratios
measured here, not absolute figures across machines. Uses HEALTHCODE_DATABASE_URL when
set, otherwise an embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import secrets
import tempfile
from pathlib import Path

import asyncpg
import grpc
import uvloop
from healthcode.identity.v1 import identity_pb2 as pb
from healthcode.identity.v1 import identity_pb2_grpc

from services.identity import bootstrap as identity
from services.runtime.database import migrate
from services.runtime.postgres import EmbeddedPostgres
from tools.load.baselines import echo_call
from tools.load.measure import measure, rate_columns
from tools.load.processes import spawn_server, stop
from tools.load.table import print_table


async def seed(url: str, stub, count: int) -> list[str]:
    ids = []
    for start in range(0, count, 500):
        calls = [stub.RegisterPerson(pb.RegisterPersonRequest(
            name="测试人", document=pb.Document(kind=pb.DOCUMENT_KIND_PASSPORT, number=f"B{start + i:08d}",
                                             country_code="FRA"), home_province_code="320000"))
            for i in range(min(500, count - start))]
        ids += [r.person.person_id for r in await asyncio.gather(*calls)]
    return ids


async def main(args: argparse.Namespace) -> None:
    embedded = None
    url = os.environ.get("HEALTHCODE_DATABASE_URL")
    if not url:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="hc-bench-")) / "pg", keep=False)
        url = embedded.start()
    await migrate(url, identity.SCHEMA, identity.MIGRATIONS)
    environ = {**os.environ, "HEALTHCODE_DATABASE_URL": url, "HEALTHCODE_IDENTITY_PORT": "0",
               "HEALTHCODE_LOG_LEVEL": "warning", "HEALTHCODE_METRICS_PORT": "0", "HEALTHCODE_POOL_MAX_SIZE": "8", "HEALTHCODE_POOL_MIN_SIZE": "8",
               "HEALTHCODE_IDENTITY_SEALING_KEYS": "b:" + base64.b64encode(secrets.token_bytes(32)).decode(),
               "HEALTHCODE_IDENTITY_LOOKUP_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
               "HEALTHCODE_FEDERATION_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    echo_server, echo_address = await spawn_server(["-m", "tools.load.echo"], environ)
    service, address = await spawn_server(["-m", "cli.healthcode", "identity"], environ)
    results = []
    try:
        async with grpc.aio.insecure_channel(echo_address) as echo_channel, \
                grpc.aio.insecure_channel(address) as channel:
            stub = identity_pb2_grpc.IdentityServiceStub(channel)
            person_ids = await seed(url, stub, args.persons)
            echo = echo_call(echo_channel, pb.GetPersonRequest(person_id=person_ids[0]))
            loop = {"seconds": args.seconds, "concurrency": args.concurrency}
            results.append(await measure("baseline: grpc.aio echo", echo, **loop))
            pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
            results.append(await measure(
                "baseline: asyncpg PK lookup (default pool)",
                lambda: pool.fetchrow("SELECT masked_name FROM identity.persons WHERE person_id = $1",
                                      random.choice(person_ids)), **loop))
            await pool.close()
            results.append(await measure(
                "GetPerson", lambda: stub.GetPerson(pb.GetPersonRequest(person_id=random.choice(person_ids))),
                **loop))
            results.append(await measure(
                "BatchGetPersons (100 ids)", lambda: stub.BatchGetPersons(
                    pb.BatchGetPersonsRequest(person_ids=random.sample(person_ids, 100))),
                **loop))
            results.append(await measure(
                "CheckActingRight", lambda: stub.CheckActingRight(pb.CheckActingRightRequest(
                    actor_person_id=random.choice(person_ids), subject_person_id=random.choice(person_ids))),
                **loop))
    finally:
        await stop(echo_server, service)
        if embedded is not None:
            embedded.stop()
    print(f"\n{args.persons} persons, {args.concurrency} calls in flight, {args.seconds:.0f} s each, "
          f"{os.cpu_count()} cores")
    print_table("path", rate_columns(results[0]), [(r.name, r) for r in results], label_width=44)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--persons", type=int, default=10_000)
    uvloop.run(main(parser.parse_args()))

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
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import grpc
import uvloop
from healthcode.identity.v1 import identity_pb2 as pb
from healthcode.identity.v1 import identity_pb2_grpc

from services.identity import bootstrap as identity
from services.runtime.database import migrate
from services.runtime.postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent.parent


def _identity_bytes(value: bytes) -> bytes:
    return value


async def _echo(request: bytes, context) -> bytes:
    return request


async def serve_echo() -> None:
    """The baseline: a grpc.aio server that does nothing but answer."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    handler = grpc.unary_unary_rpc_method_handler(_echo, request_deserializer=_identity_bytes,
                                                  response_serializer=_identity_bytes)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo", {"Echo": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"echo grpc://127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


async def _spawn(args: list[str], environ: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, *args, cwd=ROOT, env=environ,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    while True:
        line = (await process.stdout.readline()).decode()
        if not line:
            raise RuntimeError(f"{args} ended before printing its address")
        if match := re.search(r"grpc://(\S+)", line):
            return process, match[1]


async def measure(name: str, call: Callable[[], Awaitable[object]], seconds: float, concurrency: int) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    for _ in range(200):  # warm-up: connections, prepared statements, caches
        await call()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"name": name, "per_second": len(latencies) / elapsed, "p50_ms": cuts[49] * 1000,
            "p99_ms": cuts[98] * 1000}


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
               "HEALTHCODE_LOG_LEVEL": "warning", "HEALTHCODE_POOL_MAX_SIZE": "8", "HEALTHCODE_POOL_MIN_SIZE": "8",
               "HEALTHCODE_IDENTITY_SEALING_KEYS": "b:" + base64.b64encode(secrets.token_bytes(32)).decode(),
               "HEALTHCODE_IDENTITY_LOOKUP_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
               "HEALTHCODE_FEDERATION_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    echo, echo_address = await _spawn(["-m", "tools.benchmarks.identity_lookups", "--echo-server"], environ)
    service, address = await _spawn(["-m", "cli.healthcode", "identity"], environ)
    results = []
    try:
        async with grpc.aio.insecure_channel(echo_address) as echo_channel, \
                grpc.aio.insecure_channel(address) as channel:
            stub = identity_pb2_grpc.IdentityServiceStub(channel)
            person_ids = await seed(url, stub, args.persons)
            echo_call = echo_channel.unary_unary("/bench.Echo/Echo", request_serializer=_identity_bytes,
                                                 response_deserializer=_identity_bytes)
            payload = pb.GetPersonRequest(person_id=person_ids[0]).SerializeToString()
            results.append(await measure("baseline: grpc.aio echo", lambda: echo_call(payload),
                                         args.seconds, args.concurrency))
            pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
            results.append(await measure(
                "baseline: asyncpg PK lookup (default pool)",
                lambda: pool.fetchrow("SELECT masked_name FROM identity.persons WHERE person_id = $1",
                                      random.choice(person_ids)), args.seconds, args.concurrency))
            await pool.close()
            results.append(await measure(
                "GetPerson", lambda: stub.GetPerson(pb.GetPersonRequest(person_id=random.choice(person_ids))),
                args.seconds, args.concurrency))
            results.append(await measure(
                "BatchGetPersons (100 ids)", lambda: stub.BatchGetPersons(
                    pb.BatchGetPersonsRequest(person_ids=random.sample(person_ids, 100))),
                args.seconds, args.concurrency))
            results.append(await measure(
                "CheckActingRight", lambda: stub.CheckActingRight(pb.CheckActingRightRequest(
                    actor_person_id=random.choice(person_ids), subject_person_id=random.choice(person_ids))),
                args.seconds, args.concurrency))
    finally:
        for process in (echo, service):
            process.terminate()
            await process.wait()
        if embedded is not None:
            embedded.stop()
    echo_rate = results[0]["per_second"]
    print(f"\n{args.persons} persons, {args.concurrency} calls in flight, {args.seconds:.0f} s each, "
          f"{os.cpu_count()} cores")
    print(f"{'path':<44}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}{'× echo':>9}")
    for r in results:
        print(f"{r['name']:<44}{r['per_second']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{r['per_second'] / echo_rate:>9.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    uvloop.run(serve_echo() if parsed.echo_server else main(parsed))

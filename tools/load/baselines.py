"""Baselines measured in the same run, on the same machine, just before the workload: a bare grpc.aio
echo server (in its own process, as a service is), a raw asyncpg primary-key lookup, and a raw ES256
signature check. Each platform figure is printed as a ratio to one of them."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Sequence

import asyncpg
import grpc
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import message

from tools.load.cpu import CpuMeter
from tools.load.echo import METHOD
from tools.load.measure import measure, round_robin
from tools.load.processes import spawn_server, stop
from tools.load.recorder import Recorder

# What each RPC is compared with: the echo server always (both are one gRPC call to a Python process),
# and the work at its heart where there is one.
BASELINES = {"IssueCode": ("grpc_echo", "es256_verify"), "VerifyCode": ("grpc_echo", "es256_verify"),
             "GetStatus": ("grpc_echo", "asyncpg_lookup"), "RecordCheckIn": ("grpc_echo", "asyncpg_lookup"),
             "GetVenueCode": ("grpc_echo",), "RecordVisit": ("grpc_echo", "asyncpg_lookup"),
             "IngestCarrierStays": ("grpc_echo",), "DeclareRiskArea": ("grpc_echo",)}


def _same(data: bytes) -> bytes:
    return data


async def start_echo(*methods: str) -> tuple[asyncio.subprocess.Process, str]:
    """The echo server in its own process (answering `methods` too); returns it and its address."""
    return await spawn_server(["-m", "tools.load.echo", *(f"--method={m}" for m in methods)])


async def stop_echo(process: asyncio.subprocess.Process) -> None:
    await stop(process)


def echo_call(channel: grpc.aio.Channel, request: message.Message | bytes, method: str = METHOD):
    """A call of the echo server with a request's bytes: a gRPC call that costs nothing but gRPC."""
    payload = request if isinstance(request, bytes) else request.SerializeToString()
    call = channel.unary_unary(method, request_serializer=_same, response_deserializer=_same)
    return lambda: call(payload, timeout=30)


async def echo(address: str, channels: int, concurrency: int, seconds: float, meter: CpuMeter,
               payload: bytes) -> dict:
    """Closed loop against the echo server, over as many channels and with as many calls in flight as the
    platform's measurements use."""
    opened = [grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
              for _ in range(channels)]
    try:
        measured = await measure("echo", round_robin([echo_call(c, payload) for c in opened]),
                                 concurrency=concurrency, seconds=seconds, meter=meter, warm_up=channels)
        return {"calls": measured.calls, "per_second": measured.per_second,
                "ok": measured.calls - sum(measured.errors.values()), "latency_ms": measured.latency_ms,
                "errors": measured.errors, "seconds": measured.seconds, "concurrency": concurrency,
                "cpu_seconds": measured.cpu}
    finally:
        for channel in opened:
            await channel.close()


async def asyncpg_lookup(url: str, person_ids: Sequence[str], seconds: float, connections: int = 8) -> dict:
    """Primary-key lookups of identity.persons (the row GetPerson reads), each connection held by one task
    with a prepared statement: the most Postgres and asyncpg give one process here."""
    ids = [uuid.UUID(p) for p in person_ids[:100_000]]
    held = [await asyncpg.connect(url, server_settings={"application_name": "healthcode-load-baseline"})
            for _ in range(connections)]
    try:
        statements = [await c.prepare("SELECT person_id, masked_name, home_province_code FROM identity.persons "
                                      "WHERE person_id = $1") for c in held]
        recorder = Recorder(time.perf_counter())
        ends = recorder.start + seconds

        async def worker(n: int) -> None:
            statement = statements[n]
            i = n
            while (started := time.perf_counter()) < ends:
                await statement.fetchrow(ids[i % len(ids)])
                i += 7919
                recorder.record("lookup", time.perf_counter() - started, None, time.perf_counter())

        client = time.process_time()
        await asyncio.gather(*(worker(n) for n in range(connections)))
        return {**recorder.summary()["lookup"], "seconds": recorder.seconds(), "connections": connections,
                "client_cpu_seconds": time.process_time() - client}
    finally:
        for connection in held:
            await connection.close()


def es256_verify(seconds: float) -> dict:
    """ES256 signature checks per second on one core (`cryptography`), over 160 bytes: about a code's
    COSE Sig_structure."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    message = os.urandom(160)
    algorithm = ec.ECDSA(hashes.SHA256())
    signature = key.sign(message, algorithm)
    count, started = 0, time.perf_counter()
    ends = started + seconds
    while time.perf_counter() < ends:
        for _ in range(50):
            public.verify(signature, message, algorithm)
        count += 50
    elapsed = time.perf_counter() - started
    return {"per_second": count / elapsed, "calls": count, "seconds": elapsed, "us_each": elapsed / count * 1e6}

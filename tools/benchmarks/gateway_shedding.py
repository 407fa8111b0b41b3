"""The gateway under a surge: its capacity, then 1×, 3× and 0.5× that rate offered open-loop.

    .venv/bin/python -m tools.benchmarks.gateway_shedding [--persons 10000] [--phase-seconds 10] [--surge 3]
                                                    [--mix rush|status] [--no-pin]

`healthcode up` runs the four services (one process, embedded Postgres unless
HEALTHCODE_DATABASE_URL is set); the gateway runs alone in a second process, as a pod would, with
up's development PKI; this process is the load, over mutual TLS as the national platform. 90 % of
calls are forwarded: in the morning-rush mix (`--mix rush`) 60 % of those are IssueCode of random
persons (a new code: a signature and a write in status) and 40 % GetStatus; with `--mix status`
all are GetStatus, the cheapest call for the services, where the gateway's own cost weighs most.
The other 10 % are IssueCode of 50 persons whose codes the gateway holds in its cache.

The gateway is pinned to core 1 and everything else to core 0 (--no-pin turns that off).

1. Baselines in the same run: a bare grpc.aio echo server, and GetStatus straight to status.
2. Capacity: closed loop, 64 calls in flight through the gateway.
3. Open loop at 1×, `--surge`× and 0.5× capacity, each for `--phase-seconds`: calls are sent at
   their scheduled times whatever happened to earlier ones, and latency counts from the scheduled
   time (no coordinated omission). Per phase: accepted and refused per second, latency of each,
   other errors by code, and the gateway's CPU per call.
Shedding works when accepted calls keep a bounded p99 during the surge, refused ones come back at
once with RESOURCE_EXHAUSTED, nothing crashes, and the last phase looks like the first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc
import uvloop
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from healthcode.status.v1 import status_pb2, status_pb2_grpc

from tools.load.baselines import echo_call
from tools.load.cpu import CpuMeter, code_state, machine_line
from tools.load.measure import Measured, measure
from tools.load.processes import spawn, spawn_server, stop
from tools.load.recorder import Recorder

GET_STATUS = "/healthcode.status.v1.StatusService/GetStatus"
ISSUE_CODE = "/healthcode.status.v1.StatusService/IssueCode"
HOT_PERSONS = 50
MAX_OUTSTANDING = 5000  # the load generator's own bound, far above what the gateway admits


def _figures(measured: Measured, gateway: str | None = None) -> dict:
    figures = {"per_second": measured.per_second, "p50_ms": measured.p50_ms, "p99_ms": measured.p99_ms}
    if gateway:
        figures["gateway_cpu_us_per_call"] = round(measured.us_per_call(gateway))
    return figures


async def open_loop(calls, rate: float, seconds: float, meter: CpuMeter) -> dict:
    """Sends at `rate` per second on schedule; each call's latency counts from its scheduled time."""
    recorder = Recorder(time.perf_counter())
    errors: Counter[str] = Counter()
    dropped = 0
    outstanding: set[asyncio.Task] = set()

    async def one(kind: str, call, scheduled: float) -> None:
        try:
            await call()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                errors[error.code().name] += 1
                return
            kind = "refused"
        now = time.perf_counter()
        recorder.record(kind, now - scheduled, None, now)

    before = meter.snapshot()
    start = time.perf_counter()
    count = int(rate * seconds)
    for index in range(count):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(outstanding) >= MAX_OUTSTANDING:
            dropped += 1
            continue
        kind, call = calls()
        task = asyncio.create_task(one(kind, call, scheduled))
        outstanding.add(task)
        task.add_done_callback(outstanding.discard)
    await asyncio.gather(*outstanding)
    elapsed = time.perf_counter() - start
    gateway_cpu = meter.spent(before, meter.snapshot()).get("gateway", 0.0)
    kinds = {kind: recorder.rpcs[kind] for kind in ("forwarded", "cached", "refused")}
    handled = sum(stats.calls for stats in kinds.values())

    def ms(kind: str, percentile: float) -> float:
        stats = kinds[kind]
        return round(stats.histogram.get_value_at_percentile(percentile) / 1000, 1) if stats.calls else 0.0

    return {
        "offered_per_second": rate, "seconds": round(elapsed, 1),
        "accepted_per_second": round(kinds["forwarded"].calls / elapsed, 1),
        "cached_codes_per_second": round(kinds["cached"].calls / elapsed, 1),
        "refused_per_second": round(kinds["refused"].calls / elapsed, 1),
        "accepted_p50_ms": ms("forwarded", 50), "accepted_p99_ms": ms("forwarded", 99),
        "accepted_max_ms": ms("forwarded", 100), "cached_code_p99_ms": ms("cached", 99),
        "refused_p50_ms": ms("refused", 50), "refused_p99_ms": ms("refused", 99),
        "other_errors": dict(errors), "client_dropped": dropped,
        "gateway_cpu_us_per_call": round(gateway_cpu / handled * 1e6) if handled else 0,
    }


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine_line()}\ncode: {code_state()}", flush=True)
    # The gateway gets a core of its own; the services, Postgres (started by up) and this load share
    # the other. Without this, a surge from a Python client on the same two cores measures the client.
    gateway_cpus, rest_cpus = ({1}, {0}) if args.pin and os.cpu_count() >= 2 else (None, None)
    if rest_cpus:
        os.sched_setaffinity(0, rest_cpus)
    data = Path(tempfile.mkdtemp(prefix="healthcode-shedding-"))
    environ = {key: value for key, value in os.environ.items() if key.startswith("HEALTHCODE_DATABASE_URL")
               or not key.startswith("HEALTHCODE_")}
    environ.update(HEALTHCODE_DATA_DIR=str(data), HEALTHCODE_LOG_LEVEL="warning", HEALTHCODE_METRICS_PORT="0",
                   **{f"HEALTHCODE_{name}_PORT": "0" for name in ("IDENTITY", "ITINERARY", "STATUS", "VERIFICATION",
                                                                  "GATEWAY", "GATEWAY_HTTP", "GATEWAY_HEALTH")})
    echo, echo_address = await spawn_server(["-m", "tools.load.echo"], environ)
    up, addresses = await spawn(["-m", "cli.healthcode", "up"], environ, patterns=[
        r"identity\s+grpc://(\S+)", r"itinerary\s+grpc://(\S+)", r"status\s+grpc://(\S+)",
        r"verification\s+grpc://(\S+)"])
    secrets_file = json.loads((data / "dev-secrets.json").read_text())
    pki = data / "gateway"
    gateway_environ = {**environ, **{f"HEALTHCODE_{name.upper()}_ADDRESS": address for name, address in
                                     zip(("identity", "itinerary", "status", "verification"), addresses)},
                       "HEALTHCODE_GATEWAY_SESSION_KEYS": secrets_file["HEALTHCODE_GATEWAY_SESSION_KEYS"],
                       "HEALTHCODE_GATEWAY_TLS_CERT_FILE": str(pki / "server.pem"),
                       "HEALTHCODE_GATEWAY_TLS_KEY_FILE": str(pki / "server.key"),
                       "HEALTHCODE_GATEWAY_CLIENT_CA_FILE": str(pki / "ca.pem"),
                       "HEALTHCODE_GATEWAY_RATES": "province-system=1000000/1000000"}
    gateway, (gateway_address,) = await spawn(["-m", "cli.healthcode", "gateway"], gateway_environ,
                                              patterns=[r"gateway grpc://(\S+)"], cpus=gateway_cpus)
    # A second gateway that refuses everything (its rate limit is spent at once): what a refusal costs.
    refuser, (refuser_address,) = await spawn(
        ["-m", "cli.healthcode", "gateway"], {**gateway_environ, "HEALTHCODE_GATEWAY_RATES": "province-system=0.001/1"},
        patterns=[r"gateway grpc://(\S+)"], cpus=gateway_cpus)
    try:
        credentials = grpc.ssl_channel_credentials((pki / "ca.pem").read_bytes(),
                                                   (pki / "clients" / "national-platform.key").read_bytes(),
                                                   (pki / "clients" / "national-platform.pem").read_bytes())
        # A few connections, as several app backends would open (one HTTP/2 connection caps throughput).
        channels = [grpc.aio.secure_channel(gateway_address, credentials,
                                            options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(4)]
        direct = grpc.aio.insecure_channel(addresses[2])
        echo_channel = grpc.aio.insecure_channel(echo_address)
        persons = await register(identity_pb2_grpc.IdentityServiceStub(channels[0]), args.persons)
        hot = persons[:HOT_PERSONS]
        stubs = [status_pb2_grpc.StatusServiceStub(channel) for channel in channels]
        for person in hot:  # the gateway caches these codes from now on
            await stubs[0].IssueCode(status_pb2.IssueCodeRequest(person_id=person))
        warm = asyncio.Semaphore(32)

        async def decide(person: str) -> None:  # every status decided once, so GetStatus reads stored ones
            async with warm:
                await stubs[0].GetStatus(status_pb2.GetStatusRequest(person_id=person))
        await asyncio.gather(*(decide(person) for person in persons))

        echo = echo_call(echo_channel, b"x" * 64)
        direct_stub = status_pb2_grpc.StatusServiceStub(direct)

        def through_gateway():
            """One forwarded call of the mix: GetStatus, or (rush) mostly IssueCode of someone whose code
            the gateway does not hold, which costs status a signature and a write."""
            stub, person = random.choice(stubs), random.choice(persons)
            if args.mix == "rush" and random.random() < 0.6:
                return stub.IssueCode(status_pb2.IssueCodeRequest(person_id=person))
            return stub.GetStatus(status_pb2.GetStatusRequest(person_id=person))

        refusing_channel = grpc.aio.secure_channel(refuser_address, credentials)
        refusing = status_pb2_grpc.StatusServiceStub(refusing_channel)

        async def refused_call():
            try:
                await refusing.GetStatus(status_pb2.GetStatusRequest(person_id=persons[0]))
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error

        meter = await CpuMeter.watching({"gateway": gateway.pid, "refuser": refuser.pid})
        loop = {"seconds": args.phase_seconds, "concurrency": 64, "meter": meter}
        refusals = _figures(await measure("refusals", refused_call, **loop), "refuser")
        await stop(refuser)
        meter.groups.pop("refuser")
        report = {"echo": _figures(await measure("echo", echo, **loop)),
                  "status_direct": _figures(await measure("status_direct", lambda: direct_stub.GetStatus(
                      status_pb2.GetStatusRequest(person_id=random.choice(persons))), **loop)),
                  "gateway_capacity": _figures(await measure("gateway_capacity", through_gateway, **loop), "gateway"),
                  "refusals": refusals}
        capacity = report["gateway_capacity"]["per_second"]
        for name, figures in report.items():
            print(f"{name:<18} {figures['per_second']:8.0f}/s  p50 {figures['p50_ms']:6.1f} ms  "
                  f"p99 {figures['p99_ms']:6.1f} ms  ({figures['per_second'] / report['echo']['per_second']:.2f}× echo)"
                  + (f"  gateway {figures['gateway_cpu_us_per_call']} µs CPU/call"
                     if "gateway_cpu_us_per_call" in figures else ""), flush=True)

        def mixed():
            if random.random() < 0.1:
                person = random.choice(hot)
                return "cached", lambda: random.choice(stubs).IssueCode(status_pb2.IssueCodeRequest(person_id=person))
            return "forwarded", through_gateway

        phases = []
        for label, factor in (("1x", 1.0), ("1.5x", 1.5), (f"{args.surge:g}x surge", args.surge), ("0.5x after", 0.5)):
            figures = await open_loop(mixed, capacity * factor, args.phase_seconds, meter)
            figures["phase"] = label
            phases.append(figures)
            print(f"{label:<12} offered {figures['offered_per_second']:7.0f}/s  accepted "
                  f"{figures['accepted_per_second']:7.1f}/s p50 {figures['accepted_p50_ms']:6.1f} "
                  f"p99 {figures['accepted_p99_ms']:7.1f} ms  cached codes {figures['cached_codes_per_second']:6.1f}/s "
                  f"p99 {figures['cached_code_p99_ms']:6.1f} ms  refused {figures['refused_per_second']:7.1f}/s "
                  f"p99 {figures['refused_p99_ms']:6.1f} ms  other {figures['other_errors']}  "
                  f"gateway {figures['gateway_cpu_us_per_call']} µs CPU/call", flush=True)
        alive = gateway.returncode is None and up.returncode is None
        print(f"gateway and services still running: {alive}", flush=True)
        report["phases"] = phases
        (data / "shedding.json").write_text(json.dumps(report, indent=2))
        print(f"report: {data / 'shedding.json'}")
        for channel in (*channels, direct, echo_channel, refusing_channel):
            await channel.close()
    finally:
        await stop(refuser, gateway, up, echo)


async def register(stub: identity_pb2_grpc.IdentityServiceStub, count: int) -> list[str]:
    semaphore = asyncio.Semaphore(4)  # registrations are heavy calls: the gateway admits 4 a caller

    async def one(index: int) -> str:
        async with semaphore:
            response = await stub.RegisterPerson(identity_pb2.RegisterPersonRequest(
                name="压测", home_province_code="420000", document=identity_pb2.Document(
                    kind=identity_pb2.DOCUMENT_KIND_PASSPORT, number=f"G{index:08d}",
                    country_code="DEU")))
            return response.person.person_id
    return list(dict.fromkeys(await asyncio.gather(*(one(i) for i in range(count)))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--mix", choices=("rush", "status"), default="rush",
                        help="rush: forwarded calls are 60 %% IssueCode, 40 %% GetStatus; status: GetStatus only "
                             "(the cheapest call for the services, so the gateway's own cost weighs most)")
    parser.add_argument("--phase-seconds", type=float, default=10.0)
    parser.add_argument("--surge", type=float, default=3.0)
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="do not give the gateway a core of its own")
    uvloop.run(main(parser.parse_args()))

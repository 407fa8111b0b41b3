"""What a forwarded call costs the gateway, next to what a bare echo server costs per call, in one run.

    .venv/bin/python -m tools.benchmarks.gateway_forwarding [--calls 20000] [--in-flight 32] [--channels 4]

The upstream is the load harness's echo server (`tools.load.echo`) answering the real method
names (GetStatus, VerifyCode) with the request's bytes, so the upstream costs the same whether it
is called straight or through the gateway, and the gateway's own work is all that differs. The
gateway runs in its own process (`healthcode gateway`, mutual TLS, the development PKI), as a pod
would; this process is the load: a province system (the national platform's certificate) reading a
person's status, and a checkpoint device verifying a code.

1. Baseline: `--calls` calls straight to the echo server, `--in-flight` at a time: echo CPU per call.
2. Per method, the same number of calls through the gateway: the gateway process's CPU per forwarded
   call, and the echo's CPU per call in the same phase (the upstream's share, unchanged).
CPU is read from /proc/<pid>/stat (user + system, every thread) before and after each phase.
The goal (issue 19): the gateway's CPU per forwarded call ≤ 2 × the echo's CPU per call.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

import grpc
import uvloop
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2

from gateway.devcredentials import dev_credentials
from tools.load.baselines import echo_call
from tools.load.cpu import CpuMeter, code_state, machine_line
from tools.load.measure import Measured, measure, round_robin
from tools.load.processes import spawn, stop

GET_STATUS = "/healthcode.status.v1.StatusService/GetStatus"
VERIFY_CODE = "/healthcode.verification.v1.VerificationService/VerifyCode"
WARM_UP_CALLS = 500


async def phase(name: str, calls: list, args: argparse.Namespace, meter: CpuMeter) -> Measured:
    """`--calls` calls, `--in-flight` at a time, spread over the given callables, after a warm-up."""
    return await measure(name, round_robin(calls), concurrency=args.in_flight, calls=args.calls, meter=meter,
                         warm_up=WARM_UP_CALLS)


def as_json(measured: Measured) -> dict:
    """A phase as forwarding.json records it."""
    return {"phase": measured.name, "calls": measured.calls, "per_second": round(measured.per_second),
            **{f"{who}_cpu_us_per_call": round(measured.us_per_call(who)) for who in ("gateway", "echo")}}


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine_line()}\ncode: {code_state()}", flush=True)
    data = Path(tempfile.mkdtemp(prefix="healthcode-forwarding-"))
    pki = dev_credentials(data / "pki")
    environ = {key: value for key, value in os.environ.items() if not key.startswith("HEALTHCODE_")}
    environ.update(HEALTHCODE_LOG_LEVEL="warning", HEALTHCODE_METRICS_PORT="0")
    echo, (echo_address,) = await spawn(["-m", "tools.load.echo", "--method", GET_STATUS, "--method", VERIFY_CODE],
                                        environ, patterns=[r"echo grpc://(\S+)"])
    gateway_environ = {
        **environ, **{f"HEALTHCODE_{name}_ADDRESS": echo_address
                      for name in ("IDENTITY", "ITINERARY", "STATUS", "VERIFICATION")},
        **{f"HEALTHCODE_{name}_PORT": "0" for name in ("GATEWAY", "GATEWAY_HTTP", "GATEWAY_HEALTH")},
        "HEALTHCODE_GATEWAY_SESSION_KEYS": f"k1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        "HEALTHCODE_GATEWAY_TLS_CERT_FILE": str(pki.server_certificate),
        "HEALTHCODE_GATEWAY_TLS_KEY_FILE": str(pki.server_key),
        "HEALTHCODE_GATEWAY_CLIENT_CA_FILE": str(pki.ca),
        "HEALTHCODE_GATEWAY_RATES": "province-system=1000000/1000000,checkpoint=1000000/1000000"}
    gateway, (gateway_address,) = await spawn(["-m", "cli.healthcode", "gateway"], gateway_environ,
                                              patterns=[r"gateway grpc://(\S+)"])
    channels = []
    try:
        def secure(client: str) -> list[grpc.aio.Channel]:
            certificate, key = pki.client(client)
            credentials = grpc.ssl_channel_credentials(pki.ca.read_bytes(), key.read_bytes(),
                                                       certificate.read_bytes())
            # Several connections, as several app backends or devices would open.
            opened = [grpc.aio.secure_channel(gateway_address, credentials,
                                              options=[("grpc.use_local_subchannel_pool", 1)])
                      for _ in range(args.channels)]
            channels.extend(opened)
            return opened

        def callers(opened: list[grpc.aio.Channel], method: str, request: bytes) -> list:
            return [echo_call(channel, request, method) for channel in opened]

        status_request = status_pb2.GetStatusRequest(person_id="0b6a8c59-2f3e-4d8a-9c1b-7e2f3a4b5c6d")
        verify_request = verification_pb2.VerifyCodeRequest(
            payload="HCN1:" + "A" * 120, area_code="420106", negative_test_within_hours=48)
        direct = [grpc.aio.insecure_channel(echo_address, options=[("grpc.use_local_subchannel_pool", 1)])
                  for _ in range(args.channels)]
        channels.extend(direct)
        meter = await CpuMeter.watching({"gateway": gateway.pid, "echo": echo.pid})
        report = [as_json(measured) for measured in (
            await phase("echo, straight", callers(direct, GET_STATUS, status_request.SerializeToString()),
                        args, meter),
            await phase("GetStatus via gateway (province system)",
                        callers(secure("national-platform"), GET_STATUS, status_request.SerializeToString()),
                        args, meter),
            await phase("VerifyCode via gateway (checkpoint)",
                        callers(secure("wuhan-checkpoint"), VERIFY_CODE, verify_request.SerializeToString()),
                        args, meter),
        )]
        echo_baseline = report[0]["echo_cpu_us_per_call"]
        print(f"\n{args.calls} calls per phase, {args.in_flight} in flight over {args.channels} connections")
        # "÷ echo": over the echo's CPU per call when called straight (the goal's baseline); "÷ same
        # phase": over the echo's CPU per call while it answered the gateway, at the gateway's rate (a
        # slower caller batches less, so each call costs the echo more too).
        print(f"{'phase':<42} {'calls/s':>8} {'gateway µs/call':>16} {'echo µs/call':>13} {'÷ echo':>7} "
              f"{'÷ same phase':>13}")
        for figures in report:
            gateway_us, echo_us = figures["gateway_cpu_us_per_call"], figures["echo_cpu_us_per_call"]
            straight = figures is report[0]
            print(f"{figures['phase']:<42} {figures['per_second']:>8} {'-' if straight else gateway_us:>16} "
                  f"{echo_us:>13} {'' if straight else f'{gateway_us / echo_baseline:.2f}×':>7} "
                  f"{'' if straight else f'{gateway_us / echo_us:.2f}×':>13}")
        print(f"goal: gateway ≤ 2 × echo's {echo_baseline} µs = {2 * echo_baseline} µs per forwarded call")
        (data / "forwarding.json").write_text(json.dumps(report, indent=2))
        print(f"report: {data / 'forwarding.json'}")
    finally:
        for channel in channels:
            await channel.close()
        await stop(gateway, echo)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--channels", type=int, default=4)
    if sys.platform != "linux":
        sys.exit("reads /proc: Linux only")
    uvloop.run(main(parser.parse_args()))

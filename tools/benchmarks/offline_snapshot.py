"""The partitioned offline snapshot at a million red/yellow records, each figure beside a baseline
from the same run:

- a Python device (OfflineCheckpoint.sync, in a process of its own) bootstraps the whole snapshot
  straight from verification: seconds and peak RSS, beside a raw asyncpg COPY read of the same rows
  and the RSS of the same process before it synced; then a delta of 10,000 new records;
- the checkpoint page in Debian's headless Chromium, through the gateway with the development
  checkpoint token and trust anchor `healthcode up` prints: the time from opening the page to its
  snapshot applied (IndexedDB, every partition proved by the signed manifest), a 10,000-record delta,
  then offline verifications per second and the time of one scan, beside raw WebCrypto ES256
  verifies of the same codes' signatures.

The platform is `healthcode up` in its own process (every service and the gateway), on an embedded
Postgres unless HEALTHCODE_DATABASE_URL is set. Records are seeded by COPY (setup, not measured).

    .venv/bin/python -m tools.benchmarks.offline_snapshot [--records 1000000] [--delta 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from tools.load.cpu import code_state, machine_line
from cli.healthcode import SERVICES
from services.runtime.database import migrate
from services.runtime.postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]
CODES = 20


def rss_mb() -> float:
    """This process's peak resident memory (VmHWM: ru_maxrss would count what the forking parent held)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def device(address: str, anchor: str) -> None:
    """The Python device: its own process, so its peak RSS is its own. Prints one JSON line per sync."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from healthcode.verification.v1 import verification_pb2_grpc

    from services.runtime.clients import open_channel
    from services.verification.recognition.offline import OfflineCheckpoint

    key = serialization.load_der_public_key(base64.urlsafe_b64decode(anchor + "=" * (-len(anchor) % 4)))
    checkpoint = OfflineCheckpoint(key, timedelta(hours=24))
    stub = verification_pb2_grpc.VerificationServiceStub(open_channel(address))
    print(json.dumps({"rss_idle_mb": rss_mb()}), flush=True)
    for line in sys.stdin:
        if line.strip() != "sync":
            break
        started = time.perf_counter()
        report = await checkpoint.sync(stub)
        print(json.dumps({"seconds": time.perf_counter() - started, "patched": report.patched,
                          "version": report.version,
                          "fetched": report.fetched, "rss_peak_mb": rss_mb(),
                          "records": sum(len(p) for p in checkpoint._parts) // 21}), flush=True)


async def seed(url: str, count: int, rng: random.Random, batch: str) -> float:
    now = datetime.now(UTC)
    rows = [(rng.randbytes(16), "320000", batch, rng.choice((2, 3)), "CLOSE_CONTACT", "bench-cdc",
             now + timedelta(days=1 + rng.random() * 28)) for _ in range(count)]
    connection = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await connection.copy_records_to_table(
            "risk_records", schema_name="verification", records=rows,
            columns=("person_ref", "province_code", "batch_id", "colour", "reason", "source", "expire_time"))
        return time.perf_counter() - started
    finally:
        await connection.close()


async def raw_read(url: str) -> tuple[float, int]:
    """The baseline: the same rows (reference, colour, expiry) read by COPY, binary, into memory."""
    connection = await asyncpg.connect(url)
    try:
        out = io.BytesIO()
        started = time.perf_counter()
        await connection.copy_from_query(
            "SELECT person_ref, colour, expire_time FROM verification.risk_records WHERE expire_time > now()",
            output=out, format="binary")
        return time.perf_counter() - started, out.tell()
    finally:
        await connection.close()


async def start_platform(url: str, work: Path) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    environ = {**os.environ, "HEALTHCODE_DATABASE_URL": url, "HEALTHCODE_DATA_DIR": str(work / "data"),
               "HEALTHCODE_LOG_LEVEL": "warning", "HEALTHCODE_METRICS_PORT": "0",
               **{f"HEALTHCODE_{s.name.upper()}_PORT": "0" for s in SERVICES},
               "HEALTHCODE_VERIFICATION_FEDERATION_PORT": "0", "HEALTHCODE_GATEWAY_PORT": "0",
               "HEALTHCODE_GATEWAY_HTTP_PORT": "0", "HEALTHCODE_GATEWAY_HEALTH_PORT": "0"}
    log = (work / "up.log").open("ab")
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.healthcode", "up", cwd=ROOT, env=environ,
                                                   stdout=asyncio.subprocess.PIPE, stderr=log)
    seen: dict[str, str] = {}
    while "checkpoint" not in seen or "identity" not in seen:
        line = (await process.stdout.readline()).decode()
        if not line:
            raise RuntimeError(f"healthcode up ended; see {work / 'up.log'}")
        if match := re.match(r"(\S+)\s+(\S+://\S+)", line):
            seen[match[1]] = match[2]
    return process, seen


async def issue_codes(seen: dict[str, str], count: int) -> list[str]:
    import grpc
    from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
    from healthcode.status.v1 import status_pb2, status_pb2_grpc

    identity_channel = grpc.aio.insecure_channel(seen["identity"].split("://")[1])
    status_channel = grpc.aio.insecure_channel(seen["status"].split("://")[1])
    persons = identity_pb2_grpc.IdentityServiceStub(identity_channel)
    status = status_pb2_grpc.StatusServiceStub(status_channel)
    payloads = []
    for _ in range(count):
        person = await persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
            name="测试", home_province_code="420000", document=identity_pb2.Document(
                kind=identity_pb2.DOCUMENT_KIND_PASSPORT, number=f"C{secrets.randbelow(10**8):08d}",
                country_code="DEU")))
        payloads.append((await status.IssueCode(status_pb2.IssueCodeRequest(
            person_id=person.person.person_id))).payload)
    await identity_channel.close()
    await status_channel.close()
    return payloads


def browser_run(url: str, profile: Path, payloads: list[str], seconds: float, insert_delta) -> dict:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    browser.set_script_timeout(600)
    try:
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda b: b.execute_script("return !!window.Checkpoint"))
        applied = browser.execute_async_script(
            "const done = arguments[0]; Checkpoint.firstSync.then(() => Checkpoint.ready).then(d =>"
            " done({ms: performance.now(), version: d.version,"
            " records: d.held.partitions.reduce((n, p) => n + p.length / 21, 0)}));")
        insert_delta()
        delta = browser.execute_async_script(
            "const done = arguments[0]; const t = performance.now();"
            "Checkpoint.sync().then(r => done({ms: performance.now() - t, result: r}));")
        measured = browser.execute_async_script("""
            const [payloads, seconds, done] = arguments;
            (async () => {
              const device = await Checkpoint.ready;
              const nowMs = Date.now();
              const scans = [];
              let verdicts = {};
              let n = 0, start = performance.now();
              while (performance.now() - start < seconds * 1000) {
                const t = performance.now();
                const v = await device.verify(payloads[n % payloads.length], { nowMs });
                scans.push(performance.now() - t);
                verdicts[v.reason || "PASS"] = (verdicts[v.reason || "PASS"] || 0) + 1;
                n++;
              }
              const rate = n / ((performance.now() - start) / 1000);
              const read = await Promise.all(payloads.map(p => Offline.readCode(p)));
              const keyOf = c => device.trust.keys.get(Array.from(c.keyId, b => b.toString(16).padStart(2, "0")).join(""));
              let m = 0;
              start = performance.now();
              while (performance.now() - start < seconds * 1000) {
                const c = read[m % read.length];
                await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, keyOf(c).publicKey, c.signature, c.signedBytes);
                m++;
              }
              const raw = m / ((performance.now() - start) / 1000);
              scans.sort((a, b) => a - b);
              done({ rate, raw, verdicts, p50: scans[Math.floor(scans.length / 2)],
                     p99: scans[Math.floor(scans.length * 0.99)], max: scans[scans.length - 1] });
            })();""", payloads, seconds)
        return {"applied": applied, "delta": delta, **measured}
    finally:
        browser.quit()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--delta", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--device", help=argparse.SUPPRESS)
    parser.add_argument("--anchor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device:
        await device(args.device, args.anchor)
        return
    now = datetime.now(UTC)
    print(f"offline_snapshot: {now:%Y-%m-%d %H:%M} UTC; machine: {machine_line()}; code: {code_state()}", flush=True)
    rng = random.Random(2_260)
    work = Path(tempfile.mkdtemp(prefix="hc-offline-"))
    embedded = None
    url = os.environ.get("HEALTHCODE_DATABASE_URL")
    if not url:
        embedded = EmbeddedPostgres(work / "pg", keep=False)
        url = embedded.start()
    platform = None
    try:
        for service in SERVICES:
            await migrate(url, service.schema, service.migrations)
        seeded = await seed(url, args.records, rng, "bench-1")
        print(f"seeded {args.records:,} records by COPY in {seeded:.1f} s (setup)", flush=True)
        platform, seen = await start_platform(url, work)
        verification = seen["verification"].split("://")[1]
        anchor = seen["checkpoint"].split("anchor=")[1]
        raw_seconds, raw_bytes = await raw_read(url)

        from healthcode.verification.v1 import verification_pb2 as pb
        from healthcode.verification.v1 import verification_pb2_grpc

        from services.runtime.clients import open_channel
        from services.verification.recognition.exchange import manifest_from_bytes
        channel = open_channel(verification)
        stub = verification_pb2_grpc.VerificationServiceStub(channel)
        started = time.perf_counter()
        # The first manifest is built on this request (later ones in the background, every 5 s).
        manifest = await stub.GetOfflineManifest(pb.GetOfflineManifestRequest(), timeout=600)
        manifest_seconds = time.perf_counter() - started

        async def next_manifest(after: int) -> float:
            """Waits until the background job has built a manifest past version `after`."""
            waited = time.perf_counter()
            while manifest_from_bytes((await stub.GetOfflineManifest(
                    pb.GetOfflineManifestRequest(), timeout=600)).manifest).version <= after:
                await asyncio.sleep(0.5)
            return time.perf_counter() - waited

        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tools.benchmarks.offline_snapshot", "--device", verification, "--anchor", anchor,
            cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)

        async def sync() -> dict:
            child.stdin.write(b"sync\n")
            await child.stdin.drain()
            return json.loads(await child.stdout.readline())

        idle = json.loads(await child.stdout.readline())
        bootstrap = await sync()
        await seed(url, args.delta, rng, "bench-2")
        rebuilt = await next_manifest(bootstrap["version"])
        python_delta = await sync()
        child.stdin.close()
        await child.wait()

        payloads = await issue_codes(seen, CODES)
        loop = asyncio.get_running_loop()

        async def browser_delta() -> None:
            held = manifest_from_bytes((await stub.GetOfflineManifest(pb.GetOfflineManifestRequest())).manifest)
            await seed(url, args.delta, rng, "bench-3")
            await next_manifest(held.version)
            print(f"   (browser delta: manifest v{held.version} before the COPY)", flush=True)

        def insert_delta() -> None:
            asyncio.run_coroutine_threadsafe(browser_delta(), loop).result()

        page = await asyncio.to_thread(browser_run, seen["checkpoint"], work / "profile", payloads, args.seconds,
                                       insert_delta)
        await channel.close()

        print(f"\nPython device (OfflineCheckpoint.sync, its own process, straight to verification), "
              f"{bootstrap['records']:,} records:", flush=True)
        print(f"  bootstrap            {bootstrap['seconds']:7.2f} s   ({bootstrap['fetched']} partitions)   "
              f"baseline: raw COPY read of the same rows {raw_seconds:.2f} s ({raw_bytes / 1e6:.0f} MB)  "
              f"→ {bootstrap['seconds'] / raw_seconds:.1f}×")
        print(f"  peak RSS             {bootstrap['rss_peak_mb']:7.0f} MB  baseline: the same process before "
              f"syncing {idle['rss_idle_mb']:.0f} MB  (goal < 30 s, < 200 MB)")
        print(f"  delta of {args.delta:,}       {python_delta['seconds']:7.2f} s   "
              f"({python_delta['patched']} partitions patched, {python_delta['fetched']} fetched)   "
              f"peak RSS {python_delta['rss_peak_mb']:.0f} MB")
        print(f"  manifest build       {manifest_seconds:7.2f} s   (the first GetOfflineManifest: every record "
              f"hashed in SQL; {len(manifest.manifest) / 1024:.0f} KB signed); after the delta's COPY the "
              f"background job had a new one in {rebuilt:.1f} s")
        print("\nCheckpoint page (headless Chromium, through the gateway, default checkpoint rate limit):")
        print(f"  opened → snapshot applied  {page['applied']['ms'] / 1000:7.2f} s   "
              f"({page['applied']['records']:,.0f} records in IndexedDB; goal < 30 s)")
        print(f"  delta of {args.delta:,}             {page['delta']['ms'] / 1000:7.2f} s   ({page['delta']['result']})")
        print(f"  offline verifications      {page['rate']:7.0f} /s   baseline: raw WebCrypto ES256 verify "
              f"{page['raw']:.0f} /s  → {page['rate'] / page['raw']:.2f}×")
        print(f"  one scan                   p50 {page['p50']:.2f} ms, p99 {page['p99']:.2f} ms, max "
              f"{page['max']:.2f} ms  (goal < 50 ms); verdicts {page['verdicts']}", flush=True)
    finally:
        if platform is not None and platform.returncode is None:
            platform.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(platform.wait(), 20)
            except TimeoutError:
                platform.kill()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())

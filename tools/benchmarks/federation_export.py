"""Status changes exported to a peer deployment as red/yellow list records, next to raw COPY, in one run.

    .venv/bin/python -m tools.benchmarks.federation_export [--changes 1000000] [--batch 10000]

Two deployments on this machine, each its own database in one Postgres: Hubei (home: status and
verification) and Jiangsu (the peer: status and verification), each service in its own process, the
federation port over mutual TLS with a federation CA and an exchange root made for the run. Setup
writes `changes` persons and as many colour changes (GREEN → RED, one in five → YELLOW) straight into
Hubei's status schema, set-based (the audit chain's hashes are not computed: the exporter never reads
them), and Hubei's agreement with Jiangsu. Timed: from starting Hubei's verification (its exporter
begins at the stored cursor, 0) until Jiangsu's verification holds every record: status pages
(ListColourChanges, `batch` a page), one signature per batch, the outbox transaction per page, the
outbox job delivering SubmitRiskList batches over mTLS, and Jiangsu checking, verifying and upserting
each batch. Baseline: asyncpg COPY of the same rows into a plain table with risk_records' columns,
key and indexes, in the peer's database. Postgres, four services and this client share the cores
(LIMITS.md: ±30 % drift): compare the ratio, not figures across machines. Uses HEALTHCODE_DATABASE_URL
when set (databases are created in it and dropped), otherwise an embedded Postgres in a temporary
directory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import uvloop

from tools.load.cpu import code_state, machine_line
from tools.load.processes import spawn_server, stop
from cli.healthcode import SERVICES
from services.runtime import pki
from services.runtime.database import migrate
from services.runtime.logs import configure_logging
from services.runtime.postgres import EmbeddedPostgres
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.exchange_root import certify
from services.verification.recognition.federation_tls import issue_deployment

HOME, PEER = "420000", "320000"
LIFETIME = timedelta(days=29)


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def federation_files(work: Path, name: str, province: str, exchange_secret: bytes, ca, ca_key, root, root_key
                     ) -> dict[str, str]:
    certificate, private = issue_deployment(ca, ca_key, name, frozenset({province}))
    pki.write_pair(work / f"{name}.pem", work / f"{name}.key", certificate, private)
    pki.write(work / f"{name}-exchange.pem", pki.certificate_pem(certify(
        root, root_key, exchange_key_from_secret(exchange_secret).public_key(), frozenset({province}),
        datetime.now(UTC))))
    return {"HEALTHCODE_VERIFICATION_FEDERATION_CA_FILE": str(work / "ca.pem"),
            "HEALTHCODE_VERIFICATION_FEDERATION_CERT_FILE": str(work / f"{name}.pem"),
            "HEALTHCODE_VERIFICATION_FEDERATION_KEY_FILE": str(work / f"{name}.key"),
            "HEALTHCODE_VERIFICATION_EXCHANGE_ROOT_FILE": str(work / "exchange-root.pem"),
            "HEALTHCODE_VERIFICATION_EXCHANGE_CERT_FILE": str(work / f"{name}-exchange.pem"),
            "HEALTHCODE_VERIFICATION_EXCHANGE_KEY": base64.b64encode(exchange_secret).decode()}


async def seed_changes(url: str, count: int, now: datetime) -> None:
    """`count` Hubei persons with a federation reference, each turned RED (one in five YELLOW): set-based."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            """INSERT INTO status.persons (person_id, province_code, masked_name, enrol_time, person_ref)
               SELECT md5('p' || g)::uuid, $2, '张*', $3, decode(md5('ref' || g), 'hex')
               FROM generate_series(1, $1) g""", count, HOME, now)
        await connection.execute(
            """INSERT INTO status.audit_log (seq, person_id, version, change_time, previous_colour, colour,
                   display_colour, reasons, cause, rule_province, rule_version, officer_ids, legal_basis,
                   previous_hash, entry_hash)
               SELECT g, md5('p' || g)::uuid, 2, $2, 1, CASE WHEN g % 5 = 0 THEN 2 ELSE 3 END,
                      CASE WHEN g % 5 = 0 THEN 'yellow' ELSE 'red' END,
                      CASE WHEN g % 5 = 0 THEN '[{"code": "FEVER_CHECK_IN"}]'::jsonb
                           ELSE '[{"code": "CONFIRMED"}]'::jsonb END,
                      1, $3, 1, '{}', '', '\\x', '\\x'
               FROM generate_series(1, $1) g""", count, now, HOME)
        # All in shard 0's chain (the column's default); the feed reads up to the sequence's last value.
        await connection.execute("UPDATE status.audit_head SET seq = $1 WHERE shard = 0", count)
        await connection.execute("SELECT setval('status.audit_seq', $1)", count)
        await connection.execute(
            """INSERT INTO verification.agreements (issuer_province, accepted_since, colour_mapping, update_time)
               VALUES ($1, $2, '{}', $2)""", PEER, now - timedelta(days=1))
        await connection.execute("ANALYZE status.persons; ANALYZE status.audit_log")
    finally:
        await connection.close()


async def copy_baseline(url: str, count: int, now: datetime) -> float:
    """Seconds to COPY the same records into a plain table shaped as verification.risk_records."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            """CREATE TABLE public.bench_records (LIKE verification.risk_records INCLUDING DEFAULTS);
               ALTER TABLE public.bench_records ADD PRIMARY KEY (person_ref, province_code, batch_id);
               CREATE UNIQUE INDEX ON public.bench_records (person_ref, province_code) WHERE list_sequence > 0;
               CREATE INDEX ON public.bench_records (expire_time); CREATE INDEX ON public.bench_records (change_seq)""")
        expire = now + LIFETIME
        rows = [(bytes.fromhex(f"{g:032x}"), HOME, f"export-{HOME}-{g // 10_000}", 2 if g % 5 == 0 else 3,
                 "FEVER_CHECK_IN" if g % 5 == 0 else "CONFIRMED", "status", expire, g) for g in range(1, count + 1)]
        started = time.perf_counter()
        await connection.copy_records_to_table(
            "bench_records", schema_name="public", records=rows,
            columns=["person_ref", "province_code", "batch_id", "colour", "reason", "source", "expire_time",
                     "list_sequence"])
        return time.perf_counter() - started
    finally:
        await connection.close()


async def main(args: argparse.Namespace) -> None:
    configure_logging("warning")
    now = datetime.now(UTC).replace(microsecond=0)
    print(f"federation_export: {now:%Y-%m-%d %H:%M} UTC", flush=True)
    print(f"machine: {machine_line()}", flush=True)
    print(f"code: {code_state()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="hc-bench-export-"))
    embedded = None
    server_url = os.environ.get("HEALTHCODE_DATABASE_URL")
    if not server_url:
        embedded = EmbeddedPostgres(work / "pg", keep=False)
        server_url = embedded.start()
    names = {province: f"bench_export_{province}_{secrets.token_hex(3)}" for province in (HOME, PEER)}
    admin = await asyncpg.connect(server_url)
    for name in names.values():
        await admin.execute(f'CREATE DATABASE "{name}"')
    urls = {p: urlunsplit(urlsplit(server_url)._replace(path="/" + n)) for p, n in names.items()}
    processes: list[asyncio.subprocess.Process] = []
    try:
        for url in urls.values():
            for service in SERVICES:
                await migrate(url, service.schema, service.migrations)
        started = time.perf_counter()
        await seed_changes(urls[HOME], args.changes, now)
        print(f"setup: {args.changes} colour changes seeded in {time.perf_counter() - started:.1f} s", flush=True)
        baseline = await copy_baseline(urls[PEER], args.changes, now)

        ca, ca_key = pki.new_ca("bench federation CA")
        root, root_key = pki.new_ca("bench exchange root")
        pki.write(work / "ca.pem", pki.certificate_pem(ca))
        pki.write(work / "exchange-root.pem", pki.certificate_pem(root))
        ports = {HOME: free_port(), PEER: free_port()}
        federation_key = key()
        environments = {}
        for province, other in ((HOME, PEER), (PEER, HOME)):
            environments[province] = {
                **os.environ, "HEALTHCODE_DATABASE_URL": urls[province], "HEALTHCODE_LOG_LEVEL": "warning",
                "HEALTHCODE_METRICS_PORT": "0", "HEALTHCODE_MIGRATE_ON_START": "false",
                "HEALTHCODE_POOL_MAX_SIZE": "10", "HEALTHCODE_STATUS_PORT": "0", "HEALTHCODE_VERIFICATION_PORT": "0",
                "HEALTHCODE_FEDERATION_KEY": federation_key,
                "HEALTHCODE_STATUS_SEALING_KEYS": f"b:{key()}", "HEALTHCODE_STATUS_AUDIT_KEY": key(),
                "HEALTHCODE_STATUS_DEV_SIGNING_KEYS": "true",
                "HEALTHCODE_STATUS_FOLLOW_INTERVAL_SECONDS": "0", "HEALTHCODE_STATUS_STAY_FOLLOW_INTERVAL_SECONDS": "0",
                "HEALTHCODE_STATUS_RENEWAL_HORIZON_MINUTES": "0",
                "HEALTHCODE_STATUS_REVIEW_INTERVAL_SECONDS": "3600", "HEALTHCODE_STATUS_PURGE_INTERVAL_SECONDS": "3600",
                "HEALTHCODE_VERIFICATION_PURGE_INTERVAL_SECONDS": "3600",
                "HEALTHCODE_VERIFICATION_PROVINCES": province,
                "HEALTHCODE_VERIFICATION_PEERS": f"{other}=127.0.0.1:{ports[other]}",
                "HEALTHCODE_VERIFICATION_FEDERATION_PORT": str(ports[province]),
                "HEALTHCODE_VERIFICATION_VENUE_KEY": key(),
                "HEALTHCODE_VERIFICATION_EXPORT_BATCH_SIZE": str(args.batch),
                "HEALTHCODE_VERIFICATION_EXPORT_INTERVAL_SECONDS": "0.05",
                "HEALTHCODE_VERIFICATION_OUTBOX_INTERVAL_SECONDS": "0.05",
                **federation_files(work, f"deployment-{province}", province, secrets.token_bytes(32), ca, ca_key,
                                   root, root_key)}
        # The peer first, whole; then Hubei's status; its verification's start starts the clock.
        for province in (PEER, HOME):
            environ = environments[province]
            process, environ["HEALTHCODE_STATUS_ADDRESS"] = await spawn_server(
                ["-m", "cli.healthcode", "status"], environ, log=work / f"status-{province}.log")
            processes.append(process)
            if province == PEER:
                process, _ = await spawn_server(["-m", "cli.healthcode", "verification"], environ,
                                                log=work / f"verification-{province}.log")
                processes.append(process)
        peer = await asyncpg.connect(urls[PEER])
        home = await asyncpg.connect(urls[HOME])
        started = time.perf_counter()
        process, _ = await spawn_server(["-m", "cli.healthcode", "verification"], environments[HOME],
                                        log=work / f"verification-{HOME}.log")
        processes.append(process)
        ready = time.perf_counter() - started
        exported_at = None
        stored = 0
        while stored < args.changes:
            await asyncio.sleep(0.5)
            if exported_at is None and await home.fetchval(
                    "SELECT after_sequence FROM verification.export_cursor") >= args.changes:
                exported_at = time.perf_counter() - started
            stored = await peer.fetchval("SELECT count(*) FROM verification.risk_records WHERE province_code = $1",
                                         HOME)
            if time.perf_counter() - started > args.timeout:
                break
        elapsed = time.perf_counter() - started
        batches = await home.fetchval("SELECT count(*) FROM verification.outbox_batches")
        undelivered = await home.fetchval("SELECT count(*) FROM verification.outbox_deliveries "
                                          "WHERE deliver_time IS NULL")
        await peer.close()
        await home.close()

        def line(name: str, *cells: str) -> None:
            print(f"{name:<58}" + "".join(f"{cell:>14}" for cell in cells))

        print(f"\n{os.cpu_count()} cores; {args.changes} colour changes, pages of {args.batch}; "
              f"{batches} batches, {undelivered} deliveries unacknowledged at the end; "
              f"verification up after {ready:.1f} s (counted)")
        line("path", "records", "seconds", "records/s", "× COPY")
        line("raw COPY into a table shaped as risk_records", str(args.changes), f"{baseline:.1f}",
             f"{args.changes / baseline:,.0f}", "1.00")
        line("exported at home (cursor past every change)", str(args.changes),
             f"{exported_at:.1f}" if exported_at else "-",
             f"{args.changes / exported_at:,.0f}" if exported_at else "-",
             f"{baseline / exported_at:.2f}" if exported_at else "-")
        line("exported, delivered and stored at the peer", str(stored), f"{elapsed:.1f}",
             f"{stored / elapsed:,.0f}", f"{(stored / elapsed) / (args.changes / baseline):.2f}")
        print(f"goal: {args.changes} records in ≤ 600 s: {'met' if stored == args.changes and elapsed <= 600 else 'NOT met'}")
        print(f"server logs: {work}")
    finally:
        await stop(*processes)
        for name in names.values():
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="status changes per page (and batch)")
    parser.add_argument("--timeout", type=float, default=1200.0)
    uvloop.run(main(parser.parse_args()))

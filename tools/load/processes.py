"""Server processes a measurement starts, each in its own process, its address read from what it prints;
and the database they share."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.runtime.database import migrate
from services.runtime.postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = r"grpc://(\S+)"


async def spawn(args: Sequence[str], environ: Mapping[str, str] | None = None, *,
                patterns: Sequence[str] = (ADDRESS,), log: Path | None = None,
                cpus: set[int] | None = None) -> tuple[asyncio.subprocess.Process, list[str]]:
    """`python <args>` from the project's root; returns it once it has printed a line matching each of
    `patterns`, with what each matched (its stderr goes to `log`, or nowhere; `cpus` pins it)."""
    stderr = log.open("ab") if log else asyncio.subprocess.DEVNULL
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=ROOT, env=dict(environ) if environ is not None else None,
            stdout=asyncio.subprocess.PIPE, stderr=stderr,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    finally:
        if log:
            stderr.close()
    found: dict[str, str] = {}
    while len(found) < len(patterns):
        line = (await process.stdout.readline()).decode()
        if not line:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise RuntimeError(f"{list(args)} ended before printing {list(patterns)}" + (
                f"; its log ends:\n{tail}" if tail else ""))
        for pattern in patterns:
            if pattern not in found and (match := re.search(pattern, line)):
                found[pattern] = match[1]
    return process, [found[pattern] for pattern in patterns]


async def spawn_server(args: Sequence[str], environ: Mapping[str, str] | None = None, *,
                       log: Path | None = None) -> tuple[asyncio.subprocess.Process, str]:
    """A gRPC server in its own process, and the address it printed."""
    process, (address,) = await spawn(args, environ, log=log)
    return process, address


async def stop(*processes: asyncio.subprocess.Process) -> None:
    for process in processes:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def benchmark_database(*services) -> tuple[str, EmbeddedPostgres | None]:
    """The database a benchmark writes into: HEALTHCODE_DATABASE_URL when set, else an embedded PostgreSQL
    in a temporary directory (returned, for the benchmark to stop); each service's migrations applied
    (each a bootstrap module with SCHEMA and MIGRATIONS)."""
    embedded = None
    url = os.environ.get("HEALTHCODE_DATABASE_URL")
    if not url:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="hc-bench-")) / "pg", keep=False)
        url = embedded.start()
    for service in services:
        await migrate(url, service.SCHEMA, service.MIGRATIONS)
    return url, embedded


def service_environment(url: str, **settings: str) -> dict[str, str]:
    """The environment of identity, itinerary and status processes a benchmark starts: this process's, the
    database, ephemeral ports, quiet logs, fresh keys, development signing keys, and status's own jobs
    (declarations followed, reviews, purges) held back so they do not run while timing; `settings`
    (HEALTHCODE_… names) added or replaced."""
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return {**os.environ, "HEALTHCODE_DATABASE_URL": url, "HEALTHCODE_IDENTITY_PORT": "0",
            "HEALTHCODE_ITINERARY_PORT": "0", "HEALTHCODE_STATUS_PORT": "0", "HEALTHCODE_LOG_LEVEL": "warning",
            "HEALTHCODE_METRICS_PORT": "0",
            "HEALTHCODE_IDENTITY_SEALING_KEYS": f"b:{key()}", "HEALTHCODE_IDENTITY_LOOKUP_KEY": key(),
            "HEALTHCODE_FEDERATION_KEY": key(), "HEALTHCODE_STATUS_SEALING_KEYS": f"b:{key()}",
            "HEALTHCODE_STATUS_AUDIT_KEY": key(), "HEALTHCODE_STATUS_DEV_SIGNING_KEYS": "true",
            "HEALTHCODE_STATUS_FOLLOW_INTERVAL_SECONDS": "0", "HEALTHCODE_STATUS_REVIEW_INTERVAL_SECONDS": "3600",
            "HEALTHCODE_STATUS_PURGE_INTERVAL_SECONDS": "3600", **settings}

"""Server processes a measurement starts: each in its own process, its address read from what it prints."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

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

"""What every benchmark prints first: the machine, and the code the figures belong to."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def machine() -> str:
    model = platform.processor()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} cores, {model or 'unknown CPU'}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, grpcio {version('grpcio')}, asyncpg {version('asyncpg')}, "
            f"cryptography {version('cryptography')}")


def code_state() -> str:
    """The commit measured, and whether the services differ from it (figures follow the code)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [line for line in git("status", "--porcelain", "--", "services", "protos").splitlines() if line]
    return f"commit {head}" + (f" with {len(changed)} uncommitted changes under services/ and protos/" if changed
                               else ", services/ and protos/ as committed")

"""Where the machine's CPU goes during a measurement: each service's processes (found by the port they
listen on, so every SO_REUSEPORT worker counts), Postgres (the postmaster and its backends, the ended
ones too), this client, and everything else."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import subprocess
from importlib.metadata import version

import asyncpg

_TICK = os.sysconf("SC_CLK_TCK")
_LISTEN = "0A"
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0", "::1", "[::1]", "::", "[::]"}


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (empty once the process has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def process_cpu(pid: int, *, with_reaped_children: bool = False) -> float:
    """CPU seconds of a process (all its threads); with its ended children's when asked."""
    fields = proc_stat(pid)
    if not fields:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def system_cpu(pid: int) -> float:
    """Kernel CPU seconds alone: on loopback, sending also runs the receiver's TCP path."""
    fields = proc_stat(pid)
    return int(fields[12]) / _TICK if fields else 0.0


def machine_busy() -> float:
    """Non-idle CPU seconds of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _TICK


def is_local(address: str) -> bool:
    return address.rsplit(":", 1)[0] in _LOCAL_HOSTS


def listening_pids(ports: Iterable[int]) -> dict[int, list[int]]:
    """The processes listening on each TCP port of this machine (several with SO_REUSEPORT)."""
    wanted = set(ports)
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == _LISTEN and port in wanted:
                inodes[f"socket:[{fields[9]}]"] = port
    found: dict[int, set[int]] = {port: set() for port in wanted}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                port = inodes.get(os.readlink(fd))
                if port is not None:
                    found[port].add(int(entry.name))
        except OSError:
            continue
    return {port: sorted(pids) for port, pids in found.items()}


def other_measurements() -> list[int]:
    """Processes of another benchmark (`-m tools.benchmarks.*`) or another `healthcode load` on this machine: not
    this process, its ancestors, or its children."""
    ours, pid = set(), os.getpid()
    while pid > 1 and pid not in ours:
        ours.add(pid)
        pid = int(fields[1]) if (fields := proc_stat(pid)) else 1
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = proc_stat(int(entry.name))
        if not fields or int(fields[1]) in ours:
            continue
        benchmark = b"-m" in command and any(part.startswith(b"tools.benchmarks.") for part in command)
        load = any(part.endswith(b"healthcode") or part == b"cli.healthcode" for part in command) and b"load" in command
        if benchmark or load:
            found.append(int(entry.name))
    return found


def children(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := proc_stat(int(entry.name))) and int(fields[1]) == parent:
            children.append(int(entry.name))
    return children


class CpuMeter:
    """CPU seconds spent between two snapshots by each group of processes, by Postgres, by this process
    and by the rest of the machine."""

    def __init__(self, groups: Mapping[str, list[int]], postmaster: int | None) -> None:
        self.groups = {name: list(pids) for name, pids in groups.items()}
        self.postmaster = postmaster

    @classmethod
    async def for_platform(cls, addresses: Mapping[str, str], database_url: str | None) -> CpuMeter:
        """The processes behind every local address, and the Postgres behind the URL when it runs here."""
        ports = {name: int(address.rsplit(":", 1)[1]) for name, address in addresses.items() if is_local(address)}
        pids = listening_pids(ports.values())
        groups: dict[str, list[int]] = {}
        for name, port in ports.items():
            groups[name] = pids.get(port, [])
        return cls(groups, await postmaster_of(database_url))

    @classmethod
    async def watching(cls, pids: Mapping[str, int], database_url: str | None = None) -> CpuMeter:
        """Named processes (one each), and the Postgres behind the URL when it runs here."""
        return cls({name: [pid] for name, pid in pids.items()}, await postmaster_of(database_url))

    def add_group(self, name: str, pids: list[int]) -> None:
        self.groups[name] = pids

    def snapshot(self) -> dict:
        taken: dict = {"processes": {pid: process_cpu(pid) for pids in self.groups.values() for pid in pids},
                       "kernel": {pid: system_cpu(pid) for pids in self.groups.values() for pid in pids},
                       "client": process_cpu(os.getpid()), "machine": machine_busy()}
        if self.postmaster:
            taken["postgres"] = {self.postmaster: process_cpu(self.postmaster, with_reaped_children=True),
                                 **{pid: process_cpu(pid) for pid in children(self.postmaster)}}
        return taken

    def spent(self, before: dict, after: dict) -> dict[str, float]:
        """CPU seconds per group (processes shared by several groups, as `healthcode up`'s one process
        serving four services, are counted once, under `platform`), Postgres, client and others."""
        def delta(pid: int) -> float:
            return after["processes"].get(pid, 0.0) - before["processes"].get(pid, 0.0)

        spent: dict[str, float] = {}
        seen: set[int] = set()
        shared = {pid for pids in self.groups.values() for pid in pids
                  if sum(pid in other for other in self.groups.values()) > 1}
        for name, pids in self.groups.items():
            own = [pid for pid in pids if pid not in shared]
            if own:
                spent[name] = sum(delta(pid) for pid in own)
                seen.update(own)
        if shared:
            spent["platform"] = sum(delta(pid) for pid in shared)
            seen.update(shared)
        if "postgres" in after:
            # A backend that ended in between is gone from `after`, and its time is now in the postmaster's
            # reaped-children time: totals, not per-process differences.
            spent["postgres"] = sum(after["postgres"].values()) - sum(before.get("postgres", {}).values())
        spent["client"] = after["client"] - before["client"]
        spent["others"] = max(0.0, after["machine"] - before["machine"] - sum(spent.values()))
        return spent

    def kernel(self, before: dict, after: dict) -> dict[str, float]:
        """Kernel CPU seconds per group (system calls, and on loopback the receiver's TCP path too)."""
        return {name: sum(after["kernel"].get(pid, 0.0) - before["kernel"].get(pid, 0.0) for pid in pids)
                for name, pids in self.groups.items()}

    def describe(self) -> dict:
        return {"groups": self.groups, "postmaster": self.postmaster}


async def postmaster_of(database_url: str | None) -> int | None:
    """The postmaster behind the URL when it runs on this machine (its backends are its children)."""
    if not database_url:
        return None
    try:
        connection = await asyncpg.connect(database_url)
        try:
            fields = proc_stat(await connection.fetchval("SELECT pg_backend_pid()"))
        finally:
            await connection.close()
    except (OSError, asyncpg.PostgresError):
        return None
    return int(fields[1]) if fields else None


def machine() -> dict:
    """What the figures were measured on."""
    model = platform.processor() or "unknown CPU"
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cores": os.cpu_count(), "cpu": model, "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
            "packages": {name: version(name) for name in ("grpcio", "asyncpg", "cryptography", "uvloop")}}


def machine_line() -> str:
    """The machine in one line, as every benchmark prints it first."""
    found = machine()
    packages = found["packages"]
    return (f"{found['cores']} cores, {found['cpu']}, {found['system']}, Python {found['python']}, "
            f"grpcio {packages['grpcio']}, asyncpg {packages['asyncpg']}, cryptography {packages['cryptography']}")


def code_state() -> str:
    """The commit measured, and whether the services differ from it (figures follow the code)."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [line for line in git("status", "--porcelain", "--", "services", "protos").splitlines() if line]
    return f"commit {head}" + (f" with {len(changed)} uncommitted changes under services/ and protos/" if changed
                               else ", services/ and protos/ as committed")


def announce(name: str) -> datetime:
    """What every benchmark prints first, each on its own line: its name and the time, the machine, the
    commit measured. Returns the time."""
    now = datetime.now(UTC)
    print(f"{name}: {now:%Y-%m-%d %H:%M} UTC", flush=True)
    print(f"machine: {machine_line()}", flush=True)
    print(f"code: {code_state()}", flush=True)
    return now

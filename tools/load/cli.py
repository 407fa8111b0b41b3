"""`healthcode load`: its options, and where it finds the platform, the database and identity's keys."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from services.runtime.settings import PREFIX

# Spelled out here so that `healthcode` starts without importing the harness (and its dependencies).
DEFAULT_MIX = "IssueCode=40,VerifyCode=35,GetStatus=10,RecordCheckIn=7,VenueScan=7,IngestCarrierStays=1"

DESCRIPTION = """Loads a synthetic population (COPY, idempotent), measures the baselines (grpc.aio echo, asyncpg
primary-key lookup, ES256 verify), each path alone (closed loop), then the morning rush (open loop by
default) with a risk declaration in the middle and a 10x surge; writes report.json and chart.png.
The platform's addresses come from HEALTHCODE_<SERVICE>_ADDRESS (default 127.0.0.1:50051..50054, as
`healthcode up` prints them); the database from HEALTHCODE_DATABASE_URL, else the embedded one `up` runs
in HEALTHCODE_DATA_DIR; identity's keys from the environment, else from that directory's dev-secrets.json."""


def add_parser(commands) -> argparse.ArgumentParser:
    """Registers `load` on the `healthcode` command's subparsers."""
    parser = commands.add_parser("load", help="load-test a running platform and write a benchmark report",
                                 description=DESCRIPTION)
    population = parser.add_argument_group("population")
    population.add_argument("--persons", type=int, default=200_000, help="synthetic persons (default 200000)")
    population.add_argument("--hot-persons", type=int,
                            help="calls come from the first N persons only (default everyone: most calls are then "
                                 "a person's first read of the day, which decides the status; with a few thousand, "
                                 "stored statuses are read back)")
    population.add_argument("--no-populate", dest="populate", action="store_false",
                            help="skip loading: the population is already there")
    rush = parser.add_argument_group("the morning rush")
    rush.add_argument("--mode", choices=("open", "closed"), default="open",
                      help="open: arrivals at --rate (latency from the intended send time); closed: --concurrency "
                           "callers, each sending when its last call returns")
    rush.add_argument("--rate", type=float, default=40.0, help="open loop: arrivals per second (default 40)")
    rush.add_argument("--concurrency", type=int, default=32, help="closed loop: callers (default 32)")
    rush.add_argument("--duration", type=float, default=120.0, help="seconds (default 120; 0: no rush)")
    rush.add_argument("--mix", default=DEFAULT_MIX, help=f"operation weights (default {DEFAULT_MIX})")
    rush.add_argument("--declare-at", type=float, default=0.4,
                      help="when the risk declaration comes, as a fraction of --duration (default 0.4; 1 = none)")
    rush.add_argument("--risk-area", help="the county to declare HIGH (default: the first synthetic county "
                                          "not at risk yet)")
    rush.add_argument("--surge-at", type=float, default=0.65, help="surge start, fraction of --duration (0.65)")
    rush.add_argument("--surge-seconds", type=float, help="surge length (default a tenth of --duration; 0 = none)")
    rush.add_argument("--surge-factor", type=float, default=10.0, help="rate or callers during the surge (x10)")
    rush.add_argument("--batch-rows", type=int, default=1000, help="stays per IngestCarrierStays batch (1000)")
    measure = parser.add_argument_group("measurements")
    measure.add_argument("--isolated-seconds", type=float, default=10.0,
                         help="each path alone, closed loop, for this long first (default 10; 0 skips)")
    measure.add_argument("--isolated-concurrency", type=int, default=32, help="calls in flight then (32)")
    measure.add_argument("--baseline-seconds", type=float, default=5.0, help="each baseline (default 5; 0 skips)")
    measure.add_argument("--warmup-calls", type=int, default=50, help="calls of each operation before measuring")
    measure.add_argument("--quiet-wait", type=float, default=900.0,
                         help="before each measurement, wait up to this many seconds while another benchmark or "
                              "load run is on this machine (default 900; 0: never wait)")
    measure.add_argument("--out", type=Path, help="report directory (default $HEALTHCODE_DATA_DIR/load/<time>)")
    measure.add_argument("--no-chart", dest="chart", action="store_false", help="no chart.png")
    client = parser.add_argument_group("client")
    client.add_argument("--via", metavar="HOST:PORT",
                        help="send every call to this one address (a gateway) instead of each service's; each "
                             "operation then relays a session of its caller (a person, a checkpoint, a feed), "
                             "minted with HEALTHCODE_GATEWAY_SESSION_KEYS or up's development keys")
    client.add_argument("--tls-ca", type=Path, help="TLS: CA certificate to trust (turns TLS on)")
    client.add_argument("--tls-cert", type=Path, help="TLS: client certificate (mutual TLS)")
    client.add_argument("--tls-key", type=Path, help="TLS: client private key")
    client.add_argument("--channels", type=int, default=4, help="channels (connections) per service (default 4)")
    client.add_argument("--max-in-flight", type=int,
                        help="open loop: most calls in flight (default and ceiling: 250 per channel)")
    client.add_argument("--deadline", type=float, default=30.0, help="per-call deadline, seconds (30)")
    client.add_argument("--seed", type=int, default=1)
    parser.set_defaults(handler=cmd_load)
    return parser


def database_url(environ: dict[str, str]) -> str | None:
    """HEALTHCODE_DATABASE_URL, else the embedded Postgres `healthcode up` runs in its data directory."""
    if environ.get(f"{PREFIX}DATABASE_URL"):
        return environ[f"{PREFIX}DATABASE_URL"]
    data = Path(environ.get(f"{PREFIX}DATA_DIR", ".data")).resolve() / "postgres"
    if not (data / "postmaster.pid").exists():
        return None
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data)
    return info.get_uri() if info is not None and info.is_running() else None


def options_from(args: argparse.Namespace, environ: dict[str, str]):
    from tools.load import harness
    from tools.load.callers import Callers, GatewayCallers
    from tools.load.client import SERVICES, addresses_from, tls_credentials
    from tools.load.population import PopulationKeys
    from tools.load.workload import parse_mix

    addresses = addresses_from(environ)
    cpu_addresses = None
    if args.via:
        cpu_addresses = {"gateway": args.via, **addresses}
        addresses = {name: args.via for name in SERVICES}
    credentials = tls_credentials(args.tls_ca, args.tls_cert, args.tls_key) if args.tls_ca or args.tls_cert else None
    # Through a gateway each operation relays the session of the caller the gateway expects of it.
    callers = GatewayCallers.from_environ(environ) if args.via else Callers()
    url = database_url(environ)
    return harness.Options(
        addresses=addresses, cpu_addresses=cpu_addresses, out=args.out or harness.default_out(environ),
        credentials=credentials, via=args.via, callers=callers, database_url=url,
        keys=PopulationKeys.read(environ) if args.populate else None, persons=args.persons,
        hot_persons=args.hot_persons, populate=args.populate,
        mode=args.mode, rate=args.rate, concurrency=args.concurrency, duration=args.duration,
        declare_at=args.declare_at, surge_at=args.surge_at, surge_seconds=args.surge_seconds,
        surge_factor=args.surge_factor, risk_area=args.risk_area, isolated_seconds=args.isolated_seconds,
        isolated_concurrency=args.isolated_concurrency, baseline_seconds=args.baseline_seconds,
        warmup_calls=args.warmup_calls, channels=args.channels, max_in_flight=args.max_in_flight,
        batch_rows=args.batch_rows, mix=parse_mix(args.mix), deadline=args.deadline, seed=args.seed, chart=args.chart,
        quiet_wait=args.quiet_wait)


def cmd_load(args: argparse.Namespace) -> int:
    import uvloop

    from tools.load import harness

    options = options_from(args, dict(os.environ))
    result = uvloop.run(harness.run(options))
    print(f"report: {options.out / 'report.json'}" + (f", chart: {options.out / 'chart.png'}"
                                                      if options.chart and result.get("scenario") else ""))
    return 0

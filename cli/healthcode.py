"""The `healthcode` command: run the platform, one service, migrations, or code generation."""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from google.protobuf import json_format

from gateway import bootstrap as gateway
from gateway.devcredentials import DEV_CALLERS, dev_credentials
from services.identity import bootstrap as identity
from services.identity import commands as identity_commands
from services.itinerary import bootstrap as itinerary
from services.runtime.database import migrate
from services.runtime.logs import configure_logging, get_logger
from services.runtime import tracing
from services.runtime.metrics import serve_metrics
from services.runtime.postgres import EmbeddedPostgres
from services.runtime.server import HostedServer, run_until_signalled, start_server
from services.runtime.settings import PREFIX, Env, SettingsError
from services.status import bootstrap as status
from services.status import commands as status_commands
from services.verification import bootstrap as verification
from services.verification import commands as verification_commands
from services.verification.recognition.exchange_root import dev_exchange_files
from services.verification.recognition.federation_tls import dev_federation_files

# Every service, in start order: the one service list (each bootstrap's SPEC says how to build it).
SERVICES = (identity.SPEC, itinerary.SPEC, status.SPEC, verification.SPEC)

log = get_logger("healthcode.cli")


# Secrets `healthcode up` generates for development, and whether each is a keyring.
_DEV_SECRETS = {"IDENTITY_SEALING_KEYS": True, "IDENTITY_LOOKUP_KEY": False, "FEDERATION_KEY": False,
                "STATUS_SEALING_KEYS": True, "STATUS_AUDIT_KEY": False,
                "VERIFICATION_EXCHANGE_KEY": False, "VERIFICATION_VENUE_KEY": False,
                "GATEWAY_SESSION_KEYS": True}


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Development keys, made once and kept beside the embedded database so a restart reads old data;
    a key a newer version needs is added to the file.

    Production sets these HEALTHCODE_* secrets from a secret store.
    """
    path = data_dir / "dev-secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in _DEV_SECRETS if f"{PREFIX}{name}" not in values]
    if missing:
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in missing:
            key = base64.b64encode(secrets.token_bytes(32)).decode()
            values[f"{PREFIX}{name}"] = f"dev1:{key}" if _DEV_SECRETS[name] else key
        partial = path.with_suffix(".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(values, handle)
        os.replace(partial, path)
    return values


async def _migrate_all(url: str) -> None:
    for service in SERVICES:
        await migrate(url, service.schema, service.migrations)


async def _start(service, environ: Mapping[str, str]) -> tuple[HostedServer, float]:
    """The started server and its drain time."""
    settings = service.settings.read(Env(environ))
    app, _ = await service.assemble(settings)
    return await start_server(app, settings.server.host, settings.server.port), settings.server.grace_seconds


def _dev_federation(environ: dict[str, str], data_dir: Path) -> None:
    """A development federation PKI in .data/federation/ (a CA and a certificate naming this deployment's
    provinces; an exchange root and its certificate of the exchange key), unless the federation's files
    are configured; production mounts them from secrets."""
    if environ.get(f"{PREFIX}VERIFICATION_FEDERATION_CA_FILE"):
        return
    provinces = verification.parse_provinces(environ.get(f"{PREFIX}VERIFICATION_PROVINCES") or "all")
    if not provinces:
        return  # the settings report the bad value
    files = dev_federation_files(data_dir / "federation", provinces)
    environ[f"{PREFIX}VERIFICATION_FEDERATION_CA_FILE"] = str(files.ca)
    environ[f"{PREFIX}VERIFICATION_FEDERATION_CERT_FILE"] = str(files.certificate)
    environ[f"{PREFIX}VERIFICATION_FEDERATION_KEY_FILE"] = str(files.key)
    if environ.get(f"{PREFIX}VERIFICATION_EXCHANGE_ROOT_FILE"):
        return
    try:
        secret = base64.b64decode(environ.get(f"{PREFIX}VERIFICATION_EXCHANGE_KEY", ""), validate=True)
    except ValueError:
        return  # the settings report the bad value
    if len(secret) == 32:
        # The development exchange root certifies this deployment's exchange key, as production's does.
        root, certificate = dev_exchange_files(data_dir / "federation", provinces,
                                               verification.exchange_key_from_secret(secret).public_key())
        environ[f"{PREFIX}VERIFICATION_EXCHANGE_ROOT_FILE"] = str(root)
        environ[f"{PREFIX}VERIFICATION_EXCHANGE_CERT_FILE"] = str(certificate)


async def _up(environ: dict[str, str], data_dir: Path) -> None:
    await _migrate_all(environ[f"{PREFIX}DATABASE_URL"])
    _dev_federation(environ, data_dir)
    env = Env(environ)
    metrics_port = serve_metrics(env.text("HOST", "127.0.0.1"), env.integer("METRICS_PORT", 9464, minimum=0,
                                                                             maximum=65535))
    env.check()
    tracing.configure("healthcode", endpoint=tracing.endpoint_from_environment(environ))
    servers = []
    for service in SERVICES:
        server, grace = await _start(service, environ)
        # Services started later reach this one where it actually listens (ports may be 0 in tests).
        environ.setdefault(f"{PREFIX}{service.name.upper()}_ADDRESS", server.address)
        servers.append(server)
    front = await _start_dev_gateway(environ, data_dir)
    servers.append(front.grpc)
    for server in servers[:-1]:
        print(f"{server.app.name:<14} grpc://{server.address}", flush=True)
        for name in server.listeners:
            print(f"{'  ' + name:<14} grpcs://{server.listener_address(name)} (mutual TLS; federation CA and "
                  f"this deployment's certificate in {data_dir / 'federation'})", flush=True)
    host = front.grpc.address.rsplit(":", 1)[0]
    print(f"{'gateway':<14} grpcs://{front.address} (mutual TLS; client certificates in "
          f"{data_dir / 'gateway' / 'clients'})", flush=True)
    print(f"{'page':<14} http://{host}:{front.http_port}/", flush=True)
    print(f"{'checkpoint':<14} http://{host}:{front.http_port}/checkpoint#token={_dev_checkpoint_token(environ)}"
          f"&anchor={_dev_checkpoint_anchor(environ)}", flush=True)
    print(f"{'metrics':<14} http://{host}:{metrics_port}/metrics", flush=True)
    print("healthcode is up; Ctrl-C stops it.", flush=True)
    await run_until_signalled(servers, grace)


async def _start_dev_gateway(environ: dict[str, str], data_dir: Path) -> gateway.StartedGateway:
    """The gateway with development credentials: a private CA and one client certificate per kind of
    caller in .data/gateway/, and sessions for registered persons without a face check."""
    credentials = dev_credentials(data_dir / "gateway")
    environ.setdefault(f"{PREFIX}GATEWAY_TLS_CERT_FILE", str(credentials.server_certificate))
    environ.setdefault(f"{PREFIX}GATEWAY_TLS_KEY_FILE", str(credentials.server_key))
    environ.setdefault(f"{PREFIX}GATEWAY_CLIENT_CA_FILE", str(credentials.ca))
    environ.setdefault(f"{PREFIX}GATEWAY_DEV_SESSIONS", "true")
    return await gateway.start_gateway(gateway.GatewaySettings.read(Env(environ)))


def _dev_checkpoint_token(environ: dict[str, str]) -> str:
    """A day's session for the development checkpoint device, for the checkpoint page."""
    from gateway.credentials import SessionKeys

    keys = SessionKeys(Env(environ).secret_keyring("GATEWAY_SESSION_KEYS"))
    return keys.mint(DEV_CALLERS["wuhan-checkpoint"], 24 * 3600)


def _dev_checkpoint_anchor(environ: dict[str, str]) -> str:
    """The trust anchor the development checkpoint page is provisioned with: this deployment's exchange
    key (base64url SubjectPublicKeyInfo), which signs its offline snapshots."""
    from services.verification.bootstrap import exchange_key_from_secret
    from services.verification.recognition.exchange import anchor_text

    return anchor_text(exchange_key_from_secret(Env(environ).secret_key("VERIFICATION_EXCHANGE_KEY")).public_key())


def cmd_up(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    data_dir = Path(environ.get(f"{PREFIX}DATA_DIR", ".data")).resolve()
    embedded = None
    if not environ.get(f"{PREFIX}DATABASE_URL"):
        embedded = EmbeddedPostgres(data_dir / "postgres", keep=True)
        environ[f"{PREFIX}DATABASE_URL"] = embedded.start()
        print(f"postgres       embedded, data in {data_dir / 'postgres'}", flush=True)
    for name, value in _dev_secrets(data_dir).items():
        if not environ.get(name):
            environ[name] = value
    # Development only: every province gets a code-signing key; production creates them by RPC.
    environ.setdefault(f"{PREFIX}STATUS_DEV_SIGNING_KEYS", "true")
    try:
        _run(_up(environ, data_dir))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    env = Env()
    url = env.text("DATABASE_URL")
    env.check()
    _run(_migrate_all(url))
    return 0


def cmd_service(args: argparse.Namespace) -> int:
    """One service alone, as a Kubernetes pod runs it: settings from the environment only.
    HEALTHCODE_WORKERS=N runs it as N processes on one port (SO_REUSEPORT), to use N cores."""
    service = next(s for s in SERVICES if s.name == args.command)
    env = Env()
    settings = service.settings.read(env)
    migrate_on_start = env.flag("MIGRATE_ON_START", True)
    workers = env.integer("WORKERS", 1, minimum=1, maximum=64)
    env.check()
    if workers > 1:
        return _serve_workers(service.name, workers, settings.server.host)

    async def serve() -> None:
        if migrate_on_start:
            await migrate(settings.server.database_url, service.schema, service.migrations)
        tracing.configure(f"healthcode-{service.name}")
        app, _ = await service.assemble(settings)
        server = await start_server(app, settings.server.host, settings.server.port)
        serve_metrics(settings.server.host, settings.server.metrics_port)
        print(f"{service.name} grpc://{server.address}", flush=True)
        await run_until_signalled([server], settings.server.grace_seconds)

    _run(serve())
    return 0


# Worker processes (HEALTHCODE_WORKERS): several processes of one service on one port.

def _serve_workers(name: str, count: int, host: str) -> int:
    """Runs `count` worker processes of one service, all bound to one port with SO_REUSEPORT.

    Worker 0 starts alone (it applies migrations, binds the port, which may be 0, and runs start-up
    steps such as creating development signing keys once); the others then bind the port it got.
    Every service's background jobs are safe to run in several processes at once, as they are in
    several replicas (docs/benchmarks.md). Signals are passed on to the workers; when one worker
    ends unasked, the others are stopped too and the exit status is 1.
    """
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: grpc must not be forked
    receive, send = context.Pipe(duplex=False)
    processes: list = []
    stopping = False

    def stop_all(signum: int = signal.SIGTERM, frame=None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    port = None
    for index in range(count):
        process = context.Process(target=_worker, args=(name, index, port, send), name=f"{name}-worker-{index}")
        process.start()
        processes.append(process)
        while not receive.poll():
            if stopping or not process.is_alive():
                died = not stopping
                stop_all()
                for started in processes:
                    started.join()
                return 1 if died else 0
            wait([receive, process.sentinel], timeout=1.0)
        bound = receive.recv()
        port = bound if port is None else port
    print(f"{name} grpc://{host}:{port} ({count} workers)", flush=True)
    failed = False
    while any(p.is_alive() for p in processes):
        wait([p.sentinel for p in processes if p.is_alive()], timeout=1.0)
        if not stopping and any(not p.is_alive() for p in processes):
            failed = True
            stop_all()
    return 1 if failed or any(p.exitcode for p in processes) else 0


def _worker(name: str, index: int, port: int | None, ready) -> None:
    """One worker process: serves until signalled; tells its parent the port once it listens."""
    import dataclasses

    import structlog

    configure_logging(os.environ.get(f"{PREFIX}LOG_LEVEL", "info"))
    structlog.contextvars.bind_contextvars(worker=index)
    service = next(s for s in SERVICES if s.name == name)
    env = Env()
    settings = service.settings.read(env)
    if port is not None:
        settings = dataclasses.replace(settings, server=dataclasses.replace(settings.server, port=port))
    migrate_on_start = index == 0 and env.flag("MIGRATE_ON_START", True)

    async def serve() -> None:
        if migrate_on_start:
            await migrate(settings.server.database_url, service.schema, service.migrations)
        tracing.configure(f"healthcode-{service.name}")
        app, _ = await service.assemble(settings)
        server = await start_server(app, settings.server.host, settings.server.port, reuse_port=True)
        # One /metrics per process: worker i on the metrics port + i.
        metrics_port = settings.server.metrics_port
        serve_metrics(settings.server.host, metrics_port + index if metrics_port else 0)
        ready.send(server.port)
        await run_until_signalled([server], settings.server.grace_seconds)

    try:
        _run(serve())
    except KeyboardInterrupt:
        pass


def cmd_gateway(args: argparse.Namespace) -> int:
    """The gateway alone, as a Kubernetes pod runs it: settings from the environment only."""
    settings = gateway.GatewaySettings.read(Env())

    async def serve() -> None:
        tracing.configure("healthcode-gateway")
        started = await gateway.start_gateway(settings)
        serve_metrics(settings.host, settings.metrics_port)
        print(f"gateway grpc://{started.address} http://{settings.host}:{started.http_port}/", flush=True)
        await run_until_signalled([started.grpc], settings.grace_seconds)

    _run(serve())
    return 0


def cmd_reseal(args: argparse.Namespace) -> int:
    """After adding a new first key to HEALTHCODE_IDENTITY_SEALING_KEYS: re-encrypt old rows under it.
    Also fills in the federation reference of persons registered before it existed."""
    settings = identity.IdentitySettings.read(Env())
    count = 0

    async def run() -> None:
        nonlocal count
        count = await identity_commands.reseal(settings)

    _run(run())
    print(f"resealed {count} persons under key {next(iter(settings.sealing_keys))}")
    return 0


def cmd_grpc_frame(args: argparse.Namespace) -> int:
    """One request as h2load sends it, on standard output."""
    from tools.load.frames import frame_from_json

    try:
        data = frame_from_json(args.message, args.json)
    except (ValueError, json_format.ParseError) as error:
        print(f"grpc-frame: {error}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(data)
    return 0


def _logged_head(text: str) -> tuple[int, bytes]:
    """A chain head as `audit_chain_heads` logs it: SEQ:HASH (hex)."""
    seq, _, digest = text.partition(":")
    try:
        head = int(seq), bytes.fromhex(digest)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SEQ:HASH as audit_chain_heads logs it") from None
    if head[0] <= 0 or len(head[1]) != 32:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive seq and a 64-digit hex hash")
    return head


def cmd_verify_audit(args: argparse.Namespace) -> int:
    """Checks status's audit chain end to end; exit 1 if any row was edited, inserted or removed."""
    settings = status.StatusSettings.read(Env())
    expected = args.expect_head or []
    problems: list[str] = []

    async def run() -> None:
        problems.extend(await status_commands.verify_audit(settings, expected))

    _run(run())
    for problem in problems:
        print(f"audit: {problem}")
    print("audit chain intact" if not problems else f"audit chain broken: {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_grant_administrator(args: argparse.Namespace) -> int:
    """Bootstraps a province's first administrator (who then grants every other role, never their own)."""
    settings = status.StatusSettings.read(Env())
    roles: list[int] = []

    async def run() -> None:
        roles.extend(await status_commands.grant_administrator(settings, args.officer_id, args.province_code))

    _run(run())
    print(f"{args.officer_id} holds roles {roles} in {args.province_code}")
    return 0


def cmd_protos(args: argparse.Namespace) -> int:
    from tools import protogen

    for path in protogen.generate():
        print(path.relative_to(protogen.PROTO_ROOT.parent))
    return 0


def _add_tool_commands(commands) -> None:
    """The development tools' commands (code generation, h2load request files, the load harness): in a
    checkout, not in the production image, which ships without tools/ and their dependencies."""
    from tools.load import cli as load_cli

    commands.add_parser("protos", help="regenerate Python code from protos/").set_defaults(handler=cmd_protos)
    frame = commands.add_parser("grpc-frame", help="write one request as a length-prefixed gRPC message "
                                                   "(a request file for h2load -d)")
    frame.add_argument("message", help="the request's full name, e.g. healthcode.status.v1.GetStatusRequest")
    frame.add_argument("json", nargs="?", default="{}", help="the request in proto3 JSON")
    frame.set_defaults(handler=cmd_grpc_frame)
    load_cli.add_parser(commands)


def _run(coroutine) -> None:
    import uvloop

    uvloop.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthcode", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="run every service (embedded Postgres unless HEALTHCODE_DATABASE_URL is set)"
                        ).set_defaults(handler=cmd_up)
    commands.add_parser("migrate", help="apply pending migrations of every schema").set_defaults(handler=cmd_migrate)
    for service in SERVICES:
        commands.add_parser(service.name, help=f"run the {service.name} service alone (port "
                                                f"{service.port})").set_defaults(handler=cmd_service)
    commands.add_parser("gateway", help=f"run the gateway alone (gRPC {gateway.DEFAULT_PORT}, HTTP "
                                        f"{gateway.DEFAULT_HTTP_PORT})").set_defaults(handler=cmd_gateway)
    commands.add_parser("reseal", help="re-encrypt identity's personal data under the active sealing key "
                                       "and fill in missing federation references").set_defaults(handler=cmd_reseal)
    verify = commands.add_parser("verify-audit", help="check status's hash-chained audit log for tampering")
    verify.add_argument("--expect-head", metavar="SEQ:HASH", action="append", type=_logged_head,
                        help="a chain's head logged earlier (audit_chain_heads; once per head): "
                             "also detects a cut tail")
    verify.set_defaults(handler=cmd_verify_audit)
    grant = commands.add_parser("grant-administrator", help="make an officer a province's administrator "
                                                            "(the first one; later grants go through SetOfficerRoles)")
    grant.add_argument("officer_id", help="province-qualified, as the gateway names operators: 420000.li-admin")
    grant.add_argument("province_code", help="the province, or 000000 for every province")
    grant.set_defaults(handler=cmd_grant_administrator)
    verification_commands.add_parser(commands)
    if importlib.util.find_spec("tools") is not None:
        _add_tool_commands(commands)
    args = parser.parse_args(argv)
    configure_logging(os.environ.get(f"{PREFIX}LOG_LEVEL", "info"))
    try:
        return args.handler(args)
    except SettingsError as error:
        print(f"healthcode: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

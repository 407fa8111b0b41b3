"""Wires the verification service: settings → pool, status and peer channels → recognition,
checkpoint, venues → servicers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services import areas
from services.codes import key_id_of
from services.codes.payload import p256_key_from_secret
from services.runtime.batches import BatchWriter
from services.runtime.clients import open_channel
from services.runtime.clock import Clock, SystemClock
from services.runtime.database import open_pool, open_read_pool
from services.runtime.errors import Unavailable
from services.runtime.jobs import every
from services.runtime.logs import get_logger
from services.runtime.server import App, Listener, ServiceSpec
from services.runtime.settings import Env, ServerSettings
from services.verification import servicer
from services.verification.servicer import VerificationServicer
from services.verification.recognition.checkpoint import Checkpoint
from services.verification.recognition import dcc_rules
from services.verification.clients import StatusContactReporter
from services.verification.recognition.exchange_root import ExchangeRoot, KeyNotCertified
from services.verification.recognition.exporter import Exporter, ExportPolicy
from services.verification.recognition.federation_tls import FederationTls
from services.verification.recognition.dcc_checkpoint import DccCheckpoint
from services.verification.recognition.dcc_repository import DccRepository
from services.verification.recognition.dcc_rules import Rule
from services.verification.recognition.fever_reports import FeverIntake, FeverOutbox
from services.verification.recognition.fever_repository import FeverRepository
from services.verification.recognition.dcc_trust import MAX_SIGNERS_PER_CALL, DccTrust, SignerInput, parse_gateway_trust_list
from services.verification.clients import LocalStatus
from services.verification.recognition.federation import PeerProvince, parse_peers
from services.verification.recognition.mutual import Recognition
from services.verification.recognition.repository import VerificationRepository
from services.verification.recognition.servicer import FederationServicer, RecognitionAdminServicer, RecognitionServicer
from services.verification.recognition.snapshots import DEFAULT_MANIFEST_REUSE_SECONDS, OfflineSnapshots
from services.verification.venues.book import VenueBook, VenuePolicy
from services.verification.venues.repository import VenueRepository
from services.verification.venues.servicer import VenueServicer

NAME = "verification"
SCHEMA = "verification"
MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_PORT = 50054
DEFAULT_FEDERATION_PORT = 50055

FEDERATION_LISTENER = "federation"

log = get_logger(__name__)


def exchange_key_from_secret(secret: bytes) -> ec.EllipticCurvePrivateKey:
    """The deployment's P-256 exchange key from its 32-byte secret."""
    return p256_key_from_secret(secret)


@dataclass(frozen=True)
class VerificationSettings:
    server: ServerSettings
    status_address: str
    # The provinces this deployment serves: their codes need no agreement here.
    own_provinces: frozenset[str]
    # Other provinces' deployments: {address: provinces it speaks for}.
    peers: dict[str, frozenset[str]]
    # HEALTHCODE_VERIFICATION_EXCHANGE_KEY: base64, 32 bytes; signs risk lists and snapshots.
    exchange_secret: bytes
    # HEALTHCODE_VERIFICATION_VENUE_KEY: base64, 32 bytes; authenticates rotating venue codes.
    venue_key: bytes
    clock_skew: timedelta
    venue_policy: VenuePolicy
    decision_retention: timedelta
    sync_interval: float
    purge_interval: float
    outbox_interval: float = 1.0
    # How often our status's keys are read (a revocation then reaches our checkpoints and, pushed, every peer).
    key_push_interval: float = 1.0
    # The federation port (FederationService alone, mutual TLS) and its credentials; None: no
    # federation (a deployment without peers needs none).
    federation_port: int = DEFAULT_FEDERATION_PORT
    federation_tls: FederationTls | None = None
    # HEALTHCODE_VERIFICATION_DCC_RULES: the provinces' DCC acceptance rules (default: the packaged ones).
    dcc_rules: tuple[Rule, ...] = ()
    # HEALTHCODE_VERIFICATION_DCC_TRUST_LIST: an EU gateway trust-list file imported at start-up, if any.
    dcc_trust_list: tuple[SignerInput, ...] = ()
    # The federation's exchange root and its certificate (DER) of our exchange key; required with peers.
    exchange_root: ExchangeRoot | None = None
    exchange_certificate: bytes = b""
    # The exporter: how often it follows status's colour changes (0: off), and how it batches them.
    export_interval: float = 1.0
    export_policy: ExportPolicy = ExportPolicy()
    # HEALTHCODE_VERIFICATION_MANIFEST_REUSE_SECONDS: an offline manifest is rebuilt at most this often.
    manifest_reuse_seconds: float = DEFAULT_MANIFEST_REUSE_SECONDS

    @classmethod
    def read(cls, env: Env) -> VerificationSettings:
        own = parse_provinces(env.text("VERIFICATION_PROVINCES", "all"))
        if not own:
            env.invalid("VERIFICATION_PROVINCES", "must be 'all' or GB/T 2260 province codes, comma-separated")
        try:
            peers = parse_peers(env.text("VERIFICATION_PEERS", ""))
        except ValueError:
            env.invalid("VERIFICATION_PEERS", "must look like 'PROVINCE=HOST:PORT,...'")
            peers = {}
        federation_tls = _federation_tls(env, own, bool(peers))
        settings = cls(
            server=ServerSettings.read(env, NAME, DEFAULT_PORT),
            status_address=env.text("STATUS_ADDRESS", "127.0.0.1:50053"),
            own_provinces=own, peers=peers,
            exchange_secret=env.secret_key("VERIFICATION_EXCHANGE_KEY"),
            venue_key=env.secret_key("VERIFICATION_VENUE_KEY"),
            clock_skew=timedelta(seconds=env.integer("VERIFICATION_CLOCK_SKEW_SECONDS", 30, minimum=0,
                                                     maximum=600)),
            venue_policy=VenuePolicy(
                rotation=timedelta(seconds=env.integer("VERIFICATION_VENUE_ROTATION_SECONDS", 300, minimum=30,
                                                       maximum=86400)),
                retention=timedelta(days=env.integer("VERIFICATION_VISIT_RETENTION_DAYS", 16, minimum=1,
                                                     maximum=60)),
                default_window=timedelta(minutes=60), max_window=timedelta(hours=12)),
            decision_retention=timedelta(days=env.integer("VERIFICATION_DECISION_RETENTION_DAYS", 30, minimum=1,
                                                          maximum=365)),
            sync_interval=env.number("VERIFICATION_SYNC_INTERVAL_SECONDS", 60.0, minimum=1.0),
            purge_interval=env.number("VERIFICATION_PURGE_INTERVAL_SECONDS", 600.0, minimum=1.0),
            federation_port=env.integer("VERIFICATION_FEDERATION_PORT", DEFAULT_FEDERATION_PORT, minimum=0,
                                        maximum=65535),
            federation_tls=federation_tls,
            outbox_interval=env.number("VERIFICATION_OUTBOX_INTERVAL_SECONDS", 1.0, minimum=0.05),
            key_push_interval=env.number("VERIFICATION_KEY_PUSH_INTERVAL_SECONDS", 1.0, minimum=0.05),
            export_interval=env.number("VERIFICATION_EXPORT_INTERVAL_SECONDS", 1.0, minimum=0.0),
            export_policy=ExportPolicy(
                batch_size=env.integer("VERIFICATION_EXPORT_BATCH_SIZE", 5000, minimum=1, maximum=10_000),
                max_delay=timedelta(seconds=env.number("VERIFICATION_EXPORT_MAX_DELAY_SECONDS", 1.0, minimum=0.0))),
            manifest_reuse_seconds=env.number("VERIFICATION_MANIFEST_REUSE_SECONDS", DEFAULT_MANIFEST_REUSE_SECONDS,
                                              minimum=0.0),
        )
        rules_path = env.text("VERIFICATION_DCC_RULES", str(dcc_rules.PACKAGED))
        try:
            settings = replace(settings, dcc_rules=dcc_rules.load_rules(Path(rules_path)))
        except (OSError, ValueError, TypeError) as error:
            env.invalid("VERIFICATION_DCC_RULES", f"must be a readable file of DCC rules ({error})")
        trust_list_path = env.text("VERIFICATION_DCC_TRUST_LIST", "")
        if trust_list_path:
            try:
                signers = parse_gateway_trust_list(Path(trust_list_path).read_text(encoding="utf-8"))
                settings = replace(settings, dcc_trust_list=tuple(signers))
            except (OSError, ValueError, TypeError) as error:
                env.invalid("VERIFICATION_DCC_TRUST_LIST", f"must be an EU gateway trust-list file ({error})")
        settings = _exchange_root(env, settings)
        env.check()
        return settings


def parse_provinces(text: str) -> frozenset[str]:
    """`all` or comma-separated GB/T 2260 province codes; empty when malformed."""
    if text == "all":
        return frozenset(f"{prefix}0000" for prefix in areas.PROVINCES)
    own = frozenset(code.strip() for code in text.split(",") if code.strip())
    return own if all(areas.is_province_code(code) for code in own) else frozenset()


def _federation_tls(env: Env, own: frozenset[str], has_peers: bool) -> FederationTls | None:
    """The federation CA, certificate and key from files (mounted secrets); required once there are peers,
    and the certificate must name every province this deployment serves."""
    names = ("VERIFICATION_FEDERATION_CA_FILE", "VERIFICATION_FEDERATION_CERT_FILE",
             "VERIFICATION_FEDERATION_KEY_FILE")
    paths = [env.text(name, "") for name in names]
    if not any(paths):
        if has_peers:
            env.invalid(names[0], "and the certificate and key are required when there are peers (mutual TLS)")
        return None
    if not all(paths):
        env.invalid(names[0], "the certificate and the key must be set together")
        return None
    try:
        tls = FederationTls.from_files(*(Path(path) for path in paths))
    except OSError:
        env.invalid(names[0], "or the certificate or the key cannot be read")
        return None
    if not own <= tls.provinces():
        env.invalid(names[1], "must name every province in HEALTHCODE_VERIFICATION_PROVINCES "
                    "(healthcode://federation/<code>)")
    return tls


def _exchange_root(env: Env, settings: VerificationSettings) -> VerificationSettings:
    """The exchange root and its certificate of our exchange key, from files (mounted secrets): required
    once there are peers; the certificate must be the root's, of our exchange key, for all our provinces."""
    names = ("VERIFICATION_EXCHANGE_ROOT_FILE", "VERIFICATION_EXCHANGE_CERT_FILE")
    paths = [env.text(name, "") for name in names]
    if not any(paths):
        if settings.peers:
            env.invalid(names[0], "and the exchange key's certificate are required when there are peers")
        return settings
    if not all(paths):
        env.invalid(names[0], "and the exchange key's certificate must be set together")
        return settings
    try:
        root = ExchangeRoot.from_pem(Path(paths[0]).read_bytes())
        certificate = x509.load_pem_x509_certificate(Path(paths[1]).read_bytes())
    except (OSError, ValueError):
        env.invalid(names[0], "or the exchange key's certificate cannot be read (PEM)")
        return settings
    der = certificate.public_bytes(serialization.Encoding.DER)
    try:
        certified = root.certified(der, datetime.now(UTC))
    except KeyNotCertified as refusal:
        env.invalid(names[1], refusal.message)
        return settings
    if settings.exchange_secret and certified.key_id != key_id_of(
            exchange_key_from_secret(settings.exchange_secret).public_key()):
        env.invalid(names[1], "must certify the key HEALTHCODE_VERIFICATION_EXCHANGE_KEY derives")
    if not settings.own_provinces <= certified.provinces:
        env.invalid(names[1], "must name every province in HEALTHCODE_VERIFICATION_PROVINCES")
    return replace(settings, exchange_root=root, exchange_certificate=der)


@dataclass(frozen=True)
class VerificationParts:
    recognition: Recognition
    checkpoint: Checkpoint
    venues: VenueBook
    dcc: DccCheckpoint
    fever_outbox: FeverOutbox
    exporter: Exporter


async def assemble(settings: VerificationSettings, clock: Clock | None = None) -> tuple[App, VerificationParts]:
    """The app and its parts (tests drive syncing and purging through the parts)."""
    clock = clock or SystemClock()
    pool = await open_pool(settings.server, NAME)
    read_pool = await open_read_pool(settings.server, NAME)
    status_channel = open_channel(settings.status_address)
    tls = settings.federation_tls
    peers = [PeerProvince(address, provinces, tls.channel_credentials())
             for address, provinces in settings.peers.items()] if tls is not None else []
    local_status = LocalStatus(status_channel)
    repository = VerificationRepository(pool, read_pool)
    recognition = Recognition(repository, local_status, peers, settings.own_provinces,
                              exchange_key_from_secret(settings.exchange_secret), settings.clock_skew, clock,
                              exchange_root=settings.exchange_root,
                              exchange_certificate=settings.exchange_certificate)
    exporter = Exporter(repository, local_status, recognition, clock, settings.export_policy)
    await recognition.reload()
    try:
        await recognition.sync()
    except Unavailable:
        log.warning("trust_sync_deferred", reason="status unreachable at start-up")
    dcc = DccCheckpoint(DccTrust(DccRepository(pool), clock), DccRepository(pool), settings.dcc_rules,
                        settings.clock_skew)
    signers = list(settings.dcc_trust_list)
    for start in range(0, len(signers), MAX_SIGNERS_PER_CALL):
        imported = await dcc.trust.import_signers(signers[start:start + MAX_SIGNERS_PER_CALL])
        log.info("dcc_trust_list_imported", stored=imported.stored, unchanged=imported.unchanged,
                 rejected=len(imported.rejections))
    fever_outbox = FeverOutbox(FeverRepository(pool), recognition, clock)
    fever_intake = FeverIntake(recognition, clock)
    # 50 ms: a COPY pays for itself from a few rows on (one row costs more than an INSERT), so the window is
    # long enough to gather ~20 at 400 decisions/s; answers never wait for it, and SIGTERM drains it.
    decisions = BatchWriter("verification_decisions", repository.record_decisions, max_delay=0.05)
    decisions.start()
    checkpoint = Checkpoint(recognition, repository, clock, dcc, fever_outbox, decisions)
    snapshots = OfflineSnapshots(recognition, dcc.trust, settings.manifest_reuse_seconds)
    venues = VenueBook(VenueRepository(pool), StatusContactReporter(status_channel), settings.venue_key,
                       settings.venue_policy, clock)

    async def sync() -> None:
        await recognition.sync()

    async def purge() -> None:
        await recognition.purge()
        await fever_outbox.purge()
        await venues.purge_visits()
        await repository.purge_decisions(clock.now() - settings.decision_retention)

    async def close() -> None:
        # The server drained its calls: the decisions they queued are written before the pool closes.
        await decisions.close(settings.server.grace_seconds)
        for peer in peers:
            await peer.close()
        await status_channel.close()
        await pool.close()
        if read_pool is not None:
            await read_pool.close()

    verification = VerificationServicer(RecognitionServicer(checkpoint, recognition, snapshots, dcc.trust),
                                        VenueServicer(venues))
    admin = RecognitionAdminServicer(recognition, dcc.trust)
    federation = FederationServicer(recognition, fever_intake)
    listeners = () if tls is None else (Listener(
        FEDERATION_LISTENER, settings.federation_port, tls.server_credentials(),
        lambda server: servicer.add_federation_to_server(server, federation)),)
    app = App(name=NAME, service_names=servicer.SERVICE_NAMES, listeners=listeners,
              # A code of any length is judged by the checker (PAYLOAD_TOO_LARGE is a DENY verdict).
              text_limits={servicer.VERIFY_PAYLOAD_FIELD: 8 * 1024 * 1024},
              add_to_server=lambda server: servicer.add_to_server(server, verification, admin),
              background=(every(settings.sync_interval, sync, "trust_sync"),
                          every(settings.purge_interval, purge, "verification_purge"),
                          every(settings.outbox_interval, recognition.outbox.run, "federation_outbox"),
                          every(settings.outbox_interval, fever_outbox.run, "federation_fever_reports"),
                          every(settings.key_push_interval, recognition.refresh_own_keys, "trust_key_push"),
                          *((every(settings.manifest_reuse_seconds, snapshots.refresh, "offline_manifest"),)
                            if settings.manifest_reuse_seconds > 0 else ()))
              + ((every(settings.export_interval, exporter.run, "federation_exporter"),)
                 if settings.export_interval and peers else ()),
              close=close)
    return app, VerificationParts(recognition, checkpoint, venues, dcc, fever_outbox, exporter)


SPEC = ServiceSpec(name=NAME, schema=SCHEMA, migrations=MIGRATIONS, port=DEFAULT_PORT,
                   settings=VerificationSettings, assemble=assemble)

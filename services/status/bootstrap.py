"""Wires the status service: settings → pool, peer channels → the use cases (deciding, intake, codes,
retention, casework, peer provinces' word, recomputation) → servicers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from services import areas
from services.runtime.clients import open_channel
from services.runtime.clock import Clock, SystemClock
from services.runtime.database import open_pool, open_read_pool
from services.runtime.jobs import every
from services.runtime.logs import get_logger
from services.runtime.sealing import Keyring
from services.runtime.server import App, ServiceSpec
from services.runtime.settings import Env, ServerSettings
from services.status import servicer
from services.status.audit import AuditChain
from services.status.casework import Casework, CaseworkPolicy
from services.status.codes import Codes
from services.status.deciding import Decider
from services.status.intake import Intake
from services.status.chain_check import ChainCheck
from services.status.listings import PeerProvinceWord
from services.status.clients import Identity, Itinerary
from services.status.memory import RecentStatuses
from services.status.names import NameFollower
from services.status.recompute import Recomputation
from services.status.renewal import Renewal
from services.status.repository import StatusRepository
from services.status.retention import Retention, RetentionPolicy
from services.status.rulebook import RuleBook
from services.status.rules import MAX_DOCUMENT_BYTES
from services.status.signing import Signer
from services.status.watch import StatusWatch

NAME = "status"
SCHEMA = "status"
MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_PORT = 50053
_RENEWAL_INTERVAL = 1.0  # seconds between renewal runs; the rate setting spreads the work
_LISTEN_INTERVAL = 1.0   # how often the notification connection is proved alive while memory is on

log = get_logger(__name__)


@dataclass(frozen=True)
class StatusSettings:
    server: ServerSettings
    identity_address: str
    itinerary_address: str
    # HEALTHCODE_STATUS_SEALING_KEYS: "id:base64,..." AES-256 keys for facts, check-ins,
    # appeals and private signing keys; the first is active.
    sealing_keys: dict[str, bytes]
    # HEALTHCODE_STATUS_AUDIT_KEY: base64, 32 bytes; chains the audit log. Keep it out of the database.
    audit_key: bytes
    code_lifetime: timedelta
    clock_skew: timedelta
    check_in_horizon: timedelta
    fact_retention: timedelta
    appeal_retention: timedelta
    audit_detail_retention: timedelta
    appeal_review_time: timedelta
    review_interval: float        # the scheduler of time-based changes
    follow_interval: float        # following itinerary's declarations; 0 turns it off
    stay_follow_interval: float   # following itinerary's newly risky stays; 0 turns it off
    name_follow_interval: float   # following identity's name corrections; 0 turns it off
    renewal_horizon: timedelta    # statuses lapsing this soon are renewed ahead when nothing changes; 0: off
    renewal_rate: float           # statuses per second a replica renews at most (spread over the horizon)
    reload_interval: float        # re-reading rule sets and signing keys published elsewhere
    purge_interval: float
    chain_check_interval: float   # the background check of the audit chain (chain_check.py)
    memory_entries: int           # stored statuses GetStatus may serve from memory; 0: none
    dev_signing_keys: bool        # `healthcode up`: a key for every province that has none
    # A province's next signing key starts signing only this long after it is made (peers learn it first:
    # pushed at once, pulled at their next sync), so no peer refuses its codes as KEY_UNKNOWN.
    key_publish_lead: timedelta = timedelta(seconds=120)

    @classmethod
    def read(cls, env: Env) -> StatusSettings:
        settings = cls(
            server=ServerSettings.read(env, NAME, DEFAULT_PORT),
            identity_address=env.text("IDENTITY_ADDRESS", "127.0.0.1:50051"),
            itinerary_address=env.text("ITINERARY_ADDRESS", "127.0.0.1:50052"),
            sealing_keys=env.secret_keyring("STATUS_SEALING_KEYS"),
            audit_key=env.secret_key("STATUS_AUDIT_KEY"),
            code_lifetime=timedelta(seconds=env.integer("STATUS_CODE_LIFETIME_SECONDS", 60, minimum=10,
                                                        maximum=600)),
            clock_skew=timedelta(seconds=env.integer("STATUS_CLOCK_SKEW_SECONDS", 300, minimum=0, maximum=3600)),
            key_publish_lead=timedelta(seconds=env.integer("STATUS_KEY_PUBLISH_LEAD_SECONDS", 120, minimum=0,
                                                           maximum=86400)),
            check_in_horizon=timedelta(days=env.integer("STATUS_CHECK_IN_RETENTION_DAYS", 30, minimum=15,
                                                        maximum=90)),
            fact_retention=timedelta(days=env.integer("STATUS_FACT_RETENTION_DAYS", 180, minimum=30,
                                                      maximum=3650)),
            appeal_retention=timedelta(days=env.integer("STATUS_APPEAL_RETENTION_DAYS", 365, minimum=30,
                                                        maximum=3650)),
            audit_detail_retention=timedelta(days=env.integer("STATUS_AUDIT_DETAIL_RETENTION_DAYS", 180, minimum=30,
                                                              maximum=3650)),
            appeal_review_time=timedelta(hours=env.integer("STATUS_APPEAL_REVIEW_HOURS", 72, minimum=1,
                                                           maximum=720)),
            review_interval=env.number("STATUS_REVIEW_INTERVAL_SECONDS", 30.0, minimum=0.1),
            follow_interval=env.number("STATUS_FOLLOW_INTERVAL_SECONDS", 5.0, minimum=0.0),
            stay_follow_interval=env.number("STATUS_STAY_FOLLOW_INTERVAL_SECONDS", 0.5, minimum=0.0),
            name_follow_interval=env.number("STATUS_NAME_FOLLOW_INTERVAL_SECONDS", 5.0, minimum=0.0),
            renewal_horizon=timedelta(minutes=env.integer("STATUS_RENEWAL_HORIZON_MINUTES", 180, minimum=0,
                                                          maximum=720)),
            renewal_rate=env.number("STATUS_RENEWAL_RATE", 1000.0, minimum=1.0),
            reload_interval=env.number("STATUS_RELOAD_INTERVAL_SECONDS", 30.0, minimum=0.1),
            purge_interval=env.number("STATUS_PURGE_INTERVAL_SECONDS", 600.0, minimum=1.0),
            chain_check_interval=env.number("STATUS_AUDIT_CHECK_INTERVAL_SECONDS", 60.0, minimum=1.0),
            memory_entries=env.integer("STATUS_MEMORY_ENTRIES", 100_000, minimum=0, maximum=10_000_000),
            dev_signing_keys=env.flag("STATUS_DEV_SIGNING_KEYS", False),
        )
        env.check()
        return settings


@dataclass(frozen=True)
class StatusParts:
    repository: StatusRepository
    rules: RuleBook
    signer: Signer
    identity: Identity
    itinerary: Itinerary
    decider: Decider
    intake: Intake
    codes: Codes
    retention: Retention
    casework: Casework
    recomputation: Recomputation
    watch: StatusWatch
    chain_check: ChainCheck
    recent: RecentStatuses
    peer_word: PeerProvinceWord
    names: NameFollower


async def build_parts(settings: StatusSettings, pool, identity: Identity, itinerary: Itinerary,
                      clock: Clock, read_pool=None) -> StatusParts:
    repository = StatusRepository(pool, read_pool)
    keyring = Keyring(settings.sealing_keys)
    rules = RuleBook(repository)
    await rules.seed_shipped(clock.now())
    await rules.reload()
    signer = Signer(repository, keyring, settings.code_lifetime, settings.key_publish_lead)
    await signer.reload(clock.now())
    recent = RecentStatuses(settings.memory_entries)
    chain = AuditChain(settings.audit_key)
    decider = Decider(repository, keyring, rules, chain, identity, itinerary, settings.check_in_horizon, clock,
                      recent)
    return StatusParts(
        repository=repository, rules=rules, signer=signer, identity=identity, itinerary=itinerary, decider=decider,
        intake=Intake(decider, repository, keyring, identity, itinerary, clock, settings.clock_skew),
        codes=Codes(decider, repository, signer, identity, clock),
        retention=Retention(decider, repository, chain, RetentionPolicy(
            settings.check_in_horizon, settings.fact_retention, settings.appeal_retention,
            settings.audit_detail_retention), clock),
        casework=Casework(decider, repository, identity, keyring, clock,
                          CaseworkPolicy(settings.appeal_review_time, settings.clock_skew)),
        recomputation=Recomputation(decider, repository, itinerary, first_look_back=timedelta(days=14)),
        watch=StatusWatch(settings.server.database_url, recent),
        chain_check=ChainCheck(repository, chain, clock), recent=recent,
        peer_word=PeerProvinceWord(decider, repository, identity, keyring, clock, settings.clock_skew),
        names=NameFollower(repository, identity, recent, first_look_back=timedelta(days=1)))


async def assemble(settings: StatusSettings, clock: Clock | None = None) -> tuple[App, StatusParts]:
    """The app and its parts (tests drive the scheduler and recomputation through the parts)."""
    clock = clock or SystemClock()
    pool = await open_pool(settings.server, NAME)
    read_pool = await open_read_pool(settings.server, NAME)
    identity_channel = open_channel(settings.identity_address)
    itinerary_channel = open_channel(settings.itinerary_address)
    parts = await build_parts(settings, pool, Identity(identity_channel), Itinerary(itinerary_channel), clock,
                              read_pool)
    recomputation = parts.recomputation
    if settings.dev_signing_keys:
        await parts.signer.ensure_key_per_province(sorted(f"{prefix}0000" for prefix in areas.PROVINCES),
                                                   clock.now())

    async def reload() -> None:
        await parts.rules.reload()
        await parts.signer.reload(clock.now())

    async def follow_and_recompute() -> None:
        await recomputation.follow_declarations()
        await recomputation.work()

    async def log_audit_heads() -> None:
        # Recorded outside the database: cutting a chain's tail then shows against these lines, each head
        # as `verify-audit --expect-head` takes it (empty chains left out).
        heads = await parts.repository.audit_heads()
        log.info("audit_chain_heads", heads=[f"{seq}:{entry_hash.hex()}"
                                             for _, (seq, entry_hash) in sorted(heads.items()) if seq])

    background = [every(settings.reload_interval, reload, "status_reload"),
                  every(settings.review_interval, parts.retention.review_due, "status_review"),
                  every(settings.purge_interval, parts.retention.purge, "status_purge"),
                  every(settings.purge_interval, log_audit_heads, "audit_chain_heads"),
                  every(settings.chain_check_interval, parts.chain_check.run, "audit_chain_check")]
    if settings.memory_entries > 0:
        background.append(every(_LISTEN_INTERVAL, parts.watch.keep_listening, "status_listen", at_start=True))
    if settings.renewal_horizon > timedelta(0):
        renewal = Renewal(parts.decider, settings.renewal_horizon, settings.renewal_rate, _RENEWAL_INTERVAL)
        background.append(every(_RENEWAL_INTERVAL, renewal.run, "status_renewal"))
    if settings.name_follow_interval > 0:
        background.append(every(settings.name_follow_interval, lambda: parts.names.follow(clock.now()),
                                "status_name_follow"))
    if settings.stay_follow_interval > 0:
        background.append(every(settings.stay_follow_interval, recomputation.follow_stays, "status_stay_follow"))
    if settings.follow_interval > 0:
        background.append(every(settings.follow_interval, follow_and_recompute, "status_recompute"))
    else:
        background.append(every(settings.review_interval, recomputation.work, "status_recompute"))

    async def close() -> None:
        await parts.watch.close()
        await identity_channel.close()
        await itinerary_channel.close()
        await pool.close()
        if read_pool is not None:
            await read_pool.close()

    return App(name=NAME, service_names=servicer.SERVICE_NAMES,
               # A rule set is a JSON document the rule book checks itself (size in bytes, schema).
               text_limits={servicer.RULE_SET_DOCUMENT_FIELD: MAX_DOCUMENT_BYTES},
               add_to_server=lambda server: servicer.add_to_server(
                   servicer.StatusServicer(parts.decider, parts.intake, parts.codes, parts.rules, parts.casework,
                                           parts.watch, parts.peer_word),
                   servicer.StatusAdminServicer(parts.rules, parts.signer, clock, parts.casework, recomputation),
                   server),
               background=tuple(background), close=close), parts


SPEC = ServiceSpec(name=NAME, schema=SCHEMA, migrations=MIGRATIONS, port=DEFAULT_PORT,
                   settings=StatusSettings, assemble=assemble)

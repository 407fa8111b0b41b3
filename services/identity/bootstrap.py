"""Wires the identity service: settings → pool → repository → registry → servicers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from services.identity import servicer
from services.identity.attestation import AttestationPolicy
from services.identity.documents import FEDERATION_PURPOSE, load_reference_data
from services.identity.registry import PersonRegistry
from services.identity.repository import IdentityRepository
from services.runtime.clock import Clock, SystemClock
from services.runtime.database import open_pool
from services.runtime.jobs import every
from services.runtime.sealing import Keyring, LookupHasher
from services.runtime.server import App, ServiceSpec
from services.runtime.settings import Env, ServerSettings

NAME = "identity"
SCHEMA = "identity"
MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_PORT = 50051


@dataclass(frozen=True)
class IdentitySettings:
    server: ServerSettings
    # HEALTHCODE_IDENTITY_SEALING_KEYS: "id:base64,..." AES-256 keys, the first active.
    sealing_keys: dict[str, bytes]
    # HEALTHCODE_IDENTITY_LOOKUP_KEY: base64, 32 bytes, for document and name hashes.
    lookup_key: bytes
    # HEALTHCODE_FEDERATION_KEY: base64, 32 bytes, shared by every province of the federation,
    # for the person references they exchange (documents.federation_reference).
    federation_key: bytes
    attestation_max_age: timedelta
    attestation_clock_skew: timedelta
    nonce_purge_interval: float

    @classmethod
    def read(cls, env: Env) -> IdentitySettings:
        settings = cls(
            server=ServerSettings.read(env, NAME, DEFAULT_PORT),
            sealing_keys=env.secret_keyring("IDENTITY_SEALING_KEYS"),
            lookup_key=env.secret_key("IDENTITY_LOOKUP_KEY"),
            federation_key=env.secret_key("FEDERATION_KEY"),
            attestation_max_age=timedelta(seconds=env.integer("IDENTITY_ATTESTATION_MAX_AGE_SECONDS", 300,
                                                              minimum=10, maximum=86400)),
            attestation_clock_skew=timedelta(seconds=env.integer("IDENTITY_ATTESTATION_CLOCK_SKEW_SECONDS", 30,
                                                                 minimum=0, maximum=600)),
            nonce_purge_interval=env.number("IDENTITY_NONCE_PURGE_INTERVAL_SECONDS", 600.0, minimum=1.0),
        )
        env.check()
        return settings


def build_registry(settings: IdentitySettings, repository: IdentityRepository, clock: Clock) -> PersonRegistry:
    return PersonRegistry(
        repository, Keyring(settings.sealing_keys),
        document_hasher=LookupHasher(settings.lookup_key, "identity.document"),
        name_hasher=LookupHasher(settings.lookup_key, "identity.name"),
        federation_hasher=LookupHasher(settings.federation_key, FEDERATION_PURPOSE),
        policy=AttestationPolicy(settings.attestation_max_age, settings.attestation_clock_skew), clock=clock)


async def assemble(settings: IdentitySettings, clock: Clock | None = None) -> tuple[App, PersonRegistry]:
    """The app and its part (the registry), as every service's bootstrap assembles them."""
    await asyncio.to_thread(load_reference_data)
    pool = await open_pool(settings.server, NAME)
    registry = build_registry(settings, IdentityRepository(pool), clock or SystemClock())
    # Spent nonces are kept only while their attestation could still be accepted.
    purge_nonces = every(settings.nonce_purge_interval, registry.purge_expired_nonces, "purge_nonces")
    # Sessions past their end refresh no more; they go on the same schedule.
    purge_sessions = every(settings.nonce_purge_interval, registry.purge_expired_sessions, "purge_sessions")
    return App(name=NAME, service_names=servicer.SERVICE_NAMES,
               add_to_server=lambda server: servicer.add_to_server(registry, server),
               background=(purge_nonces, purge_sessions), close=pool.close), registry


SPEC = ServiceSpec(name=NAME, schema=SCHEMA, migrations=MIGRATIONS, port=DEFAULT_PORT,
                   settings=IdentitySettings, assemble=assemble)


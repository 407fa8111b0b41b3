"""Wires the itinerary service: settings → pool, identity channel → repository → ledger → servicer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from services.itinerary import servicer
from services.itinerary.ledger import ItineraryLedger
from services.itinerary.model import StayPolicy
from services.itinerary.clients import RegisteredPersons
from services.itinerary.repository import ItineraryRepository
from services.runtime.clients import open_channel
from services.runtime.clock import Clock, SystemClock
from services.runtime.database import open_pool
from services.runtime.jobs import every
from services.runtime.server import App, ServiceSpec
from services.runtime.settings import Env, ServerSettings

NAME = "itinerary"
SCHEMA = "itinerary"
MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_PORT = 50052


@dataclass(frozen=True)
class ItinerarySettings:
    server: ServerSettings
    identity_address: str
    policy: StayPolicy
    max_batch_rows: int
    maintenance_interval: float

    @classmethod
    def read(cls, env: Env) -> ItinerarySettings:
        settings = cls(
            server=ServerSettings.read(env, NAME, DEFAULT_PORT),
            identity_address=env.text("IDENTITY_ADDRESS", "127.0.0.1:50051"),
            policy=StayPolicy(
                window=timedelta(days=env.integer("ITINERARY_WINDOW_DAYS", 14, minimum=1, maximum=60)),
                grace=timedelta(days=env.integer("ITINERARY_GRACE_DAYS", 2, minimum=0, maximum=30)),
                minimum_stay=timedelta(minutes=env.integer("ITINERARY_MINIMUM_STAY_MINUTES", 240, minimum=0,
                                                           maximum=24 * 60)),
                clock_skew=timedelta(seconds=env.integer("ITINERARY_CLOCK_SKEW_SECONDS", 300, minimum=0,
                                                         maximum=3600))),
            max_batch_rows=env.integer("ITINERARY_MAX_BATCH_ROWS", 2_000_000, minimum=1, maximum=10_000_000),
            maintenance_interval=env.number("ITINERARY_MAINTENANCE_INTERVAL_SECONDS", 3600.0, minimum=1.0),
        )
        env.check()
        return settings


async def assemble(settings: ItinerarySettings, clock: Clock | None = None) -> tuple[App, ItineraryLedger]:
    """The app and its part (the ledger), as every service's bootstrap assembles them."""
    clock = clock or SystemClock()
    # Stays are day partitions: a person's exposures span the 17 of a 14-day window, and re-planning
    # that statement for each call cost 4x what one plan made once costs to run (docs/benchmarks.md).
    pool = await open_pool(settings.server, NAME, generic_plans=True)
    identity_channel = open_channel(settings.identity_address)
    ledger = ItineraryLedger(ItineraryRepository(pool), RegisteredPersons(identity_channel), settings.policy, clock,
                             settings.max_batch_rows)
    # Today's partitions must exist before the first batch arrives.
    await ledger.maintain_partitions()

    async def close() -> None:
        await identity_channel.close()
        await pool.close()

    return App(name=NAME, service_names=servicer.SERVICE_NAMES,
               add_to_server=lambda server: servicer.add_to_server(ledger, server),
               background=(every(settings.maintenance_interval, ledger.maintain_partitions, "stay_partitions"),),
               close=close), ledger


SPEC = ServiceSpec(name=NAME, schema=SCHEMA, migrations=MIGRATIONS, port=DEFAULT_PORT,
                   settings=ItinerarySettings, assemble=assemble)

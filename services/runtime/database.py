"""The asyncpg pool and the versioned SQL migrations of each service's schema."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.runtime import tracing
from services.runtime.logs import get_logger
from services.runtime.settings import ServerSettings

log = get_logger(__name__)

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


async def _reset_if_dirty(connection: asyncpg.Connection) -> None:
    # asyncpg's default reset costs a round trip per release (LIMITS.md); our code
    # keeps no session state, so only an abandoned transaction needs undoing.
    if connection.is_in_transaction():
        try:
            await connection.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - a broken connection: drop it, never hide the call's own error
            connection.terminate()


class TracedConnection(asyncpg.Connection):
    """The pool's connections: each call is a span when tracing is on (the statement, never its
    arguments); when it is off, one flag read on the way to asyncpg's own method."""

    async def _traced(self, operation: str, query: str | None, call):
        span = tracing.database_span(operation, query)
        try:
            return await call
        except BaseException as error:
            # The type only: a driver's message may quote a query's arguments.
            span.set_status(tracing.Status(tracing.StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            span.end()

    async def execute(self, query, *args, timeout=None):
        if not tracing.ENABLED:
            return await super().execute(query, *args, timeout=timeout)
        return await self._traced("execute", query, super().execute(query, *args, timeout=timeout))

    async def executemany(self, command, args, *, timeout=None):
        if not tracing.ENABLED:
            return await super().executemany(command, args, timeout=timeout)
        return await self._traced("executemany", command, super().executemany(command, args, timeout=timeout))

    async def fetch(self, query, *args, timeout=None, record_class=None):
        if not tracing.ENABLED:
            return await super().fetch(query, *args, timeout=timeout, record_class=record_class)
        return await self._traced("fetch", query, super().fetch(query, *args, timeout=timeout,
                                                                 record_class=record_class))

    async def fetchval(self, query, *args, column=0, timeout=None):
        if not tracing.ENABLED:
            return await super().fetchval(query, *args, column=column, timeout=timeout)
        return await self._traced("fetchval", query, super().fetchval(query, *args, column=column, timeout=timeout))

    async def fetchrow(self, query, *args, timeout=None, record_class=None):
        if not tracing.ENABLED:
            return await super().fetchrow(query, *args, timeout=timeout, record_class=record_class)
        return await self._traced("fetchrow", query, super().fetchrow(query, *args, timeout=timeout,
                                                                       record_class=record_class))

    async def copy_records_to_table(self, table_name, **options):
        if not tracing.ENABLED:
            return await super().copy_records_to_table(table_name, **options)
        return await self._traced("copy", f"COPY {table_name}", super().copy_records_to_table(table_name, **options))


async def open_pool(settings: ServerSettings, application: str, *, generic_plans: bool = False) -> asyncpg.Pool:
    """The pool a service's settings describe; its connections name the service in pg_stat_activity.

    With `generic_plans`, every prepared statement runs one plan made once (plan_cache_mode =
    force_generic_plan) instead of PostgreSQL choosing, per execution, to plan again for the values: for a
    schema of day partitions, planning a statement that spans them costs more than running it.
    """
    return await _pool(settings, settings.database_url, f"healthcode-{application}",
                       {"plan_cache_mode": "force_generic_plan"} if generic_plans else {})


async def open_read_pool(settings: ServerSettings, application: str) -> asyncpg.Pool | None:
    """A pool on the read replica when HEALTHCODE_DATABASE_READ_URL names one, else None (read the primary).
    Its connections show as `healthcode-<service>-read`."""
    if not settings.read_database_url:
        return None
    return await _pool(settings, settings.read_database_url, f"healthcode-{application}-read")


async def _pool(settings: ServerSettings, url: str, application_name: str,
                server_settings: Mapping[str, str] | None = None) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        reset=_reset_if_dirty,
        connection_class=TracedConnection,
        server_settings={"application_name": application_name, "timezone": "UTC", **(server_settings or {})},
    )
    assert pool is not None
    return pool


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(Exception):
    """An applied migration was edited, or the migration files are malformed."""


def load_migrations(directory: Path) -> list[Migration]:
    """Reads `NNNN_name.sql` files in version order; gaps and duplicates are refused."""
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if not match:
            raise MigrationError(f"migration file name must be NNNN_name.sql: {path.name}")
        migrations.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations in {directory} must be numbered 0001, 0002, ... without gaps")
    return migrations


async def migrate(url: str, schema: str, directory: Path) -> list[int]:
    """Applies the pending migrations of one schema; returns the versions applied.

    Replicas starting together serialise on an advisory lock; each migration runs
    in its own transaction with its bookkeeping row, so a crash leaves the schema
    at a whole version. Running it again applies nothing.
    """
    migrations = load_migrations(directory)
    connection = await asyncpg.connect(url, server_settings={"application_name": f"healthcode-migrate-{schema}"})
    try:
        lock_key = int.from_bytes(hashlib.sha256(f"healthcode.migrate.{schema}".encode()).digest()[:8], "big",
                                  signed=True)
        await connection.execute("SELECT pg_advisory_lock($1)", lock_key)
        try:
            return await _apply_pending(connection, schema, migrations)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", lock_key)
    finally:
        await connection.close()


async def _apply_pending(connection: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[int]:
    quoted = _quote_identifier(schema)
    await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
    await connection.execute(
        f"""CREATE TABLE IF NOT EXISTS {quoted}.schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_time timestamptz NOT NULL DEFAULT now())"""
    )
    applied = {row["version"]: row["checksum"]
               for row in await connection.fetch(f"SELECT version, checksum FROM {quoted}.schema_migrations")}
    done: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationError(f"{schema} migration {migration.version:04d} was edited after it was applied")
            continue
        async with connection.transaction():
            await connection.execute(migration.sql)
            await connection.execute(
                f"INSERT INTO {quoted}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version, migration.name, migration.checksum)
        log.info("migration_applied", schema=schema, version=migration.version, name=migration.name)
        done.append(migration.version)
    return done


def _quote_identifier(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise MigrationError(f"schema name must be a plain lower-case identifier: {name!r}")
    return f'"{name}"'

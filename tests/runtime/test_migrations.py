"""Migrations: applied once, in order, safe to repeat and safe with replicas starting together."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from services.runtime.database import MigrationError, load_migrations, migrate


@pytest.fixture
def migrations(tmp_path):
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE {schema}.things (id int PRIMARY KEY);")
    (tmp_path / "0002_second.sql").write_text("ALTER TABLE {schema}.things ADD COLUMN name text;")
    return tmp_path


def _fill(directory, schema):
    for path in directory.glob("*.sql"):
        path.write_text(path.read_text().replace("{schema}", schema))


async def test_pending_migrations_are_applied_in_order_and_only_once(database_url, db, migrations):
    schema = f"m_{secrets.token_hex(4)}"
    _fill(migrations, schema)

    first = await migrate(database_url, schema, migrations)
    second = await migrate(database_url, schema, migrations)

    assert first == [1, 2]
    assert second == []
    assert await db.fetchval(f"SELECT count(*) FROM {schema}.schema_migrations") == 2


async def test_replicas_migrating_at_once_apply_each_migration_once(database_url, db, migrations):
    schema = f"m_{secrets.token_hex(4)}"
    _fill(migrations, schema)

    results = await asyncio.gather(*(migrate(database_url, schema, migrations) for _ in range(4)))

    assert sorted(map(tuple, results)) == [(), (), (), (1, 2)]


async def test_a_failing_migration_leaves_the_schema_at_the_last_whole_version(database_url, db, migrations):
    schema = f"m_{secrets.token_hex(4)}"
    _fill(migrations, schema)
    (migrations / "0003_broken.sql").write_text(
        f"ALTER TABLE {schema}.things ADD COLUMN extra int; SELECT 1/0;")

    with pytest.raises(Exception, match="division by zero"):
        await migrate(database_url, schema, migrations)

    assert await db.fetchval(f"SELECT max(version) FROM {schema}.schema_migrations") == 2
    columns = await db.fetch("SELECT column_name FROM information_schema.columns WHERE table_schema = $1", schema)
    assert "extra" not in {c["column_name"] for c in columns}


async def test_an_applied_migration_that_was_edited_is_refused(database_url, migrations):
    schema = f"m_{secrets.token_hex(4)}"
    _fill(migrations, schema)
    await migrate(database_url, schema, migrations)
    (migrations / "0001_first.sql").write_text(f"CREATE TABLE {schema}.things (id bigint PRIMARY KEY);")

    with pytest.raises(MigrationError, match="edited"):
        await migrate(database_url, schema, migrations)


def test_migration_files_must_be_numbered_without_gaps(tmp_path):
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")

    with pytest.raises(MigrationError, match="without gaps"):
        load_migrations(tmp_path)


def test_migration_files_must_be_named_by_version(tmp_path):
    (tmp_path / "first.sql").write_text("SELECT 1;")

    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        load_migrations(tmp_path)

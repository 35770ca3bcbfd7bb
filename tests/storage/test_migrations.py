"""The Alembic migrations build exactly the schema that ``storage/tables.py`` describes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lookout.storage.database import migrate, open_database, schema_is_current
from lookout.storage.tables import metadata

pytestmark = pytest.mark.integration


def test_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    db = open_database(database_url)
    try:
        migrate(db)
        assert schema_is_current(db)
        with db.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(ctx, metadata)
        assert diff == [], f"migrations and tables.py disagree: {diff}"
    finally:
        db.dispose()


def test_every_migration_downgrades_to_nothing_and_back(database_url: str) -> None:
    db = open_database(database_url)
    try:
        migrate(db)
        from alembic import command

        from lookout.storage.database import _alembic_config

        with db.begin() as conn:
            command.downgrade(_alembic_config(conn), "base")
        assert set(sa.inspect(db).get_table_names()) <= {"alembic_version"}
        migrate(db)
        assert schema_is_current(db)
    finally:
        db.dispose()


def test_the_migrations_form_one_line_numbered_in_order() -> None:
    """Two migrations that name the same parent (two people picked the next number at once)
    make two heads, and every site then fails to start: caught here, before it lands."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from lookout.storage.database import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(cfg)
    assert len(scripts.get_heads()) == 1, scripts.get_heads()
    chain = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    assert chain == [f"{n:04d}" for n in range(1, len(chain) + 1)]

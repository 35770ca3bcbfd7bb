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

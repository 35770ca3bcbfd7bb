"""The Alembic migrations build exactly the schema that ``storage/tables.py`` describes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lookout import auth
from lookout.sites.site import init_site
from lookout.storage import accounts
from lookout.storage.database import (
    head_revision,
    migrate,
    open_database,
    schema_is_current,
    schema_template,
)
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


def test_a_site_made_from_the_schema_template_has_the_whole_schema(tmp_path: Path) -> None:
    template = schema_template(tmp_path)
    assert schema_template(tmp_path) == template  # made once per revision
    assert template.name == f"schema-{head_revision()}.db"
    site_dir = tmp_path / "site"
    created = init_site(site_dir, listen="127.0.0.1:18080", template=template)
    db_file = site_dir / "lookout.db"
    assert stat.S_IMODE(db_file.stat().st_mode) == 0o600
    db = open_database(f"sqlite:///{db_file}")
    try:
        assert schema_is_current(db)
        with db.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == [], f"the template and tables.py disagree: {diff}"
        tokens = accounts.active_tokens(db)
        assert {t.user for t in tokens} == {"admin"}
        assert auth.hash_token(created.token) in {t.hash for t in tokens}
    finally:
        db.dispose()

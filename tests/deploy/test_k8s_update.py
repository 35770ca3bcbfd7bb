"""The update Job's command, ``lookout migrate``: it brings an empty or older database to the
current schema, a second run changes nothing, and a run that dies half-way leaves PostgreSQL as
it was (one transaction), so the Job can be killed and started again at any point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from lookout.cli.main import app
from lookout.storage.database import current_revision, migrate, open_database


def _migrate(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str]:
    result = CliRunner(env={"LOOKOUT_DATABASE_URL": None, **(env or {})}).invoke(
        app, ["migrate", *args]
    )
    return result.exit_code, result.output


def test_migrate_twice_on_sqlite_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lookout.db'}"
    code, out = _migrate(env={"LOOKOUT_DATABASE_URL": url})
    assert code == 0, out
    db = open_database(url)
    head = current_revision(db)
    db.dispose()
    assert head is not None
    assert f"from empty to {head}" in out
    code, out = _migrate("--database-url", url)
    assert code == 0
    assert f"is current ({head})" in out


def test_migrate_reads_the_site_directory(tmp_path: Path) -> None:
    code, out = _migrate(str(tmp_path / "nowhere"))
    assert code == 2
    assert "lookout init DIR" in out
    code, out = _migrate()
    assert code == 2
    assert "--database-url" in out


def test_a_migration_that_dies_half_way_leaves_postgresql_untouched(pg_url: str) -> None:
    db = open_database(pg_url)
    statements = 0

    def die_half_way(*_: Any) -> None:
        nonlocal statements
        statements += 1
        if statements == 40:
            raise RuntimeError("killed")

    sa.event.listen(db, "before_cursor_execute", die_half_way)
    with pytest.raises(RuntimeError, match="killed"):
        migrate(db)
    sa.event.remove(db, "before_cursor_execute", die_half_way)
    assert current_revision(db) is None
    assert sa.inspect(db).get_table_names() == []
    db.dispose()
    code, out = _migrate("--database-url", pg_url)
    assert code == 0, out
    assert "from empty to" in out

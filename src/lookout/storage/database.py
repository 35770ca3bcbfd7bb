"""Opening a site database (SQLite in WAL mode, or PostgreSQL) and migrating it with Alembic."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lookout.errors import StorageError

if TYPE_CHECKING:  # Alembic is imported when a schema must change, not at every start
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.MULTILINE)
SQLITE_FILES = ("", "-wal", "-shm", "-journal")
"""The database file and the files SQLite keeps beside it."""


def private_sqlite_file(url: str) -> None:
    """Make the file of a SQLite ``url`` readable by its owner only: create it 0600 before
    SQLite does (SQLite gives ``-wal``, ``-shm`` and ``-journal`` the mode of the database
    file), and tighten those that an older Lookout left looser. In-memory databases pass."""
    name = sa.make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # made meanwhile; tightened below
        except FileNotFoundError:
            return  # no such directory: SQLite says so when it opens
    for suffix in SQLITE_FILES:
        other = path.with_name(path.name + suffix)
        try:
            if other.stat().st_mode & 0o077:
                os.chmod(other, 0o600)
        except FileNotFoundError:
            continue


def open_database(
    url: str, *, synchronous: str = "NORMAL", cache_kib: int = 8192, busy_timeout: float = 30.0
) -> sa.Engine:
    """Create an engine. SQLite gets WAL, a busy timeout (seconds a write waits for another
    writer) and ``synchronous`` (NORMAL keeps every commit across a process crash; FULL also
    across power loss), a page cache of at most ``cache_kib`` per connection; its files are
    0600."""
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout},
            pool_size=8,
            max_overflow=8,
            poolclass=sa.QueuePool,
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
            cur.close()

        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _alembic_config(conn: sa.Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migrations, read once per process (Alembic loads every
    migration script to know it; the site manager's supervisor reads it before it forks its
    sites, so they share what it loaded)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a schema at the head already is left alone without
    running Alembic's upgrade (a site's every start; when the newest script names the head,
    without importing Alembic, 0.1-0.4 s of a start)."""
    try:
        with engine.begin() as conn:
            if revision == "head" and (head := newest_script()) and _stamped(conn) == head:
                return
            from alembic import command
            from alembic.runtime.migration import MigrationContext

            if revision == "head" and (
                MigrationContext.configure(conn).get_current_revision() == head_revision()
            ):
                return
            command.upgrade(_alembic_config(conn), revision)
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"migration failed: {exc}") from exc


@functools.cache
def newest_script() -> str | None:
    """The revision of the last migration script by name (``NNNN_what.py``, numbered in
    order), read without Alembic; None if it names none. ``tests/storage/test_schema_head.py``
    checks that it is Alembic's head."""
    scripts = sorted(p for p in (MIGRATIONS / "versions").glob("*.py") if p.stem[:1].isdigit())
    if not scripts:
        return None
    found = _REVISION.search(scripts[-1].read_text(encoding="utf-8"))
    return found.group(1) if found else None


def _stamped(conn: sa.Connection) -> str | None:
    """The revision in Alembic's version table, read without Alembic (None: no table, or
    not exactly one revision)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def schema_template(directory: Path) -> Path:
    """An empty SQLite database at the head revision, in ``directory`` (made once per
    revision): new sites start from a copy of it instead of running every migration (the
    site manager's ``sites create``)."""
    path = directory / f"schema-{head_revision()}.db"
    if path.exists():
        return path
    tmp = directory / f".schema-{os.getpid()}.db"
    for suffix in SQLITE_FILES:
        tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)
    db = open_database(f"sqlite:///{tmp}")
    try:
        migrate(db)
    finally:
        db.dispose()  # the last connection closed: the WAL is folded into the file
    os.replace(tmp, path)
    return path


def current_revision(engine: sa.Engine) -> str | None:
    """The schema's Alembic revision (None: an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revisions() -> list[str]:
    """Every schema revision this version of Lookout knows, oldest first (its last: the head)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]


def schema_is_current(engine: sa.Engine) -> bool:
    return current_revision(engine) == head_revision()

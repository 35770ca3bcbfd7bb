"""Opening a site database (SQLite in WAL mode, or PostgreSQL) and migrating it with Alembic."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lookout.errors import StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
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
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migrations, read once per process (Alembic loads every
    migration script to know it; the site manager's supervisor reads it before it forks its
    sites, so they share what it loaded)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a schema at the head already is left alone without
    running Alembic's upgrade (a site's every start)."""
    try:
        with engine.begin() as conn:
            if revision == "head" and (
                MigrationContext.configure(conn).get_current_revision() == head_revision()
            ):
                return
            command.upgrade(_alembic_config(conn), revision)
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"migration failed: {exc}") from exc


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
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revisions() -> list[str]:
    """Every schema revision this version of Lookout knows, oldest first (its last: the head)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]


def schema_is_current(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current == head_revision()

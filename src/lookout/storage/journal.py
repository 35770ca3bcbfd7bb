"""The journal: every accepted input, appended before its answer, on a connection of its own.

Appends never wait for a checkpoint. On PostgreSQL the ``journal`` table of the site database
takes appends on this connection while a checkpoint writes the snapshot on another (row
locks only). SQLite has one writer per file, so a site on a SQLite file keeps its journal in
a second file beside the database (``lookout.journal.db``, same mode and pragmas): a
checkpoint that writes for a second holds the database's lock, not the journal's.

Sequence numbers are given by the runner when an input is applied, so a checkpoint knows the
position it covers before the entries up to it are written. Entries a checkpoint covers are
dropped later, with the next append (``drop_through``); start-up ignores them until then.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from lookout.errors import StorageError
from lookout.storage import tables as t

LOCK_LOST = "lost the site lock (its database connection ended): another process may be active"


class Fenced(StorageError):
    """This process lost the site lock, or another one started the site since: it must not
    write (:mod:`lookout.storage.sitelock`)."""


Entry = tuple[int, float, bytes]
"""``(seq, at, body)``"""

SUFFIX = ".journal.db"


def journal_file(url: sa.URL) -> Path | None:
    """Where the journal of a SQLite file database lives; None when it shares the database
    (PostgreSQL, in-memory SQLite)."""
    if not url.drivername.startswith("sqlite"):
        return None
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name)
    return path.with_name(path.stem + SUFFIX)


class Journal:
    """Appends, reads and drops journal entries. ``append`` is called from one thread at a
    time (the runner's journal writer, or its event loop for small SQLite appends)."""

    def __init__(self, db: sa.Engine, own: sa.Engine | None) -> None:
        self.db = own or db
        """The engine holding the journal table."""
        self.separate = own is not None
        """The journal lives in a file of its own (SQLite)."""
        self._conn: sa.Connection | None = None
        self.locked = False
        """``_conn`` holds the site lock: when it is lost, no other connection may append."""
        if own is not None:
            with own.begin() as conn:
                t.journal.create(conn, checkfirst=True)

    def adopt(self, conn: sa.Connection) -> None:
        """Append through ``conn`` (it holds the site lock) and through no other: a session
        that ended cannot commit, and it is not replaced (this process's memory may be older
        than what another one wrote since). That is the fence."""
        self._conn = conn
        self.locked = True

    def _connection(self) -> sa.Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            if self.locked:
                raise Fenced(LOCK_LOST)
            self._conn = self.db.connect()
        return self._conn

    def ping(self) -> None:
        """A round trip on the appending connection (with the lock: its session is alive)."""
        conn = self._connection()
        try:
            conn.exec_driver_sql("SELECT 1")
            conn.rollback()
        except sa.exc.SQLAlchemyError as exc:
            raise Fenced(f"{LOCK_LOST}: {exc}") from exc

    def read_after(self, seq: int) -> list[Entry]:
        with self.db.connect() as conn:
            return _read(conn, seq)

    def append(self, entries: Sequence[Entry], drop_through: int = 0) -> None:
        """Write ``entries`` in one transaction, and drop those up to ``drop_through`` (covered
        by a committed checkpoint) in the same one."""
        if not entries and not drop_through:
            return
        conn = self._connection()
        try:
            with conn.begin():
                if entries:
                    conn.execute(
                        t.journal.insert(),
                        [{"seq": seq, "at": at, "body": body} for seq, at, body in entries],
                    )
                if drop_through:
                    conn.execute(sa.delete(t.journal).where(t.journal.c.seq <= drop_through))
        except (sa.exc.SQLAlchemyError, ValueError, TypeError, OverflowError) as exc:
            if not self.locked:
                self._conn = None
                conn.close()
            elif conn.invalidated or conn.closed:
                raise Fenced(f"{LOCK_LOST}: {exc}") from exc
            # else: the lock's connection is still good (a value was refused): keep it
            raise StorageError(f"could not write to the site database: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.separate:
            self.db.dispose()


def _read(conn: sa.Connection, seq: int) -> list[Entry]:
    rows = conn.execute(
        sa.select(t.journal.c.seq, t.journal.c.at, t.journal.c.body)
        .where(t.journal.c.seq > seq)
        .order_by(t.journal.c.seq)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def read_shared(conn: sa.Connection, seq: int) -> list[Entry]:
    """Entries after ``seq`` in the site database's own ``journal`` table: where an older
    version (one file) left them."""
    return _read(conn, seq)

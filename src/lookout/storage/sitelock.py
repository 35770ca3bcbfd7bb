"""The site lock on PostgreSQL: which ``lookout serve`` process is the active one.

Two processes on the same settings and database: the one whose connection holds the
session-level advisory lock of the site is active; the other polls for it. The lock is held by
the connection that appends the journal (:meth:`SiteStore.adopt_writer`), so the fence is
structural for every answered input: the server releases a session's advisory locks only when
the session ends, and a connection whose session ended cannot commit anything. A journal that
lost its connection never takes the lock again (:class:`Journal` refuses): the process's
memory may be older than what another process wrote since. Checkpoints, written on another
connection, take a second key (:func:`fence_key`) shared and check that the journal's session
still holds the lock; a process that wins the lock takes that key exclusively once before it
loads anything, so it waits for a checkpoint in flight and any later one is refused.

The connection uses TCP keepalives and a user timeout on both ends (client: libpq options;
server: ``tcp_keepalives_*`` and ``tcp_user_timeout`` for the session), so a process cut off
from the database loses its session, and with it the lock, within about ``DEAD_AFTER``
seconds, not the operating system's two hours. A killed process's socket is closed by the
kernel: the server ends its session and releases the lock at once.
"""

from __future__ import annotations

import hashlib
import os
import socket
from typing import Any

import sqlalchemy as sa

DEAD_AFTER = 5
"""Seconds after which either end gives up on a silent connection (keepalives, user timeout)."""


def lock_key(site_name: str) -> int:
    """The advisory lock's key: a signed 64-bit number made from the site's name."""
    digest = hashlib.blake2b(f"lookout site {site_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def fence_key(key: int) -> int:
    """The second key, which checkpoints take shared and a process taking over exclusively
    (:meth:`SiteStore._fence`)."""
    return key ^ 1


def _connect_args(site_name: str) -> dict[str, Any]:
    server = (
        f"-c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 "
        f"-c tcp_keepalives_count={DEAD_AFTER - 2} -c tcp_user_timeout={DEAD_AFTER * 1000}"
    )
    return {
        "keepalives": 1,
        "keepalives_idle": 2,
        "keepalives_interval": 1,
        "keepalives_count": DEAD_AFTER - 2,
        "tcp_user_timeout": DEAD_AFTER * 1000,
        "options": server,
        # who holds the lock, as pg_stat_activity (and `lookout status`) shows it
        "application_name": f"lookout {site_name} {socket.gethostname()} pid {os.getpid()}"[:63],
    }


class SiteLock:
    """Tries to take the site's advisory lock on a connection of its own (not pooled: closing
    it ends the session and so releases the lock)."""

    def __init__(self, url: str, site_name: str) -> None:
        self.key = lock_key(site_name)
        self.db = sa.create_engine(
            url, poolclass=sa.NullPool, connect_args=_connect_args(site_name)
        )
        self._conn: sa.Connection | None = None

    def try_acquire(self) -> sa.Connection | None:
        """The connection holding the lock once it is taken (the caller owns it then), else
        None (the connection is kept for the next try). Blocking: call it in a thread."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.db.connect()
        conn = self._conn
        try:
            won = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({self.key})").scalar()
            conn.commit()
        except sa.exc.SQLAlchemyError:
            self.close()
            raise
        if not won:
            return None
        # wait for a checkpoint the last holder may still have in flight (it holds the
        # fence key shared); any later one of it finds the lock gone and is refused
        fence = fence_key(self.key)
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({fence}), pg_advisory_unlock({fence})")
        conn.commit()
        self._conn = None
        return conn

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now (application name, client address, since when), or None."""
        sql = (
            "SELECT a.application_name, host(a.client_addr),"
            " extract(epoch FROM a.backend_start)"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            f" AND l.classid = {(self.key >> 32) & 0xFFFFFFFF}"
            f" AND l.objid = {self.key & 0xFFFFFFFF} AND l.objsubid = 1"
        )
        with self.db.connect() as conn:
            row = conn.exec_driver_sql(sql).first()
        if row is None:
            return None
        return {"name": row[0], "address": row[1], "connected_at": float(row[2])}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

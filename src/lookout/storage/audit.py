"""The audit log's table: appended to, read, verified, pruned by age — never updated.

``AuditLog`` is the site's recorder. Entries that arrive while a write runs go into the next
one (group commit), so a Livestatus client that sends a thousand commands costs a few
transactions, not a thousand. Each write reads the newest row's hash inside its transaction
(PostgreSQL: under an advisory lock; SQLite: a concurrent writer makes the commit fail rather
than fork the chain), so the chain holds even when another process (``lookout user passwd``)
appends too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lookout.domain import audit as a
from lookout.storage import tables as t

log = logging.getLogger(__name__)

LOCK_KEY = 0x10_0C_A0_D1
"""PostgreSQL advisory lock that serialises appends (any number; one per database)."""
CHUNK = 5000
"""Rows read at a time when exporting or verifying."""


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def _head(conn: sa.Connection) -> str:
    row = conn.execute(
        sa.select(t.audit_log.c.hash).order_by(t.audit_log.c.id.desc()).limit(1)
    ).first()
    return row.hash if row else a.GENESIS


def append(db: sa.Engine, payloads: list[dict[str, Any]]) -> str:
    """Insert ``payloads`` (``Entry.payload()`` dicts) in one transaction, chained to the
    newest row; the new head hash."""
    with db.begin() as conn:
        _lock(conn)
        prev = _head(conn)
        rows = []
        for p in payloads:
            h = a.chain_hash(prev, p)
            rows.append({**p, "prev": prev, "hash": h})
            prev = h
        conn.execute(t.audit_log.insert(), rows)
    return prev


def append_now(db: sa.Engine, entry: a.Entry) -> None:
    """One entry from outside a running site (the CLI working on a site directory)."""
    append(db, [entry.payload()])


@dataclass(frozen=True, slots=True)
class Query:
    since: float | None = None
    until: float | None = None
    actor: str | None = None
    object: str | None = None
    channel: str | None = None
    kind: str | None = None
    limit: int = 100


_COLUMNS = [c for c in t.audit_log.c]


def _where(q: Query) -> list[sa.ColumnElement[bool]]:
    c = t.audit_log.c
    out: list[sa.ColumnElement[bool]] = []
    if q.since is not None:
        out.append(c.at >= q.since)
    if q.until is not None:
        out.append(c.at < q.until)
    if q.actor:
        out.append(c.actor == q.actor)
    if q.channel:
        out.append(c.channel == q.channel)
    if q.kind:
        out.append(c.kind == q.kind)
    if q.object:
        out.append(sa.or_(c.object == q.object, c.object.startswith(q.object + "/")))
    return out


def query(db: sa.Engine, q: Query) -> list[dict[str, Any]]:
    """The newest ``q.limit`` entries that match, newest first."""
    stmt = sa.select(*_COLUMNS).where(*_where(q)).order_by(t.audit_log.c.id.desc()).limit(q.limit)
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def page(db: sa.Engine, q: Query | None, after: int, size: int = CHUNK) -> list[dict[str, Any]]:
    """Up to ``size`` matching rows with an id above ``after``, oldest first."""
    stmt = (
        sa.select(*_COLUMNS)
        .where(t.audit_log.c.id > after, *_where(q or Query()))
        .order_by(t.audit_log.c.id)
        .limit(size)
    )
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def rows(db: sa.Engine, q: Query | None = None) -> Iterator[dict[str, Any]]:
    """Every matching row, oldest first, read in chunks (export, verify)."""
    last = 0
    while True:
        chunk = page(db, q, last)
        yield from chunk
        if len(chunk) < CHUNK:
            return
        last = chunk[-1]["id"]


@dataclass(frozen=True, slots=True)
class Verdict:
    rows: int
    head: str
    breaks: list[a.Break]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.breaks,
            "rows": self.rows,
            "head": self.head,
            "breaks": [{"id": b.id, "why": b.why} for b in self.breaks[:100]],
        }


def verify(db: sa.Engine) -> Verdict:
    """Check the whole chain (from the oldest row kept)."""
    count = 0
    head = a.GENESIS

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count, head
        for row in rows(db):
            count += 1
            head = row["hash"]
            yield row

    breaks = list(a.verify(counted()))
    return Verdict(count, head, breaks)


def prune(db: sa.Engine, before: float) -> int:
    """Delete the rows older than ``before`` (retention; the only delete there is)."""
    with db.begin() as conn:
        _lock(conn)
        return conn.execute(sa.delete(t.audit_log).where(t.audit_log.c.at < before)).rowcount


class AuditLog:
    """The site's recorder: ``record`` is awaited by the choke points after a change was made."""

    def __init__(self, db: sa.Engine, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    def entry(
        self,
        kind: str,
        obj: str,
        verb: str,
        *,
        summary: str = "",
        before: Any = None,
        after: Any = None,
        author: str = "",
    ) -> a.Entry:
        """An entry made through the current door (none: ``system``, by ``author``)."""
        door = a.current()
        return a.Entry(
            at=self.clock(),
            actor=(door.user if door and door.user else author) or "system",
            channel=door.channel if door else "system",
            address=door.address if door else "",
            kind=kind,
            object=obj,
            verb=verb,
            summary=summary,
            before=before,
            after=after,
        )

    async def record(
        self,
        kind: str,
        obj: str,
        verb: str,
        *,
        summary: str = "",
        before: Any = None,
        after: Any = None,
        author: str = "",
    ) -> None:
        """Append an entry; returns once it is stored (a failing database is logged: the
        change it records is made already and is not undone)."""
        e = self.entry(kind, obj, verb, summary=summary, before=before, after=after, author=author)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((e.payload(), fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="lookout-audit")
        await asyncio.shield(fut)

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(append, self.db, [p for p, _ in batch])
            except Exception:
                log.exception(
                    "audit log: %d entries not stored: %s",
                    len(batch),
                    "; ".join(f"{p['kind']} {p['object']} {p['verb']}" for p, _ in batch),
                )
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    async def flush(self) -> None:
        """Wait for entries being written (at stop)."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

"""The site store: journal, checkpoints (state snapshots), and configured objects.

Journal appends (:mod:`lookout.storage.journal`) and checkpoints run on connections and
threads of their own, so an append never waits for a checkpoint; a checkpoint records the
journal position it covers, so a restart loads the snapshot and replays the rest.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lookout.domain.events import Event, EventType
from lookout.domain.handling import Ack, Comment, Downtime
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.values import TIME_MAX
from lookout.errors import StorageError
from lookout.storage import repair
from lookout.storage import tables as t
from lookout.storage.database import open_database
from lookout.storage.journal import LOCK_LOST, Fenced, Journal, journal_file, read_shared
from lookout.storage.series import PendingPoints, SeriesStore
from lookout.storage.sitelock import fence_key

log = logging.getLogger(__name__)

Key = tuple[str, str]
_TIME_COLUMNS = frozenset(
    {"last_check", "last_result", "last_state_change", "last_hard_state_change", "last_ok"}
)


@dataclass(slots=True)
class Snapshot:
    """Everything that changed since the last checkpoint, captured in the event loop."""

    status_rows: list[tuple[Any, ...]]
    """Rows of ``tables.STATUS_COLUMNS``, JSON columns as text."""
    deleted: list[Key]
    events: list[Event]
    downtimes: list[Downtime] | None
    comments: list[Comment] | None
    next_id: int
    points: PendingPoints | None
    at: float
    started_at: float = 0.0
    """When the site last started (staleness counts from it)."""
    prune_events_before: float | None = None
    prune_metrics: bool = False
    fixes: repair.Repairs | None = None
    """Set when the snapshot is written again after a failure: rows are repaired on the way."""
    roll_up: bool = True
    """Advance the metrics' downsampling by a share (not in the start-up checkpoint, which
    the site's readiness waits for: 100,000 series took ~1 s there; the next one does it)."""


def _rows(
    rows: Iterator[dict[str, Any]], what: str, fixes: repair.Repairs | None
) -> list[dict[str, Any]]:
    if fixes is None:
        return list(rows)
    return [repair.row(r, f"{what} {r.get('id', '')}", fixes) for r in rows]


def _repaired(snap: Snapshot, fixes: repair.Repairs) -> Snapshot:
    """``snap`` with status rows and metric points made storable (other rows are repaired as
    they are written, see ``_rows``)."""
    return dataclasses.replace(
        snap,
        status_rows=[_repaired_status(r, fixes) for r in snap.status_rows],
        points=_repaired_points(snap.points, fixes),
        at=fixes.time(snap.at, "checkpoint time"),
        fixes=fixes,
    )


def _repaired_status(r: tuple[Any, ...], fixes: repair.Repairs) -> tuple[Any, ...]:
    where = f"status of {r[0]}/{r[1]}" if r[1] else f"status of {r[0]}"
    cells = list(r)
    for i, column in enumerate(t.STATUS_COLUMNS):
        value = cells[i]
        if column in ("ack", "metrics"):
            text = value if isinstance(value, str) or value is None else None
            cells[i] = fixes.json_text(text, f"{where} {column}")
            if column == "ack" and cells[i] is not None and not _is_ack(cells[i]):
                fixes.note(where, "acknowledgement with unreadable values dropped")
                cells[i] = None
            elif column == "metrics" and cells[i] is None:
                cells[i] = "[]"
        elif isinstance(value, str):
            cells[i] = fixes.text(value, where)
        elif isinstance(value, float):
            cells[i] = (
                fixes.time(value, where) if column in _TIME_COLUMNS else fixes.number(value, where)
            )
    return tuple(cells)


def _is_ack(text: str) -> bool:
    try:
        msgspec.json.decode(text, type=Ack)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return True


def _repaired_points(points: PendingPoints | None, fixes: repair.Repairs) -> PendingPoints | None:
    if points is None:
        return None
    entries = []
    for host, service, metrics, ts in points.entries:
        where = f"metrics of {host}/{service}"
        if not 0.0 <= ts <= TIME_MAX:
            fixes.note(where, f"{len(metrics)} points at time {ts} dropped")
            continue
        entries.append(
            (fixes.text(host, where), fixes.text(service, where), fixes.metrics(metrics, where), ts)
        )
    return PendingPoints(entries)


@dataclass(slots=True)
class LoadedState:
    hosts: list[HostConfig]
    services: list[ServiceConfig]
    status_rows: list[Any]
    downtimes: list[Downtime]
    comments: list[Comment]
    journal_seq: int
    next_id: int
    journal: list[tuple[int, float, bytes]] = field(default_factory=list)
    started_at: float = 0.0


def _status_upsert(dialect: str) -> str:
    """Driver-level upsert of status rows: positional tuples are ~4x cheaper to build than
    dicts, which matters when a checkpoint carries 100,000 statuses."""
    pg = dialect == "postgresql"
    json_cols = {"ack", "metrics"}
    marks = ", ".join(
        ("CAST(%s AS jsonb)" if c in json_cols else "%s") if pg else "?" for c in t.STATUS_COLUMNS
    )
    cols = ", ".join(f'"{c}"' for c in t.STATUS_COLUMNS)
    updates = ", ".join(
        f'"{c}" = excluded."{c}"' for c in t.STATUS_COLUMNS if c not in ("host", "service")
    )
    return (
        f"INSERT INTO status ({cols}) VALUES ({marks}) "
        f"ON CONFLICT (host, service) DO UPDATE SET {updates}"
    )


def _upsert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def host_row(cfg: HostConfig, at: float) -> dict[str, Any]:
    row: dict[str, Any] = msgspec.to_builtins(cfg)
    return {**row, "created_at": at, "updated_at": at}


def service_row(cfg: ServiceConfig, at: float) -> dict[str, Any]:
    row: dict[str, Any] = msgspec.to_builtins(cfg)
    return {**row, "created_at": at, "updated_at": at}


def _config_insert(
    dialect: str, table: sa.Table, at: float
) -> tuple[str, Callable[[HostConfig | ServiceConfig], tuple[Any, ...]]]:
    """A driver-level insert into ``hosts``/``services`` and the function that makes a row of
    a config: JSON columns as JSON text (``null`` for None, as SQLAlchemy's JSON type writes
    it), ``created_at``/``updated_at`` set to ``at``."""
    pg = dialect == "postgresql"
    names = [c.name for c in table.columns]
    is_json = [isinstance(c.type, sa.JSON) for c in table.columns]
    marks = ", ".join(("CAST(%s AS jsonb)" if j else "%s") if pg else "?" for j in is_json)
    cols = ", ".join(f'"{n}"' for n in names)
    sql = f"INSERT INTO {table.name} ({cols}) VALUES ({marks})"
    encode = _json_text.encode
    stamps = {"created_at": at, "updated_at": at}

    def row(cfg: HostConfig | ServiceConfig) -> tuple[Any, ...]:
        values: dict[str, Any] = msgspec.to_builtins(cfg)
        values.update(stamps)
        return tuple(
            encode(values[n]).decode() if j else values[n]
            for n, j in zip(names, is_json, strict=True)
        )

    return sql, row


_EVENT_COLUMNS = (
    "id",
    "at",
    "type",
    "host",
    "service",
    "state",
    "state_type",
    "attempt",
    "summary",
    "author",
    "comment",
    "data",
)
_json_text = msgspec.json.Encoder()


def _event_insert(dialect: str) -> str:
    """Driver-level insert of event rows: a checkpoint under churn carries 100,000s of events,
    and SQLAlchemy's per-row parameter processing cost more than the database's insert."""
    pg = dialect == "postgresql"
    marks = ", ".join(
        ("CAST(%s AS jsonb)" if c == "data" else "%s") if pg else "?" for c in _EVENT_COLUMNS
    )
    cols = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS)
    return f"INSERT INTO events ({cols}) VALUES ({marks})"


def _event_tuple(ev: Event) -> tuple[Any, ...]:
    return (
        ev.id,
        ev.at,
        str(ev.type),
        ev.host,
        ev.service,
        ev.state,
        ev.state_type,
        ev.attempt,
        ev.summary,
        ev.author,
        ev.comment,
        _json_text.encode(ev.data).decode(),
    )


def _event_row(ev: Event) -> dict[str, Any]:
    return {
        "id": ev.id,
        "at": ev.at,
        "type": str(ev.type),
        "host": ev.host,
        "service": ev.service,
        "state": ev.state,
        "state_type": ev.state_type,
        "attempt": ev.attempt,
        "summary": ev.summary,
        "author": ev.author,
        "comment": ev.comment,
        "data": ev.data,
    }


class SiteStore:
    """Database access for one site. ``checkpoint`` runs on one thread at a time (the
    runner's checkpoint thread), journal appends on another (``journal``)."""

    def __init__(self, engine: sa.Engine, series: SeriesStore) -> None:
        self.db = engine
        self.series = series
        self.last_seq = 0
        self._writer: sa.Connection | None = None
        self.journal = Journal(engine, _own_journal(engine))
        self.inline_commits = engine.dialect.name == "sqlite"
        """Journal appends may run on the event loop (fast local commits, no network)."""
        self._series_stale = False
        """A checkpoint failed after it may have learnt series ids: read them again first."""
        self.repairs: list[str] = []
        """Notes of checkpoints that had to be repaired (read and cleared by the runner)."""
        self.locked = False
        """The journal's connection holds the site lock (:mod:`lookout.storage.sitelock`)."""
        self._lock_key = 0
        self._lock_pid = 0
        """The site lock's key and the server process of the session holding it."""

    # ------------------------------------------------------------------ start-up
    def load(self) -> LoadedState:
        """Everything start-up needs. Status rows and metric series are read on threads of
        their own (own connections; nothing writes before the runner starts), so the database's
        reading — which releases the GIL — overlaps with building the objects."""
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="lookout-load") as pool:
            statuses = pool.submit(self._read, t.status, t.STATUS_COLUMNS)
            series = pool.submit(self._load_series)
            loaded = self._load_rest()
            loaded.status_rows = statuses.result()
            series.result()
        self.last_seq = loaded.journal[-1][0] if loaded.journal else loaded.journal_seq
        return loaded

    def _read(self, table: sa.Table, columns: Sequence[str]) -> list[Any]:
        with self.db.connect() as conn:
            return _fetch_raw(conn, table, columns)

    def _load_series(self) -> None:
        with self.db.connect() as conn:
            self.series.load(conn)

    def _load_rest(self) -> LoadedState:
        with self.db.connect() as conn:
            hosts = [_host_cfg(r) for r in _fetch_raw(conn, t.hosts, HOST_COLUMNS)]
            services = [_service_cfg(r) for r in _fetch_raw(conn, t.services, SERVICE_COLUMNS)]
            downtimes = [
                Downtime(**{k: v for k, v in r._mapping.items()})
                for r in conn.execute(sa.select(t.downtimes))
            ]
            comments = [
                Comment(**{k: v for k, v in r._mapping.items()})
                for r in conn.execute(sa.select(t.comments))
            ]
            ck = conn.execute(sa.select(t.checkpoint).where(t.checkpoint.c.id == 1)).first()
            seq = ck.journal_seq if ck else 0
            next_id = ck.next_id if ck else 1
            started_at = ck.started_at if ck else 0.0
            journal = read_shared(conn, seq)  # all of it, or what an older version left there
        if self.journal.separate:
            journal = sorted([*journal, *self.journal.read_after(seq)])
        return LoadedState(
            hosts, services, [], downtimes, comments, seq, next_id, journal, started_at
        )

    # ------------------------------------------------------------------ the writer thread
    def adopt_writer(self, conn: sa.Connection, key: int) -> None:
        """Append the journal through ``conn``, the connection that holds the site lock
        ``key``, and through no other (:meth:`Journal.adopt`: once it is lost no input is
        journaled); fence checkpoints with it (:meth:`_fence`)."""
        self._lock_pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() or 0)
        conn.commit()
        self.journal.adopt(conn)
        self._lock_key = key
        self.locked = True

    def _conn(self) -> sa.Connection:
        if self._writer is None or self._writer.closed:
            self._writer = self.db.connect()
        return self._writer

    def _fence(self, conn: sa.Connection) -> None:
        """With the site lock: a checkpoint is written only while the journal's session holds
        the lock. It takes the fence key shared for its transaction first; a process taking
        over takes that key exclusively once, after the lock and before it loads anything, so
        it waits for a checkpoint in flight here, and any later one finds the lock gone."""
        key = self._lock_key
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({fence_key(key)})")
        held = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            f" AND classid = {(key >> 32) & 0xFFFFFFFF} AND objid = {key & 0xFFFFFFFF}"
            f" AND objsubid = 1 AND pid = {self._lock_pid}"
        ).scalar()
        if not held:
            raise Fenced(f"{LOCK_LOST}: no checkpoint without it")

    def ping(self) -> None:
        """A round trip on the connection that holds the site lock (the journal's)."""
        self.journal.ping()

    def checkpoint(self, snapshot: Snapshot, seq: int) -> None:
        """Write a checkpoint covering the journal up to ``seq``, in one transaction.

        If it fails, it is written again with every value made storable
        (:mod:`lookout.storage.repair`; the notes land in ``repairs``): the journal holds every
        answered input meanwhile. Only when that fails too ``StorageError`` is raised; the
        caller keeps ``snapshot``'s data (the runner hands it to the next checkpoint)."""
        try:
            self._checkpoint(snapshot, seq, None)
            return
        except Fenced:
            raise
        except StorageError as exc:
            log.error("checkpoint failed, writing it again repaired: %s", exc)
        fixes = repair.Repairs()
        self._checkpoint(snapshot, seq, fixes)
        self.repairs.append(
            "checkpoint repaired: " + ("; ".join(fixes.notes) or "written again unchanged")
        )

    def _checkpoint(self, snapshot: Snapshot, seq: int, fixes: repair.Repairs | None) -> None:
        conn = self._conn()
        taken = snapshot.points
        try:
            with conn.begin() as transaction:
                if self.locked:
                    self._fence(conn)
                if fixes is not None or self._series_stale:
                    self.series.load(conn)  # a failed attempt may have learnt ids in vain
                    self._series_stale = False
                if fixes is not None:
                    snapshot = _repaired(snapshot, fixes)
                self._write_snapshot(conn, snapshot, seq)
                with self.series.publishing(taken):  # queries see the points once throughout
                    transaction.commit()
        except (sa.exc.SQLAlchemyError, ValueError, TypeError, OverflowError) as exc:
            # ValueError/TypeError/OverflowError: a value the driver cannot convert
            self._series_stale = True
            self._writer = None
            conn.close()
            raise StorageError(f"could not write to the site database: {exc}") from exc

    def _write_snapshot(self, conn: sa.Connection, snap: Snapshot, seq: int) -> None:
        fixes = snap.fixes
        if snap.status_rows:
            conn.exec_driver_sql(_status_upsert(conn.dialect.name), snap.status_rows)
        for host, service in snap.deleted:
            conn.execute(
                sa.delete(t.status).where(t.status.c.host == host, t.status.c.service == service)
            )
        if snap.events and fixes is None:
            conn.exec_driver_sql(
                _event_insert(conn.dialect.name), list(map(_event_tuple, snap.events))
            )
        elif snap.events:
            conn.execute(t.events.insert(), _rows(map(_event_row, snap.events), "event", fixes))
        if snap.downtimes is not None:
            conn.execute(sa.delete(t.downtimes))
            if snap.downtimes:
                rows = _rows(map(msgspec.to_builtins, snap.downtimes), "downtime", fixes)
                conn.execute(t.downtimes.insert(), rows)
        if snap.comments is not None:
            conn.execute(sa.delete(t.comments))
            if snap.comments:
                rows = _rows(map(msgspec.to_builtins, snap.comments), "comment", fixes)
                conn.execute(t.comments.insert(), rows)
        if snap.points is not None:
            self.series.write_pending(conn, snap.points)
        if snap.roll_up:
            self.series.roll_up(conn, snap.at)  # a bounded share of downsampling per checkpoint
        if snap.prune_events_before is not None:
            conn.execute(sa.delete(t.events).where(t.events.c.at < snap.prune_events_before))
        if snap.prune_metrics:
            self.series.expire(conn, snap.at)
        ck = _upsert(conn, t.checkpoint).values(
            id=1, journal_seq=seq, at=snap.at, next_id=snap.next_id, started_at=snap.started_at
        )
        conn.execute(
            ck.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "journal_seq": seq,
                    "at": snap.at,
                    "next_id": snap.next_id,
                    "started_at": snap.started_at,
                },
            )
        )
        conn.execute(sa.delete(t.journal).where(t.journal.c.seq <= seq))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.journal.close()

    # ------------------------------------------------------------------ configuration
    def save_host(self, cfg: HostConfig, at: float, *, create: bool) -> None:
        row = host_row(cfg, at)
        with self.db.begin() as conn:
            if create:
                conn.execute(t.hosts.insert().values(row))
            else:
                row.pop("created_at")
                conn.execute(sa.update(t.hosts).where(t.hosts.c.name == cfg.name).values(row))

    def save_many(
        self, hosts: Sequence[HostConfig], services: Sequence[ServiceConfig], at: float
    ) -> None:
        """Insert many new hosts and services in one transaction (bulk creation, benchmarks),
        at the driver level: SQLAlchemy's per-row processing (a ``json.dumps`` per JSON column)
        took most of the time of 100,000 rows."""
        with self.db.begin() as conn:
            dialect = conn.dialect.name
            for table, cfgs in ((t.hosts, hosts), (t.services, services)):
                if cfgs:
                    sql, row = _config_insert(dialect, table, at)
                    conn.exec_driver_sql(sql, [row(cfg) for cfg in cfgs])

    def sync_objects(
        self,
        hosts: Sequence[HostConfig],
        services: Sequence[ServiceConfig],
        remove_services: Sequence[tuple[str, str]],
        remove_hosts: Sequence[str],
        at: float,
    ) -> None:
        """Create or update many hosts and services and remove others, in one transaction
        (data sources that discover objects, e.g. Kubernetes). Removal keeps the history:
        events and metric series stay."""
        with self.db.begin() as conn:
            for table, rows, keys in (
                (t.hosts, [host_row(h, at) for h in hosts], ["name"]),
                (t.services, [service_row(s, at) for s in services], ["host", "name"]),
            ):
                if not rows:
                    continue
                stmt = _upsert(conn, table)
                update = {c: stmt.excluded[c] for c in rows[0] if c not in (*keys, "created_at")}
                conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), rows)
            if remove_services:
                conn.execute(
                    sa.delete(t.services).where(
                        t.services.c.host == sa.bindparam("h"),
                        t.services.c.name == sa.bindparam("s"),
                    ),
                    [{"h": h, "s": s} for h, s in remove_services],
                )
            if remove_hosts:
                conn.execute(
                    sa.delete(t.services).where(t.services.c.host == sa.bindparam("h")),
                    [{"h": h} for h in remove_hosts],
                )
                conn.execute(
                    sa.delete(t.hosts).where(t.hosts.c.name == sa.bindparam("h")),
                    [{"h": h} for h in remove_hosts],
                )

    def delete_host(self, name: str) -> None:
        with self.db.begin() as conn:
            conn.execute(sa.delete(t.services).where(t.services.c.host == name))
            conn.execute(sa.delete(t.hosts).where(t.hosts.c.name == name))
            self.series.forget(conn, name, None)

    def save_service(self, cfg: ServiceConfig, at: float, *, create: bool) -> None:
        row = service_row(cfg, at)
        with self.db.begin() as conn:
            if create:
                conn.execute(t.services.insert().values(row))
            else:
                row.pop("created_at")
                conn.execute(
                    sa.update(t.services)
                    .where(t.services.c.host == cfg.host, t.services.c.name == cfg.name)
                    .values(row)
                )

    def delete_service(self, host: str, name: str) -> None:
        with self.db.begin() as conn:
            conn.execute(
                sa.delete(t.services).where(t.services.c.host == host, t.services.c.name == name)
            )
            self.series.forget(conn, host, name)

    # ------------------------------------------------------------------ history
    def query_events(
        self,
        *,
        start: float | None = None,
        end: float | None = None,
        host: str | None = None,
        service: str | None = None,
        types: Sequence[str] = (),
        limit: int = 1000,
    ) -> list[Event]:
        q = sa.select(t.events)
        if start is not None:
            q = q.where(t.events.c.at >= start)
        if end is not None:
            q = q.where(t.events.c.at <= end)
        if host is not None:
            q = q.where(t.events.c.host == host)
        if service is not None:
            q = q.where(t.events.c.service == service)
        if types:
            q = q.where(t.events.c.type.in_(list(types)))
        q = q.order_by(t.events.c.at.desc(), t.events.c.id.desc()).limit(limit)
        with self.db.connect() as conn:
            return [event_from_row(r) for r in conn.execute(q)]

    def iter_rows(self, table: sa.Table) -> Iterator[Any]:
        with self.db.connect() as conn:
            yield from conn.execute(sa.select(table))


HOST_COLUMNS = (
    "name",
    "address",
    "labels",
    "parents",
    "groups",
    "check",
    "check_interval",
    "retry_interval",
    "max_check_attempts",
    "event_handler",
)
SERVICE_COLUMNS = (
    "host",
    "name",
    "check",
    "check_interval",
    "retry_interval",
    "max_check_attempts",
    "stale_after",
    "params",
    "labels",
    "event_handler",
    "depends_on",
)
_EMPTY_JSON = ("{}", "[]", "null", None)


def _fetch_raw(conn: sa.Connection, table: sa.Table, columns: Sequence[str]) -> list[Any]:
    """All rows as plain driver tuples: no per-value result processing and no Row objects
    (start-up reads 100,000s of rows). JSON arrives as text from SQLite and already decoded
    from PostgreSQL (JSONB)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f'SELECT {cols} FROM "{table.name}"')
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _json(value: Any, empty: Any) -> Any:
    if value in _EMPTY_JSON:
        return empty
    if isinstance(value, str | bytes):
        return msgspec.json.decode(value)
    return value


def _host_cfg(r: Any) -> HostConfig:
    name, address, labels, parents, groups, check, interval, retry, attempts, handler = r
    return HostConfig(
        name=name,
        address=address,
        labels=_json(labels, {}),
        parents=tuple(_json(parents, ())),
        groups=tuple(_json(groups, ())),
        check=_json(check, None),
        check_interval=interval,
        retry_interval=retry,
        max_check_attempts=attempts,
        event_handler=_json(handler, None),
    )


def _service_cfg(r: Any) -> ServiceConfig:
    host, name, check, interval, retry, attempts, stale_after, params, labels, handler, deps = r
    return ServiceConfig(
        host=host,
        name=name,
        check=_json(check, None),
        check_interval=interval,
        retry_interval=retry,
        max_check_attempts=attempts,
        stale_after=stale_after,
        params=_json(params, _NO_PARAMS),
        labels=_json(labels, _NO_LABELS),
        event_handler=_json(handler, None),
        depends_on=tuple((h, s) for h, s in _json(deps, ())),
    )


_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def _own_journal(db: sa.Engine) -> sa.Engine | None:
    """The engine of the journal's own file (SQLite file databases), opened like ``db``."""
    path = journal_file(db.url)
    if path is None:
        return None
    with db.connect() as conn:
        level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    # appends only, and start-up reads it once: a small page cache is plenty
    return open_database(
        f"sqlite:///{path}", synchronous=_SYNCHRONOUS.get(level or 1, "NORMAL"), cache_kib=2048
    )


_NO_PARAMS: dict[str, Any] = {}
_NO_LABELS: dict[str, str] = {}


def event_from_row(r: Any) -> Event:
    """An ``events`` table row as the domain's Event (the event log, the notifier's catch-up)."""
    return Event(
        id=r.id,
        at=r.at,
        type=EventType(r.type),
        host=r.host,
        service=r.service,
        state=r.state,
        state_type=r.state_type,
        attempt=r.attempt,
        summary=r.summary,
        author=r.author,
        comment=r.comment,
        data=dict(r.data or {}),
    )

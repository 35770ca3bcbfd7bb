"""Answering a GET: compile its headers against the table, pick rows, render.

Everything runs on the site's event loop, reading the engine's state without copying, in
turns of :data:`TURN` rows; the ``log`` table reads the database in a thread.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from lookout.livestatus import output, stats
from lookout.livestatus.codegen import reads_list
from lookout.livestatus.columns import Column, Getter
from lookout.livestatus.data import SiteData
from lookout.livestatus.errors import BAD_REQUEST, INVALID, NOT_FOUND, LqlError
from lookout.livestatus.filters import AllOf, Leaf, Node, combine, compile_node, parse_condition
from lookout.livestatus.query import Request, positive_int
from lookout.livestatus.tables import Table

log = logging.getLogger(__name__)

MAX_LOG_ROWS = 100_000
"""Most ``log`` rows one query reads (narrow it with ``Filter: time >= …``)."""
IGNORED = (
    "Timelimit",
    "WaitObject",
    "WaitCondition",
    "WaitConditionAnd",
    "WaitConditionOr",
    "WaitConditionNegate",
    "WaitTrigger",
    "WaitTimeout",
)
"""Accepted and ignored: answers are always immediate."""


@dataclass(slots=True)
class Compiled:
    table: Table
    columns: list[Column] = field(default_factory=list)
    filters: list[Node] = field(default_factory=list)
    stats: list[stats.StatsItem] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    auth_user: str | None = None
    time_shift: int = 0


def compile_request(req: Request, tables: dict[str, Table], now: float) -> Compiled:
    table = tables.get(req.target)
    if table is None:
        raise LqlError(NOT_FOUND, f"Invalid GET request, no such table '{req.target}'")
    q = Compiled(table)
    cols, name = table.columns, table.name
    for header, value in req.headers:
        if header == "Columns":
            for c in value.split():
                if c not in cols:
                    raise LqlError(BAD_REQUEST, f"Columns: Table '{name}' has no column '{c}'")
                q.columns.append(cols[c])
        elif header == "Filter":
            q.filters.append(parse_condition("Filter", value, cols, name))
        elif header in ("And", "Or", "Negate"):
            combine(q.filters, header, value, header.lower())
        elif header == "Stats":
            q.stats.append(stats.parse_stats("Stats", value, cols, name))
        elif header in ("StatsAnd", "StatsOr", "StatsNegate"):
            stats.combine_stats(q.stats, header, value, header[5:].lower())
        elif header == "Limit":
            q.limit = positive_int("Limit", value)
        elif header == "Offset":
            q.offset = positive_int("Offset", value)
        elif header == "AuthUser":
            q.auth_user = value
        elif header == "Localtime":
            q.time_shift = _time_shift(value, now)
        elif header not in IGNORED:
            raise LqlError(BAD_REQUEST, f"Undefined request header '{header}'")
    return q


def _time_shift(value: str, now: float) -> int:
    """Seconds to add to our times for a client whose clock reads ``value``: the difference
    rounded to half hours (time zones), none when under a minute off."""
    try:
        theirs = int(value)
    except ValueError:
        raise LqlError(BAD_REQUEST, f"Localtime: expected Unix seconds, got {value!r}") from None
    diff = theirs - now
    if abs(diff) < 60:
        return 0
    if abs(diff) > 86400:
        raise LqlError(BAD_REQUEST, f"Localtime: {value} is more than a day off our clock")
    return round(diff / 1800.0) * 1800


def reader(q: Compiled) -> Callable[[Column], Getter]:
    """How the query reads a column: as is, or time columns shifted to the client's clock."""
    shift = q.time_shift

    def read(column: Column) -> Getter:
        get = column.get
        if shift and column.kind == "time":
            return lambda row: (v + shift) if (v := get(row)) else 0
        return get

    return read


def comparer(read: Callable[[Column], Getter]) -> Callable[[Column], Getter]:
    """How filters read a column: its raw attribute in C where that compares the same
    (``checked`` True against ``has_been_checked = 1``), else as ``read`` does."""

    def get(column: Column) -> Getter:
        if column.compares_raw and column.raw is not None:
            return attrgetter(column.raw)
        return read(column)

    return get


async def answer(req: Request, tables: dict[str, Table], data: SiteData) -> bytes:
    """The framed answer to a GET request (errors included)."""
    data.fresh()
    try:
        if req.error is not None:
            raise req.error
        q = compile_request(req, tables, data.clock())
        code, body = 200, await _answer_or_reuse(q, req, data)
    except LqlError as exc:
        data.counters.errors += 1
        log.info("livestatus: %s %s: %d %s", req.method, req.target[:80], exc.code, exc.message)
        code, body = exc.code, output.error_body(exc.message)
    except Exception as exc:  # a bug must not cost the client its answer or the site a task
        data.counters.errors += 1
        log.exception("livestatus: GET %s failed", req.target[:80])
        code, body = INVALID, output.error_body(f"internal error: {type(exc).__name__}: {exc}")
    return output.frame(code, body, req.fixed16)


async def _answer_or_reuse(q: Compiled, req: Request, data: SiteData) -> bytes:
    """A ``Stats`` query (Thruk's tactical overview counts every service, on every page and for
    every user) is answered from its last answer for up to ``stats_reuse`` seconds. Actions
    (acknowledgements, downtimes, comments…) and configuration changes count again at once, so
    a user sees their own action; state changes from results show within ``stats_reuse``."""
    if not q.stats or q.table.fetch is not None or data.stats_reuse <= 0:
        return await _run(q, req, data)
    key = (req.target, tuple(req.headers), req.output_format, req.column_headers, req.separators)
    body = data.reused(key)
    if body is not None:
        return body
    changes = data.engine.counters.changes
    counting = data.counting.get(key)
    if counting is not None and counting[0] == changes:  # the same count under way: share it
        return await asyncio.shield(counting[1])
    made = time.monotonic()  # before the turns let inputs in
    done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    data.counting[key] = (changes, done)
    try:
        body = await _run(q, req, data)
    except BaseException as exc:
        done.set_exception(exc)
        done.exception()  # retrieved: no "never retrieved" warning when nobody shared it
        raise
    finally:
        if data.counting.get(key, (0, None))[1] is done:
            del data.counting[key]
    done.set_result(body)
    data.keep(key, body, changes, made)
    return body


async def _run(q: Compiled, req: Request, data: SiteData) -> bytes:
    read = reader(q)
    source: Iterable[Any] = await _rows(q, data)
    where = AllOf(tuple(q.filters)) if q.filters else None
    cut = q.offset or q.limit is not None
    pred = compile_node(where, comparer(read)) if where is not None else None
    plan = None
    if q.stats:  # without a cut the filter is evaluated per distinct stats key
        plan = stats.Plan(q.columns, q.stats, read, None if cut else where)
        if not cut:
            pred = None

    def select(rows: Iterable[Any]) -> Iterable[Any]:
        if q.auth_user is not None and q.table.visible is not None:
            user, visible = q.auth_user, q.table.visible
            rows = (r for r in rows if visible(data, user, r))
        return rows if pred is None else filter(pred, rows)

    if cut:  # Limit/Offset: stop early, in one go
        end = None if q.limit is None else q.offset + q.limit
        parts: Iterable[Iterable[Any]] = [itertools.islice(select(source), q.offset, end)]
    else:
        parts = _in_turns(list(source), select)  # a snapshot of the rows, then in turns
    columns = q.columns or list(q.table.columns.values())
    make = plan.key if plan is not None else reads_list([read(c) for c in columns])
    counted: Counter[Any] = Counter()
    table: list[Any] = []
    async for part in _turns(parts):
        if plan is not None:
            counted.update(map(make, part))
        else:
            table.extend(map(make, part))
    if plan is not None:
        header = [c.name for c in q.columns] + [f"stats_{i + 1}" for i in range(len(q.stats))]
        return output.render(plan.finish(counted), header if req.column_headers else None, req)
    show = req.column_headers if req.column_headers is not None else not q.columns
    return output.render(table, [c.name for c in columns] if show else None, req)


TURN = 5000
"""Rows a query handles before it lets the event loop run others (API, ingestion, clients)."""


def _in_turns(
    rows: list[Any], select: Callable[[Iterable[Any]], Iterable[Any]]
) -> list[Iterable[Any]]:
    return [select(rows[i : i + TURN]) for i in range(0, len(rows), TURN)] or [[]]


async def _turns(parts: Iterable[Iterable[Any]]) -> AsyncIterator[Iterable[Any]]:
    """Each part, with a turn of the event loop before every part but the first. Rows are a
    snapshot list, so the engine may apply inputs in between: each row is read whole, the
    rows of one answer may be a few milliseconds apart."""
    for n, part in enumerate(parts):
        if n:
            await asyncio.sleep(0)
        yield part


async def _rows(q: Compiled, data: SiteData) -> Iterable[Any]:
    if q.table.fetch is None:
        # every top-level filter must hold, so one on an indexed column picks the candidates
        for f in q.filters:
            if isinstance(f, Leaf) and f.op == "=" and f.column.name in q.table.lookup:
                return q.table.lookup[f.column.name](f.ref)
        return q.table.rows()
    since, until = _time_bounds(q.filters, q.time_shift)
    return await q.table.fetch(since, until, MAX_LOG_ROWS)


def _time_bounds(filters: list[Node], shift: int) -> tuple[float | None, float | None]:
    """The ``time`` range the top-level filters ask for (to read only that from storage)."""
    since: float | None = None
    until: float | None = None
    for f in filters:
        if not isinstance(f, Leaf) or f.column.name != "time":
            continue
        try:
            ref = float(f.ref) - shift
        except ValueError:
            continue
        if f.op in (">=", ">", "="):
            since = ref if since is None else max(since, ref)
        if f.op in ("<=", "<", "="):
            until = ref if until is None else min(until, ref)
    return since, until

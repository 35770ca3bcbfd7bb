"""Decoding and validating ``POST /api/v1/results`` bodies: everything that needs no live state.

Both the site's own ingest route and the ingest fronts (``lookout.web.fronts``) run this, so
each field is validated in one place. What needs the engine — is the host or service known, is
``checked_at`` too far ahead of the site's clock — is left to :func:`lookout.web.api.ingest.finish`.
The result is a :class:`Prepared` batch: msgspec structs that travel as msgpack from a front to
the site unchanged.
"""

from __future__ import annotations

import re

import msgspec

from lookout.domain import values
from lookout.domain.metrics import Metric
from lookout.domain.perfdata import parse_perfdata, split_plugin_output
from lookout.domain.results import CheckResult
from lookout.domain.states import parse_state
from lookout.errors import PerfdataError
from lookout.wire.times import parse_time  # not wire.api: the fronts import no pydantic

MAX_SUMMARY = values.MAX_SUMMARY
MAX_LONG_OUTPUT = values.MAX_LONG_OUTPUT

Loc = list[str | int]


class ResultIn(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    host: str
    state: int | str
    service: str | None = None
    summary: str = ""
    long_output: str = ""
    output: str | None = None
    perfdata: str = ""
    metrics: tuple[Metric, ...] = ()
    checked_at: float | str | None = None


class Item(msgspec.Struct, array_like=True, gc=False):
    """One checked item: a result ready for the engine, or why it is refused (``loc``, ``msg``).
    ``host`` is None when the item did not even decode (then no host check applies)."""

    host: str | None
    service: str = ""
    result: CheckResult | None = None
    loc: Loc = []
    msg: str = ""


class Prepared(msgspec.Struct, array_like=True, gc=False):
    """A decoded body: its items, or the error of the whole body (``error_loc`` not None)."""

    batched: bool = False
    items: list[Item] = []
    error_loc: Loc | None = None
    error_msg: str = ""


_envelope = msgspec.json.Decoder(dict[str, msgspec.Raw])
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_item_list = msgspec.json.Decoder(list[ResultIn])
_item = msgspec.json.Decoder(ResultIn)
_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.S)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(.*)`$")


class ItemError(Exception):
    def __init__(self, loc: Loc, msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


def _path(text: str) -> Loc:
    loc: Loc = []
    for part in re.findall(r"\.(\w+)|\[(\d+)\]", text):
        loc.append(part[0] if part[0] else int(part[1]))
    return loc


def _decode_error(exc: msgspec.ValidationError | msgspec.DecodeError) -> ItemError:
    m = _AT.match(str(exc))
    msg, at = (m.group(1), m.group(2)) if m else (str(exc), None)
    loc = _path(at) if at else []
    unknown = _UNKNOWN_FIELD.match(msg)
    if unknown:  # msgspec points at the object; the client wants the field
        loc.append(unknown.group(1))
    return ItemError(loc, msg)


def _items(body: bytes) -> tuple[list[ResultIn | ItemError], bool]:
    """The decoded items (or the error of each bad one), and whether they came as a batch.
    Fast path: the whole list in one go; only when that fails, item by item for the errors."""
    try:
        env = _envelope.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _decode_error(exc) from exc
    except RecursionError:
        raise ItemError([], "nested too deeply (JSON arrays and objects)") from None
    raw = env.get("results")
    if raw is None:
        return [_decode_item(msgspec.Raw(body))], False
    extra = sorted(key for key in env if key != "results")
    if extra:  # a batch is {"results": [...]} and nothing else
        raise ItemError([extra[0]], f"Object contains unknown field `{extra[0]}`")
    try:
        return list(_item_list.decode(raw)), True
    except (msgspec.ValidationError, RecursionError):
        pass
    try:
        raws = _raw_list.decode(raw)
    except (msgspec.ValidationError, RecursionError) as exc:
        raise ItemError(["results"], "expected an array of results") from exc
    return [_decode_item(r) for r in raws], True


def _decode_item(raw: msgspec.Raw) -> ResultIn | ItemError:
    try:
        return _item.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return _decode_error(exc)
    except RecursionError:
        return ItemError([], "nested too deeply (JSON arrays and objects)")


def prepare(body: bytes) -> Prepared:
    """Decode and validate a body (no live state needed)."""
    try:
        items, batched = _items(body)
    except ItemError as exc:
        return Prepared(error_loc=exc.loc, error_msg=exc.msg)
    out: list[Item] = []
    for item in items:
        if isinstance(item, ItemError):
            out.append(Item(None, loc=item.loc, msg=item.msg))
            continue
        service = item.service or ""
        try:
            out.append(Item(item.host, service, check(item, service)))
        except ItemError as exc:
            out.append(Item(item.host, service, loc=exc.loc, msg=exc.msg))
    return Prepared(batched, out)


def check(item: ResultIn, service: str) -> CheckResult:
    """The result of a decoded item, or :class:`ItemError` (``checked_at`` is parsed; whether
    it lies too far ahead is for the site to say)."""
    host = item.host
    state = item.state
    if type(state) is not int or not 0 <= state <= (3 if service else 2):
        try:
            state = parse_state(state, is_host=not service)
        except ValueError as exc:
            raise ItemError(["state"], str(exc)) from exc
    summary, long_output, perfdata = item.summary, item.long_output, item.perfdata
    if (
        item.output is None
        and not perfdata
        and item.checked_at is None
        and len(summary) <= MAX_SUMMARY
        and len(long_output) <= MAX_LONG_OUTPUT
        and "\x00" not in summary
        and "\x00" not in long_output
        and (not item.metrics or values.decoded_metrics_ok(item.metrics))
    ):  # the common case, checked cheaply (msgspec refuses unpaired surrogates)
        return CheckResult(host, service, state, summary, long_output, item.metrics)
    if item.output is not None:
        summary, long_output, more = split_plugin_output(item.output)
        perfdata = f"{perfdata} {more}".strip()
    from_output = item.output is not None
    try:
        values.check_text(summary, MAX_SUMMARY, ("output" if from_output else "summary",))
        values.check_text(
            long_output, MAX_LONG_OUTPUT, ("output" if from_output else "long_output",)
        )
        values.check_metrics(item.metrics, ("metrics",))
    except values.InvalidValue as exc:
        raise ItemError(list(exc.loc), exc.msg) from None
    metrics: tuple[Metric, ...] = ()
    if perfdata:
        try:
            metrics = parse_perfdata(perfdata)
            values.check_metrics(metrics, ("perfdata",))
        except PerfdataError as exc:
            raise ItemError(["perfdata"], str(exc)) from exc
        except values.InvalidValue as exc:
            where = ""
            if len(exc.loc) == 3:
                where = f"metric {metrics[int(exc.loc[1])].name!r} {exc.loc[2]}: "
            raise ItemError(["perfdata"], where + exc.msg) from None
    metrics += item.metrics
    if len(metrics) > values.MAX_METRICS:
        raise ItemError(
            ["perfdata"],
            f"{len(metrics)} metrics in one result; at most {values.MAX_METRICS} are allowed",
        )
    checked_at = None
    if item.checked_at is not None:
        try:
            checked_at = parse_time(item.checked_at)
        except ValueError as exc:
            raise ItemError(["checked_at"], str(exc)) from exc
    return CheckResult(host, service, state, summary, long_output, metrics, checked_at)

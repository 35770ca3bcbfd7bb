"""The hot path: ``POST /api/v1/results`` as a lean Starlette route (no FastAPI/pydantic).

Body: ``{"results": [{...}, ...]}`` or one result object. Each item is decoded and validated on
its own (msgspec), so a bad item is reported by index with its field path and nothing of it is
applied, while the good ones are. Answers: 200 all accepted; 207 some rejected (``errors``);
422 none accepted (problem+json). The answer comes only after the accepted results are durable.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lookout.auth import Role
from lookout.domain import values
from lookout.domain.metrics import Metric
from lookout.domain.perfdata import parse_perfdata, split_plugin_output
from lookout.domain.results import CheckResult
from lookout.domain.states import parse_state
from lookout.engine.inputs import Results
from lookout.errors import LookoutError, PerfdataError
from lookout.web.api.deps import authenticate_header
from lookout.web.api.problems import lookout_error, problem
from lookout.wire.api import parse_time

MAX_SUMMARY = values.MAX_SUMMARY
MAX_LONG_OUTPUT = values.MAX_LONG_OUTPUT


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


_envelope = msgspec.json.Decoder(dict[str, msgspec.Raw])
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_item_list = msgspec.json.Decoder(list[ResultIn])
_item = msgspec.json.Decoder(ResultIn)
_encode = msgspec.json.encode
_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.S)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(.*)`$")


class ItemError(Exception):
    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


def _path(text: str) -> list[str | int]:
    loc: list[str | int] = []
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


def _where(errors: list[dict[str, Any]]) -> str:
    """The first errors as ``results.0.state: message; …`` (like the API's other 422s)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors[:5])


def _decode_item(raw: msgspec.Raw) -> ResultIn | ItemError:
    try:
        return _item.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return _decode_error(exc)
    except RecursionError:
        return ItemError([], "nested too deeply (JSON arrays and objects)")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class Ingest:
    """Validates and submits results; one instance per site."""

    def __init__(self, site: Any) -> None:
        self.site = site
        self.status = site.engine.status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry, mounted ahead of the FastAPI stack (see ``app.FrontDoor``)."""
        authorization = ""
        length = -1
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                length = int(value)
        limit = self.site.settings.max_request_bytes
        if length > limit:
            response = problem(413, f"request body larger than {limit} bytes")
        else:
            body = await _read_body(receive, limit)
            if body is None:
                response = problem(413, f"request body larger than {limit} bytes")
            else:
                response = await self.respond(authorization, body)
        await response(scope, receive, send)

    async def respond(self, authorization: str, body: bytes) -> Response:
        site = self.site
        principal = authenticate_header(site, authorization)
        if principal is None:
            return problem(
                401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not principal.role.allows(Role.OPERATOR):
            return problem(403, f"role {principal.role} may not submit results (needs operator)")
        if (wait := site.runner.overloaded()) is not None:
            return overloaded(wait)
        try:
            items, batched = _items(body)
        except ItemError as exc:
            error = {"loc": exc.loc, "msg": exc.msg}
            return problem(422, f"invalid body: {_where([error])}", errors_=[error])
        if len(items) > site.settings.max_results_per_request:
            return problem(
                413,
                f"{len(items)} results in one request; the limit is "
                f"{site.settings.max_results_per_request}",
            )
        now = site.clock()
        good: list[CheckResult] = []
        errors: list[dict[str, Any]] = []
        prefix: list[str | int] = ["results"] if batched else []
        check = self._check
        for i, item in enumerate(items):
            try:
                if isinstance(item, ItemError):
                    raise item
                good.append(check(item, now))
            except ItemError as exc:
                errors.append(
                    {
                        "index": i,
                        "loc": [*prefix, i, *exc.loc] if prefix else exc.loc,
                        "msg": exc.msg,
                    }
                )
        if not good:
            detail = f"no result accepted: {_where(errors)}" if errors else "no results given"
            return problem(
                422,
                detail,
                errors_=errors or [{"loc": prefix, "msg": "empty"}],
                accepted=0,
                rejected=len(errors),
            )
        try:
            await site.runner.apply(Results(at=now, results=good))
        except LookoutError as exc:
            return lookout_error(exc)
        body_out: dict[str, Any] = {"accepted": len(good), "rejected": len(errors)}
        if errors:
            body_out["errors"] = errors
            return Response(_encode(body_out), 207, media_type="application/json")
        return Response(_encode(body_out), 200, media_type="application/json")

    def _check(self, item: ResultIn, now: float) -> CheckResult:
        service = item.service or ""
        host = item.host
        if (host, service) not in self.status:
            if host not in self.site.engine.hosts:
                raise ItemError(["host"], f"unknown host {host!r}")
            raise ItemError(["service"], f"unknown service {host}/{service}")
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
            skew = self.site.settings.max_clock_skew
            if checked_at > now + skew:
                raise ItemError(
                    ["checked_at"],
                    f"{checked_at - now:.0f} s in the future "
                    f"(more than max_clock_skew = {skew:g} s)",
                )
        return CheckResult(host, service, state, summary, long_output, metrics, checked_at)


def overloaded(wait: float) -> Response:
    """503: the site's database is behind; nothing of this request was taken."""
    return problem(
        503,
        f"the site is behind writing to its database: nothing was taken; retry after {wait:g} s",
        headers={"Retry-After": f"{wait:g}"},
    )

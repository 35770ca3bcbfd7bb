"""The hot path: ``POST /api/v1/results`` as a lean Starlette route (no FastAPI/pydantic).

Body: ``{"results": [{...}, ...]}`` or one result object. Each item is decoded and validated on
its own (msgspec), so a bad item is reported by index with its field path and nothing of it is
applied, while the good ones are. Answers: 200 all accepted; 207 some rejected (``errors``);
422 none accepted (problem+json). The answer comes only after the accepted results are durable.

Decoding and validation live in ``ingest_items.py`` (no live state); :func:`finish` does the
rest — the host and service checks, the clock-skew check, the engine and the journal — here or
for a batch an ingest front prepared in its own process (``lookout.web.fronts``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lookout.auth import Role
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results
from lookout.errors import LookoutError
from lookout.web.api.deps import authenticate_header
from lookout.web.api.ingest_items import Prepared, prepare
from lookout.web.api.problems import lookout_error, problem

_encode = msgspec.json.encode


def _where(errors: list[dict[str, Any]]) -> str:
    """The first errors as ``results.0.state: message; …`` (like the API's other 422s)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors[:5])


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

    def gate(self, authorization: str) -> Response | None:
        """The refusal of a caller (401, 403; 429 raised by the throttle), or None."""
        principal = authenticate_header(self.site, authorization)
        if principal is None:
            return problem(
                401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not principal.role.allows(Role.OPERATOR):
            return problem(403, f"role {principal.role} may not submit results (needs operator)")
        return None

    async def respond(self, authorization: str, body: bytes) -> Response:
        refused = self.gate(authorization)
        if refused is not None:
            return refused
        if (wait := self.site.runner.overloaded()) is not None:
            return overloaded(wait)  # before decoding: overload is answered cheaply
        return await self.finish(prepare(body))

    async def finish(self, prepared: Prepared) -> Response:
        """Check a prepared body against live state, apply and journal what is good, and
        answer (the same answer whether the body was prepared here or in a front)."""
        return (await self.finish_many([prepared]))[0]

    async def finish_many(self, bodies: list[Prepared]) -> list[Response]:
        """:meth:`finish` for several requests at once (an ingest front sends the ones that
        arrived together): one engine input and one journal row for all of them, in their
        order — as if applied one after the other — and each request's own answer."""
        site = self.site
        if (wait := site.runner.overloaded()) is not None:
            return [overloaded(wait)] * len(bodies)
        now = site.clock()
        answers: list[Response | None] = []
        outcomes: list[tuple[int, list[dict[str, Any]]]] = []
        good: list[CheckResult] = []
        for prepared in bodies:
            refused = self._refuse(prepared)
            if refused is not None:
                answers.append(refused)
                outcomes.append((0, []))
                continue
            before = len(good)
            errors = self._check(prepared, now, good)
            accepted = len(good) - before
            outcomes.append((accepted, errors))
            answers.append(None if accepted else _none_accepted(errors, prepared.batched))
        if good:
            try:
                await site.runner.apply(Results(at=now, results=good))
            except LookoutError as exc:
                failed = lookout_error(exc)
                return [a if a is not None else failed for a in answers]
        out: list[Response] = []
        for answer, (accepted, errors) in zip(answers, outcomes, strict=True):
            if answer is not None:
                out.append(answer)
                continue
            body_out: dict[str, Any] = {"accepted": accepted, "rejected": len(errors)}
            if errors:
                body_out["errors"] = errors
                out.append(Response(_encode(body_out), 207, media_type="application/json"))
            else:
                out.append(Response(_encode(body_out), 200, media_type="application/json"))
        return out

    def _refuse(self, prepared: Prepared) -> Response | None:
        """The answer to a body refused as a whole (undecodable, too many items), or None."""
        if prepared.error_loc is not None:
            error = {"loc": prepared.error_loc, "msg": prepared.error_msg}
            return problem(422, f"invalid body: {_where([error])}", errors_=[error])
        limit = self.site.settings.max_results_per_request
        if len(prepared.items) > limit:
            return problem(
                413, f"{len(prepared.items)} results in one request; the limit is {limit}"
            )
        return None

    def _check(
        self, prepared: Prepared, now: float, good: list[CheckResult]
    ) -> list[dict[str, Any]]:
        """Append the body's good results to ``good``; the errors of the others."""
        engine = self.site.engine
        skew = self.site.settings.max_clock_skew
        status = engine.status
        hosts = engine.hosts
        errors: list[dict[str, Any]] = []
        batched = prepared.batched
        for i, item in enumerate(prepared.items):
            host = item.host
            loc, msg = item.loc, item.msg
            if host is not None and (host, item.service) not in status:
                if host not in hosts:
                    loc, msg = ["host"], f"unknown host {host!r}"
                else:
                    loc, msg = ["service"], f"unknown service {host}/{item.service}"
            elif (result := item.result) is not None:
                at = result.checked_at
                if at is None or at <= now + skew:
                    good.append(result)
                    continue
                loc = ["checked_at"]
                msg = f"{at - now:.0f} s in the future (more than max_clock_skew = {skew:g} s)"
            errors.append({"index": i, "loc": ["results", i, *loc] if batched else loc, "msg": msg})
        return errors


def _none_accepted(errors: list[dict[str, Any]], batched: bool) -> Response:
    detail = f"no result accepted: {_where(errors)}" if errors else "no results given"
    return problem(
        422,
        detail,
        errors_=errors or [{"loc": ["results"] if batched else [], "msg": "empty"}],
        accepted=0,
        rejected=len(errors),
    )


def overloaded(wait: float) -> Response:
    """503: the site's database is behind; nothing of this request was taken."""
    return problem(
        503,
        f"the site is behind writing to its database: nothing was taken; retry after {wait:g} s",
        headers={"Retry-After": f"{wait:g}"},
    )

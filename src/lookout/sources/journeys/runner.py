"""Run a journey: its steps in order, one httpx client (cookies carry over) and, when needed,
one browser. A step that fails (CRIT) or cannot run (UNKNOWN) stops the journey; the steps
after it are reported as skipped."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lookout import __version__
from lookout.checks.journeys.evaluate import (
    CRIT,
    OK,
    UNKNOWN,
    ExtractionFailed,
    Response,
    check,
    extract,
    time_verdict,
)
from lookout.checks.journeys.model import Journey, Request, Step
from lookout.checks.journeys.report import JourneyResult, StepOutcome, summarize
from lookout.checks.journeys.template import UndefinedVariable, render, render_tree
from lookout.sources.journeys.browser import (
    CHROMIUM,
    ActionFailed,
    Browser,
    BrowserUnavailable,
    describe,
    stamp,
)

MAX_BODY = 10 * 2**20


@dataclass
class Options:
    """How to run: extra variables (``--var``), the environment for ``${env:NAME}``, the
    Chromium to drive, where screenshots of failed browser steps go (overrides the file's
    ``screenshots``) and the HTTP transport (tests)."""

    variables: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    chromium: str = CHROMIUM
    screenshots: Path | None = None
    base_dir: Path = Path()
    transport: httpx.BaseTransport | None = None
    max_body: int = MAX_BODY
    """Bytes of a response body kept for assertions; the rest is not read."""
    clock: Callable[[], float] = time.perf_counter


def run_journey(journey: Journey, options: Options | None = None) -> JourneyResult:
    opts = options or Options()
    run = _Run(journey, opts)
    try:
        return run.all()
    finally:
        run.close()


class _Run:
    def __init__(self, journey: Journey, opts: Options) -> None:
        self.journey = journey
        self.opts = opts
        self.variables: dict[str, str] = {}
        self.http = httpx.Client(
            transport=opts.transport,
            headers={"User-Agent": f"lookout-journey/{__version__}"},
        )
        self.browser = Browser(executable=opts.chromium)

    def close(self) -> None:
        self.http.close()
        self.browser.close()

    def all(self) -> JourneyResult:
        clock = self.opts.clock
        started = clock()
        outcomes: list[StepOutcome] = []
        stopped = False
        try:
            self.variables = {
                k: render(v, {}, self.opts.env) for k, v in self.journey.variables.items()
            }
        except UndefinedVariable as exc:
            outcomes.append(StepOutcome(0, "variables", "setup", UNKNOWN, reason=str(exc)))
            stopped = True
        self.variables.update(self.opts.variables)
        for number, step in enumerate(self.journey.steps, 1):
            kind = "http" if step.request is not None else "browser"
            if stopped:
                outcomes.append(StepOutcome(number, step.name, kind, None))
                continue
            try:
                outcome = self.step(number, step)
            except Exception as exc:  # a bug here must not read as a problem of the site
                reason = f"the journey runner failed: {type(exc).__name__}: {exc}"
                outcome = _outcome(number, step, UNKNOWN, 0.0, reason[:500])
            outcomes.append(outcome)
            stopped = outcome.state is not None and outcome.state >= CRIT
        return summarize(self.journey.name, outcomes, clock() - started)

    def timeout(self, step: Step, request: Request | None = None) -> float:
        if request is not None and request.timeout is not None:
            return request.timeout
        return step.timeout or self.journey.timeout

    # ------------------------------------------------------------------ HTTP
    def step(self, number: int, step: Step) -> StepOutcome:
        if step.browser is not None:
            return self.browser_step(number, step)
        started = self.opts.clock()
        try:
            response, line = self.request(step)
        except UndefinedVariable as exc:
            return _outcome(number, step, UNKNOWN, 0.0, str(exc))
        except _RequestFailed as exc:
            return _outcome(number, step, CRIT, self.opts.clock() - started, exc.reason, exc.line)
        verdict = check(step.expect, response)
        state, reason = verdict.state, verdict.reason
        if state < CRIT:
            try:
                for name, spec in step.extract.items():
                    self.variables[name] = extract(name, spec, response)
            except ExtractionFailed as exc:
                state, reason = CRIT, f"cannot extract {exc}"
        return _outcome(number, step, state, response.seconds, reason, line)

    def request(self, step: Step) -> tuple[Response, str]:
        req = step.request
        if req is None:  # pragma: no cover - the caller checks
            raise ValueError("not an HTTP step")
        env = self.opts.env
        v = self.variables
        url = render(req.url, v, env)
        headers = {render(k, v, env): render(x, v, env) for k, x in req.headers.items()}
        params = {render(k, v, env): render(x, v, env) for k, x in req.params.items()}
        content = None if req.body is None else render(req.body, v, env)
        data = None if req.form is None else render_tree(req.form, v, env)
        body_json = None if req.json_body is None else render_tree(req.json_body, v, env)
        timeout = self.timeout(step, req)
        line = f"{req.method} {_no_secrets(url)}"
        started = self.opts.clock()
        try:
            with self.http.stream(
                req.method,
                url,
                headers=headers,
                params=params or None,
                content=content,
                data=data,
                json=body_json,
                timeout=timeout,
                follow_redirects=req.follow_redirects,
            ) as r:
                body, cut = _read_body(r, self.opts.max_body)
        except httpx.TimeoutException as exc:
            raise _RequestFailed(
                f"timed out after {timeout:g} s ({type(exc).__name__})", line
            ) from exc
        except httpx.InvalidURL as exc:
            raise _RequestFailed(f"invalid URL: {exc}", line) from exc
        except httpx.HTTPError as exc:
            raise _RequestFailed(f"{type(exc).__name__}: {exc or 'no detail'}", line) from exc
        seconds = self.opts.clock() - started
        cookies = {c.name: c.value or "" for c in self.http.cookies.jar}
        response = Response(
            status=r.status_code,
            headers={k.lower(): val for k, val in r.headers.items()},
            text=body.decode(r.encoding or "utf-8", errors="replace"),
            seconds=seconds,
            cookies=cookies,
        )
        line = f"{line} → {r.status_code}"
        if cut:
            line += f" (body cut at {self.opts.max_body} bytes)"
        return response, line

    # ------------------------------------------------------------------ browser
    def browser_step(self, number: int, step: Step) -> StepOutcome:
        timeout = self.timeout(step)
        started = self.opts.clock()
        state, reason, detail = OK, "", ""
        for i, action in enumerate(step.browser or [], 1):
            try:
                self.browser.add_cookies(self._cookies())
                self.browser.run(
                    action, timeout, lambda s: render(s, self.variables, self.opts.env)
                )
            except UndefinedVariable as exc:
                state, reason = UNKNOWN, f"action {i} {describe(action)}: {exc}"
                break
            except BrowserUnavailable as exc:
                state, reason = UNKNOWN, str(exc)
                break
            except ActionFailed as exc:
                state, reason = CRIT, f"action {i} {describe(action)}: {exc}"
                detail = self.screenshot(step)
                break
        seconds = self.opts.clock() - started
        if state == OK:
            verdict = time_verdict(step.expect.time_levels, seconds)
            state, reason = verdict.state, verdict.reason
        return _outcome(number, step, state, seconds, reason, detail)

    def screenshot(self, step: Step) -> str:
        where = self.opts.screenshots
        if where is None and self.journey.screenshots:
            where = self.opts.base_dir / self.journey.screenshots
        if where is None:
            return ""
        slug = re.sub(r"[^a-z0-9]+", "-", f"{self.journey.name}-{step.name}".lower()).strip("-")
        try:
            path = self.browser.screenshot(where / f"{slug}-{stamp()}.png")
        except Exception as exc:
            return f"no screenshot: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        return f"screenshot {path}" if path else ""

    def _cookies(self) -> list[dict[str, str]]:
        return [
            {"name": c.name, "value": c.value or "", "domain": c.domain, "path": c.path or "/"}
            for c in self.http.cookies.jar
        ]


def _outcome(
    number: int, step: Step, state: int, seconds: float, reason: str, detail: str = ""
) -> StepOutcome:
    levels = step.expect.time_levels
    return StepOutcome(
        number=number,
        name=step.name,
        kind="http" if step.request is not None else "browser",
        state=state,
        seconds=seconds,
        reason=reason,
        detail=detail,
        warn=levels.warn if levels else None,
        crit=levels.crit if levels else None,
    )


def _read_body(r: httpx.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in r.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


class _RequestFailed(Exception):
    def __init__(self, reason: str, line: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


_USERINFO = re.compile(r"//[^/@]*@")


def _no_secrets(url: str) -> str:
    """A URL for the report: no user:password, no query string (tokens live there)."""
    return _USERINFO.sub("//", url).split("?", 1)[0]

"""The agent receiver: registration, renewal and pushes over mTLS, on its own TLS listener.

Every request is answered with a status and, when refused, an RFC 9457 problem that says why.
The hot path of a push: certificate fingerprint → cached identity (revocations take effect at
once: they change this in-memory map), a rate-limit counter, a strict msgspec decode into the
agent's own wire dataclasses, the pure check plugins, and one ``Results`` input to the engine
(journaled by the core before the 200). New services are created only when discovery finds
some.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec
import sqlalchemy as sa
from lookout_agent import wire as w

from lookout.checks.agent.api import CRIT, OK, WARN, CheckPlugin, ValueStore, human_duration
from lookout.checks.agent.registry import BY_NAME
from lookout.config import AgentReceiverSettings as Settings
from lookout.domain import values
from lookout.domain.metrics import Metric
from lookout.domain.objects import ServiceConfig
from lookout.domain.results import CheckResult
from lookout.sources.agent_receiver import evaluate, repo
from lookout.sources.agent_receiver.ca import CsrError, SiteCA, default_hostnames, der_fingerprint
from lookout.sources.agent_receiver.fronts import FrontPool, FrontSpec
from lookout.sources.agent_receiver.http import Request, Response, Server, problem
from lookout.sources.agent_receiver.ipc import Ask, EvalAsk, PushFrame
from lookout.sources.agent_receiver.pushes import decode_push
from lookout.sources.agent_receiver.repo import CertRecord

log = logging.getLogger(__name__)

AGENT_SERVICE = "Lookout Agent"
TOKEN_PREFIX = "lka_"
CERT_WARN_DAYS = 14.0
CERT_CRIT_DAYS = 3.0
VALUES_FLUSH_INTERVAL = 60.0
WATCHDOG_INTERVAL = 1.0


class SiteHooks(Protocol):
    """What the receiver needs from the site (the site wires it; sources do not import the
    engine)."""

    def host_exists(self, host: str) -> bool: ...

    def services_of(self, host: str) -> dict[str, ServiceConfig]: ...

    async def add_services(self, services: list[ServiceConfig]) -> None: ...

    async def update_services(self, services: list[ServiceConfig]) -> None: ...

    async def submit(self, results: list[CheckResult]) -> None: ...


@dataclass(slots=True)
class AgentInfo:
    """What the receiver knows about a pushing host (in memory)."""

    uuid: str
    version: str = ""
    interval: float = 60.0
    last_push: float = 0.0
    not_after: float = 0.0
    stale: bool = False
    collect_ms: float = 0.0


@dataclass(slots=True)
class Counters:
    pushes: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    registrations: int = 0
    renewals: int = 0


_register_decoder = msgspec.json.Decoder(w.RegisterRequest)
_params_encoder = msgspec.msgpack.Encoder()
_renew_decoder = msgspec.json.Decoder(w.RenewRequest)


class PushHead(Protocol):
    """What the receiver reads of a push besides its sections (a decoded ``w.Push``, or the
    head a front sends)."""

    @property
    def agent_version(self) -> str: ...
    @property
    def collected_at(self) -> float: ...
    @property
    def interval(self) -> float: ...
    @property
    def collect_ms(self) -> float: ...


Evaluated = tuple[list[CheckResult], dict[str, tuple[CheckPlugin[Any], str]]]
"""Storable results and the services discovered now: (name → (plugin, item))."""
Outcome = Callable[[dict[str, ServiceConfig], ValueStore], Awaitable[Evaluated]]


class PushLost(Exception):
    """The front that holds a push could not evaluate it."""


_packed_params: dict[int, tuple[dict[str, Any], bytes]] = {}


def _packed(params: dict[str, Any]) -> bytes:
    """msgpack of a service's stored params, cached by the dict (kept alongside)."""
    hit = _packed_params.get(id(params))
    if hit is not None and hit[0] is params:
        return hit[1]
    if len(_packed_params) >= evaluate.MAX_TYPED:
        _packed_params.clear()
    packed = _params_encoder.encode(params)
    _packed_params[id(params)] = (params, packed)
    return packed


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ok(body: Any) -> Response:
    return Response(200, msgspec.json.encode(body))


class AgentReceiver:
    def __init__(
        self,
        settings: Settings,
        site_dir: Path,
        site_name: str,
        db: sa.Engine,
        hooks: SiteHooks,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.site_dir = site_dir
        self.site_name = site_name
        self.db = db
        self.hooks = hooks
        self.clock = clock
        self.ca: SiteCA | None = None
        self.certs: dict[str, CertRecord] = {}
        self.revoked: dict[str, CertRecord] = {}
        self.agents: dict[str, AgentInfo] = {}
        self.values: dict[str, ValueStore] = {}
        self._dirty_values: set[str] = set()
        self._rate: dict[str, tuple[float, int]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.counters = Counters()
        self.server: Server | FrontPool | None = None
        self.port: int | None = None
        self.error: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.routes = {
            ("POST", "/push"): self.push,
            ("POST", "/register"): self.register,
            ("POST", "/renew"): self.renew,
            ("POST", "/deregister"): self.deregister_self,
            ("GET", "/ca"): self.get_ca,
            ("POST", "/diagnose"): self.diagnose,
        }

    # ------------------------------------------------------------------ life cycle
    @property
    def hostnames(self) -> list[str]:
        return default_hostnames(self.settings.hostnames)

    @property
    def url(self) -> str:
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        host, _, port = self.settings.listen.rpartition(":")
        name = self.hostnames[0] if host in ("0.0.0.0", "::", "", "127.0.0.1") else host
        return f"https://{name}:{self.port or port}"

    def load_ca(self) -> SiteCA:
        if self.ca is None:
            self.ca = SiteCA.ensure(self.site_dir, self.site_name)
        return self.ca

    async def start(self) -> None:
        ca = await asyncio.to_thread(self.load_ca)
        records = await asyncio.to_thread(repo.load_certs, self.db)
        now = self.clock()
        for rec in records:
            (self.certs if rec.revoked_at is None else self.revoked)[rec.fingerprint] = rec
            if rec.revoked_at is None and rec.not_after > now:
                info = self.agents.setdefault(rec.host, AgentInfo(uuid=rec.uuid))
                info.not_after = max(info.not_after, rec.not_after)
                info.last_push = now  # a grace period after start-up
        for host, data in (await asyncio.to_thread(repo.load_values, self.db)).items():
            with contextlib.suppress(msgspec.DecodeError):
                self.values[host] = ValueStore(
                    msgspec.msgpack.decode(data, type=dict[str, tuple[float, float]])
                )
        host, _, port = self.settings.listen.rpartition(":")
        listener: Server | FrontPool
        if self.settings.workers:
            # Issued (or renewed) here, once; each front only loads it.
            await asyncio.to_thread(ca.server_cert, self.hostnames)
            spec = FrontSpec(
                self.site_dir,
                self.site_name,
                self.hostnames,
                self.settings.max_push_bytes,
                self.settings.evaluate_in_fronts,
            )
            listener = FrontPool(self.handle, spec, self.settings.workers, self.handle_push)
        else:
            ctx = await asyncio.to_thread(ca.server_context, self.hostnames)
            listener = Server(self.handle, ctx, self.settings.max_push_bytes)
        try:
            self.port = await listener.start(host.strip("[]"), int(port))
        except (OSError, RuntimeError) as exc:
            # The site keeps serving its API; the receiver's status says what went wrong.
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.error = f"cannot listen on {self.settings.listen}: {why}"
            log.error("agent receiver: %s", self.error)
        else:
            self.server = listener
        self._tasks = [
            asyncio.create_task(self._watchdog(), name="agent-watchdog"),
            asyncio.create_task(self._flush_loop(), name="agent-values"),
        ]

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.flush_values()

    # ------------------------------------------------------------------ admin side
    async def create_token(self, host: str, by: str) -> tuple[str, float]:
        """A single-use registration token bound to ``host`` (stored hashed)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        now = self.clock()
        expires = now + self.settings.token_lifetime
        await asyncio.to_thread(repo.add_token, self.db, hash_token(token), host, by, now, expires)
        return token, expires

    async def registration(self, host: str, by: str) -> dict[str, Any]:
        """A new one-time token for ``host`` and the exact command to run on it (API, CLI, UI)."""
        token, expires_at = await self.create_token(host, by)
        fp = self.load_ca().fingerprint
        command = (
            f"lookout-agent register --server {shlex.quote(self.url)} --token {token} "
            f"--ca-fingerprint {fp}"
        )
        return {
            "host": host,
            "token": token,
            "expires_at": expires_at,
            "server_url": self.url,
            "ca_fingerprint": fp,
            "command": command,
            "receiver_listening": self.server is not None,
            "receiver_error": self.error,
        }

    def host_status(self, host: str) -> dict[str, Any] | None:
        """What the receiver knows of ``host``'s agent, or None when it has none."""
        a = self.agents.get(host)
        if a is None:
            return None
        return {
            "uuid": a.uuid,
            "version": a.version,
            "interval": a.interval,
            "last_push": a.last_push or None,
            "cert_not_after": a.not_after or None,
            "stale": a.stale,
        }

    async def deregister_host(self, host: str, by: str, reason: str = "") -> int:
        """Revoke every certificate of ``host`` at once and drop its unused tokens (also when
        the host is removed, so that a new host of that name does not inherit its agent)."""
        now = self.clock()
        reason = reason or f"host {host} deregistered by {by}"
        count = await asyncio.to_thread(repo.revoke, self.db, now, reason, host=host)
        await asyncio.to_thread(repo.drop_unused_tokens, self.db, host)
        self._revoke_memory(lambda r: r.host == host, now, reason)
        known = self.agents.pop(host, None) is not None and self.hooks.host_exists(host)
        if known and AGENT_SERVICE in self.hooks.services_of(host):
            await self.hooks.submit(
                [CheckResult(host, AGENT_SERVICE, CRIT, f"agent deregistered ({reason})")]
            )
        return count

    def _revoke_memory(self, match: Callable[[CertRecord], bool], at: float, reason: str) -> None:
        for fp, rec in list(self.certs.items()):
            if match(rec):
                del self.certs[fp]
                self.revoked[fp] = CertRecord(
                    rec.serial, fp, rec.uuid, rec.host, rec.not_after, at, reason
                )

    def status(self) -> dict[str, Any]:
        ca = self.load_ca()
        return {
            "listening": self.server is not None,
            "error": self.error
            or (self.server.error if isinstance(self.server, FrontPool) else None),
            "url": self.url,
            "ca_fingerprint": ca.fingerprint,
            "workers": self.server.status() if isinstance(self.server, FrontPool) else [],
            "agents": len(self.agents),
            "pushes": self.counters.pushes,
            "handshake_failures": self.server.handshake_failures if self.server else 0,
            "refused": {str(k): v for k, v in self.counters.refused.items()},
        }

    def agent_list(self) -> list[dict[str, Any]]:
        now = self.clock()
        return [
            {
                "host": host,
                "uuid": a.uuid,
                "version": a.version,
                "interval": a.interval,
                "last_push_age": now - a.last_push if a.last_push else None,
                "cert_not_after": a.not_after,
                "stale": a.stale,
            }
            for host, a in sorted(self.agents.items())
        ]

    # ------------------------------------------------------------------ requests
    async def handle(self, req: Request) -> Response:
        route = self.routes.get((req.method, req.path))
        if route is None:
            if any(p == req.path for _, p in self.routes):
                resp = problem(405, f"{req.method} not allowed on {req.path}")
            else:
                resp = problem(404, f"no such endpoint: {req.path}")
        else:
            resp = await route(req)
        return self._count(resp)

    def _count(self, resp: Response) -> Response:
        if resp.status != 200:
            self.counters.refused[resp.status] = self.counters.refused.get(resp.status, 0) + 1
        return resp

    def identify(self, req: Request, now: float) -> CertRecord | Response:
        """The agent behind the client certificate, or the refusal that says why not."""
        if req.peer_cert is None:
            return problem(401, "no client certificate: register first (lookout-agent register)")
        fp = der_fingerprint(req.peer_cert)
        rec = self.certs.get(fp)
        if rec is None:
            gone = self.revoked.get(fp)
            if gone is not None:
                return problem(403, f"certificate revoked: {gone.revoked_reason}")
            return problem(403, "certificate unknown to this site: register again")
        if rec.not_after <= now:
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(rec.not_after))
            return problem(401, f"certificate expired at {when}: register again")
        if not self.hooks.host_exists(rec.host):
            return problem(403, f"host {rec.host} no longer exists on this site")
        return rec

    def _limited(self, uuid: str, now: float) -> Response | None:
        start, count = self._rate.get(uuid, (now, 0))
        if now - start >= 60:
            start, count = now, 0
        count += 1
        self._rate[uuid] = (start, count)
        if count > self.settings.max_pushes_per_minute:
            retry = max(1, int(start + 60 - now + 0.999))
            return problem(
                429,
                f"more than {self.settings.max_pushes_per_minute} pushes per minute",
                retry_after=retry,
            )
        return None

    async def push(self, req: Request) -> Response:
        """A push over mTLS: who sent it, whether it may, whether it reads, whether its clock
        can be trusted; then its sections become services and results."""
        now = self.clock()
        rec = self._admit(req, now)
        if isinstance(rec, Response):
            return rec
        data = decode_push(req.body)
        if isinstance(data, Response):
            return data

        async def here(services: dict[str, ServiceConfig], store: ValueStore) -> Evaluated:
            out = evaluate.evaluate(rec.host, data.sections, services, store, now)
            return [evaluate.storable(r) for r in out.results], out.new

        return await self._accept(rec, data, now, here)

    async def handle_push(self, head: PushFrame, ask: Ask) -> Response:
        """A push a TLS front decoded and validated: the same decisions as :meth:`push`, in
        the same order; the front runs the checks (pure CPU) when this asks it to, with the
        host's services and value store, while the host's lock is held."""
        req = Request("POST", "/push", head.headers, b"", head.peer_cert, head.peer)
        now = self.clock()
        rec = self._admit(req, now)
        if isinstance(rec, Response):
            return self._count(rec)

        async def there(services: dict[str, ServiceConfig], store: ValueStore) -> Evaluated:
            plan = [
                (name, plugin.name, item, _packed(params))
                for name, plugin, item, params in evaluate.plan_of(services)
            ]
            done = await ask(EvalAsk(head.id, rec.host, now, plan, list(services), store.data))
            if done.error is not None:
                raise PushLost(done.error)
            store.data = done.values
            new = {n: (BY_NAME[p], i) for n, p, i in done.new if p in BY_NAME}
            return done.results, new

        try:
            return self._count(await self._accept(rec, head, now, there))
        except (PushLost, ConnectionError) as exc:
            log.warning("agent receiver: a push of %s was lost in its front: %s", rec.host, exc)
            return self._count(problem(503, "the push was lost on the way; push again"))

    async def _accept(
        self, rec: CertRecord, data: PushHead, now: float, outcome: Outcome
    ) -> Response:
        info = self._note_agent(rec, data)
        refused = await self._refuse_skew(rec.host, info, data, now)
        if refused is not None:
            return refused
        accepted, discovered = await self._apply_push(rec.host, info, data, now, outcome)
        self.counters.pushes += 1
        renew = now >= rec.not_after - (self.settings.cert_lifetime_days * 86400) / 3
        return ok({"accepted": accepted, "discovered": discovered, "renew": renew})

    def _admit(self, req: Request, now: float) -> CertRecord | Response:
        """The pushing agent's certificate record, or why it is refused (unknown, revoked,
        expired, its host gone, too many pushes)."""
        rec = self.identify(req, now)
        if isinstance(rec, Response):
            return rec
        limited = self._limited(rec.uuid, now)
        return rec if limited is None else limited

    def _note_agent(self, rec: CertRecord, data: PushHead) -> AgentInfo:
        """Remember what the agent says about itself (shown by ``lookout agent list``)."""
        info = self.agents.get(rec.host)
        if info is None:
            info = self.agents[rec.host] = AgentInfo(uuid=rec.uuid)
        info.uuid, info.version, info.interval = rec.uuid, data.agent_version[:64], data.interval
        info.not_after = rec.not_after
        return info

    async def _refuse_skew(
        self, host: str, info: AgentInfo, data: PushHead, now: float
    ) -> Response | None:
        """Refuse data from an agent whose clock is too far off, saying so on its service."""
        skew = data.collected_at - now
        if abs(skew) <= self.settings.max_clock_skew:
            return None
        where = "ahead of" if skew > 0 else "behind"
        detail = (
            f"clock skew: the agent's clock is {abs(skew):.0f} s {where} the site's "
            f"(at most {self.settings.max_clock_skew:g} s allowed); data refused"
        )
        info.last_push = now
        await self._ensure_agent_service(host, data.interval)
        await self.hooks.submit([CheckResult(host, AGENT_SERVICE, CRIT, detail)])
        return problem(422, detail, skew=round(skew, 3))

    async def _apply_push(
        self, host: str, info: AgentInfo, data: PushHead, now: float, outcome: Outcome
    ) -> tuple[int, int]:
        """Evaluate the sections (one push per host at a time: the value store holds rates),
        create the services they discover, submit the results. Returns (results, services)."""
        async with self._locks.setdefault(host, asyncio.Lock()):
            value_store = self.values.get(host)
            if value_store is None:
                value_store = self.values[host] = ValueStore()
            services = self.hooks.services_of(host)
            results, discovered = await outcome(services, value_store)
            new = self._new_services(host, discovered, services, data.interval)
            if new:
                await self.hooks.add_services(new)
            await self._follow_interval(services, data.interval)
            results.append(self._agent_result(host, info, data, now))
            results.append(CheckResult(host, "", 0, f"agent pushing every {data.interval:g} s"))
            self._dirty_values.add(host)
            info.last_push, info.stale, info.collect_ms = now, False, data.collect_ms
            await self.hooks.submit(results)
        return len(results), len(new)

    def _new_services(
        self,
        host: str,
        discovered: dict[str, tuple[CheckPlugin[Any], str]],
        services: dict[str, ServiceConfig],
        interval: float,
    ) -> list[ServiceConfig]:
        """Services to create: those discovered with an addressable name, at most
        ``MAX_SERVICES_PER_PUSH`` of them, and the agent's own service the first time."""
        new = [
            evaluate.service_config(host, name, plugin, item, interval, self.settings)
            for name, (plugin, item) in discovered.items()
            if values.name_problem(name, host=False) is None
        ]
        if len(new) > values.MAX_SERVICES_PER_PUSH:
            log.warning(
                "agent of %s: %d new services in one push, creating the first %d",
                host,
                len(new),
                values.MAX_SERVICES_PER_PUSH,
            )
            new = new[: values.MAX_SERVICES_PER_PUSH]
        if AGENT_SERVICE not in services:
            new.append(self._agent_service_config(host, interval))
        return new

    async def _follow_interval(self, services: dict[str, ServiceConfig], interval: float) -> None:
        """The agent's interval changed (``run --interval``): its services expect results at
        the new pace, so staleness and the silence watchdog keep meaning what they say."""
        changed = [
            msgspec.structs.replace(cfg, check_interval=interval, retry_interval=interval)
            for cfg in services.values()
            if cfg.labels.get("source") == "agent" and cfg.check_interval != interval
        ]
        if changed:
            await self.hooks.update_services(changed)

    def _agent_service_config(self, host: str, interval: float) -> ServiceConfig:
        return ServiceConfig(
            host=host,
            name=AGENT_SERVICE,
            check=None,
            check_interval=interval,
            retry_interval=interval,
            max_check_attempts=1,
            stale_after=0,  # the receiver's watchdog reports a silent agent itself
            labels={"source": "agent"},
        )

    async def _ensure_agent_service(self, host: str, interval: float) -> None:
        if AGENT_SERVICE not in self.hooks.services_of(host):
            await self.hooks.add_services([self._agent_service_config(host, interval)])

    def _agent_result(self, host: str, info: AgentInfo, data: PushHead, now: float) -> CheckResult:
        days = (info.not_after - now) / 86400
        state = CRIT if days < CERT_CRIT_DAYS else WARN if days < CERT_WARN_DAYS else OK
        mark = {WARN: " (!)", CRIT: " (!!)"}.get(state, "")
        until = time.strftime("%Y-%m-%d", time.gmtime(info.not_after))
        age = now - info.last_push if info.last_push else 0.0
        summary = (
            f"agent {info.version}, pushing every {data.interval:g} s, "
            f"certificate valid until {until} ({days:.0f} d){mark}, "
            f"collection took {data.collect_ms:.0f} ms"
        )
        return CheckResult(
            host,
            AGENT_SERVICE,
            state,
            summary,
            f"agent id {info.uuid}\nprevious push {human_duration(age)} earlier",
            (
                Metric("agent_collect_ms", round(data.collect_ms, 1), "ms", min=0),
                Metric("agent_cert_days_left", round(days, 2), "d", CERT_WARN_DAYS, CERT_CRIT_DAYS),
            ),
        )

    # ------------------------------------------------------------------ registration
    async def register(self, req: Request) -> Response:
        try:
            body = _register_decoder.decode(req.body)
        except msgspec.ValidationError as exc:
            return problem(422, f"invalid registration: {exc}")
        except msgspec.DecodeError as exc:
            return problem(400, f"registration is not valid JSON: {exc}")
        now = self.clock()
        digest = hash_token(body.token)
        host, why = await asyncio.to_thread(repo.check_token, self.db, digest, now)
        if host is None:  # before any signing work: no token, no CPU spent
            return problem(403, why)
        if not self.hooks.host_exists(host):
            return problem(409, f"host {host} no longer exists on this site")
        ca = self.load_ca()
        try:
            issued = await asyncio.to_thread(
                ca.sign_agent, body.csr, self.settings.cert_lifetime_days
            )
        except CsrError as exc:
            return problem(422, str(exc))  # the token stays usable
        host, why = await asyncio.to_thread(repo.use_token, self.db, digest, now)
        if host is None:  # another registration used it meanwhile
            return problem(403, why)
        rec = CertRecord(issued.serial, issued.fingerprint, issued.uuid, host, issued.not_after)
        await asyncio.to_thread(repo.add_cert, self.db, rec, now)
        # One agent per host: a new registration (a reinstall) retires the previous identity.
        reason = f"replaced by agent {rec.uuid} (registered again)"
        await asyncio.to_thread(repo.revoke, self.db, now, reason, host=host, keep_uuid=rec.uuid)
        self._revoke_memory(lambda r: r.host == host and r.uuid != rec.uuid, now, reason)
        self.certs[rec.fingerprint] = rec
        info = self.agents.setdefault(host, AgentInfo(uuid=rec.uuid))
        info.uuid, info.not_after, info.last_push, info.stale = rec.uuid, rec.not_after, now, False
        self.counters.registrations += 1
        log.info("agent %s registered for host %s", rec.uuid, host)
        return ok(w.Certificate(host, rec.uuid, issued.pem, ca.pem, rec.not_after, self.site_name))

    async def renew(self, req: Request) -> Response:
        now = self.clock()
        rec = self.identify(req, now)
        if isinstance(rec, Response):
            return rec
        try:
            body = _renew_decoder.decode(req.body)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return problem(422, f"invalid renewal: {exc}")
        ca = self.load_ca()
        try:
            issued = await asyncio.to_thread(
                ca.sign_agent, body.csr, self.settings.cert_lifetime_days, rec.uuid
            )
        except CsrError as exc:
            return problem(422, str(exc))
        new = CertRecord(issued.serial, issued.fingerprint, rec.uuid, rec.host, issued.not_after)
        await asyncio.to_thread(repo.add_cert, self.db, new, now)
        self.certs[new.fingerprint] = new
        info = self.agents.get(rec.host)
        if info is not None:
            info.not_after = max(info.not_after, new.not_after)
        self.counters.renewals += 1
        return ok(
            w.Certificate(rec.host, rec.uuid, issued.pem, ca.pem, new.not_after, self.site_name)
        )

    async def deregister_self(self, req: Request) -> Response:
        now = self.clock()
        rec = self.identify(req, now)
        if isinstance(rec, Response):
            return rec
        reason = f"agent {rec.uuid} deregistered itself"
        await asyncio.to_thread(repo.revoke, self.db, now, reason, uuid=rec.uuid)
        self._revoke_memory(lambda r: r.uuid == rec.uuid, now, reason)
        self.agents.pop(rec.host, None)
        with contextlib.suppress(Exception):
            await self.hooks.submit([CheckResult(rec.host, AGENT_SERVICE, CRIT, reason)])
        return ok({"deregistered": rec.uuid, "host": rec.host})

    async def get_ca(self, req: Request) -> Response:
        ca = self.load_ca()
        return ok({"ca": ca.pem, "fingerprint": ca.fingerprint})

    async def diagnose(self, req: Request) -> Response:
        """Why would this (public) certificate be refused? The TLS layer drops a handshake
        with a certificate of another CA without a word; the agent asks here and shows the
        answer. Says nothing about certificates the caller does not already hold."""
        try:
            pem = msgspec.json.decode(req.body, type=dict[str, str])["certificate"]
        except (msgspec.DecodeError, msgspec.ValidationError, KeyError) as exc:
            return problem(422, f'expected {{"certificate": "<PEM>"}}: {exc}')
        why = self.load_ca().foreign(pem)
        if why is not None:
            return problem(403, why)
        from lookout.sources.agent_receiver.ca import pem_to_der

        fake = Request(req.method, req.path, req.headers, b"", pem_to_der(pem), req.peer)
        rec = self.identify(fake, self.clock())
        if isinstance(rec, Response):
            return rec
        return ok({"ok": True, "host": rec.host})

    # ------------------------------------------------------------------ background
    async def _watchdog(self) -> None:
        """A host whose agent stopped pushing: "Lookout Agent" CRIT and the host DOWN after
        ``missed_intervals`` intervals."""
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL)
            try:
                await self._check_silent(self.clock())
            except Exception:
                log.exception("agent watchdog failed")

    async def _check_silent(self, now: float) -> None:
        results: list[CheckResult] = []
        limit = self.settings.missed_intervals
        for host, info in self.agents.items():
            if info.stale or not info.last_push or now - info.last_push <= limit * info.interval:
                continue
            if not self.hooks.host_exists(host) or AGENT_SERVICE not in self.hooks.services_of(
                host
            ):
                continue
            info.stale = True
            age = human_duration(now - info.last_push)
            results.append(
                CheckResult(
                    host, AGENT_SERVICE, CRIT,
                    f"no data from the agent for {age} ({limit:g} intervals of "
                    f"{info.interval:g} s missed)",
                )
            )  # fmt: skip
            results.append(CheckResult(host, "", 1, f"agent silent for {age}"))
        if results:
            await self.hooks.submit(results)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(VALUES_FLUSH_INTERVAL)
            try:
                await self.flush_values()
            except Exception:
                log.exception("saving the agent value store failed")

    async def flush_values(self) -> None:
        """Persist the value stores that changed (encoded here, in the loop; written in a
        thread), so a restart keeps the counters and rates continue."""
        dirty, self._dirty_values = self._dirty_values, set()
        data = {h: msgspec.msgpack.encode(self.values[h].data) for h in dirty if h in self.values}
        await asyncio.to_thread(repo.save_values, self.db, data, self.clock())

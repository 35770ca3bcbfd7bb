"""A site: its directory, database, engine, runner, scheduler and accounts, wired together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa

from lookout import auth
from lookout.actions import Actions
from lookout.chatops.service import ChatOps
from lookout.config import (
    SETTINGS_FILE,
    Settings,
    load_settings,
    render_settings,
    validate_settings,
    with_overrides,
)
from lookout.domain.commands import Command, CommandLineError, Execution
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.bus import EventBus
from lookout.engine.core import Engine, EngineSettings
from lookout.engine.flapping import FlapThresholds
from lookout.engine.runner import RunnerSettings, SiteRunner
from lookout.engine.scheduler import Scheduler
from lookout.engine.status import Status
from lookout.errors import (
    ConfigError,
    Conflict,
    PermissionDenied,
    StorageError,
    TemporaryFailure,
    ValidationError,
)
from lookout.notify.clock import CallableClock
from lookout.notify.clock import Clock as NotifyClock
from lookout.notify.notifier import Notifier, NotifierOptions
from lookout.sites import hostcheck
from lookout.sites.agents import make_receiver
from lookout.sites.alertmanager import Alertmanager
from lookout.sites.central import Central
from lookout.sites.changefeed import ChangeFeed
from lookout.sites.checkrules import CheckRules, refuse_misfits
from lookout.sites.kube import KubeManager
from lookout.sites.livestatus import make_livestatus
from lookout.sites.saas import check_refusal, disallowed_checks, violations
from lookout.sites.selfmon import ChannelMonitor
from lookout.sites.series import SeriesServices, series_services_of
from lookout.sites.standby import Standby
from lookout.sites.workers import make_pools
from lookout.sources.active.handlers import EventHandlers, Trigger
from lookout.sources.active.plugins import (
    CommandRunner,
    Executor,
    ProgramExecutor,
)
from lookout.sources.active.resources import ResourceFile
from lookout.sources.active.runner import CheckJob, EmbeddedRunner, Runner
from lookout.sources.active.spawner import SpawnerPool
from lookout.sources.agent_receiver.ca import SiteCA
from lookout.storage import accounts, memory
from lookout.storage import audit as audit_store
from lookout.storage import commands as command_store
from lookout.storage import groups as group_store
from lookout.storage.audit import AuditLog
from lookout.storage.database import migrate, open_database, private_sqlite_file
from lookout.storage.series import SeriesStore
from lookout.storage.store import SiteStore
from lookout.storage.vault import Vault

log = logging.getLogger(__name__)

GC_THRESHOLDS = (10_000, 10, 50)
"""The cyclic collector's thresholds once the site runs. Each collection holds the event loop
for as long as it scans: with (50,000, 20, 50) a young collection under churn took 85-155 ms
and an older one up to 220-420 ms (a probe on ``gc.callbacks``, load 3-7); with these the
longest was 43-74 ms, at the same CPU per result (``bench/churn.py``, alternating twice)."""

CLI_CREDENTIALS = "cli.json"


@dataclass(frozen=True, slots=True)
class Created:
    url: str
    token: str
    site_dir: Path


def init_site(
    site_dir: Path,
    *,
    listen: str = "127.0.0.1:8080",
    database_url: str = "",
    admin: str = "admin",
    extra: dict[str, Any] | None = None,
    clock: Callable[[], float] = time.time,
    template: Path | None = None,
) -> Created:
    """Create ``site_dir`` with settings, a migrated database, an admin user and two tokens: one
    returned (printed once, never stored in clear) and one for the local CLI (mode 0600).

    All or nothing: when a step fails, what init made is removed again (the directory, if init
    created it; else the files it added, and a SQLite file it created elsewhere) and the error
    is a :class:`ConfigError` naming what failed (a database: its URL without the password and
    the driver's first line).

    ``template``: an empty database at the schema's head (``storage.database.schema_template``)
    that a new SQLite database is copied from instead of being migrated step by step."""
    settings_path = site_dir / SETTINGS_FILE
    if settings_path.exists():
        raise ConfigError(f"{site_dir} is a site already ({settings_path} exists)")
    data: dict[str, Any] = {"listen": listen, "database_url": database_url, **(extra or {})}
    stored = validate_settings(data, env=False)  # the file holds what was asked for
    settings = with_overrides(validate_settings(data), data, source="lookout init")
    url = settings.database(site_dir)
    with _undone_on_failure(site_dir, _sqlite_file(url)):
        try:
            site_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the site directory {site_dir}: {exc}") from exc
        token, cli_token = _init_database(url, admin, clock(), template)
        try:
            # 0600 from the first byte: the settings may hold a database URL with its password
            _write_private(settings_path, render_settings(stored))
            SiteCA.ensure(site_dir, settings.site_name)  # agents pin its fingerprint (issue #3)
            Vault(site_dir).ensure()  # one sealing key, copied with the directory to a standby
            creds = site_dir / CLI_CREDENTIALS
            _write_private(creds, json.dumps({"url": settings.url, "token": cli_token}))
        except OSError as exc:
            raise ConfigError(f"cannot write the site in {site_dir}: {exc}") from exc
    return Created(url=settings.url, token=token, site_dir=site_dir)


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only (mode 0600 before anything is in it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _init_database(
    url: str, admin: str, now: float, template: Path | None = None
) -> tuple[str, str]:
    """Migrate the database at ``url`` (a new SQLite file: copy ``template`` if given) and add
    the admin with two tokens (returned in clear)."""
    target = _sqlite_file(url)
    try:
        if template is not None and target is not None and not target.exists():
            private_sqlite_file(url)  # made 0600; the copy keeps the mode
            shutil.copyfile(template, target)
        db = open_database(url)
        try:
            migrate(db)
            accounts.add_user(db, admin, auth.Role.ADMIN.value, now)
            tokens = auth.new_token(), auth.new_token()
            for name, token in zip(("initial admin token", "local cli"), tokens, strict=True):
                accounts.add_token(
                    db,
                    name=name,
                    user=admin,
                    role="admin",
                    token_hash=auth.hash_token(token),
                    at=now,
                )
        finally:
            db.dispose()
    except (sa.exc.SQLAlchemyError, StorageError, ImportError, OSError) as exc:
        raise database_error("cannot set up the database", url, exc) from exc
    return tokens


def database_error(what: str, url: str, exc: BaseException) -> ConfigError:
    """One line for a database that cannot be used: the URL without its password and the
    driver's first line (its traceback belongs to ``--debug``)."""
    return ConfigError(f"{what} (database_url = {_without_password(url)!r}): {_first_line(exc)}")


def check_database(site: Site) -> None:
    """Connect once, so that ``serve`` can say in one line why it cannot start."""
    try:
        with site.db.connect():
            pass
    except (sa.exc.SQLAlchemyError, ImportError) as exc:
        url = site.settings.database(site.dir)
        raise database_error("cannot reach the database", url, exc) from exc


def _without_password(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:  # not a URL SQLAlchemy parses: mask what looks like one
        return re.sub(r"([^/:@]*):[^@/]*@", r"\1:***@", url)


def _first_line(exc: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy wraps it; StorageError wraps that)."""
    while isinstance(exc, StorageError) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, ImportError):
        return f"{exc} (is the database driver installed?)"
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` (None for other databases and in-memory ones)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return None
    name = parsed.database
    if not parsed.drivername.startswith("sqlite") or not name or name == ":memory:":
        return None
    return None if name.startswith("file:") else Path(name)


@contextlib.contextmanager
def _undone_on_failure(site_dir: Path, db_file: Path | None) -> Iterator[None]:
    """Remove what the block created when it fails: the topmost directory it created on the
    way to ``site_dir``, or else the entries it added to ``site_dir``; and ``db_file`` (with
    SQLite's files beside it) if that did not exist before."""
    new_root = next((p for p in reversed((site_dir, *site_dir.parents)) if not p.exists()), None)
    had = set(site_dir.iterdir()) if new_root is None and site_dir.is_dir() else set()
    db_files = []
    if db_file is not None and not db_file.exists():
        db_files = [db_file.with_name(db_file.name + s) for s in ("", "-wal", "-shm", "-journal")]
    try:
        yield
    except BaseException:
        if new_root is not None:
            shutil.rmtree(new_root, ignore_errors=True)
        elif site_dir.is_dir():
            for entry in set(site_dir.iterdir()) - had:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        for path in db_files:
            path.unlink(missing_ok=True)
        raise


@dataclass(slots=True)
class _CheckBatch:
    """Check results of one event-loop turn, waiting to become one journaled input."""

    done: asyncio.Future[None]
    results: list[Any] = field(default_factory=list)

    def settle(self, durable: asyncio.Future[None]) -> None:
        if self.done.done():
            return
        exc = durable.exception()
        if exc is not None:
            self.done.set_exception(exc)
        else:
            self.done.set_result(None)


class Site:
    """A running site (one per ``lookout serve``)."""

    def __init__(
        self,
        site_dir: Path,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dir = site_dir
        self.settings = settings or load_settings(site_dir)
        self.clock = clock
        s = self.settings
        self.db: sa.Engine = open_database(
            s.database(site_dir),
            synchronous=s.sqlite_synchronous,
            busy_timeout=s.sqlite_busy_timeout,
        )
        self.vault = Vault(site_dir)
        """The site key (``kube.key``): seals channel secrets; Kubernetes tokens use it too."""
        self.audit = AuditLog(self.db, clock)
        """The audit log: every configuration change and action, who, when and from where."""
        self.series = SeriesStore()
        self.store = SiteStore(self.db, self.series)
        flap = FlapThresholds(low=s.flapping.low, high=s.flapping.high, enabled=s.flapping.enabled)
        self.engine = Engine(EngineSettings(service_flap=flap, host_flap=flap), self.series)
        self.bus = EventBus()
        self.runner = SiteRunner(
            self.engine,
            self.store,
            self.bus,
            RunnerSettings(
                checkpoint_interval=s.checkpoint_interval,
                tick_interval=s.tick_interval,
                overload_after=s.overload_after,
                checkpoint_after_results=s.checkpoint_after_results,
                max_unsaved_results=s.max_unsaved_results,
                event_retention=s.event_retention_days * 86400,
            ),
            clock=clock,
        )
        self.tokens = auth.TokenRegistry()
        x = s.execution
        self.executor: ProgramExecutor = (
            SpawnerPool(
                x.spawners,
                enabled=x.enabled,
                concurrency=x.concurrency,
                kill_grace=x.kill_grace,
            )
            if x.spawners
            else Executor(enabled=x.enabled, concurrency=x.concurrency, kill_grace=x.kill_grace)
        )
        """Runs every program the site starts; ``executor.enabled`` is the execution switch
        (event handlers must go through it too)."""
        self.commands = CommandRunner(
            self.executor, resources=ResourceFile(site_dir / x.resource_file)
        )
        """Command definitions (loaded at start) and the resource file's $USERn$ macros."""
        self.check_rules = CheckRules(self.db, self.audit)
        self.group_aliases: dict[str, dict[str, str]] = {kind: {} for kind in group_store.KINDS}
        """``{"host"|"service": {group: alias}}`` (loaded at start)."""
        """Check rules: parameters for check types by label, applied at every run."""
        self.pools = make_pools(self)
        """Worker pools on NATS JetStream ([execution] runner = "nats"), else None."""
        self.series_services = SeriesServices(self)
        """Services made from the series of PromQL checks with ``per_series``."""
        self.check_runner: Runner = self.pools or EmbeddedRunner(
            concurrency=s.check_concurrency,
            clock=clock,
            commands=self.commands,
            on_series=self.series_services.take,
        )
        submit: Callable[[CheckResult], Awaitable[None]] = self._submit_check_result
        if self.pools is not None:  # their runner journals the results (imports NATS)
            from lookout.sources.workers.runner import journaled_already

            submit = journaled_already
        self.scheduler = Scheduler(
            self.check_runner,
            submit=submit,
            interval_for=self._interval_for,
            clock=clock,
            catch_up=s.catch_up_window,
        )
        self.engine.on_recheck = self._recheck
        self.handlers = EventHandlers(self.commands, self._handler_ran, enabled=x.event_handlers)
        """Event handlers, run on the engine's state changes (through the executor)."""
        self.engine.on_state = self._state_changed
        self.notifier = Notifier(
            self.db,
            self.engine,
            self.runner,
            self.bus,
            clock if isinstance(clock, NotifyClock) else CallableClock(clock),
            NotifierOptions(
                rescan_interval=s.notifications.rescan_interval,
                site_name=s.site_name,
                url=s.url,
                channel_types=tuple(s.saas.channel_types) if s.saas.enabled else None,
            ),
            self.vault,
            self.audit,
        )
        self.actions = Actions(
            self.engine, self.runner, clock, self._runs_host_check, audit=self.audit
        )
        """The one actions module of the site: REST API, web UI and chat-ops act through it."""
        self.chatops = ChatOps(self.notifier, self.actions)
        self.channel_monitor = ChannelMonitor(self) if s.notifications.self_monitoring else None
        """Self-monitoring: a service per notification channel, CRIT while it fails."""
        self.kube = KubeManager(self, s.kubernetes, site_dir, clock)
        self.agents = make_receiver(self)
        self.livestatus = make_livestatus(self)
        """The Livestatus server (None when ``[livestatus]`` turns socket and TCP off)."""
        self.alertmanager = Alertmanager(self)
        """Alertmanager's webhook into the site, and silences for acks and downtimes."""
        self.central = Central(self)
        """The remote sites this site shows next to its own (``lookout remote add``)."""
        self.feed: ChangeFeed | None = None
        """What changed, for central sites that follow this one (made when first asked)."""
        self._tasks: list[asyncio.Task[None]] = []
        self.saas_disabled: set[str] = set()
        """What SaaS mode found not allowed and disabled (``[saas] on_violation``)."""
        self._check_batch: _CheckBatch | None = None
        self.started_at = clock()
        self.standby = Standby(self)
        """Which process runs the site (on PostgreSQL: the site lock); ``lookout serve``
        starts and stops the site through it."""

    def change_feed(self) -> ChangeFeed:
        """The feed of changes central sites follow; it starts sweeping when first asked."""
        if self.feed is None:
            self.feed = ChangeFeed(self.engine, self.settings.site_name)
            self.runner.before_checkpoint = self.feed.sweep
        return self.feed

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        await asyncio.to_thread(migrate, self.db)
        await self._seal_plain_secrets()
        # Loading builds ~10 objects per service that live as long as the site: no cyclic
        # collection while loading, then keep them out of the collector's scans.
        gc.disable()
        try:
            await self.runner.start()
        finally:
            gc.enable()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        self.reload_tokens()
        await self._load_commands()
        await self.check_rules.load()
        self.group_aliases = await asyncio.to_thread(group_store.list_aliases, self.db)
        await self._check_saas()
        for cfg in self.engine.hosts.values():
            self.schedule_host(cfg, resume=True)
        for svc in self.engine.services.values():
            if svc.check is not None:  # passive ones have nothing to schedule (or unschedule)
                self.schedule_service(svc, resume=True)
        if self.pools is not None:
            await self.pools.start()
        self._tasks.append(asyncio.create_task(self.scheduler.run(), name="lookout-scheduler"))
        if self.settings.notifications.enabled:
            if self.channel_monitor is not None:
                self.channel_monitor.start()
            await self.notifier.start()
            await self.chatops.start()
        await self.kube.start()
        if self.agents is not None:
            await self.agents.start()
        if self.livestatus is not None:
            await self.livestatus.start()
        await self.alertmanager.start()
        await self.central.start()
        self._tasks.append(asyncio.create_task(self._prune_audit(), name="lookout-audit-prune"))
        self._tasks.append(asyncio.create_task(self._recheck_saas(), name="lookout-saas-check"))
        if self.settings.demo:
            from lookout.sites import demo

            await demo.seed(self)
            self._tasks.append(asyncio.create_task(demo.feed(self), name="lookout-demo"))
        memory.trim()  # what loading built and dropped goes back to the system (once, ms)
        self.standby.running()

    async def stop(self) -> None:
        await self.central.stop()
        await self.alertmanager.stop()
        await self.series_services.aclose()
        if self.livestatus is not None:
            await self.livestatus.stop()
        await self.kube.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.settings.notifications.enabled:
            await self.chatops.stop()
            await self.notifier.stop()
            if self.channel_monitor is not None:
                await self.channel_monitor.stop()
        if self.agents is not None:
            await self.agents.stop()
        await self.check_runner.aclose()
        await self.executor.aclose()
        await self.handlers.aclose()
        await self.audit.flush()
        await self.runner.stop()
        self.db.dispose()

    async def _seal_plain_secrets(self) -> None:
        """Channel secrets stored in clear by an older Lookout are sealed once, at start (no
        migration can: the key is in the site directory, the database may be elsewhere)."""
        try:
            sealed = await asyncio.to_thread(self.notifier.store.seal_plain_secrets, self.clock())
        except ConfigError as exc:  # a bad key file must not stop the site; channels say so
            log.error("channel secrets left as they are: %s", exc)
            return
        if sealed:
            log.info("sealed the plain-text secrets of channels %s", ", ".join(sealed))

    async def _load_commands(self) -> None:
        for row in await asyncio.to_thread(command_store.list_commands, self.db):
            try:
                command = Command.parse(row["name"], row["command_line"])
            except CommandLineError as exc:  # stored by a future version with other rules
                log.error("command %s left out: its command line %s", row["name"], exc)
                continue
            self.commands.commands[command.name] = command
        if not self.executor.enabled and self.pools is not None:
            log.warning(
                "[execution] enabled = false: this site runs no programs; its Nagios plugin "
                "checks run on the worker pools; off: event handlers"
            )
        elif not self.executor.enabled:
            users = sum(1 for _ in self._command_uses(handlers=False))
            log.warning(
                "[execution] enabled = false: this site runs no programs; off: Nagios plugin "
                "checks (%d configured go UNKNOWN), new ones are refused",
                users,
            )

    async def _check_saas(self, *, starting: bool = True) -> None:
        """SaaS mode: refuse to start while the site holds what the allow-list does not, or
        (``on_violation = "disable"``, and always once running) disable it and say so."""
        saas = self.settings.saas
        if not saas.enabled:
            return
        channels = await asyncio.to_thread(self.notifier.store.channels)
        found = violations(saas, self, channels, len(self.commands.commands))
        if found and starting and saas.on_violation == "refuse":
            for line in found:
                log.error("not allowed in SaaS mode: %s", line)
            raise ConfigError(
                f"SaaS mode: the site holds {len(found)} thing(s) that are not allowed "
                "([saas] in lookout.toml); remove them, then start it again",
                found,
            )
        new = sorted(set(found) - self.saas_disabled)
        self.saas_disabled = set(found)
        if not new:
            return
        for line in new:
            log.warning("not allowed in SaaS mode, disabled: %s", line)
        await self._disable_checks()
        await self.audit.record(
            "saas",
            "allow-list",
            "disable",
            summary=f"{len(new)} thing(s) not allowed in SaaS mode, disabled",
            after={"disabled": new},
        )

    async def _disable_checks(self) -> None:
        """Stop running the checks SaaS mode does not allow; their services say why."""
        now = self.clock()
        results = []
        for host, service, why in disallowed_checks(self.settings.saas, self):
            self.scheduler.unschedule(host, service)
            if service:
                summary = f"disabled in SaaS mode: {why}"
                results.append(CheckResult(host, service, 3, summary, checked_at=now))
        if results:
            await self.runner.apply(inp.Results(at=now, results=results))

    async def _recheck_saas(self) -> None:
        """Check the objects against the allow-list every ``recheck_interval`` seconds."""
        every = self.settings.saas.recheck_interval
        if not self.settings.saas.enabled or not every:
            return
        while True:
            await asyncio.sleep(every)
            try:
                await self._check_saas(starting=False)
            except Exception:  # the re-check must keep going
                log.exception("SaaS allow-list re-check failed")

    async def _prune_audit(self) -> None:
        """Once an hour, remove audit entries older than ``audit_retention_days`` (and say so
        in the log itself: the chain then starts at the oldest entry kept)."""
        keep = self.settings.audit_retention_days * 86400
        while True:
            before = self.clock() - keep
            removed = await asyncio.to_thread(audit_store.prune, self.db, before)
            if removed:
                await self.audit.record(
                    "audit",
                    "audit",
                    "prune",
                    summary=f"removed {removed} entries older than the retention",
                    after={"removed": removed, "before": before},
                )
            await asyncio.sleep(3600)

    def reload_tokens(self) -> None:
        for row in accounts.active_tokens(self.db):
            self.tokens.put(
                row.hash,
                auth.Principal(
                    user=row.user,
                    role=auth.Role(row.role),
                    token_id=row.id,
                    expires_at=row.expires_at,
                ),
            )

    # ------------------------------------------------------------------ command definitions
    async def save_command(self, name: str, line: str, *, create: bool) -> tuple[Command, bool]:
        """Store command ``name`` (``create``: refuse an existing one); (command, created).
        A line that cannot be used is a ValidationError at ``command_line``."""
        if self.settings.saas.enabled:
            raise PermissionDenied(
                "commands run programs on the server: not allowed on this SaaS site"
            )
        try:
            command = Command.parse(name, line)
        except CommandLineError as exc:
            raise ValidationError(f"command_line {exc}", ("command_line",)) from exc
        old = self.commands.commands.get(name)
        created = await asyncio.to_thread(
            command_store.save_command, self.db, name, line, self.clock(), create=create
        )
        self.commands.commands[name] = command
        await self.audit.record(
            "command",
            name,
            "create" if created else "change",
            before={"command_line": old.line} if old is not None else None,
            after={"command_line": line},
        )
        return command, created

    async def delete_command(self, name: str) -> None:
        """Remove command ``name``; a command that checks still use is a Conflict naming them."""
        users = self.command_users(name)
        if users:
            shown = ", ".join(users[:20]) + (
                f" and {len(users) - 20} more" if len(users) > 20 else ""
            )
            raise Conflict(f"command {name!r} is used by {shown}; change or remove them first")
        await asyncio.to_thread(command_store.delete_command, self.db, name)
        old = self.commands.commands.pop(name, None)
        await self.audit.record(
            "command", name, "delete", before={"command_line": old.line} if old else None
        )

    def command_users(self, name: str) -> list[str]:
        """``host/service`` (or ``host`` for a host check) of every check running ``name``,
        and ``… (event handler)`` of every event handler that does."""
        return [where for where, command in self._command_uses() if command == name]

    def _command_uses(self, *, handlers: bool = True) -> Iterator[tuple[str, str]]:
        """``(where, command)`` of every Nagios check and (unless told not to) every event
        handler of the site's hosts and services."""
        objects: list[tuple[str, HostConfig | ServiceConfig]] = [
            (h.name, h) for h in self.engine.hosts.values()
        ]
        objects += [(f"{s.host}/{s.name}", s) for s in self.engine.services.values()]
        for where, cfg in objects:
            if cfg.check is not None and cfg.check.get("type") == "nagios":
                yield where, str(cfg.check.get("command"))
            if handlers and cfg.event_handler is not None:
                yield f"{where} (event handler)", str(cfg.event_handler.get("command"))

    def refuse_handler(self, handler: dict[str, Any] | None) -> None:
        """Refuse an event handler naming a command that does not exist, or any handler while
        execution is disabled (a ValidationError under ``event_handler``)."""
        if handler is not None and self.settings.saas.enabled:
            raise PermissionDenied(
                "event handlers run programs on the server: not allowed on this SaaS site"
            )
        if handler is not None:
            self._refuse_command(
                handler.get("command"), "event_handler", ("event_handler",), "event handlers"
            )

    # ------------------------------------------------------------------ event handlers
    def _state_changed(self, st: Status) -> None:
        """The engine's state hook: trigger the object's event handler, if it has one."""
        own = st.cfg  # the engine's current config of the object: most have no handler
        if own is None or own.event_handler is None:
            return
        host = self.engine.hosts.get(st.host)
        if host is None:
            return
        cfg: HostConfig | ServiceConfig | None = (
            self.engine.services.get((st.host, st.service)) if st.service else host
        )
        if cfg is None or cfg.event_handler is None:
            return
        hs = self.engine.status.get((st.host, "")) or st
        self.handlers.trigger(
            Trigger(
                host=st.host,
                service=st.service,
                address=host.address,
                handler=cfg.event_handler,
                state=st.state,
                hard=st.hard,
                attempt=st.attempt,
                summary=st.summary,
                host_state=hs.state,
                host_hard=hs.hard,
                host_attempt=hs.attempt,
                host_summary=hs.summary,
            )
        )

    def _handler_ran(self, t: Trigger, run: Execution) -> None:
        """Journal what a handler did: an ``event_handler`` event with its output."""
        with contextlib.suppress(TemporaryFailure):  # the site refuses input: log only
            self.runner.submit(
                inp.HandlerRan(
                    at=self.clock(),
                    host=t.host,
                    service=t.service,
                    command=str(t.handler.get("command", "")),
                    state=t.state,
                    state_type="hard" if t.hard else "soft",
                    attempt=t.attempt,
                    exit_code=run.exit_code,
                    signal=run.signal,
                    output=run.output[:4096],
                    elapsed=run.elapsed,
                    error=run.error,
                )
            )

    def refuse_check(self, check: dict[str, Any] | None) -> None:
        """Refuse a check this site cannot run (a ValidationError under ``check``): a Nagios
        check while execution is disabled, or one naming a command that does not exist.
        In SaaS mode a type that is not allowed is refused first (PermissionDenied: 403)."""
        why = self.settings.saas.refusal("check", check.get("type")) if check else None
        if why:
            raise PermissionDenied(why)
        if check is not None and check.get("type") == "nagios":
            self._refuse_command(
                check.get("command"),
                "check",
                ("check", "type"),
                "Nagios plugin checks",
                here=self.pools is None,
            )

    def _refuse_command(
        self, name: Any, field: str, off: tuple[str, ...], what: str, *, here: bool = True
    ) -> None:
        """``here``: the program would run on this machine (a check on worker pools runs on a
        worker's, so the execution switch, which is about this machine, does not refuse it)."""
        if here and not self.executor.enabled:
            raise ValidationError(
                f"{field}: execution is disabled on this site ([execution] enabled = false): "
                f"{what} cannot run here",
                off,
            )
        if name not in self.commands.commands:
            raise ValidationError(
                f"{field}.command: no command named {name!r} on this site "
                "(define it first: lookout command add NAME LINE)",
                (field, "command"),
            )

    # ------------------------------------------------------------------ configuration
    async def set_group_aliases(self, kind: str, aliases: dict[str, str]) -> None:
        """Make the aliases of ``kind`` (host, service) groups ``aliases``."""
        kept = {n: a for n, a in aliases.items() if a and a != n}
        before = self.group_aliases.get(kind, {})
        await asyncio.to_thread(group_store.write_aliases, self.db, kind, kept, self.clock())
        self.group_aliases = {**self.group_aliases, kind: kept}
        if kept != before:
            await self.audit.record("group-aliases", kind, "change", before=before, after=kept)

    async def save_host(self, cfg: HostConfig, *, create: bool) -> None:
        """Store a host's configuration, then hand it to the engine and the scheduler."""
        self.refuse_check(cfg.check)
        self.refuse_handler(cfg.event_handler)
        refuse_misfits(self.check_rules.rules, iter([(cfg, None)]))
        now = self.clock()
        old = self.engine.hosts.get(cfg.name)
        await asyncio.to_thread(self.store.save_host, cfg, now, create=create)
        self.engine.put_host(cfg, now)
        self.schedule_host(cfg)
        await self.audit.record(
            "host", cfg.name, "create" if old is None else "change", **_change(old, cfg)
        )

    async def delete_host(self, name: str) -> None:
        old = self.engine.hosts.get(name)
        services = len(self.engine.host_services.get(name, {}))
        await asyncio.to_thread(self.store.delete_host, name)
        for svc in list(self.engine.host_services.get(name, {})):
            self.scheduler.unschedule(name, svc)
        self.scheduler.unschedule(name, "")
        self.engine.remove_host(name)
        if self.agents is not None:
            await self.agents.deregister_host(name, "", f"host {name} was removed")
        summary = f"with its {services} services" if services else ""
        await self.audit.record("host", name, "delete", summary=summary, **_change(old, None))

    async def save_service(self, cfg: ServiceConfig, *, create: bool) -> None:
        self.refuse_check(cfg.check)
        self.refuse_handler(cfg.event_handler)
        host = self.engine.hosts.get(cfg.host)
        if host is not None:
            refuse_misfits(self.check_rules.rules, iter([(host, cfg)]))
        now = self.clock()
        old = self.engine.services.get((cfg.host, cfg.name))
        await asyncio.to_thread(self.store.save_service, cfg, now, create=create)
        self.engine.put_service(cfg, now)
        self.schedule_service(cfg)
        await self.audit.record(
            "service",
            f"{cfg.host}/{cfg.name}",
            "create" if old is None else "change",
            **_change(old, cfg),
        )

    async def add_objects(self, hosts: list[HostConfig], services: list[ServiceConfig]) -> None:
        """Create many new hosts and services in one transaction, then hand them to the engine
        and the scheduler (bulk creation; each was checked as ``save_host``/``save_service``
        check one)."""
        now = self.clock()
        await asyncio.to_thread(self.store.save_many, hosts, services, now)
        for h in hosts:
            self.engine.put_host(h, now)
            self.schedule_host(h)
        for i, s in enumerate(services, 1):
            self.engine.put_service(s, now)
            self.schedule_service(s)
            if i % 5000 == 0:  # let results and requests through between the chunks
                await asyncio.sleep(0)
        await self.audit.record(
            "objects",
            _names(hosts, services),
            "create",
            summary=f"created {len(hosts)} hosts and {len(services)} services",
            after={"hosts": len(hosts), "services": len(services)},
        )

    async def apply_batch(
        self,
        hosts: list[HostConfig],
        services: list[ServiceConfig],
        remove_services: list[tuple[str, str]],
        remove_hosts: list[str],
    ) -> None:
        """Create/update/remove many hosts and services in one transaction, then in the
        engine (data sources that discover objects: Kubernetes)."""
        now = self.clock()
        await asyncio.to_thread(
            self.store.sync_objects, hosts, services, remove_services, remove_hosts, now
        )
        for h in hosts:
            self.engine.put_host(h, now)
            self.schedule_host(h)
        for svc in services:
            self.engine.put_service(svc, now)
            if svc.check is not None:
                self.schedule_service(svc)
        for host, name in remove_services:
            self.scheduler.unschedule(host, name)
            self.engine.remove_service(host, name)
        for name in remove_hosts:
            for svc_name in list(self.engine.host_services.get(name, {})):
                self.scheduler.unschedule(name, svc_name)
            self.scheduler.unschedule(name, "")
            self.engine.remove_host(name)

    async def delete_service(self, host: str, name: str) -> None:
        """Delete a service, and the services made from its series (``sites/series.py``)."""
        for child in series_services_of(self.engine, host, name):
            await self.delete_service(host, child)
        old = self.engine.services.get((host, name))
        await asyncio.to_thread(self.store.delete_service, host, name)
        self.scheduler.unschedule(host, name)
        self.engine.remove_service(host, name)
        await self.audit.record("service", f"{host}/{name}", "delete", **_change(old, None))

    # ------------------------------------------------------------------ active checks
    def host_check(self, cfg: HostConfig) -> dict[str, Any] | None:
        """The check host ``cfg`` runs: its own, else the default host check (``alive``) where
        that applies (``sites.hostcheck``), else None."""
        if cfg.check is not None:
            return cfg.check
        agents = self.agents.agents if self.agents is not None else {}
        enabled = self.settings.default_host_check == "alive"
        return hostcheck.default_check(cfg, enabled, agents, self.engine.status)

    def _runs_host_check(self, host: str) -> bool:
        cfg = self.engine.hosts.get(host)
        return cfg is not None and self.host_check(cfg) is not None

    def schedule_host(self, cfg: HostConfig, resume: bool = False) -> None:
        """Schedule a host's check; ``resume``: at start, catching up on a run it missed."""
        self.scheduler.unschedule(cfg.name, "")
        if check_refusal(self.settings.saas, cfg.check):
            return  # disabled in SaaS mode (sites/saas.py)
        if self.host_check(cfg) is not None:
            self.scheduler.schedule(
                cfg.name,
                "",
                self._job_factory(cfg.name, ""),
                cfg.check_interval,
                self._last_run(cfg.name, "") if resume else None,
            )

    def schedule_service(self, cfg: ServiceConfig, resume: bool = False) -> None:
        """Schedule a service's check; ``resume``: at start, catching up on a run it missed."""
        self.scheduler.unschedule(cfg.host, cfg.name)
        if check_refusal(self.settings.saas, cfg.check):
            return  # disabled in SaaS mode (sites/saas.py)
        if cfg.check is not None:
            self.scheduler.schedule(
                cfg.host,
                cfg.name,
                self._job_factory(cfg.host, cfg.name),
                cfg.check_interval,
                self._last_run(cfg.host, cfg.name) if resume else None,
            )

    def _last_run(self, host: str, service: str) -> float | None:
        """When the check last ran before this start (None: never, so no run was missed)."""
        st = self.engine.status.get((host, service))
        return st.last_check if st is not None and st.checked else None

    def _job_factory(self, host: str, service: str) -> Callable[[], CheckJob | None]:
        def make() -> CheckJob | None:
            h = self.engine.hosts.get(host)
            svc = self.engine.services.get((host, service)) if service else None
            if h is None or (service and svc is None):
                return None
            if not service and h.check is None:
                h = msgspec.structs.replace(h, check=self.host_check(h))
            found = self.check_rules.effective(h, svc)
            if found is None:
                return None
            return CheckJob(
                host=host,
                service=service,
                config=found.config,
                address=h.address or host,
                scheduled_at=self.clock(),
            )

        return make

    def check_objects(self) -> Iterator[tuple[HostConfig, ServiceConfig | None]]:
        """Every host with its own check (service None) and every service with its host."""
        hosts = self.engine.hosts
        for h in hosts.values():
            yield h, None
        for svc in self.engine.services.values():
            owner = hosts.get(svc.host)
            if owner is not None:
                yield owner, svc

    def _recheck(self, key: tuple[str, str]) -> None:
        self.scheduler.run_now(*key)

    def _interval_for(self, host: str, service: str) -> float | None:
        st = self.engine.status.get((host, service))
        cfg = (
            self.engine.hosts.get(host)
            if not service
            else self.engine.services.get((host, service))
        )
        if st is None or cfg is None:
            return None
        if cfg.check is None and (isinstance(cfg, ServiceConfig) or self.host_check(cfg) is None):
            return None  # passive, or a host whose default check stood down
        if st.state != 0 and not st.hard:
            return cfg.retry_interval
        return cfg.check_interval

    async def _submit_check_result(self, result: Any) -> None:
        """Hand a check's result to the engine. Results that finish in the same event-loop
        turn go in as one input (one journal entry, one future): at 2,000 checks/s a
        journal entry per result cost more than the results themselves."""
        batch = self._check_batch
        if batch is None:
            batch = self._check_batch = _CheckBatch(asyncio.get_running_loop().create_future())
            asyncio.get_running_loop().call_soon(self._flush_check_batch)
        batch.results.append(result)
        await asyncio.shield(batch.done)

    def _flush_check_batch(self) -> None:
        batch, self._check_batch = self._check_batch, None
        if batch is None:
            return
        try:
            _, durable = self.runner.submit(inp.Results(at=self.clock(), results=batch.results))
        except Exception as exc:  # the site refuses input: every waiter hears it
            batch.done.set_exception(exc)
            return
        durable.add_done_callback(batch.settle)


def _change(old: Any, new: Any) -> dict[str, Any]:
    """``before``/``after`` of an object's configuration (msgspec structs as plain data)."""
    return {
        "before": msgspec.to_builtins(old) if old is not None else None,
        "after": msgspec.to_builtins(new) if new is not None else None,
    }


def _names(hosts: list[HostConfig], services: list[ServiceConfig], most: int = 3) -> str:
    """A bulk operation's object: the first few names and how many more."""
    names = [h.name for h in hosts[:most]] + [f"{s.host}/{s.name}" for s in services[:most]]
    more = len(hosts) + len(services) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")

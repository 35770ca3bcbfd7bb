"""A manager root: its settings (``manager.toml``), its sites and their records.

```
ROOT/manager.toml          settings of the installation: host, port range, [saas]
ROOT/sites/NAME/           each site's directory (0700, its own user's when run as root)
ROOT/state/NAME.json       the manager's record of a site: ports, wanted state, process
ROOT/state/NAME.update     the step an update of the site is at (while it runs)
ROOT/backups/NAME/*.tar    backups (a manifest with checksums inside each)
ROOT/versions/V            another installed Lookout version: a directory or link with bin/lookout
ROOT/run/                  the supervisor's socket and pid, the root's lock, NAME.lock (updates)
```
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lookout.config import SaasSettings, parse_listen
from lookout.errors import ConfigError, NotFound
from lookout.manager.signup.settings import SignupSettings

ROOT_SETTINGS = "manager.toml"
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")


SITE_PLACEHOLDER = "{site}"


class DoorSettings(BaseModel):
    """The front door of a root's sites (``[door]`` in ``manager.toml``), run by ``lookout
    sites serve``: HTTP(S) routed by path, agents' TLS routed by SNI name."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    listen: str = "127.0.0.1:9080"
    """HOST:PORT of the HTTP(S) front door: /<site>/... goes to the site ("": none)."""
    public_url: str = ""
    """URL people use to reach the front door (default: http(s)://<listen>)."""
    cert_file: str = ""
    """PEM certificate (chain) for HTTPS on the front door ("": plain HTTP)."""
    key_file: str = ""
    """PEM private key of cert_file."""
    agent_listen: str = "127.0.0.1:9443"
    """HOST:PORT where agents connect; each TLS connection goes to its site by SNI ("": none)."""
    agent_name: str = "{site}.agents.localhost"
    """The name agents of a site connect to (its SNI, and a name in its certificate)."""
    agent_port: int = Field(0, ge=0, le=65535)
    """The port agents connect to, if not agent_listen's (a port forwarded to it)."""
    hello_timeout: float = Field(5.0, gt=0, le=120)
    """Seconds an agent connection may take to send its TLS ClientHello."""
    max_connections: int = Field(1000, ge=1, le=1_000_000)
    """Agent connections spliced at once; more are closed at once."""
    half_close_timeout: float = Field(30.0, gt=0, le=3600)
    """Seconds an agent connection may go on one way after the other way has ended (an agent
    or site that stopped sending but never closes does not hold a connection for ever)."""

    @model_validator(mode="after")
    def _valid(self) -> DoorSettings:
        for key in ("listen", "agent_listen"):
            value = getattr(self, key)
            if value:
                try:
                    parse_listen(value)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        if self.agent_name.count(SITE_PLACEHOLDER) != 1:
            raise ValueError(f"agent_name {self.agent_name!r}: expected {SITE_PLACEHOLDER} once")
        rest = self.agent_name.replace(SITE_PLACEHOLDER, "x")
        if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", rest):
            raise ValueError(f"agent_name {self.agent_name!r}: not a DNS name")
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("cert_file and key_file go together (HTTPS needs both)")
        return self

    @property
    def url(self) -> str:
        """The front door's URL without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host, port = parse_listen(self.listen)
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"{'https' if self.cert_file else 'http'}://{host}:{port}"

    def agent_host(self, site: str) -> str:
        return self.agent_name.replace(SITE_PLACEHOLDER, site)

    def agent_url(self, site: str) -> str:
        port = self.agent_port or parse_listen(self.agent_listen)[1]
        return f"https://{self.agent_host(site)}:{port}"

    def site_of(self, server_name: str) -> str | None:
        """The site an SNI name stands for (None: not one of ours)."""
        head, _, tail = self.agent_name.partition(SITE_PLACEHOLDER)
        name = server_name.lower().rstrip(".")
        if len(name) <= len(head) + len(tail) or not name.startswith(head):
            return None
        if not name.endswith(tail):
            return None
        site = name[len(head) : len(name) - len(tail)]
        return site if NAME_RE.match(site) else None


class RootSettings(BaseModel):
    """Settings of a manager root (``ROOT/manager.toml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """Address the sites' API/UI and agent receivers listen on."""
    first_port: int = Field(20000, ge=1024, le=65535)
    """Lowest port given to a site (each site takes two: API/UI and agent receiver)."""
    last_port: int = Field(29999, ge=1024, le=65535)
    """Highest port given to a site."""
    ready_timeout: float = Field(30.0, gt=0)
    """Seconds a started site may take to answer /readyz."""
    backup_every: float = Field(86400.0, ge=0)
    """Seconds between scheduled backups of each site by the supervisor (0: none)."""
    backup_keep: int = Field(7, ge=1, le=10000)
    """Backups kept per site; a new one deletes the oldest beyond this."""
    site_users: bool = True
    """When run as root: each site under a Unix user of its own (user_prefix + name)."""
    user_prefix: str = Field("lookout-", pattern=r"^[a-z_][a-z0-9_-]{0,15}$")
    """Start of each site's Unix user and group name (the site's name follows)."""
    saas: SaasSettings = SaasSettings()
    """SaaS mode for every site of this root (the sites cannot turn it off)."""
    signup: SignupSettings = SignupSettings()
    """Self-service sign-up pages, served by the supervisor's helper process."""
    door: DoorSettings = DoorSettings()
    """The front door: one HTTP(S) address and one agent port for every site."""

    @model_validator(mode="after")
    def _range(self) -> RootSettings:
        if self.first_port > self.last_port:
            raise ValueError(
                f"first_port ({self.first_port}) is above last_port ({self.last_port})"
            )
        return self


Wanted = Literal["running", "stopped"]


@dataclass
class Record:
    """What the manager knows of a site (``ROOT/state/NAME.json``)."""

    name: str
    http_port: int
    agent_port: int
    version: str
    created_at: float
    wanted: Wanted = "stopped"
    pid: int | None = None
    started: float | None = None
    """The process' start time (psutil), so a reused pid is never taken for the site."""
    user: str = ""
    """The Unix user the site runs as ("": the manager's own, when it does not run as root)."""
    crashes: int = 0
    """Times in a row the site's process ended (or did not start) while wanted running; reset
    once it has run ``STABLE_AFTER`` seconds, or by a stop."""
    last_exit: str = ""
    """How the process ended last time it crashed ("killed by SIGKILL", "exit code 1", ...)."""
    extra: dict[str, Any] = field(default_factory=dict)


RESERVED = frozenset({"signup", "oidc"})
"""Paths of the control plane behind the front door: no new site takes these names."""


def check_name(name: str) -> str:
    """A site name: it becomes a directory, a URL path and a DNS label."""
    if not NAME_RE.match(name):
        raise ConfigError(
            f"site name {name!r}: expected 2-32 of a-z, 0-9 and '-', starting with a letter "
            "and not ending with '-'"
        )
    return name


def check_new_name(name: str) -> str:
    """A name for a new site: valid, and not one of the control plane's paths."""
    if check_name(name) in RESERVED:
        raise ConfigError(f"site name {name!r} is the control plane's (/{name} on the door)")
    return name


class Root:
    """One manager root directory."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        settings_file = self.path / ROOT_SETTINGS
        if not settings_file.is_file():
            raise ConfigError(
                f"{self.path} is not a site manager root ({ROOT_SETTINGS} missing): "
                f"lookout sites init {path}"
            )
        self.settings = load_root_settings(settings_file)

    @property
    def sites(self) -> Path:
        return self.path / "sites"

    @property
    def run(self) -> Path:
        return self.path / "run"

    def site_dir(self, name: str) -> Path:
        return self.sites / check_name(name)

    def backups(self, name: str) -> Path:
        return self.path / "backups" / check_name(name)

    def _record_path(self, name: str) -> Path:
        return self.path / "state" / f"{check_name(name)}.json"

    def names(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "state").glob("*.json"))

    def exists(self, name: str) -> bool:
        return self._record_path(name).exists()

    def record(self, name: str) -> Record:
        path = self._record_path(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(f"no site named {name!r} in {self.path}") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: unreadable site record: {exc}") from exc
        return Record(**data)

    def save(self, rec: Record) -> None:
        """Write ``rec`` atomically (a crash leaves the old or the new record)."""
        path = self._record_path(rec.name)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(rec), indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def forget(self, name: str) -> None:
        self._record_path(name).unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One change at a time across processes (CLI, supervisor)."""
        with (self.run / "lock").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def site_locked(self, name: str) -> Iterator[None]:
        """One long change of one site at a time (an update), across processes. Taken before
        the root's lock, never while holding it, so the two never deadlock."""
        with (self.run / f"{check_name(name)}.lock").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def updating(self, name: str) -> bool:
        """Whether an update of the site is under way (or was killed and waits to be run again)."""
        return (self.path / "state" / f"{check_name(name)}.update").exists()

    def free_ports(self, count: int = 2) -> list[int]:
        """``count`` ports of the range that no site has and nothing listens on now."""
        taken = set()
        for name in self.names():
            with contextlib.suppress(NotFound, ConfigError, TypeError):
                rec = self.record(name)
                taken |= {rec.http_port, rec.agent_port}
        out: list[int] = []
        s = self.settings
        for port in range(s.first_port, s.last_port + 1):
            if port not in taken and _bindable(s.host, port):
                out.append(port)
                if len(out) == count:
                    return out
        raise ConfigError(f"no free ports left in {s.first_port}-{s.last_port} ({ROOT_SETTINGS})")


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def load_root_settings(path: Path) -> RootSettings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return RootSettings.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except pydantic.ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{path}: {len(problems)} invalid setting(s)", problems) from exc


ROOT_TEMPLATE = """\
# Lookout site manager: settings of every site of this root.
# Address the sites listen on; each site gets two ports of the range (API/UI, agent receiver).
# Keep the range below the kernel's ephemeral ports (net.ipv4.ip_local_port_range, usually
# 32768-60999): an outgoing connection could take a stopped site's port otherwise.
host = "127.0.0.1"
first_port = {first_port}
last_port = {last_port}
# Seconds a started site may take to answer /readyz.
ready_timeout = 30.0
# Seconds between scheduled backups of each site by the supervisor (0: none), and how many
# backups of a site are kept (a new one deletes the oldest beyond that).
backup_every = 86400.0
backup_keep = 7
# Run as root, `lookout sites create` makes a Unix user and group USER_PREFIX + NAME for
# each site (no log-in shell, home = the site's directory), owns the site's files by it
# (0600/0700) and runs the site as that user. Not root (or false): every site runs as the
# manager's own user.
site_users = {site_users}
user_prefix = "lookout-"

[door]
# The front door, run by `lookout sites serve`: http(s)://LISTEN/<site>/ reaches a site's API
# and UI; agents connect to AGENT_NAME (a DNS name pointing here) on AGENT_LISTEN's port, and
# each TLS connection goes to its site by its SNI name, unopened (mutual TLS stays end to end).
listen = "{listen}"
public_url = ""           # what people type, if not http(s)://LISTEN (a proxy in front)
cert_file = ""            # PEM certificate and key for HTTPS on LISTEN
key_file = ""
agent_listen = "{agent_listen}"
agent_name = "{{site}}.agents.localhost"

[saas]
# SaaS mode: no site of this root runs programs ([execution] is forced off) and only the
# allow-listed check and notification channel types may be created. Sites cannot turn it off.
enabled = {saas}
# A site holding what is not allowed (restored from a site that was not SaaS, say): "refuse"
# to start, listing it in its serve.log, or "disable" it (checks not run, channels left out)
# and start, saying so in the log and the audit log.
on_violation = "refuse"
# Seconds between re-checks of each running site against the allow-list (0: only at start).
recheck_interval = 3600.0
"""


def init_root(
    path: Path,
    *,
    saas: bool = False,
    first_port: int = 20000,
    listen: str = "127.0.0.1:9080",
    agent_listen: str = "127.0.0.1:9443",
    site_users: bool = True,
) -> Root:
    """Make ``path`` a manager root (its directories 0700)."""
    if (path / ROOT_SETTINGS).exists():
        raise ConfigError(f"{path} is a site manager root already")
    try:
        DoorSettings(listen=listen, agent_listen=agent_listen)
    except pydantic.ValidationError as exc:
        raise ConfigError(f"[door]: {exc.errors()[0]['msg']}") from exc
    if first_port + 1 > 65535:
        raise ConfigError(f"first_port {first_port}: leaves no room for a site")
    for sub in ("", "sites", "state", "backups", "run"):
        (path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path / sub, 0o700)
    text = ROOT_TEMPLATE.format(
        first_port=first_port,
        last_port=min(65535, first_port + 9999, 32767 if first_port < 32768 else 65535),
        saas="true" if saas else "false",
        site_users="true" if site_users else "false",
        listen=listen,
        agent_listen=agent_listen,
    )
    (path / ROOT_SETTINGS).write_text(text, encoding="utf-8")
    return Root(path)

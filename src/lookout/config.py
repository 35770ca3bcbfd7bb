"""One validated, frozen settings tree per site: ``lookout.toml`` overlaid by ``LOOKOUT_*``.

Environment variables win over the file; nested keys use ``__`` (``LOOKOUT_FLAPPING__HIGH=30``).
Every problem is reported together, naming the key, the value and what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from lookout.errors import ConfigError

SETTINGS_FILE = "lookout.toml"


class FlappingSettings(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    enabled: bool = True
    """Detect flapping at all."""
    low: float = Field(5.0, ge=0, le=100)
    """Percent state change below which flapping stops."""
    high: float = Field(20.0, ge=0, le=100)
    """Percent state change at or above which flapping starts."""

    @model_validator(mode="after")
    def _low_not_above_high(self) -> FlappingSettings:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not be above high ({self.high:g})")
        return self


class ServiceDefaults(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    check_interval: float = Field(60.0, gt=0)
    """Seconds between checks (passive: how often a result is expected)."""
    retry_interval: float = Field(60.0, gt=0)
    """Seconds between checks while a problem is soft."""
    max_check_attempts: int = Field(3, ge=1, le=100)
    """Problem results in a row before the state is hard."""
    stale_after: float = Field(3.0, ge=0)
    """Intervals without a result before the service goes UNKNOWN (0: never)."""


class NotificationSettings(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    enabled: bool = True
    """Run the notifier and the Zulip chat bot in ``lookout serve``."""
    rescan_interval: float = Field(30.0, gt=0)
    """Seconds between scans for repeats, escalations and held problems."""
    self_monitoring: bool = True
    """A service per notification channel (host: the site's name), CRIT while it fails."""


class UiSettings(BaseModel):
    """The web UI (issue #6)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    session_hours: float = Field(12.0, gt=0)
    """Hours a web UI log-in lasts."""
    page_size: int = Field(100, ge=10, le=1000)
    """Rows per page in the problem and object lists."""
    refresh_seconds: float = Field(5.0, ge=1)
    """Seconds between the browser's polls for changes (live updates)."""


class AuthSettings(BaseModel):
    """How people log in to the web UI (issue 13). API tokens are not affected."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    require_totp: bool = False
    """Local users must use a TOTP second factor: one without it enrols at the next log-in."""


RoleName = Literal["viewer", "operator", "admin"]


class OidcSettings(BaseModel):
    """Log-in through an OpenID Connect provider (issue 13): the authorization code flow with
    PKCE; the provider's groups decide the Lookout role."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    issuer: str = ""
    """The provider's issuer URL (its discovery document is ISSUER/.well-known/openid-
    configuration); empty: no OpenID Connect log-in."""
    client_id: str = ""
    """This site's client id at the provider."""
    client_secret_file: str = ""
    """File holding the client secret (relative paths: to the site directory; mode 0600);
    empty: a public client (PKCE alone)."""
    display_name: str = Field("single sign-on", min_length=1, max_length=60)
    """The log-in page's button says "Log in with <display_name>"."""
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    """Scopes asked for (openid is always added); add the one your provider needs for groups."""
    groups_claim: str = Field("groups", min_length=1)
    """The claim (ID token, else userinfo) listing the user's groups."""
    username_claim: str = Field("preferred_username", min_length=1)
    """The claim naming a new user (then email, then sub)."""
    role_map: dict[str, RoleName] = {}
    """Group → Lookout role; a user gets the highest role of their groups, and one in no mapped
    group is refused."""
    ca_file: str = ""
    """CA certificates to verify the provider's TLS with (default: the system's)."""
    timeout: float = Field(10.0, gt=0, le=120)
    """Seconds to wait for the provider (discovery, keys, token exchange)."""

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        return _https_or_loopback(value.rstrip("/"), "oidc.issuer") if value else value

    @model_validator(mode="after")
    def _complete(self) -> OidcSettings:
        if self.issuer and not self.client_id:
            raise ValueError("[oidc] issuer is set: client_id is needed too")
        if self.issuer and not self.role_map:
            raise ValueError(
                "[oidc] role_map is empty: map at least one group to a role "
                '(for example role_map = { "monitoring-admins" = "admin" })'
            )
        return self


def _https_or_loopback(url: str, key: str) -> str:
    """An https URL, or http to this machine (a provider on the same host, tests)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        if parts.query or parts.fragment:
            raise ValueError(f"{key}: {url!r} has a query or fragment")
        return url
    raise ValueError(f"{key}: {url!r} is not an https URL (http only to localhost)")


class KubernetesSettings(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    interval: float = Field(60.0, gt=0)
    """Seconds between evaluations of a cluster (lists happen once; watches keep it current)."""
    max_check_attempts: int = Field(3, ge=1, le=100)
    """Problem evaluations in a row before a Kubernetes service's state is hard."""
    grace: float = Field(600.0, ge=0)
    """Seconds a host of a deleted object is kept (services UNKNOWN) before it is removed."""
    connect_timeout: float = Field(10.0, gt=0)
    """Seconds to connect to an API server."""
    read_timeout: float = Field(30.0, gt=0)
    """Seconds an API request may wait for an answer (watches excepted)."""
    enabled: bool = True
    """Monitor the connected clusters (false: keep them configured, do not connect)."""


class AgentReceiverSettings(BaseModel):
    """The push agents' TLS listener (issue #3)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    enabled: bool = True
    """Run the agent receiver in ``lookout serve``."""
    listen: str = "127.0.0.1:8443"
    """HOST:PORT of the receiver (0.0.0.0:8443 to accept agents from other machines)."""
    public_url: str = ""
    """URL agents use (default: https://<first hostname>:<port>)."""
    hostnames: list[str] = Field(default_factory=list)
    """More names or IPs for the receiver certificate (localhost, 127.0.0.1, hostname: always)."""
    cert_lifetime_days: float = Field(365.0, gt=0)
    """Days an agent certificate is valid (renewed automatically after two thirds)."""
    token_lifetime: float = Field(3600.0, gt=0)
    """Seconds a registration token stays valid."""
    max_push_bytes: int = Field(4 * 1024 * 1024, gt=0)
    """Largest accepted push in bytes (413 above)."""
    max_pushes_per_minute: int = Field(30, ge=1)
    """Pushes one agent may make per minute (429 above)."""
    max_clock_skew: float = Field(300.0, gt=0)
    """Seconds an agent's clock may differ from the site's before its pushes are refused."""
    missed_intervals: float = Field(3.0, gt=0)
    """Push intervals without data before "Lookout Agent" goes CRIT and the host DOWN."""
    workers: int = Field(0, ge=0, le=64)
    """TLS front processes that take handshakes and HTTP off the site's event loop (0: the site
    serves agents itself; for thousands of agents, about one per spare core)."""
    evaluate_in_fronts: bool = False
    """With ``workers``: the fronts also decode pushes and run the agent checks (the site
    admits each push, then sends the front the host's services and value store). Takes 15-30 %
    of a push's CPU off the site's core for 20-40 % more CPU in all: for machines with cores
    to spare, not for two cores shared with the agents' load (docs/decisions.md)."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


class ExecutionSettings(BaseModel):
    """Programs the site runs itself (issue 11): Nagios plugins now, event handlers later.

    This is the site's one execution switch: with ``enabled = false`` nothing is ever spawned
    (services with Nagios checks are refused, existing ones go UNKNOWN), as a SaaS site needs.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    enabled: bool = True
    """Run programs on this machine at all (false: Nagios plugins and handlers are off)."""
    concurrency: int = Field(64, ge=1, le=4096)
    """Programs running at the same time; more wait for a slot."""
    resource_file: str = "resource.cfg"
    """Nagios resource file with $USERn$=value lines, relative to the site directory (absent:
    $USER1$ is /usr/lib/nagios/plugins)."""
    kill_grace: float = Field(1.0, gt=0, le=60)
    """Seconds between SIGTERM and SIGKILL to a timed-out program's process group."""
    spawners: int = Field(2, ge=0, le=64)
    """Helper processes that start the programs, keeping the site's event loop free (0: the
    site process starts them itself)."""
    event_handlers: bool = True
    """Run the event handlers of hosts and services (false: they are kept but not run)."""
    runner: Literal["embedded", "nats"] = "embedded"
    """Where active checks run: in the site ("embedded") or on worker pools over NATS JetStream
    ("nats": `lookout worker` processes, settings under [nats])."""


POOL_RE = r"^[a-z0-9][a-z0-9_-]{0,62}$"
"""Worker pool names (one NATS subject token each)."""


class NatsSettings(BaseModel):
    """NATS JetStream for worker pools, used with [execution] runner = "nats" (issue 12)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    url: str = "nats://127.0.0.1:4222"
    """NATS server URL(s), comma-separated for a cluster; user:password@ may be in the URL."""
    creds: str = ""
    """Credentials file (JWT and NKey seed) of the site's NATS user, relative to the site
    directory (empty: none)."""
    tls_ca: str = ""
    """CA file that signs the NATS servers' certificates (set: TLS to NATS)."""
    tls_cert: str = ""
    """Client certificate file for NATS servers that ask for one (with tls_key)."""
    tls_key: str = ""
    """Private key file of tls_cert."""
    pools: list[str] = Field(default_factory=list)
    """Pool by check, as check=pool: a Nagios check's command name or a check type (http,
    tcp, ...), e.g. "check_snmp=snmp"; a host's or service's label lookout/pool wins;
    otherwise the pool is "default"."""
    replicas: int = Field(1, ge=1, le=5)
    """Copies of the job and result streams in a NATS cluster (3 survives a lost server)."""
    ack_wait: float = Field(10.0, gt=0, le=3600)
    """Seconds a worker may go silent on a job before it goes to another worker (running
    workers report progress, so this is how fast a killed worker's jobs come back)."""
    max_deliver: int = Field(5, ge=1, le=100)
    """Deliveries of one job at most (a job that kills its workers is not tried forever)."""
    max_in_flight: int = Field(20_000, ge=1)
    """Checks handed to pools and not answered yet, at most."""
    result_max_age: float = Field(86400.0, gt=0)
    """Seconds results wait in their stream for a site that is down."""
    worker_timeout: float = Field(15.0, gt=0)
    """Seconds without a heartbeat after which a worker counts as gone."""

    @field_validator("pools")
    @classmethod
    def _pools(cls, value: list[str]) -> list[str]:
        for item in value:
            check, sep, pool = item.partition("=")
            if not sep or not check.strip() or re.fullmatch(POOL_RE, pool.strip()) is None:
                raise ValueError(
                    f"expected check=pool with a pool name of 1-63 lower-case letters, digits, "
                    f"'-' and '_', got {item!r}"
                )
        return value

    def pool_map(self) -> dict[str, str]:
        """``pools`` as a mapping (check → pool)."""
        return {k.strip(): v.strip() for k, _, v in (i.partition("=") for i in self.pools)}


class LivestatusSettings(BaseModel):
    """The Livestatus server (issue 14): LQL for Thruk, NagVis and Checkmk's tools."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    enabled: bool = True
    """Serve Livestatus on the Unix socket ``socket`` (mode 0660) in ``lookout serve``."""
    socket: str = "run/live"
    """Path of the Unix socket, relative to the site directory."""
    tcp: str = ""
    """HOST:PORT to serve Livestatus over TCP too (empty: off; 6557 is the usual port)."""
    tls: bool = True
    """Over TCP, speak TLS with a certificate from the site CA (false: plain TCP)."""
    allow: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    """Client networks allowed over TCP (CIDR); others are closed at once."""
    max_request_bytes: int = Field(1024 * 1024, gt=0)
    """Largest request in bytes (413 above)."""
    request_timeout: float = Field(10.0, gt=0)
    """Seconds a client may take to send a request once it started it."""
    idle_timeout: float = Field(60.0, gt=0)
    """Seconds a kept-alive connection may wait for its next request."""
    max_connections: int = Field(64, ge=1)
    """Connections served at once; more are closed at once."""
    stats_reuse: float = Field(1.0, ge=0, le=60)
    """Seconds a ``Stats`` answer may be given again to the same query (0: count every time).
    Actions and configuration changes count again at once; state changes from results show
    within this time."""

    @field_validator("tcp")
    @classmethod
    def _tcp(cls, value: str) -> str:
        if value:
            parse_listen(value)
        return value

    @field_validator("allow")
    @classmethod
    def _allow(cls, value: list[str]) -> list[str]:
        for net in value:
            ipaddress.ip_network(net, strict=False)
        return value


class MetricsSettings(BaseModel):
    """``/metrics`` for Prometheus (issue 14)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    services: bool = False
    """Also expose every host's and service's state, acknowledgement and downtime."""
    perfdata: bool = False
    """With ``services``: also every perfdata metric's value and thresholds."""
    auth: Literal["auto", "token", "none"] = "auto"
    """Whether a scrape needs a bearer token (any role: ``lookout token create prometheus
    --role viewer``): ``token`` always, ``none`` never, ``auto`` when ``services`` is on, since
    those families name every host and service (the site's own figures stay open, like
    ``/healthz``)."""

    @property
    def needs_token(self) -> bool:
        return self.auth == "token" or (self.auth == "auto" and self.services)


class CentralSettings(BaseModel):
    """A central site's view of remote sites (added with ``lookout remote add``, issue 12)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    refresh_interval: float = Field(1.0, gt=0, le=3600)
    """Seconds between two asks of a remote for what changed."""
    timeout: float = Field(10.0, gt=0, le=300)
    """Seconds one request to a remote may take."""
    max_objects: int = Field(1_000_000, gt=0)
    """Most hosts and services kept of one remote (more: its answer is refused)."""
    max_answer_bytes: int = Field(64 * 1024 * 1024, gt=0)
    """Largest answer read from a remote (one page of changes) in bytes."""
    page_size: int = Field(20_000, ge=1, le=50_000)
    """Objects asked for per page of changes."""
    full_sync_interval: float = Field(3600.0, gt=0)
    """Seconds between full syncs of a remote (changes in between)."""


class StandbySettings(BaseModel):
    """A standby site (issue 12): on PostgreSQL, ``lookout serve`` takes the site lock before
    it starts; a second process on the same database waits as the standby and takes over when
    the lock is free. SQLite sites are one process and take no lock."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    poll_interval: float = Field(0.5, gt=0, le=60)
    """Seconds between the standby's tries to take the site lock."""
    watch_interval: float = Field(1.0, gt=0, le=60)
    """Seconds between the active process's looks at the lock's connection."""
    lost_after: float = Field(10.0, gt=0, le=600)
    """Seconds the lock's connection may stay silent before the active process gives up
    (it stops at once; restarted, it waits as the standby)."""


class SaasSettings(BaseModel):
    """SaaS mode (issue 13): set by the site manager for all its sites; a site cannot turn it
    off (the manager starts it with ``LOOKOUT_SAAS__ENABLED=true``, which wins over the file)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    enabled: bool = False
    """Nothing runs programs ([execution] enabled must be false); only allow-listed types."""
    check_types: list[str] = Field(
        default_factory=lambda: ["tcp", "http", "tls", "dns", "ping", "alive"]
    )
    """Active check types that may be created (never ``nagios``: it runs programs)."""
    channel_types: list[str] = Field(
        default_factory=lambda: ["email", "webhook", "zulip", "alertmanager"]
    )
    """Notification channel types that may be created."""
    on_violation: Literal["refuse", "disable"] = "refuse"
    """A site holding what is not allowed (restored from a site that was not SaaS, say):
    ``refuse`` to start, listing it; or ``disable`` it and start — its checks are not run
    (services UNKNOWN saying why), its channels are left out — and say so in the log and the
    audit log."""
    recheck_interval: float = Field(3600.0, ge=0)
    """Seconds between checks of a running site's objects against the allow-list (0: only at
    start); what is found is disabled and said, as ``disable`` does at start."""

    @field_validator("check_types")
    @classmethod
    def _no_programs(cls, value: list[str]) -> list[str]:
        if "nagios" in value:
            raise ValueError("'nagios' runs programs on the server: it cannot be allowed in SaaS")
        return value

    def refusal(self, what: str, kind: object) -> str | None:
        """Why ``what`` (``check`` or ``channel``) of type ``kind`` may not be created here."""
        allowed = self.check_types if what == "check" else self.channel_types
        if not self.enabled or kind in allowed:
            return None
        return (
            f"{what} type {kind!r} is not allowed on this SaaS site "
            f"(allowed: {', '.join(allowed) or 'none'})"
        )


StateName = Literal["OK", "WARN", "CRIT", "UNKNOWN"]


class AlertmanagerSettings(BaseModel):
    """Alertmanager, both ways (issue 14): its webhook makes passive services; acks and downtimes
    of those services become silences when ``url`` is set."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    url: str = ""
    """Base URL of Alertmanager's API (http://host:9093); empty: acks stay in Lookout."""
    token_file: str = ""
    """File with a bearer token for Alertmanager's API, relative to the site directory."""
    host_labels: list[str] = Field(default_factory=lambda: ["instance", "node", "namespace"])
    """Alert labels naming the host, first present wins (``instance``: its port is dropped)."""
    fallback_host: str = "alertmanager"
    """Host of alerts that carry none of ``host_labels``."""
    severities: list[str] = Field(
        default_factory=lambda: ["critical=CRIT", "warning=WARN", "info=OK"]
    )
    """State of a firing alert by its ``severity`` label: ``severity=OK|WARN|CRIT|UNKNOWN``."""
    other_severity: StateName = "WARN"
    """State of a firing alert whose severity is missing or not in ``severities``."""
    sync_interval: float = Field(15.0, gt=0)
    """Seconds between comparisons of Lookout's acks and downtimes with Alertmanager's silences."""
    ack_silence_days: float = Field(365.0, gt=0, le=36500)
    """Days a silence made for an acknowledgement without expiry lasts (it is expired when the
    ack goes: removed, or the alert recovered)."""

    @field_validator("severities")
    @classmethod
    def _severities(cls, value: list[str]) -> list[str]:
        for item in value:
            severity, sep, state = item.partition("=")
            if not sep or not severity.strip() or state not in ("OK", "WARN", "CRIT", "UNKNOWN"):
                raise ValueError(f"expected severity=OK|WARN|CRIT|UNKNOWN, got {item!r}")
        return value

    def state_names(self) -> dict[str, str]:
        """``severities`` as a mapping (lower-case severity → state name)."""
        return {k.strip().lower(): v for k, _, v in (i.partition("=") for i in self.severities)}


class Settings(BaseSettings):
    """Settings of one site."""

    model_config = SettingsConfigDict(
        env_prefix="LOOKOUT_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        allow_inf_nan=False,
    )

    site_name: str = Field("lookout", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    """Name of the site (lower-case letters, digits, '-' and '_')."""
    listen: str = "127.0.0.1:8080"
    """HOST:PORT the REST API and UI listen on."""
    public_url: str = ""
    """URL people and the CLI use to reach the site (default: http://<listen>)."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses of reverse proxies (the site manager's front door: 127.0.0.1) whose
    X-Forwarded-For and X-Forwarded-Proto are believed (client address, https)."""
    database_url: str = ""
    """SQLAlchemy URL; empty means SQLite ``lookout.db`` in the site directory."""
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """NORMAL: commits survive a process crash; FULL: also a power loss (slower)."""
    sqlite_busy_timeout: float = Field(30.0, gt=0, le=3600)
    """Seconds a SQLite write waits for another process's lock before it fails (a failed
    checkpoint is tried again later; a failed journal write makes the site refuse input)."""
    checkpoint_interval: float = Field(10.0, gt=0)
    """Seconds between state checkpoints (the journal covers the time in between)."""
    overload_after: float = Field(0.5, gt=0, le=3600)
    """Seconds an input may wait for its answer (a slow journal write, a site too busy to
    commit) before POST /results and /objects answer 503 with Retry-After (taking nothing)
    instead of letting answers wait longer."""
    checkpoint_after_results: int = Field(100_000, gt=0)
    """Results after which a checkpoint starts early (bounds its size and the memory held)."""
    max_unsaved_results: int = Field(400_000, gt=0)
    """Results waiting for a checkpoint above which POST /results and /objects answer 503 with
    Retry-After: the checkpoint falls behind, and memory would grow."""
    tick_interval: float = Field(1.0, gt=0)
    """Seconds between clock ticks (staleness, ack expiry, downtimes)."""
    event_retention_days: float = Field(90.0, gt=0)
    """Days the event log is kept."""
    audit_retention_days: float = Field(400.0, gt=0)
    """Days the audit log is kept (older entries are removed once an hour, nothing else is)."""
    max_request_bytes: int = Field(32 * 1024 * 1024, gt=0)
    """Largest accepted request body in bytes (413 above)."""
    max_results_per_request: int = Field(20_000, gt=0)
    """Most results in one POST /results."""
    ingest_fronts: Literal["auto"] | Annotated[int, Field(ge=0, le=64)] = "auto"
    """Processes that accept the API port's connections and serve POST /api/v1/results up to
    the engine (HTTP, token check, decoding, perfdata), handing every other request to the
    site; "auto": one per usable CPU (affinity, container quota; at most 8) when there is more
    than one (none for sites the site manager runs, which share the machine), 0: the site
    serves all itself."""
    max_objects_per_request: int = Field(200_000, gt=0)
    """Most hosts and services in one POST /objects."""
    max_clock_skew: float = Field(300.0, ge=0)
    """Seconds a result's ``checked_at`` may lie in the future."""
    auth_failure_limit: int = Field(20, ge=0)
    """Failed bearer-token authentications one client address (IPv6: one /64) may make within
    auth_failure_window before it gets 429 (0: no limit; behind a proxy, the proxy's address)."""
    auth_failure_window: float = Field(10.0, gt=0)
    """Seconds over which auth_failure_limit counts; a blocked address waits out the window."""
    check_concurrency: int = Field(100, ge=1)
    """Active checks running at the same time in the embedded runner."""
    catch_up_window: float = Field(15.0, ge=0, le=3600)
    """Seconds over which active checks that came due while the site was down run at start."""
    default_host_check: Literal["alive", "none"] = "alive"
    """Check of hosts with an address, no check of their own and no agent: alive (ping, else
    TCP) or none (UP unless a host result says otherwise)."""
    flapping: FlappingSettings = FlappingSettings()
    """Flap detection thresholds."""
    services: ServiceDefaults = ServiceDefaults()
    """Defaults for new services."""
    demo: bool = False
    """Feed the demo's passive service."""
    notifications: NotificationSettings = NotificationSettings()
    """Notifier and chat bot (rules and channels live in the database)."""
    ui: UiSettings = UiSettings()
    """The web UI: session length, page size, live-update interval."""
    auth: AuthSettings = AuthSettings()
    """Web UI log-in: the second factor (TOTP)."""
    oidc: OidcSettings = OidcSettings()
    """Web UI log-in through an OpenID Connect provider."""
    kubernetes: KubernetesSettings = KubernetesSettings()
    """Kubernetes monitoring (clusters are added with `lookout kube connect`)."""
    agent_receiver: AgentReceiverSettings = AgentReceiverSettings()
    """The push agents' receiver (TLS, client certificates)."""
    execution: ExecutionSettings = ExecutionSettings()
    """Programs the site runs (Nagios plugins): the execution switch, limits, resource file."""
    nats: NatsSettings = NatsSettings()
    """NATS JetStream for worker pools (used with [execution] runner = "nats")."""
    livestatus: LivestatusSettings = LivestatusSettings()
    """The Livestatus server: Unix socket, optional TCP with TLS and a client allow-list."""
    alertmanager: AlertmanagerSettings = AlertmanagerSettings()
    """Alertmanager's webhook into Lookout and silences for acks and downtimes."""
    metrics: MetricsSettings = MetricsSettings()
    """/metrics for Prometheus: opt in to every object's state and perfdata."""
    central: CentralSettings = CentralSettings()
    """A central site's view of remote sites: refresh, timeouts, bounds."""
    standby: StandbySettings = StandbySettings()
    """A standby process on PostgreSQL: how often it tries the site lock, how the active one
    watches it."""
    saas: SaasSettings = SaasSettings()
    """SaaS mode (set by the site manager): no programs, allow-listed types only."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @model_validator(mode="after")
    def _saas_runs_nothing(self) -> Settings:
        if self.saas.enabled and self.execution.enabled:
            raise ValueError(
                "[saas] enabled = true needs [execution] enabled = false: a SaaS site runs "
                "no programs (remove the override that turns execution on)"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    @property
    def url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host, port = parse_listen(self.listen)
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"http://{host}:{port}"

    def database(self, site_dir: Path) -> str:
        return self.database_url or f"sqlite:///{(site_dir / 'lookout.db').resolve()}"


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT with a port 1-65535, got {value!r}")
    return host.strip("[]"), int(port)


def load_settings(site_dir: Path, **overrides: Any) -> Settings:
    """Read ``site_dir/lookout.toml``, overlay the environment, validate everything at once."""
    path = site_dir / SETTINGS_FILE
    if not path.is_file():
        raise ConfigError(f"{path} not found: is {site_dir} a Lookout site? (lookout init DIR)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", [str(exc)]) from exc
    settings = validate_settings(data, source=str(path))
    return with_overrides(settings, overrides, source=str(path))


def with_overrides(settings: Settings, overrides: dict[str, Any], source: str) -> Settings:
    """``settings`` with explicit values (command-line flags) that win over the environment."""
    if not overrides:
        return settings
    return validate_settings({**settings.model_dump(), **overrides}, source, env=False)


class _WithoutEnvironment(Settings):
    """Settings from the given values only (no ``LOOKOUT_*`` overlay)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def validate_settings(
    data: dict[str, Any], source: str = "settings", *, env: bool = True
) -> Settings:
    """Validate ``data`` (overlaid by the environment unless ``env`` is false)."""
    try:
        return Settings(**data) if env else _WithoutEnvironment(**data)
    except pydantic.ValidationError as exc:
        problems = [_describe(err) for err in exc.errors()]
        raise ConfigError(f"{source}: {len(problems)} invalid setting(s)", problems) from exc
    except SettingsError as exc:  # an environment variable for a table is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        var = "LOOKOUT_" + (field.group(1).upper() if field else "...")
        raise ConfigError(
            f"{source}: invalid environment: {exc}",
            [f"{var}: expected a JSON object, e.g. {var}='{{\"key\": 1}}' (or {var}__KEY=1)"],
        ) from exc


def _describe(err: Any) -> str:
    key = ".".join(str(p) for p in err["loc"])
    env = "LOOKOUT_" + "__".join(str(p) for p in err["loc"]).upper()
    where = f"{key} (or {env})" if env in os.environ else key
    value = err.get("input")
    shown = "" if isinstance(value, dict) else f" = {value!r}"
    return f"{where}{shown}: {err['msg']}"


def render_settings(settings: Settings) -> str:
    """A commented ``lookout.toml`` with the values of ``settings``: the keys in model order,
    each under its description; the values written by ``tomli_w``."""
    values = settings.model_dump(mode="json")
    lines = ["# Lookout site settings. Environment variables LOOKOUT_<KEY> override them.", ""]
    tables: list[tuple[str, BaseModel]] = []
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            tables.append((name, value))
            continue
        lines += [*_comment(info.description), _toml_line(name, values[name])]
    for name, model in tables:
        lines += ["", f"[{name}]"]
        for key, info in type(model).model_fields.items():
            lines += [*_comment(info.description), _toml_line(key, values[name][key])]
    return "\n".join(lines) + "\n"


def _comment(description: str | None) -> list[str]:
    """A description as TOML comment lines (docstrings may span several lines)."""
    return [f"# {line.strip()}" for line in (description or "").splitlines() if line.strip()]


def _toml_line(key: str, value: Any) -> str:
    """``key = value`` in TOML (``tomli_w`` quotes and escapes); a mapping as an inline table,
    since a table of its own would end the section it belongs to."""
    if isinstance(value, dict):
        name = tomli_w.dumps({key: 0}).rstrip("\n")[: -len(" = 0")]
        inner = ", ".join(_toml_line(k, v) for k, v in value.items())
        return f"{name} = {{ {inner} }}" if inner else f"{name} = {{}}"
    return tomli_w.dumps({key: value}).rstrip("\n")

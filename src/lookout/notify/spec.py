"""Validated notification configuration: channels, rules, contacts (pydantic, field paths).

Rules and channels live in the site database (edited through the API and CLI, later a UI setup
page); every write goes through these models, so what is stored is always valid.
"""

from __future__ import annotations

import re
from datetime import time as dtime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from lookout.domain.states import HOST_STATE_NAMES, SERVICE_STATE_NAMES
from lookout.wire.api import storable

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SECRET_FIELDS = ("api_key", "password", "secret", "webhook_token")
"""Text settings that are secrets: sealed at rest, masked when read back, never in the tree."""
SECRET_VALUES = ("urls", "headers")
"""Settings whose values carry secrets (apprise URLs hold tokens, webhook headers hold
``Authorization``): sealed at rest and masked item by item when read back."""
MASK = "********"


class Kind(StrEnum):
    """What a notification is about."""

    PROBLEM = "problem"
    RECOVERY = "recovery"
    ACKNOWLEDGEMENT = "acknowledgement"
    ACK_REMOVED = "ack_removed"
    DOWNTIME_START = "downtime_start"
    DOWNTIME_END = "downtime_end"
    DOWNTIME_CANCEL = "downtime_cancel"
    FLAPPING_START = "flapping_start"
    FLAPPING_STOP = "flapping_stop"
    TEST = "test"


DEFAULT_KINDS = tuple(k for k in Kind if k not in (Kind.ACK_REMOVED, Kind.TEST))


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(cls.__name__, data)


# ---------------------------------------------------------------------- channels
class Emoji(_Model):
    """A reaction: a Unicode emoji by name (``stopwatch``) or a custom realm emoji."""

    name: str = Field(min_length=1, max_length=60)
    """Emoji name as Zulip shows it (without colons)."""
    type: Literal["unicode_emoji", "realm_emoji", "zulip_extra_emoji"] = "unicode_emoji"
    """``realm_emoji`` for custom emoji uploaded to the organisation."""


class Controls(_Model):
    """The control reactions the bot pre-adds to each problem message."""

    ack: Emoji = Emoji(name="check")
    dt_1h: Emoji = Emoji(name="one")
    dt_8h: Emoji = Emoji(name="eight")
    dt_1d: Emoji = Emoji(name="sunrise")
    dt_7d: Emoji = Emoji(name="calendar")

    def actions(self) -> dict[str, str]:
        """Emoji name → action (``ack`` or a downtime duration such as ``8h``)."""
        return {
            self.ack.name: "ack",
            self.dt_1h.name: "1h",
            self.dt_8h.name: "8h",
            self.dt_1d.name: "1d",
            self.dt_7d.name: "7d",
        }

    def ordered(self) -> list[Emoji]:
        return [self.dt_1h, self.dt_8h, self.dt_1d, self.dt_7d, self.ack]


class _ChannelBase(_Model):
    rate_per_minute: int = Field(600, ge=1, le=10_000_000)
    """Requests per minute this channel may make (Zulip's default limit is 200)."""
    group_window: float = Field(10.0, ge=0, le=3600)
    """Seconds over which a storm of problems is bundled into one message (0: never bundle)."""
    group_burst: int = Field(3, ge=1, le=1000)
    """Problems sent one by one per group window before bundling starts."""
    group_cap: int = Field(20, ge=1, le=1000)
    """Most problems listed in one bundled message ("… and 287 more")."""
    max_attempts: int = Field(30, ge=1, le=1000)
    """Attempts before a delivery is marked failed."""
    retry_max: float = Field(600.0, gt=0, le=86400)
    """Longest wait between two attempts, in seconds."""


class ZulipSpec(_ChannelBase):
    type: Literal["zulip"] = "zulip"
    site: str = Field(pattern=r"^https?://[^\s/]+")
    """Zulip server URL, e.g. https://chat.example.org."""
    email: str = Field(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")
    """The bot's email address (from its zuliprc)."""
    api_key: str = Field(min_length=1, max_length=255)
    """The bot's API key."""
    stream: str = Field(min_length=1, max_length=60)
    """Channel (stream) problems are posted to; the bot must be subscribed."""
    controls: Controls = Controls()
    """Reactions for ack and 1h/8h/1d/7d downtimes."""
    resolve_topics: bool = True
    """Mark a topic resolved (``✔ `` prefix) on recovery, where the realm allows it."""
    listen: bool = True
    """Follow the real-time events API (reactions, mentions, direct messages)."""
    webhook_token: str = ""
    """Token of an outgoing-webhook bot; mentions POSTed to /api/v1/notifications/zulip/CHANNEL."""
    user_map: dict[str, str] = {}
    """Zulip user id (as text) or e-mail → Lookout user, for accounts whose e-mail differs or
    is hidden from bots (people can also link themselves: send the bot ``link``)."""
    ca_file: str = ""
    """PEM bundle to verify the server with (default: the system's); TLS is always verified."""
    rate_per_minute: int = Field(200, ge=1, le=10_000_000)
    """Requests per minute (Zulip's default limit is 200 per user)."""
    parallel: int = Field(4, ge=1, le=64)
    """Messages in flight at once, to different topics (each topic stays in order)."""


class EmailSpec(_ChannelBase):
    type: Literal["email"] = "email"
    host: str = Field(min_length=1, max_length=255)
    """SMTP server."""
    port: int = Field(587, ge=1, le=65535)
    """SMTP port (587 STARTTLS, 465 TLS, 25 plain)."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    """Transport security; ``none`` only for a local relay."""
    username: str = ""
    password: str = ""
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    """From address."""
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = []
    """Recipients when a rule names no contacts."""
    ca_file: str = ""
    """PEM bundle to verify the server with (default: the system's)."""
    timeout: float = Field(30.0, gt=0, le=3600)


class WebhookSpec(_ChannelBase):
    type: Literal["webhook"] = "webhook"
    url: str = Field(pattern=r"^https?://[^\s/]+")
    """Where the JSON is POSTed."""
    secret: str = ""
    """Key of the ``X-Lookout-Signature: sha256=<hex>`` HMAC over the body."""
    headers: dict[str, str] = {}
    """Extra request headers."""
    ca_file: str = ""
    timeout: float = Field(10.0, gt=0, le=3600)
    parallel: int = Field(4, ge=1, le=256)
    """Requests in flight at once (deliveries to a webhook need no order)."""
    batch: int = Field(50, ge=1, le=1000)
    """Most notifications in one request (the document always carries a list)."""


class AppriseSpec(_ChannelBase):
    type: Literal["apprise"] = "apprise"
    urls: list[str] = Field(min_length=1)
    """Apprise URLs (slack://…, mmost://…, msteams://…, tgram://…, ntfy://…, matrix://…)."""

    @field_validator("urls")
    @classmethod
    def _schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^[a-z][a-z0-9+.-]*://", url):
                raise ValueError(f"{url!r} is not an apprise URL (scheme://…)")
        return urls


class AlertmanagerSpec(_ChannelBase):
    """Problems as alerts in Alertmanager's ``/api/v2/alerts``, resolved on recovery."""

    type: Literal["alertmanager"] = "alertmanager"
    url: str = Field(pattern=r"^https?://[^\s/]+")
    """Alertmanager's base URL, e.g. http://alertmanager:9093."""
    username: str = ""
    """Basic-auth user, if a proxy in front of Alertmanager wants one (with ``password``)."""
    password: str = ""
    api_key: str = ""
    """A bearer token, if a proxy in front of Alertmanager wants one."""
    labels: dict[str, str] = {}
    """Labels added to every alert (for routing: ``team = "ops"``)."""
    ends_after: float = Field(86400.0, gt=0, le=30 * 86400)
    """Seconds a firing alert lasts unless sent again (a rule's ``repeat_every``) or resolved."""
    ca_file: str = ""
    timeout: float = Field(10.0, gt=0, le=3600)
    parallel: int = Field(4, ge=1, le=64)
    """Requests in flight at once."""
    group_window: float = Field(0.0, ge=0, le=3600)
    """Alertmanager groups alerts itself: nothing is bundled by default."""


AnySpec = ZulipSpec | EmailSpec | WebhookSpec | AppriseSpec | AlertmanagerSpec
ChannelSpec = Annotated[AnySpec, Field(discriminator="type")]
CHANNEL_ADAPTER: TypeAdapter[AnySpec] = TypeAdapter(ChannelSpec)
BROADCAST = "*"
"""Recipient of channels that have one fixed target (a Zulip stream, a webhook, apprise URLs)."""


class Channel(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    """Name rules refer to."""
    spec: ChannelSpec


def masked(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with secrets replaced, for reading back through the API."""
    out = {}
    for k, v in spec.items():
        if k in SECRET_FIELDS and v:
            out[k] = MASK
        elif k in SECRET_VALUES and v:
            out[k] = _masked_value(v)
        else:
            out[k] = v
    return out


def _masked_value(value: Any) -> Any:
    """A URL list keeps each URL's scheme (``slack://********``), a header map its names."""
    if isinstance(value, list):
        return [_masked_url(u) for u in value]
    if isinstance(value, dict):
        return {name: MASK for name in value}
    return MASK


def _masked_url(url: Any) -> str:
    scheme, sep, _ = str(url).partition("://")
    return f"{scheme}://{MASK}" if sep else MASK


def unmask(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """Keep stored secrets where a client sent the mask back: a whole text secret, or an item
    of a URL list (by position) or a header (by name) that still reads as masked."""
    out = {}
    for k, v in new.items():
        if k in SECRET_FIELDS and v == MASK:
            out[k] = old.get(k, "")
        elif k in SECRET_VALUES:
            out[k] = _unmasked_value(v, old.get(k))
        else:
            out[k] = v
    return out


def carries_mask(spec: dict[str, Any]) -> bool:
    """Whether a client sent any secret back masked (so the stored one must be looked up)."""
    for k, v in spec.items():
        if k in SECRET_FIELDS and v == MASK:
            return True
        if k in SECRET_VALUES and isinstance(v, list | dict):
            items = v.values() if isinstance(v, dict) else v
            if any(isinstance(i, str) and i.endswith(MASK) for i in items):
                return True
        elif k in SECRET_VALUES and v == MASK:
            return True
    return False


def _unmasked_value(new: Any, old: Any) -> Any:
    if isinstance(new, list) and isinstance(old, list):
        return [
            old[i] if i < len(old) and item == _masked_url(old[i]) else item
            for i, item in enumerate(new)
        ]
    if isinstance(new, dict) and isinstance(old, dict):
        return {name: old.get(name, v) if v == MASK else v for name, v in new.items()}
    if new == MASK and old is not None:
        return old
    return new


# ---------------------------------------------------------------------- rules
class TimePeriod(_Model):
    """When a rule applies: weekdays and a daily window in a time zone."""

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    ]
    start: dtime = dtime(0, 0)
    """Local time the window opens (HH:MM)."""
    end: dtime = dtime(23, 59, 59, 999999)
    """Local time the window closes (HH:MM); before ``start`` means it spans midnight."""
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/Berlin)") from exc
        return value


ALL_STATES = tuple(dict.fromkeys(SERVICE_STATE_NAMES + HOST_STATE_NAMES))


class Rule(_Model):
    """One notification rule. Rules are evaluated in order; each match adds deliveries, a
    ``suppress`` rule removes what earlier rules planned for its channels/recipients."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    enabled: bool = True
    action: Literal["notify", "suppress"] = "notify"
    # --- what it matches
    events: list[Kind] = list(DEFAULT_KINDS)
    """Event kinds (problem, recovery, acknowledgement, downtime_start, …)."""
    states: list[str] = []
    """State names (CRIT, WARN, UNKNOWN, OK, DOWN, UP, UNREACHABLE); empty: any."""
    state_types: list[Literal["hard", "soft"]] = ["hard"]
    """Only hard states notify unless a rule asks for soft ones."""
    objects: Literal["any", "hosts", "services"] = "any"
    hosts: list[str] = []
    """Host name patterns (shell globs: ``web-*``); empty: any."""
    services: list[str] = []
    """Service name patterns; empty: any."""
    exclude_hosts: list[str] = []
    exclude_services: list[str] = []
    labels: dict[str, str] = {}
    """Host or service labels that must match (value is a glob)."""
    host_groups: list[str] = []
    """The host must be in one of these groups."""
    object_contact_groups: list[str] = []
    """The object must belong to one of these contact groups (label ``contact_groups``)."""
    time_period: TimePeriod | None = None
    from_number: int = Field(1, ge=1)
    """First notification number this rule applies to (escalation)."""
    until_number: int | None = Field(None, ge=1)
    """Last notification number this rule applies to."""
    # --- what it does
    channels: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = []
    """Channels to notify (suppress rules: empty means every channel)."""
    contacts: list[str] = []
    """Users to notify on per-person channels (email)."""
    contact_groups: list[str] = []
    """Contact groups whose members are notified on per-person channels."""
    delay: float = Field(0.0, ge=0, le=30 * 86400)
    """Seconds a problem must last before the first notification (0: at once)."""
    repeat_every: float = Field(0.0, ge=0, le=30 * 86400)
    """Seconds between repeated problem notifications while unhandled (0: never)."""

    @field_validator("states")
    @classmethod
    def _states(cls, values: list[str]) -> list[str]:
        out = []
        for v in values:
            name = {"WARNING": "WARN", "CRITICAL": "CRIT"}.get(v.upper(), v.upper())
            if name not in ALL_STATES:
                raise ValueError(f"unknown state {v!r}, expected one of {', '.join(ALL_STATES)}")
            out.append(name)
        return out

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        if self.action == "notify" and not self.channels:
            raise ValueError("a notify rule needs at least one channel (channels)")
        if self.until_number is not None and self.until_number < self.from_number:
            raise ValueError("until_number must not be below from_number")
        return self


class Contact(_Model):
    """A Lookout user as a recipient: email from the users table, plus groups and Zulip."""

    user: str = Field(min_length=1, max_length=255)
    groups: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = []
    """Contact groups the user belongs to."""
    zulip: str = Field("", max_length=255)
    """The user's Zulip email, when it differs from the Lookout email."""

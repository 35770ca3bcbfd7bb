"""Bodies of the REST API (v1), validated with pydantic: errors carry field paths.

The value rules themselves live in :mod:`lookout.domain.values` (one definition for every
door); this module turns them into pydantic types. Every body also passes a walk over its raw
input that refuses NUL characters, unpaired surrogates, non-finite numbers and deep nesting
anywhere, including free-form fields such as ``check`` and ``params``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from lookout.domain import durations, values
from lookout.domain.commands import (
    COMMAND_NAME_RE,
    MAX_ARGS,
    MAX_LINE,
    CommandLineError,
    split_command_line,
)
from lookout.domain.values import InvalidValue
from lookout.wire.times import parse_time

NAME_RE = r"^[^/\x00-\x1f]{1,255}$"
"""Host names: 1–255 characters, no '/' and no control characters (the rest of the rule,
e.g. no '.' or '..', is :func:`lookout.domain.values.name_problem`)."""
SERVICE_RE = r"^[^\x00-\x1f]{1,255}$"
"""Service names may hold '/' ("Filesystem /var")."""

LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-/]{1,63}$")


def _host_name(name: str) -> str:
    return values.check_name(name, host=True)


def _service_name(name: str) -> str:
    return values.check_name(name, host=False)


def _duration(seconds: float) -> float:
    return values.check_duration(seconds)


def _duration_text(value: Any) -> Any:
    """Seconds, or text in the one duration grammar ("2h30m", :mod:`lookout.domain.durations`)."""
    if not isinstance(value, str):
        return value
    try:
        float(value)
    except ValueError:
        return durations.parse_duration(value)
    return value


def _text(text: str) -> str:
    return values.check_text(text)


Timestamp = Annotated[float, BeforeValidator(parse_time)]
Name = Annotated[str, Field(pattern=NAME_RE), AfterValidator(_text)]
"""A reference to a host (or user, group): the pattern only, so existing objects stay reachable."""
ServiceName = Annotated[str, Field(pattern=SERVICE_RE), AfterValidator(_text)]
NewHostName = Annotated[str, Field(pattern=NAME_RE), AfterValidator(_host_name)]
"""The name of a host being created: every rule of :func:`lookout.domain.values.name_problem`."""
NewServiceName = Annotated[str, Field(pattern=SERVICE_RE), AfterValidator(_service_name)]
Duration = Annotated[
    float,
    BeforeValidator(_duration_text, json_schema_input_type=float | str),
    AfterValidator(_duration),
]
"""Seconds (or text such as "2h30m"), > 0 and at most 100 years."""
Interval = Annotated[float, BeforeValidator(_duration_text)]
"""Seconds between checks (text such as "5m" too; the schema says number, the fields set
the bounds)."""
Text = Annotated[str, AfterValidator(_text)]
LabelValue = Annotated[str, Field(max_length=values.MAX_LABEL_VALUE)]


def _check_labels(labels: dict[str, str] | None) -> dict[str, str] | None:
    if labels is not None:
        values.check_count(len(labels), values.MAX_LABELS, "labels")
    for key in labels or ():
        if not LABEL_KEY_RE.match(key):
            raise ValueError(f"label key {key!r}: use 1-63 of A-Z a-z 0-9 _ . - /")
    return labels


def _invalid(model: BaseModel, field: str, msg: str) -> PydanticValidationError:
    """An error of a model validator at ``field``: a plain ValueError there would be reported
    for the whole body, without the field path clients need."""
    detail: InitErrorDetails = {
        "type": PydanticCustomError("value_error", "{msg}", {"msg": msg}),
        "loc": (field,),
        "input": getattr(model, field, None),
    }
    return PydanticValidationError.from_exception_data(type(model).__name__, [detail])


def storable(title: str, data: Any) -> Any:
    """``data`` (the raw input of model ``title``) if every part of it can be stored; else a
    pydantic error at the offending path: NUL characters, unpaired surrogates, non-finite
    numbers and deep nesting are refused anywhere, free-form fields included
    (:func:`lookout.domain.values.check_tree`). Models of external input call it first."""
    try:
        values.check_tree(data)
    except InvalidValue as exc:
        raise _located(title, exc, data) from None
    return data


def _located(title: str, exc: InvalidValue, data: Any) -> PydanticValidationError:
    detail: InitErrorDetails = {
        "type": PydanticCustomError("value_error", "{msg}", {"msg": exc.msg}),
        "loc": exc.loc,
        "input": data,
    }
    return PydanticValidationError.from_exception_data(title, [detail])


class Body(BaseModel):
    """A request body: unknown fields, non-finite numbers and unstorable values refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(cls.__name__, data)


class EventHandlerIn(Body):
    """A command definition the site runs on every state change of the object (soft and hard,
    and every further soft attempt), with ``$SERVICESTATE$``, ``$SERVICESTATETYPE$``,
    ``$SERVICEATTEMPT$`` (hosts: ``$HOSTSTATE$`` …) and ``$ARGn$`` from ``args``."""

    command: str = Field(pattern=COMMAND_NAME_RE, description="Name of a command definition.")
    args: list[Annotated[str, Field(max_length=4096)]] = Field(
        [], max_length=MAX_ARGS, description="Values of $ARG1$, $ARG2$, …"
    )
    timeout: float = Field(30.0, ge=1, le=300, description="Seconds before it is killed.")


class HostIn(Body):
    name: NewHostName
    address: str = Field("", max_length=255)
    labels: dict[str, LabelValue] = {}
    parents: list[Name] = []
    groups: list[Name] = []
    check: dict[str, Any] | None = None
    check_interval: Interval = Field(60.0, ge=0.1, le=86400)
    retry_interval: Interval = Field(60.0, ge=0.1, le=86400)
    max_check_attempts: int = Field(1, ge=1, le=100)
    event_handler: EventHandlerIn | None = None

    _labels = field_validator("labels")(classmethod(lambda cls, v: _check_labels(v)))


class HostPatch(Body):
    address: str | None = Field(None, max_length=255)
    labels: dict[str, LabelValue] | None = None
    parents: list[Name] | None = None
    groups: list[Name] | None = None
    check: dict[str, Any] | None = None
    check_interval: Interval | None = Field(None, ge=0.1, le=86400)
    retry_interval: Interval | None = Field(None, ge=0.1, le=86400)
    max_check_attempts: int | None = Field(None, ge=1, le=100)
    event_handler: EventHandlerIn | None = None
    """null removes the handler."""

    _labels = field_validator("labels")(classmethod(lambda cls, v: _check_labels(v)))


class ServiceRef(Body):
    """A service another one depends on."""

    host: Name
    service: ServiceName


class ServiceIn(Body):
    name: NewServiceName
    check: dict[str, Any] | None = None
    check_interval: Interval | None = Field(None, ge=0.1, le=86400)
    retry_interval: Interval | None = Field(None, ge=0.1, le=86400)
    max_check_attempts: int | None = Field(None, ge=1, le=100)
    stale_after: float | None = Field(None, ge=0, le=1000)
    params: dict[str, Any] = {}
    labels: dict[str, LabelValue] = {}
    event_handler: EventHandlerIn | None = None
    depends_on: list[ServiceRef] = Field([], max_length=20)
    """Services whose problem this one's problem is a consequence of (see README)."""

    _labels = field_validator("labels")(classmethod(lambda cls, v: _check_labels(v)))


class BulkServiceIn(ServiceIn):
    """A service of ``POST /objects``: the host it belongs to, then as for one service."""

    host: Name


class ServicePatch(Body):
    check: dict[str, Any] | None = None
    check_interval: Interval | None = Field(None, ge=0.1, le=86400)
    retry_interval: Interval | None = Field(None, ge=0.1, le=86400)
    max_check_attempts: int | None = Field(None, ge=1, le=100)
    stale_after: float | None = Field(None, ge=0, le=1000)
    params: dict[str, Any] | None = None
    labels: dict[str, LabelValue] | None = None
    event_handler: EventHandlerIn | None = None
    """null removes the handler."""
    depends_on: list[ServiceRef] | None = Field(None, max_length=20)
    """[] removes every dependency."""

    _labels = field_validator("labels")(classmethod(lambda cls, v: _check_labels(v)))


class TargetIn(Body):
    """One host (``host``), one service (``host`` + ``service``), or a filter over hosts."""

    host: Name | None = None
    service: ServiceName | None = None
    labels: dict[str, str] | None = None
    group: Name | None = None
    services: bool = Field(False, description="With a filter: include the hosts' services")
    author: str | None = Field(None, max_length=255)
    comment: str = Field("", max_length=4096)

    @model_validator(mode="after")
    def _one_target(self) -> TargetIn:
        if self.host is None and not self.labels and self.group is None:
            where = "labels" if self.labels is not None else "host"
            raise _invalid(
                self,
                where,
                "name a target: host (and service), or labels / group "
                "(an empty filter would select every host)",
            )
        if self.service is not None and self.host is None:
            raise _invalid(self, "host", "service needs host")
        if self.host is not None and (self.labels is not None or self.group is not None):
            raise _invalid(
                self,
                "labels" if self.labels is not None else "group",
                "give either host/service or a filter (labels, group), not both",
            )
        return self


class AcknowledgeIn(TargetIn):
    sticky: bool = True
    notify: bool = True
    persistent: bool = False
    expire_at: Timestamp | None = None


class DowntimeIn(TargetIn):
    start: Timestamp
    end: Timestamp
    fixed: bool = True
    duration: Duration | None = Field(
        None, description="Flexible: seconds or 2h30m, from first problem"
    )
    include_services: bool = False
    recurrence: str = Field("", max_length=120, description="cron expression (UTC), e.g. 0 2 * * 0")

    @model_validator(mode="after")
    def _times(self) -> DowntimeIn:
        if self.end <= self.start:
            raise _invalid(self, "end", "end must be after start")
        if not self.fixed and self.duration is None:
            raise _invalid(
                self, "duration", "a flexible downtime (fixed: false) needs a duration in seconds"
            )
        return self


class RemoveCommentIn(Body):
    ids: list[int] = Field(min_length=1, max_length=10_000)
    author: str | None = Field(None, max_length=255)


class RemoveDowntimeIn(Body):
    ids: list[int] | None = None
    host: Name | None = None
    service: ServiceName | None = None
    author: str | None = Field(None, max_length=255)
    comment: str = Field("", max_length=4096)

    @model_validator(mode="after")
    def _some(self) -> RemoveDowntimeIn:
        if self.ids is None and self.host is None:
            raise _invalid(self, "ids", "give ids, or host (and service) whose downtimes to remove")
        return self


class CommentIn(TargetIn):
    comment: str = Field(min_length=1, max_length=4096)


class TokenIn(Body):
    name: str = Field(min_length=1, max_length=255)
    user: Name | None = None
    role: str = Field("viewer", pattern="^(viewer|operator|admin)$")
    expires_at: Timestamp | None = None


class UserIn(Body):
    name: Name
    role: str = Field("viewer", pattern="^(viewer|operator|admin)$")
    email: str = Field("", max_length=255)
    password: str | None = Field(None, min_length=8, max_length=1024)


def _usable_command_line(line: str) -> str:
    try:
        split_command_line(line)
    except CommandLineError as exc:
        raise ValueError(f"command line {exc}") from exc
    return line


class CommandLineIn(Body):
    command_line: str = Field(
        max_length=MAX_LINE,
        description="Plugin and arguments, e.g. $USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$",
    )

    _line = field_validator("command_line")(classmethod(lambda cls, v: _usable_command_line(v)))


class CommandIn(CommandLineIn):
    name: str = Field(pattern=COMMAND_NAME_RE, description="Name checks refer to (check_tcp)")

"""What a journey file holds, as pydantic models (unknown keys are refused)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Seconds = Annotated[float, Field(gt=0, le=3600)]
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Request(Strict):
    """One HTTP request; every string may hold ``${name}``."""

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    body: str | None = None
    json_body: Any = Field(None, alias="json")
    form: dict[str, str] | None = None
    timeout: Seconds | None = None
    follow_redirects: bool = True

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_body(self) -> Request:
        given = [k for k in ("body", "json", "form") if self._body_of(k) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of body, json and form (got {', '.join(given)})")
        return self

    def _body_of(self, key: str) -> Any:
        return {"body": self.body, "json": self.json_body, "form": self.form}[key]


class Levels(Strict):
    """Seconds above which a step is WARN or CRIT."""

    warn: Seconds | None = None
    crit: Seconds | None = None

    @model_validator(mode="after")
    def _order(self) -> Levels:
        if self.warn is None and self.crit is None:
            raise ValueError("give warn, crit or both (seconds)")
        if self.warn is not None and self.crit is not None and self.warn > self.crit:
            raise ValueError(f"warn ({self.warn:g} s) is above crit ({self.crit:g} s)")
        return self


class Expect(Strict):
    """Assertions on a response. Without ``status``, any status below 400 passes."""

    status: int | list[int] | None = None
    body_contains: str | list[str] = []
    body_not_contains: str | list[str] = []
    body_regex: str | None = None
    json_path: dict[str, Any] = Field({}, alias="json")
    headers: dict[str, str] = {}
    response_time: Seconds | Levels | None = None

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: int | list[int] | None) -> int | list[int] | None:
        for code in [value] if isinstance(value, int) else value or []:
            if not 100 <= code <= 599:
                raise ValueError(f"HTTP status {code} is not between 100 and 599")
        return value

    @field_validator("body_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            _compiles(value)
        return value

    @property
    def time_levels(self) -> Levels | None:
        rt = self.response_time
        return Levels(crit=rt) if isinstance(rt, int | float) else rt


class Extract(Strict):
    """Where a variable's value comes from: exactly one of ``json`` (a path), ``regex`` (over
    the body, ``group`` 1 by default), ``header`` or ``cookie``."""

    json_path: str | None = Field(None, alias="json")
    regex: str | None = None
    group: int | str = 1
    header: str | None = None
    cookie: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Extract:
        given = [k for k in ("json", "regex", "header", "cookie") if self.source_of(k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of json, regex, header, cookie"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.regex is not None:
            _compiles(self.regex)
        if self.json_path is not None:
            from lookout.checks.journeys.jsonpath import parse_path

            parse_path(self.json_path)
        return self

    def source_of(self, key: str) -> str | None:
        return {
            "json": self.json_path,
            "regex": self.regex,
            "header": self.header,
            "cookie": self.cookie,
        }[key]

    @property
    def kind(self) -> str:
        return next(k for k in ("json", "regex", "header", "cookie") if self.source_of(k))


class Fill(Strict):
    selector: str
    value: str


class WaitFor(Strict):
    """Exactly one of ``selector`` (visible), ``text`` (visible on the page) or ``url`` (the
    page's URL contains it)."""

    selector: str | None = None
    text: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> WaitFor:
        if sum(v is not None for v in (self.selector, self.text, self.url)) != 1:
            raise ValueError("give exactly one of selector, text, url")
        return self


class ExpectText(Strict):
    """``text`` must be visible, inside ``selector`` when given (else anywhere)."""

    text: str
    selector: str | None = None


class Action(Strict):
    """One browser action: exactly one key."""

    goto: str | None = None
    fill: Fill | None = None
    click: str | None = None
    wait_for: WaitFor | None = None
    expect_text: ExpectText | None = None

    @field_validator("expect_text", mode="before")
    @classmethod
    def _text_shorthand(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        given = [k for k in ACTIONS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"each browser action has exactly one of {', '.join(ACTIONS)}"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ACTIONS if getattr(self, k) is not None)


ACTIONS = ("goto", "fill", "click", "wait_for", "expect_text")


class Step(Strict):
    """An HTTP step (``request``) or a browser step (``browser``: a list of actions)."""

    name: str = Field(min_length=1, max_length=100)
    request: Request | None = None
    browser: list[Action] | None = Field(None, min_length=1)
    expect: Expect = Expect()
    extract: dict[str, Extract] = {}
    timeout: Seconds | None = None

    @model_validator(mode="after")
    def _kind(self) -> Step:
        if (self.request is None) == (self.browser is None):
            raise ValueError("a step has either request (HTTP) or browser (a list of actions)")
        if self.browser is not None and (
            self.expect.model_fields_set - {"response_time"} or self.extract
        ):
            raise ValueError(
                "a browser step checks with expect_text/wait_for actions; expect "
                "(except response_time) and extract are for HTTP steps"
            )
        for name in self.extract:
            _variable_name(name)
        return self


class Journey(Strict):
    name: str = Field(min_length=1, max_length=200)
    host: str | None = Field(None, min_length=1, max_length=255)
    """Host the result belongs to (``--host`` overrides it)."""
    service: str | None = Field(None, min_length=1, max_length=255)
    """Service the result belongs to (``--service`` overrides it; default ``Journey <name>``)."""
    timeout: Seconds = 10.0
    """Seconds each request or browser action may take (a step's ``timeout`` overrides it)."""
    variables: dict[str, str] = {}
    screenshots: str | None = None
    """Directory for a screenshot of a failed browser step (default: none taken)."""
    steps: list[Step] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _names(self) -> Journey:
        for name in self.variables:
            _variable_name(name)
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(f"two steps are named {step.name!r}; step names must differ")
            seen.add(step.name)
        return self


def _variable_name(name: str) -> None:
    if not _VAR_NAME.match(name):
        raise ValueError(
            f"variable name {name!r}: use letters, digits and _ (not starting with a digit)"
        )


def _compiles(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"regex {pattern!r} does not compile: {exc}") from exc

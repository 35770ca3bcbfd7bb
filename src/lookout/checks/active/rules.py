"""Check rules: parameters for one check type, set on every check a rule matches.

A rule names a check type and matches checks by host name, service name, host labels and
service labels (shell globs); its ``params`` are fields of that type's params model. For one
check the parameters are, field by field: what the check's own config sets, else what the
first matching rule (in order) sets, else the check type's default. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from lookout.checks.active.registry import ActiveCheckConfig, check_types, validate_check_config

RULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Glob = str


class CheckRule(BaseModel):
    """Parameters for checks of type ``check_type`` that match every condition given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=RULE_NAME, description="Name of the rule (unique on the site).")
    description: str = Field("", max_length=1024, description="What the rule is for.")
    check_type: str = Field(description="Check type whose parameters it sets (tls, ping, …).")
    objects: Literal["any", "hosts", "services"] = Field(
        "any", description="Host checks, service checks or both."
    )
    hosts: list[Glob] = Field(default_factory=list, description="Host name globs; empty: any.")
    services: list[Glob] = Field(
        default_factory=list, description="Service name globs; empty: any (services only)."
    )
    host_labels: dict[str, Glob] = Field(
        default_factory=dict, description="Host labels that must match (value is a glob)."
    )
    service_labels: dict[str, Glob] = Field(
        default_factory=dict, description="Service labels that must match (value is a glob)."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Fields of the check type's params (not ``type``)."
    )

    @model_validator(mode="after")
    def _params_of_the_type(self) -> Self:
        if self.check_type not in check_types():
            expected = ", ".join(check_types())
            raise _error(("check_type",), f"unknown check type {self.check_type!r} ({expected})")
        problems = param_errors(self.check_type, self.params)
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def _error(loc: tuple[str | int, ...], msg: str) -> ValidationError:
    detail: InitErrorDetails = {
        "type": "value_error",
        "loc": loc,
        "input": None,
        "ctx": {"error": ValueError(msg)},
    }
    return ValidationError.from_exception_data("CheckRule", [detail])


def param_errors(check_type: str, params: Mapping[str, Any]) -> list[InitErrorDetails]:
    """Problems of ``params`` for ``check_type``, located at ``("params", field, …)``.

    Validated with the check type's own model; fields the rule need not give (``port``,
    ``url``: what each check sets itself) are not missing here."""
    if "type" in params:
        return [
            {
                "type": "value_error",
                "loc": ("params", "type"),
                "input": params["type"],
                "ctx": {"error": ValueError("a rule sets params, not the type (check_type)")},
            }
        ]
    try:
        validate_check_config({**params, "type": check_type})
    except ValidationError as exc:
        return [
            {
                "type": e["type"],
                "loc": ("params", *e["loc"]),
                "input": e.get("input"),
                "ctx": e.get("ctx", {}),
            }
            for e in exc.errors()
            if e["type"] != "missing"
        ]
    return []


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """``["warn_days=20", "rta=[100, 200]", "host=x"]`` → params: a value is read as JSON
    where it is JSON (numbers, lists, true/false), else taken as text. ValueError names the
    item that is not ``FIELD=VALUE``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r}: expected FIELD=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True, slots=True)
class Target:
    """The check a rule is matched against (``service`` '' for a host check)."""

    host: str
    service: str
    check_type: str
    host_labels: Mapping[str, str]
    service_labels: Mapping[str, str]


def matches(rule: CheckRule, t: Target) -> bool:
    """Whether ``rule`` applies to the check ``t``."""
    if rule.check_type != t.check_type:
        return False
    if rule.objects != "any" and (rule.objects == "hosts") != (not t.service):
        return False
    if rule.hosts and not any(fnmatchcase(t.host, g) for g in rule.hosts):
        return False
    if rule.services and not (t.service and any(fnmatchcase(t.service, g) for g in rule.services)):
        return False
    return _labels_match(rule.host_labels, t.host_labels) and _labels_match(
        rule.service_labels, t.service_labels
    )


def _labels_match(wanted: Mapping[str, str], have: Mapping[str, str]) -> bool:
    return all(k in have and fnmatchcase(have[k], v) for k, v in wanted.items())


def first_match(rules: Sequence[CheckRule], t: Target) -> CheckRule | None:
    """The first rule (in order) that applies to ``t``."""
    return next((r for r in rules if matches(r, t)), None)


@dataclass(frozen=True, slots=True)
class Effective:
    """A check's config after the rules: the config, the rule that supplied parameters (None:
    none matched) and, when the rule's parameters did not fit, why (the check runs as given)."""

    config: ActiveCheckConfig
    rule: str | None = None
    error: str | None = None


def effective(check: Mapping[str, Any], rules: Sequence[CheckRule], t: Target) -> Effective:
    """``check`` (a valid config) completed by the first matching rule: the check's own fields
    win over the rule's. Raises ``ValidationError`` only when ``check`` itself is invalid."""
    rule = first_match(rules, t) if rules else None
    if rule is None or not rule.params:
        return Effective(validate_check_config(check), rule.name if rule else None)
    try:
        return Effective(validate_check_config({**rule.params, **check}), rule.name)
    except ValidationError as exc:
        why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return Effective(validate_check_config(check), rule.name, f"not applied: {why}")

"""Turn one push into check results: run discovery, then every agent service's check.

Pure apart from the per-host value store it is handed; a plugin that raises makes only its
own service UNKNOWN (with the exception), never the push.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import msgspec
from lookout_agent.wire import Sections

from lookout.checks.agent.api import UNKNOWN, CheckPlugin, Context, ValueStore
from lookout.checks.agent.registry import BY_NAME, PLUGINS
from lookout.domain import values as checked
from lookout.domain.objects import ServiceConfig
from lookout.domain.results import CheckResult

PLUGIN_LABEL = "agent.plugin"
ITEM_LABEL = "agent.item"
BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")
MAX_SUMMARY = 1000
MAX_DETAILS = 8000


@dataclass(slots=True)
class Evaluation:
    results: list[CheckResult]
    new: dict[str, tuple[CheckPlugin[Any], str]]
    """Services discovered now that do not exist yet: name → (plugin, item)."""


def discovered(sections: Sections) -> dict[str, tuple[CheckPlugin[Any], str]]:
    found: dict[str, tuple[CheckPlugin[Any], str]] = {}
    for plugin in PLUGINS:
        for item in plugin.discover(sections):
            name = _service_name(plugin, item)
            if name is not None:
                found.setdefault(name, (plugin, item))
    return found


_names: dict[tuple[str, str], str | None] = {}
"""Service names by (plugin, item), None for an unusable one: the same items come back with
every push. Bounded: cleared when it grows past ``MAX_TYPED``."""


def _service_name(plugin: CheckPlugin[Any], item: str) -> str | None:
    key = (plugin.name, item)
    try:
        return _names[key]
    except KeyError:
        pass
    name: str | None = plugin.service(item)
    if name is not None and not (0 < len(name) <= 255 and not BAD_NAME.search(name)):
        name = None
    if len(_names) >= MAX_TYPED:
        _names.clear()
    _names[key] = name
    return name


_typed: dict[tuple[str, int], tuple[dict[str, Any], Any]] = {}
"""Typed params by (plugin, id of the stored params dict); the dict is kept alongside, so its
id stays its own. Bounded: cleared when it grows past ``MAX_TYPED``."""
MAX_TYPED = 100_000


def typed_params(plugin: CheckPlugin[Any], params: dict[str, Any]) -> Any:
    key = (plugin.name, id(params))
    hit = _typed.get(key)
    if hit is not None and hit[0] is params:
        return hit[1]
    typed = plugin.parse_params(params)
    if len(_typed) >= MAX_TYPED:
        _typed.clear()
    _typed[key] = (params, typed)
    return typed


def _run(
    plugin: CheckPlugin[Any], item: str, params: dict[str, Any], sections: Sections,
    values: ValueStore, now: float,
) -> tuple[int, str, str, tuple[Any, ...]]:  # fmt: skip
    try:
        typed = typed_params(plugin, params)
    except (msgspec.ValidationError, TypeError) as exc:
        return UNKNOWN, f"invalid parameters for {plugin.name}: {exc}", "", ()
    try:
        out = plugin.check(Context(item, now, values), typed, sections)
    except Exception as exc:
        return UNKNOWN, f"check plugin {plugin.name} crashed: {exc!r}", traceback.format_exc(), ()
    return out.state, out.summary, out.details, tuple(out.metrics)


Plan = list[tuple[str, CheckPlugin[Any], str, dict[str, Any]]]
"""The services to check: (name, plugin, item, stored params)."""


def plan_of(services: dict[str, ServiceConfig]) -> Plan:
    """The existing services that an agent plugin checks."""
    plan: Plan = []
    for name, cfg in services.items():
        labels = cfg.labels
        plugin = BY_NAME.get(labels.get(PLUGIN_LABEL, ""))
        if plugin is not None:
            plan.append((name, plugin, labels.get(ITEM_LABEL, ""), cfg.params))
    return plan


def evaluate(
    host: str,
    sections: Sections,
    services: dict[str, ServiceConfig],
    values: ValueStore,
    now: float,
) -> Evaluation:
    return evaluate_plan(host, sections, plan_of(services), services, values, now)


def evaluate_plan(
    host: str,
    sections: Sections,
    plan: Plan,
    known: Container[str],
    values: ValueStore,
    now: float,
) -> Evaluation:
    """Results of ``plan`` and of the services discovered now that are not in ``known``
    (every service of the host, whatever its source). Does not change ``plan``."""
    found = discovered(sections)
    new = {name: pi for name, pi in found.items() if name not in known}
    todo = [*plan, *((name, plugin, item, {}) for name, (plugin, item) in new.items())]
    results = []
    for name, plugin, item, params in todo:
        state, summary, details, metrics = _run(plugin, item, params, sections, values, now)
        if len(summary) > MAX_SUMMARY:
            summary = summary[:MAX_SUMMARY]
        if len(details) > MAX_DETAILS:
            details = details[:MAX_DETAILS]
        results.append(CheckResult(host, name, state, summary, details, metrics))
    return Evaluation(results, new)


def storable(result: CheckResult) -> CheckResult:
    """``result``, or UNKNOWN saying why its values cannot be stored (text with NUL, numbers
    out of range: a local check can write anything)."""
    try:
        checked.check_text(result.summary, checked.MAX_SUMMARY, ("summary",))
        checked.check_text(result.long_output, checked.MAX_LONG_OUTPUT, ("long_output",))
        checked.check_metrics(result.metrics, ("metrics",))
    except checked.InvalidValue as exc:
        where = ".".join(map(str, exc.loc))
        return CheckResult(
            result.host, result.service, 3, f"the agent sent an unusable value: {where}: {exc.msg}"
        )
    return result


def service_config(
    host: str, name: str, plugin: CheckPlugin[Any], item: str, interval: float, settings: Any
) -> ServiceConfig:
    """A passive service for a discovered item: expects a result every push interval, goes
    UNKNOWN (stale) one interval after the agent is reported silent."""
    return ServiceConfig(
        host=host,
        name=name,
        check=None,
        check_interval=interval,
        retry_interval=interval,
        max_check_attempts=3,
        stale_after=float(settings.missed_intervals) + 1,
        labels={"source": "agent", PLUGIN_LABEL: plugin.name, ITEM_LABEL: item},
    )

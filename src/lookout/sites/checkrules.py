"""The site's check rules: loaded at start, edited through the API, the UI and config apply,
applied every time a check runs (so a changed rule reaches its checks without a restart).

A change is refused (ValidationError naming the checks) when a rule's parameters would not
fit a check it matches, e.g. ``crit_days`` above the ``warn_days`` the service sets itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pydantic
import sqlalchemy as sa

from lookout.checks.active.rules import CheckRule, Effective, Target, effective, first_match
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.errors import Conflict, NotFound, ValidationError
from lookout.storage import checkrules as store
from lookout.storage.audit import AuditLog

log = logging.getLogger(__name__)


def target(host: HostConfig, svc: ServiceConfig | None, check: dict[str, Any]) -> Target:
    """What a rule is matched against for the check ``check`` of ``host`` or ``svc``."""
    return Target(
        host=host.name,
        service=svc.name if svc is not None else "",
        check_type=str(check.get("type", "")),
        host_labels=host.labels,
        service_labels=svc.labels if svc is not None else {},
    )


class CheckRules:
    """The ordered rules of one site, in memory and in its database."""

    def __init__(self, db: sa.Engine, audit: AuditLog | None = None) -> None:
        self.db = db
        self.audit = audit
        self.rules: list[CheckRule] = []
        self.times: dict[str, tuple[float, float]] = {}
        """Name → (created_at, updated_at)."""

    async def load(self) -> None:
        """Read the rules; one that no longer validates is left out and logged."""
        rows = await asyncio.to_thread(store.list_rules, self.db)
        rules = []
        for row in rows:
            try:
                rules.append(CheckRule.model_validate(row["spec"]))
            except pydantic.ValidationError as exc:
                log.error("check rule %s left out: %s", row["spec"].get("name"), exc)
                continue
            self.times[rules[-1].name] = (row["created_at"], row["updated_at"])
        self.rules = rules

    def get(self, name: str) -> CheckRule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise NotFound(f"check rule {name!r} not found")

    def position(self, name: str) -> int:
        return [r.name for r in self.rules].index(name)

    def effective(self, host: HostConfig, svc: ServiceConfig | None) -> Effective | None:
        """The config the check of ``svc`` (None: the host's own check) runs with."""
        check = svc.check if svc is not None else host.check
        if check is None:
            return None
        return effective(check, self.rules, target(host, svc, check))

    def rule_for(self, host: HostConfig, svc: ServiceConfig | None) -> str | None:
        """Name of the rule that supplies the check's parameters (None: none)."""
        check = svc.check if svc is not None else host.check
        if check is None or not self.rules:
            return None
        rule = first_match(self.rules, target(host, svc, check))
        return rule.name if rule is not None else None

    async def save(
        self,
        rule: CheckRule,
        objects: Iterator[tuple[HostConfig, ServiceConfig | None]],
        now: float,
        *,
        create: bool,
        position: int | None = None,
    ) -> bool:
        """Add or replace ``rule`` (at ``position``, 0 first; default: where it was, else
        last); ``create`` refuses an existing name. True when it was created."""
        names = [r.name for r in self.rules]
        exists = rule.name in names
        if exists and create:
            raise Conflict(f"check rule {rule.name!r} exists already")
        rules = [r for r in self.rules if r.name != rule.name]
        at = names.index(rule.name) if exists and position is None else position
        at = len(rules) if at is None else max(0, min(at, len(rules)))
        rules.insert(at, rule)
        # the checks of the rule's type, taken now; judged in a thread (100,000 checks take a
        # second or two, which the event loop must not wait for)
        mine = [(h, svc) for h, svc in objects if _type_of(h, svc) == rule.check_type]
        await asyncio.to_thread(refuse_misfits, rules, iter(mine))
        old = self.get(rule.name).model_dump(mode="json") if exists else None
        await self._write(rules, {rule.name}, now)
        if self.audit is not None:
            after = {**rule.model_dump(mode="json"), "position": at}
            verb = "change" if exists else "create"
            await self.audit.record("check-rule", rule.name, verb, before=old, after=after)
        return not exists

    async def remove(self, name: str, now: float) -> None:
        old = self.get(name).model_dump(mode="json")
        await self._write([r for r in self.rules if r.name != name], set(), now)
        if self.audit is not None:
            await self.audit.record("check-rule", name, "delete", before=old)

    async def replace_all(
        self,
        rules: Sequence[CheckRule],
        changed: set[str],
        now: float,
    ) -> None:
        """Make the site's rules ``rules``, in this order (config apply; validated before)."""
        await self._write(list(rules), changed, now)

    async def _write(self, rules: list[CheckRule], changed: set[str], now: float) -> None:
        specs = [r.model_dump(mode="json") for r in rules]
        await asyncio.to_thread(store.write_rules, self.db, specs, changed, now)
        times = {}
        for r in rules:
            created, updated = self.times.get(r.name, (now, now))
            times[r.name] = (created, now if r.name in changed else updated)
        self.times = times
        self.rules = rules


def _type_of(host: HostConfig, svc: ServiceConfig | None) -> object:
    check = svc.check if svc is not None else host.check
    return check.get("type") if check is not None else None


def misfits(
    rules: Sequence[CheckRule], objects: Iterator[tuple[HostConfig, ServiceConfig | None]]
) -> list[tuple[str, str, str]]:
    """``(check, rule, why)`` for each check (``host`` or ``host/service``) whose first
    matching rule has params that do not fit it."""
    out = []
    for host, svc in objects:
        check = svc.check if svc is not None else host.check
        if check is None:
            continue
        try:
            found = effective(check, rules, target(host, svc, check))
        except pydantic.ValidationError:
            continue  # the check itself is invalid: not the rules' doing
        if found.error is not None and found.rule is not None:
            where = f"{host.name}/{svc.name}" if svc is not None else host.name
            out.append((where, found.rule, found.error))
    return out


def refuse_misfits(
    rules: Sequence[CheckRule], objects: Iterator[tuple[HostConfig, ServiceConfig | None]]
) -> None:
    """ValidationError at ``params`` naming the checks the rules would not fit."""
    found = [f"{where}: rule {rule} {why}" for where, rule, why in misfits(rules, objects)]
    if found:
        shown = "; ".join(found[:5]) + (f" (and {len(found) - 5} more)" if len(found) > 5 else "")
        raise ValidationError(f"params do not fit checks the rule matches: {shown}", ("params",))

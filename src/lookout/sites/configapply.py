"""Export a site's configuration as a tree, and apply a tree to it: validate everything first,
then write hosts and services in one transaction (:meth:`Site.apply_batch`).

The diff is :mod:`lookout.configcode.plan` (pure); this module reads the site's state, runs
the API's validation on what changes, and performs the writes. Notification objects and
downtimes are written after the objects (their own small transactions); every part was
validated before the first write, so a refused tree changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pydantic

from lookout.checks.active.registry import validate_check_config
from lookout.checks.active.rules import CheckRule
from lookout.configcode import plan as p
from lookout.configcode.tree import (
    MANAGED_AUTHOR,
    ChannelEntry,
    CommandEntry,
    DowntimeEntry,
    GroupEntry,
    Tree,
    check_references,
    downtime_key,
)
from lookout.domain.commands import Command, CommandLineError
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.values import InvalidValue
from lookout.engine import inputs as inp
from lookout.engine.dependencies import check_dependencies
from lookout.engine.downtimes import validate_recurrence
from lookout.errors import LookoutError, PermissionDenied, ValidationError
from lookout.notify import editing
from lookout.notify.spec import Channel, Contact, Rule, carries_mask, masked, unmask
from lookout.sites.checkrules import misfits
from lookout.sites.selfmon import LABEL as SELF_LABEL
from lookout.sources.agent_receiver.evaluate import PLUGIN_LABEL
from lookout.sources.kube.mapping import CLUSTER_LABEL
from lookout.wire.api import EventHandlerIn, HostIn, ServiceIn

log = logging.getLogger(__name__)
TREE_KEYS = set(Tree.model_fields)


class TreeInvalid(ValidationError):
    """A tree with problems: ``errors`` holds every one as ``{"loc": [...], "msg": ...}``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
        super().__init__(f"the configuration has {len(errors)} problem(s): {first}")
        self.errors = errors


def defaults_of(site: Any) -> p.ServiceDefaults:
    d = site.settings.services
    return p.ServiceDefaults(
        check_interval=d.check_interval,
        retry_interval=d.retry_interval,
        max_check_attempts=d.max_check_attempts,
        stale_after=d.stale_after,
    )


# ---------------------------------------------------------------------- export
async def export_tree(site: Any) -> dict[str, Any]:
    """The site's configuration as a tree (channel secrets masked)."""
    engine = site.engine
    d = defaults_of(site)
    hosts = []
    for cfg in sorted(engine.hosts.values(), key=lambda h: h.name):
        if _discovered(cfg.labels, CLUSTER_LABEL) or _discovered(cfg.labels, SELF_LABEL):
            continue
        entry = p.host_entry(cfg)
        services = engine.host_services.get(cfg.name, {})
        entry["services"] = [
            p.service_entry(services[n], d)
            for n in sorted(services)
            if not _discovered(services[n].labels, PLUGIN_LABEL)
            and not _discovered(services[n].labels, SELF_LABEL)
        ]
        hosts.append(entry)
    store = site.notifier.store
    channels = await asyncio.to_thread(store.channels)
    rules = await asyncio.to_thread(store.rules)
    contacts = await asyncio.to_thread(store.contacts)
    aliases = site.group_aliases
    groups = sorted({g for h in engine.hosts.values() for g in h.groups} | set(aliases["host"]))
    service_groups = sorted(
        {g for s in engine.services.values() for g in _split(s.labels.get("service_groups", ""))}
        | set(aliases["service"])
    )
    tree: dict[str, Any] = {
        "hosts": hosts,
        "host_groups": [{"name": g, "alias": aliases["host"].get(g, "")} for g in groups],
        "service_groups": [
            {"name": g, "alias": aliases["service"].get(g, "")} for g in service_groups
        ],
        "channels": [
            {"name": c.name, "spec": masked(c.spec.model_dump(mode="json"))} for c in channels
        ],
        "rules": [_rule_entry(r) for r in rules],
        "contacts": [c.model_dump(exclude_defaults=True) for c in contacts],
        "downtimes": _downtimes(engine),
    }
    commands = await _commands(site)
    if commands is not None:
        tree["commands"] = [{"name": n, "command_line": c} for n, c in sorted(commands.items())]
    tree["check_rules"] = [_check_rule_entry(r) for r in site.check_rules.rules]
    return tree


def _check_rule_entry(rule: CheckRule) -> dict[str, Any]:
    data: dict[str, Any] = rule.model_dump(mode="json", exclude_defaults=True)
    return {"name": rule.name, "check_type": rule.check_type, **data}


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _discovered(labels: Mapping[str, str], source_label: str) -> bool:
    """Objects a data source made (Kubernetes hosts, agent services, the site's
    self-monitoring) belong to that source: export leaves them out unless a tree took them
    over."""
    return source_label in labels and not p.managed(labels)


def _rule_entry(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = rule.model_dump(mode="json", exclude_defaults=True)
    return {"name": rule.name, **data}


def _downtimes(engine: Any) -> list[dict[str, Any]]:
    out = []
    for dt in sorted(engine.downtimes.values(), key=lambda x: x.id):
        if not dt.recurrence:
            continue
        entry: dict[str, Any] = {"host": dt.host}
        if dt.service:
            entry["service"] = dt.service
        entry |= {"start": dt.start, "end": dt.end, "recurrence": dt.recurrence}
        if not dt.fixed:
            entry |= {"fixed": False, "duration": dt.duration}
        if dt.include_services:
            entry["include_services"] = True
        if dt.comment:
            entry["comment"] = dt.comment
        out.append(entry)
    return out


async def _commands(site: Any) -> dict[str, str] | None:
    """The site's command definitions (None: this site has none to manage)."""
    runner = getattr(site, "commands", None)
    found = getattr(runner, "commands", None)
    if not isinstance(found, Mapping):
        return None
    return {name: getattr(c, "line", getattr(c, "command_line", "")) for name, c in found.items()}


# ---------------------------------------------------------------------- apply
class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: list[Any], msg: str) -> None:
        self.items.append({"loc": loc, "msg": msg, "type": "value_error"})

    def pydantic(self, prefix: list[Any], exc: pydantic.ValidationError) -> None:
        for e in exc.errors():
            self.add([*prefix, *e["loc"]], e["msg"])


def _shape(raw: Any, errors: _Errors) -> dict[str, Any]:
    if not isinstance(raw, dict):
        errors.add([], "expected an object with hosts, commands, channels, rules, …")
        return {}
    for key in raw:
        if key not in TREE_KEYS:
            errors.add([key], f"unknown part of a tree (expected {', '.join(sorted(TREE_KEYS))})")
    hosts = raw.get("hosts")
    if hosts is not None:
        if not isinstance(hosts, list):
            errors.add(["hosts"], "expected a list")
            return {}
        for i, h in enumerate(hosts):
            if not isinstance(h, dict) or not isinstance(h.get("name"), str):
                errors.add(["hosts", i], "expected an object with a name")
                continue
            services = h.get("services", [])
            if not isinstance(services, list) or not all(
                isinstance(s, dict) and isinstance(s.get("name"), str) for s in services
            ):
                errors.add(["hosts", h["name"], "services"], "expected a list of named services")
    for kind in TREE_KEYS - {"hosts"}:
        if raw.get(kind) is not None and not isinstance(raw[kind], list):
            errors.add([kind], "expected a list")
    return raw


def _check_config(config: Any, loc: list[Any], errors: _Errors) -> None:
    if config is None:
        return
    try:
        validate_check_config(config)
    except pydantic.ValidationError as exc:
        errors.pydantic([*loc, "check"], exc)


def _validate_objects(plan: p.ObjectPlan, tree: dict[str, Any], site: Any, errors: _Errors) -> None:
    """Full validation (the API's models) of the hosts and services that change; the plan's
    objects are then rebuilt from the validated values."""
    engine = site.engine
    defaults = defaults_of(site)
    final_hosts = {h["name"] for h in tree["hosts"]} | {
        n for n, c in engine.hosts.items() if not p.managed(c.labels)
    }
    plan.hosts, plan.services = [], []
    commands = _final_commands(site, tree)
    for name, entry in plan.host_entries.items():
        body = {k: v for k, v in entry.items() if k != "services"}
        try:
            host = HostIn.model_validate(body)
        except pydantic.ValidationError as exc:
            errors.pydantic(["hosts", name], exc)
            continue
        _check_config(host.check, ["hosts", name], errors)
        _refuse_in_saas(site, host.check, host.event_handler)
        _check_runnable(site, host.check, commands, ["hosts", name], errors)
        _check_handler(site, host.event_handler, commands, ["hosts", name], errors)
        for parent in host.parents:
            if parent == name or parent not in final_hosts:
                errors.add(["hosts", name, "parents"], f"{parent!r} is not a host")
        plan.hosts.append(p.host_config(host.model_dump()))
    for (host_name, name), entry in plan.service_entries.items():
        loc = ["hosts", host_name, "services", name]
        try:
            svc = ServiceIn.model_validate(entry)
        except pydantic.ValidationError as exc:
            errors.pydantic(loc, exc)
            continue
        _check_config(svc.check, loc, errors)
        _refuse_in_saas(site, svc.check, svc.event_handler)
        _check_runnable(site, svc.check, commands, loc, errors)
        _check_handler(site, svc.event_handler, commands, loc, errors)
        plan.services.append(p.service_config(host_name, svc.model_dump(), defaults))
    _check_dependencies(plan, engine, errors)
    removed = set(plan.remove_hosts)
    for h in engine.hosts.values():
        kept = h.name not in removed and h.name not in plan.host_entries
        if kept and any(parent in removed for parent in h.parents):
            errors.add(["hosts"], f"host {h.name} has a parent the tree removes")


def _check_dependencies(plan: p.ObjectPlan, engine: Any, errors: _Errors) -> None:
    """Dependencies name services the site has after the apply, and make no cycle."""
    final = dict(engine.services)
    for key in plan.remove_services:
        final.pop(key, None)
    gone = set(plan.remove_hosts)
    final = {k: v for k, v in final.items() if k[0] not in gone}
    final.update(((s.host, s.name), s) for s in plan.services)
    for svc in plan.services:
        try:
            check_dependencies(final, (svc.host, svc.name), svc.depends_on)
        except InvalidValue as exc:
            errors.add(["hosts", svc.host, "services", svc.name, *exc.loc], exc.msg)


def _named_models(
    kind: str, items: list[Any], model: type[pydantic.BaseModel], errors: _Errors, key: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        label = item.get(key, i) if isinstance(item, dict) else i
        try:
            out[str(label)] = model.model_validate(item)
        except pydantic.ValidationError as exc:
            errors.pydantic([kind, label], exc)
    return out


async def apply_tree(site: Any, raw: Any, *, dry_run: bool) -> dict[str, Any]:
    """Apply ``raw`` (the wire form of a tree) to ``site``; with ``dry_run`` only say what
    would change. Raises :class:`TreeInvalid` listing every problem; nothing is written then."""
    errors = _Errors()
    tree = _shape(raw, errors)
    if errors.items:
        raise TreeInvalid(errors.items)
    for msg in check_references(tree):
        errors.add([msg.split(":", 1)[0]], msg.split(": ", 1)[-1])
    engine = site.engine
    changes: dict[str, p.Change] = {}
    plan: p.ObjectPlan | None = None
    if tree.get("hosts") is not None:
        plan = p.plan_objects(tree["hosts"], engine.hosts, engine.host_services, defaults_of(site))
        _validate_objects(plan, tree, site, errors)
        changes["hosts"], changes["services"] = plan.host_changes, plan.service_changes
    aliases = _plan_aliases(site, tree, errors, changes)
    notify = await _plan_notifications(site, tree, errors, changes)
    downtimes = _plan_downtimes(site, tree, errors, changes)
    commands = await _plan_commands(site, tree, errors, changes)
    if commands is not None:
        for msg in _commands_in_use(site, plan, commands[0].remove):
            errors.add(["commands", msg.split(":", 1)[0]], msg.split(": ", 1)[1])
    check_rules = plan_check_rules(site, tree, plan, errors, changes)
    if errors.items:
        raise TreeInvalid(errors.items)
    report = {
        "dry_run": dry_run,
        "changes": {k: c.as_dict() for k, c in changes.items()},
        "changed": any(changes.values()),
    }
    if tree.get("commands") is not None and commands is None:
        report["skipped"] = ["commands: this site has no command definitions to apply them to"]
    if dry_run or not report["changed"]:
        return report
    await _save_commands(site, commands)
    if plan is not None and (plan.host_changes or plan.service_changes):
        await site.apply_batch(plan.hosts, plan.services, plan.remove_services, plan.remove_hosts)
    await _remove_commands(site, commands)
    if check_rules is not None:
        await site.check_rules.replace_all(check_rules[1], set(check_rules[0]), site.clock())
    await _apply_notifications(site, notify)
    await _apply_downtimes(site, downtimes)
    for kind, wanted in aliases.items():
        await site.set_group_aliases(kind, wanted)
    await site.audit.record(
        "config",
        ", ".join(k for k, c in changes.items() if c),
        "apply",
        summary="; ".join(f"{k}: {_counts(c)}" for k, c in changes.items() if c),
        after={k: _brief(c) for k, c in changes.items() if c},
    )
    return report


AUDIT_NAMES = 100
"""Names per kind and verb an apply's audit entry lists (the counts are complete)."""


def _counts(c: p.Change) -> str:
    return f"{len(c.create)} created, {len(c.change)} changed, {len(c.remove)} removed"


def _brief(c: p.Change) -> dict[str, Any]:
    """One audit entry per apply, however large: counts, and the first names of each."""
    out: dict[str, Any] = {}
    for verb in ("create", "change", "remove"):
        names = getattr(c, verb)
        out[verb] = {"count": len(names), "first": [str(n) for n in names[:AUDIT_NAMES]]}
    return out


# ---------------------------------------------------------------------- group aliases
GROUP_KINDS = {"host_groups": "host", "service_groups": "service"}


def _plan_aliases(
    site: Any, tree: dict[str, Any], errors: _Errors, changes: dict[str, p.Change]
) -> dict[str, dict[str, str]]:
    """The aliases to write per group kind (only kinds whose aliases change). Groups exist
    through their members, so only aliases are compared: a group without one is no change."""
    out: dict[str, dict[str, str]] = {}
    for key, kind in GROUP_KINDS.items():
        if tree.get(key) is None:
            continue
        entries = _named_models(key, tree[key], GroupEntry, errors, "name")
        wanted = {
            n: e.alias for n, e in entries.items() if isinstance(e, GroupEntry) and e.alias != n
        }
        wanted = {n: a for n, a in wanted.items() if a}
        change = p.plan_named(site.group_aliases.get(kind, {}), wanted)
        if change:
            changes[key] = change
            out[kind] = wanted
    return out


# ---------------------------------------------------------------------- notifications
async def _plan_notifications(
    site: Any, tree: dict[str, Any], errors: _Errors, changes: dict[str, p.Change]
) -> dict[str, Any]:
    store = site.notifier.store
    out: dict[str, Any] = {}
    if tree.get("channels") is not None:
        current = {c.name: c for c in await asyncio.to_thread(store.channels)}
        entries = _named_models("channels", tree["channels"], ChannelEntry, errors, "name")
        desired: dict[str, Channel] = {}
        for name, entry in entries.items():
            assert isinstance(entry, ChannelEntry)
            spec = entry.spec
            if carries_mask(spec):
                old = current[name].spec.model_dump(mode="json") if name in current else {}
                spec = unmask(spec, old)
            try:
                desired[name] = Channel.model_validate({"name": name, "spec": spec})
                _refuse_in_saas(site, None, None, channel=desired[name].spec.type)
            except pydantic.ValidationError as exc:
                errors.pydantic(["channels", name], exc)
        changes["channels"] = p.plan_named(current, desired)
        out["channels"] = (changes["channels"], desired)
    if tree.get("rules") is not None:
        current_rules = await asyncio.to_thread(store.rules)
        rules = _named_models("rules", tree["rules"], Rule, errors, "name")
        have = {r.name: (i, r) for i, r in enumerate(current_rules)}
        want = {name: (i, r) for i, (name, r) in enumerate(rules.items())}
        changes["rules"] = p.plan_named(have, want)
        out["rules"] = (changes["rules"], rules)
    if "channels" in out or "rules" in out:
        await _plan_rule_channels(store, tree, out, errors)
    if tree.get("contacts") is not None:
        contacts = _named_models("contacts", tree["contacts"], Contact, errors, "user")
        users = await asyncio.to_thread(store.users)
        for user in sorted(set(contacts) - set(users)):
            msg = f"no user {user!r} on this site (lookout user add {user} --email ADDRESS)"
            errors.add(["contacts", user, "user"], msg)
        current_contacts = {c.user: c for c in await asyncio.to_thread(store.contacts)}
        changes["contacts"] = p.plan_named(current_contacts, contacts)
        changes["contacts"].remove = []  # contacts are kept (they belong to users)
        out["contacts"] = (changes["contacts"], contacts)
    return out


async def _plan_rule_channels(
    store: Any, tree: dict[str, Any], out: dict[str, Any], errors: _Errors
) -> None:
    """After the apply, every rule names only channels that exist, as the API and the UI
    check (``notify.editing``): a rule of the tree naming another channel, or a channel the
    tree removes while a rule that stays names it, is an error at its path."""
    if "channels" in out:
        channels = {str(c.get("name")) for c in tree["channels"] if isinstance(c, dict)}
    else:
        channels = await asyncio.to_thread(store.channel_names)
    if "rules" in out:
        for name, rule in out["rules"][1].items():
            for err in editing.unknown_channels(rule, channels):
                errors.add(["rules", name, *err.loc], str(err))
        return
    for rule in await asyncio.to_thread(store.rules):
        for ch in sorted(set(rule.channels) - channels):
            errors.add(["channels"], f"channel {ch!r} is used by rule {rule.name}: keep it")


async def _apply_notifications(site: Any, notify: dict[str, Any]) -> None:
    store = site.notifier.store
    now = site.clock()
    if "channels" in notify:
        change, channels = notify["channels"]
        for name in change.create + change.change:
            await asyncio.to_thread(store.put_channel, channels[name], now, create=False)
    if "rules" in notify:
        change, rules = notify["rules"]
        for name in change.remove:
            await asyncio.to_thread(store.delete_rule, name)
        if change.create or change.change:
            for i, rule in enumerate(rules.values()):
                await asyncio.to_thread(
                    store.put_rule, rule, now, position=(i + 1) * 10, create=False
                )
    if "contacts" in notify:
        change, contacts = notify["contacts"]
        for name in change.create + change.change:
            await asyncio.to_thread(store.put_contact, contacts[name], now)
    if "channels" in notify:
        for name in notify["channels"][0].remove:
            await asyncio.to_thread(store.delete_channel, name)
    if notify:
        await site.notifier.reload()


# ---------------------------------------------------------------------- downtimes
def _plan_downtimes(
    site: Any, tree: dict[str, Any], errors: _Errors, changes: dict[str, p.Change]
) -> tuple[list[DowntimeEntry], list[int]] | None:
    if tree.get("downtimes") is None:
        return None
    engine = site.engine
    wanted: list[DowntimeEntry] = []
    hosts = {h["name"] for h in tree.get("hosts") or ()} | set(engine.hosts)
    for i, item in enumerate(tree["downtimes"]):
        try:
            entry = DowntimeEntry.model_validate(item)
            validate_recurrence(entry.recurrence)
        except pydantic.ValidationError as exc:
            errors.pydantic(["downtimes", i], exc)
            continue
        except LookoutError as exc:
            errors.add(["downtimes", i, "recurrence"], str(exc))
            continue
        if entry.host not in hosts:
            errors.add(["downtimes", i, "host"], f"{entry.host!r} is not a host")
        if entry.end <= entry.start:
            errors.add(["downtimes", i, "end"], "end must be after start")
        wanted.append(entry)
    current: dict[tuple[Any, ...], list[int]] = {}
    for dt in engine.downtimes.values():
        if dt.recurrence:
            current.setdefault(downtime_key(_dt_dict(dt)), []).append(dt.id)
    change = p.Change()
    create: list[DowntimeEntry] = []
    remove: list[int] = []
    keys = set()
    for entry in wanted:
        key = entry.key()
        keys.add(key)
        if not current.get(key):
            create.append(entry)
            change.create.append(_describe(entry.host, entry.service, entry.recurrence))
        else:
            current[key].pop(0)  # matched: this one stays
    for dt in engine.downtimes.values():
        if dt.recurrence and dt.author == MANAGED_AUTHOR and dt.id in _flat(current):
            remove.append(dt.id)
            change.remove.append(_describe(dt.host, dt.service, dt.recurrence))
    changes["downtimes"] = change
    return create, remove


def _flat(current: dict[Any, list[int]]) -> set[int]:
    return {i for ids in current.values() for i in ids}


def _dt_dict(dt: Any) -> dict[str, Any]:
    return {
        "host": dt.host,
        "service": dt.service,
        "recurrence": dt.recurrence,
        "start": dt.start,
        "end": dt.end,
        "fixed": dt.fixed,
        "duration": dt.duration,
        "include_services": dt.include_services,
        "comment": dt.comment,
    }


def _describe(host: str, service: str | None, recurrence: str) -> str:
    return f"{host}/{service} ({recurrence})" if service else f"{host} ({recurrence})"


async def _apply_downtimes(site: Any, plan: tuple[list[DowntimeEntry], list[int]] | None) -> None:
    if plan is None:
        return
    create, remove = plan
    remove = [i for i in remove if i in site.engine.downtimes]  # gone with their host
    if remove:
        await site.actions.remove_downtime(author=MANAGED_AUTHOR, ids=remove)
    for e in create:
        await site.actions.schedule_downtime(
            inp.Target(host=e.host, service=e.service),
            start=e.start,
            end=e.end,
            author=MANAGED_AUTHOR,
            comment=e.comment,
            fixed=e.fixed,
            duration=e.duration,
            include_services=e.include_services,
            recurrence=e.recurrence,
        )


# ---------------------------------------------------------------------- check rules
def plan_check_rules(
    site: Any,
    tree: dict[str, Any],
    plan: p.ObjectPlan | None,
    errors: _Errors,
    changes: dict[str, p.Change],
) -> tuple[list[str], list[CheckRule]] | None:
    """The check rules of the tree (None: not managed, or unchanged), and the names that are
    new or changed. Rules must fit the checks they match after the apply: every check when
    the rules change, else the hosts and services the tree writes."""
    current: list[CheckRule] = site.check_rules.rules
    rules = current
    if tree.get("check_rules") is not None:
        found = _named_models("check_rules", tree["check_rules"], CheckRule, errors, "name")
        rules = list(found.values())
        have = {r.name: (i, r) for i, r in enumerate(current)}
        want = {r.name: (i, r) for i, r in enumerate(rules)}
        changes["check_rules"] = p.plan_named(have, want)
    changed = bool(changes.get("check_rules"))
    if changed:
        objects = _final_objects(site, plan)
    elif plan is not None and rules:
        objects = _written_objects(site, plan)
    else:
        objects = iter(())
    for where, rule, why in misfits(rules, objects):
        errors.add(["check_rules", rule, "params"], f"does not fit {where}: {why}")
    if not changed:
        return None
    change = changes["check_rules"]
    return change.create + change.change, rules


def _final_objects(
    site: Any, plan: p.ObjectPlan | None
) -> Iterator[tuple[HostConfig, ServiceConfig | None]]:
    """Every host and service as it will be after the apply."""
    hosts: dict[str, HostConfig] = dict(site.engine.hosts)
    services: dict[tuple[str, str], ServiceConfig] = dict(site.engine.services)
    if plan is not None:
        for name in plan.remove_hosts:
            hosts.pop(name, None)
        for key in plan.remove_services:
            services.pop(key, None)
        hosts.update((h.name, h) for h in plan.hosts)
        services.update(((s.host, s.name), s) for s in plan.services)
    for h in hosts.values():
        yield h, None
    for svc in services.values():
        if svc.host in hosts:
            yield hosts[svc.host], svc


def _written_objects(
    site: Any, plan: p.ObjectPlan
) -> Iterator[tuple[HostConfig, ServiceConfig | None]]:
    """The hosts and services the apply writes, as they will be."""
    hosts: dict[str, HostConfig] = {h.name: h for h in plan.hosts}
    for h in plan.hosts:
        yield h, None
    for svc in plan.services:
        host = hosts.get(svc.host) or site.engine.hosts.get(svc.host)
        if host is not None:
            yield host, svc


# ---------------------------------------------------------------------- commands
async def _plan_commands(
    site: Any, tree: dict[str, Any], errors: _Errors, changes: dict[str, p.Change]
) -> tuple[p.Change, dict[str, str]] | None:
    if tree.get("commands") is None:
        return None
    entries = _named_models("commands", tree["commands"], CommandEntry, errors, "name")
    if entries:
        _refuse_in_saas(site, None, None, commands=True)
    desired: dict[str, str] = {}
    for name, e in entries.items():
        assert isinstance(e, CommandEntry)
        try:
            Command.parse(name, e.command_line)
        except CommandLineError as exc:
            errors.add(["commands", name, "command_line"], str(exc))
            continue
        desired[name] = e.command_line
    current = await _commands(site)
    if current is None:
        return None
    changes["commands"] = p.plan_named(current, desired)
    return changes["commands"], desired


def _final_commands(site: Any, tree: dict[str, Any]) -> set[str] | None:
    """Command names the site will have after the apply (None: it has no commands at all)."""
    runner = getattr(site, "commands", None)
    current = getattr(runner, "commands", None)
    if not isinstance(current, Mapping):
        return None
    if tree.get("commands") is None:
        return set(current)
    return {c["name"] for c in tree["commands"] if isinstance(c, dict) and "name" in c}


def _refuse_in_saas(
    site: Any, check: Any, handler: Any, *, channel: str | None = None, commands: bool = False
) -> None:
    """SaaS mode: a type that is not allowed refuses the whole tree (403) before any write."""
    saas = getattr(getattr(site, "settings", None), "saas", None)
    if saas is None or not saas.enabled:
        return
    why = saas.refusal("check", check.get("type")) if check else None
    if channel is not None:
        why = saas.refusal("channel", channel)
    if why is None and (handler is not None or commands):
        why = "event handlers and commands run programs: not allowed on this SaaS site"
    if why:
        raise PermissionDenied(why)


def _check_runnable(
    site: Any,
    check: dict[str, Any] | None,
    commands: set[str] | None,
    loc: list[Any],
    errors: _Errors,
) -> None:
    """A Nagios check needs execution enabled and a command the site will have."""
    if check is not None and check.get("type") == "nagios":
        here = getattr(site, "pools", None) is None  # on worker pools it runs on a worker
        _check_command(
            site, check.get("command"), commands, [*loc, "check"], "type", errors, here=here
        )


def _check_handler(
    site: Any,
    handler: EventHandlerIn | None,
    commands: set[str] | None,
    loc: list[Any],
    errors: _Errors,
) -> None:
    """An event handler needs execution enabled and a command the site will have."""
    if handler is not None:
        _check_command(site, handler.command, commands, [*loc, "event_handler"], None, errors)


def _check_command(
    site: Any,
    name: Any,
    commands: set[str] | None,
    loc: list[Any],
    off: str | None,
    errors: _Errors,
    *,
    here: bool = True,
) -> None:
    executor = getattr(site, "executor", None)
    if here and executor is not None and not executor.enabled:
        errors.add(loc if off is None else [*loc, off], "execution is disabled on this site")
    elif commands is not None and name not in commands:
        errors.add([*loc, "command"], f"no command named {name!r} (define it in commands.yaml)")


def _uses(check: dict[str, Any] | None, handler: dict[str, Any] | None) -> list[str]:
    """The commands a check and an event handler run."""
    out = []
    if check and check.get("type") == "nagios":
        out.append(str(check.get("command")))
    if handler:
        out.append(str(handler.get("command")))
    return out


def _commands_in_use(site: Any, plan: p.ObjectPlan | None, names: list[str]) -> list[str]:
    """Problems for commands the tree removes while checks that stay still run them."""
    if not names:
        return []
    gone = set(names)
    users: dict[str, list[str]] = {}
    changed_hosts = set(plan.host_entries) if plan else set()
    changed_services = set(plan.service_entries) if plan else set()
    removed_hosts = set(plan.remove_hosts) if plan else set()
    removed_services = set(plan.remove_services) if plan else set()
    for h in site.engine.hosts.values():
        if h.name in removed_hosts or h.name in changed_hosts:
            continue
        for command in _uses(h.check, h.event_handler):
            if command in gone:
                users.setdefault(command, []).append(h.name)
    for key, svc in site.engine.services.items():
        if svc.host in removed_hosts or key in removed_services or key in changed_services:
            continue
        for command in _uses(svc.check, svc.event_handler):
            if command in gone:
                users.setdefault(command, []).append(f"{svc.host}/{svc.name}")
    written: list[tuple[str, list[str]]] = []
    if plan is not None:
        written = [(h.name, _uses(h.check, h.event_handler)) for h in plan.hosts]
        written += [(f"{s.host}/{s.name}", _uses(s.check, s.event_handler)) for s in plan.services]
    for where, used in written:
        for command in used:
            if command in gone:
                users.setdefault(command, []).append(where)
    return [
        f"{name}: still used by {', '.join(u[:10])}" + (" …" if len(u) > 10 else "")
        for name, u in users.items()
    ]


async def _save_commands(site: Any, plan: tuple[p.Change, dict[str, str]] | None) -> None:
    if plan is None:
        return
    change, desired = plan
    for name in change.create:
        await site.save_command(name, desired[name], create=True)
    for name in change.change:
        await site.save_command(name, desired[name], create=False)


async def _remove_commands(site: Any, plan: tuple[p.Change, dict[str, str]] | None) -> None:
    if plan is None:
        return
    for name in plan[0].remove:
        await site.delete_command(name)

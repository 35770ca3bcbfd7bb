"""Nagios object configuration → a Lookout configuration tree (pure: text in, tree out).

What is read: the main file's ``cfg_file``/``cfg_dir`` and ``interval_length``; ``define``
blocks of host, service, command, hostgroup, servicegroup, contact, contactgroup and
timeperiod; templates (``name``, ``register 0``) applied through ``use`` (several, comma
separated: the first template that sets a directive wins), additive ``+`` values, ``null``;
lines continued with a trailing backslash; ``#`` and ``;`` comments (``\\;`` is a literal
semicolon). Services are expanded over ``host_name`` and ``hostgroup_name`` lists with ``*``
and ``!`` exclusions. What cannot be translated is returned as :class:`Note` s with file and
line, one per kind of problem (with a count), so a large configuration gives a short report.

The file reading lives in :mod:`lookout.configcode.nagiosfiles`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "host",
    "service",
    "command",
    "hostgroup",
    "servicegroup",
    "contact",
    "contactgroup",
    "timeperiod",
)
"""Object types translated (or at least counted); others are reported as notes."""
NAME_KEY = {
    "host": "host_name",
    "command": "command_name",
    "hostgroup": "hostgroup_name",
    "servicegroup": "servicegroup_name",
    "contact": "contact_name",
    "contactgroup": "contactgroup_name",
    "timeperiod": "timeperiod_name",
}
HOST_USED = {
    "host_name",
    "address",
    "alias",
    "parents",
    "hostgroups",
    "check_command",
    "check_interval",
    "retry_interval",
    "max_check_attempts",
    "display_name",
}
SERVICE_USED = {
    "host_name",
    "hostgroup_name",
    "service_description",
    "check_command",
    "check_interval",
    "retry_interval",
    "max_check_attempts",
    "servicegroups",
    "display_name",
}
LABEL_KEY = re.compile(r"[^A-Za-z0-9_.\-/]")


@dataclass(frozen=True, slots=True)
class Note:
    """Something the importer could not translate (or had to decide): where and what."""

    file: str
    line: int
    message: str
    count: int = 1

    def __str__(self) -> str:
        more = f" ({self.count} times)" if self.count > 1 else ""
        return f"{self.file}:{self.line}: {self.message}{more}"


@dataclass(slots=True)
class Definition:
    """One ``define KIND { … }`` block as written (values are raw text)."""

    kind: str
    attrs: dict[str, str]
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class MainConfig:
    cfg_files: list[str]
    cfg_dirs: list[str]
    interval_length: int = 60


@dataclass(slots=True)
class Counts:
    """Objects found, by the names ``nagios4 -v`` uses in its "Checked N …" lines."""

    hosts: int = 0
    services: int = 0
    commands: int = 0
    host_groups: int = 0
    service_groups: int = 0
    contacts: int = 0
    contact_groups: int = 0
    time_periods: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "hosts": self.hosts,
            "services": self.services,
            "commands": self.commands,
            "host groups": self.host_groups,
            "service groups": self.service_groups,
            "contacts": self.contacts,
            "contact groups": self.contact_groups,
            "time periods": self.time_periods,
        }


@dataclass(slots=True)
class Imported:
    """What the importer made: the tree (plain data, as ``config apply`` takes it), counts
    and notes."""

    tree: dict[str, Any]
    counts: Counts
    notes: list[Note] = field(default_factory=list)


# ---------------------------------------------------------------------- lexing
def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number of the first physical line, text) with backslash continuations joined
    and whole-line comments dropped."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not pending:
            start = number
            stripped = line.lstrip()
            if not stripped or stripped[0] in "#;":
                continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        yield start, "".join(pending)
        pending = []
    if pending:
        yield start, "".join(pending)


def _strip_comment(line: str) -> str:
    """Text before the first unescaped ``;`` with ``\\;`` made a plain semicolon."""
    if ";" not in line:
        return line.strip()
    out = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and line[i + 1 : i + 2] == ";":
            out.append(";")
            i += 2
            continue
        if ch == ";":
            break
        out.append(ch)
        i += 1
    return "".join(out).strip()


def parse_main(text: str) -> MainConfig:
    """The parts of ``nagios.cfg`` the importer needs."""
    files: list[str] = []
    dirs: list[str] = []
    interval = 60
    for _, line in _logical_lines(text):
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "cfg_file":
            files.append(value)
        elif key == "cfg_dir":
            dirs.append(value)
        elif key == "interval_length" and value.isdigit():
            interval = int(value) or 60
    return MainConfig(files, dirs, interval)


def parse_objects(text: str, file: str) -> tuple[list[Definition], list[Note]]:
    """The ``define`` blocks of one object file (pure)."""
    defs: list[Definition] = []
    notes: list[Note] = []
    current: Definition | None = None
    for number, raw in _logical_lines(text):
        line = _strip_comment(raw)
        if not line:
            continue
        m = re.match(r"define\s+(\w+)\s*\{\s*(.*)$", line)
        if current is not None and m is not None:
            notes.append(Note(file, current.line, f"define {current.kind} is never closed with }}"))
            current = None
        if current is None:
            if m is None:
                notes.append(Note(file, number, f"not inside a definition: {line[:60]!r}"))
                continue
            current = Definition(m.group(1).lower(), {}, file, number)
            line = m.group(2).strip()
            if not line:
                continue
        closed = line.endswith("}")
        if closed:
            line = line[:-1].strip()
        if line:
            key, _, value = line.partition(" ") if " " in line else line.partition("\t")
            key, value = key.strip(), value.strip()
            if "\t" in key:
                key, _, rest = key.partition("\t")
                value = (rest + " " + value).strip()
            current.attrs[key] = value
        if closed:
            defs.append(current)
            current = None
    if current is not None:
        notes.append(Note(file, current.line, f"define {current.kind} is never closed with }}"))
    return defs, notes


# ---------------------------------------------------------------------- templates
class _Resolver:
    """Resolved directives of definitions: templates (by kind and name) applied in order."""

    def __init__(self, defs: list[Definition], notes: _Notes) -> None:
        self.templates: dict[tuple[str, str], Definition] = {}
        self.notes = notes
        self._done: dict[int, dict[str, str]] = {}
        for d in defs:
            name = d.attrs.get("name")
            if name:
                self.templates[(d.kind, name)] = d

    def resolve(self, d: Definition, stack: tuple[int, ...] = ()) -> dict[str, str]:
        key = id(d)
        done = self._done.get(key)
        if done is not None:
            return done
        inherited: dict[str, str] = {}
        for tname in _split(d.attrs.get("use", "")):
            template = self.templates.get((d.kind, tname))
            if template is None:
                self.notes.add(d, f"{d.kind} template {tname!r} (use) is not defined")
                continue
            if id(template) in stack or template is d:
                self.notes.add(d, f"{d.kind} template {tname!r} uses itself (a loop)")
                continue
            for k, v in self.resolve(template, (*stack, key)).items():
                inherited.setdefault(k, v)
        out = dict(inherited)
        for k, v in d.attrs.items():
            if k in ("use", "name", "register"):
                continue
            if v.startswith("+"):
                base = inherited.get(k)
                out[k] = f"{base},{v[1:]}" if base else v[1:]
            else:
                out[k] = v
        self._done[key] = out
        return out


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


class _Notes:
    """Notes grouped by message: the first place and how often."""

    def __init__(self) -> None:
        self.first: dict[str, Note] = {}
        self.count: dict[str, int] = {}
        self.skipped: dict[str, dict[str, Definition]] = {}

    def add(self, where: Definition, message: str) -> None:
        if message not in self.first:
            self.first[message] = Note(where.file, where.line, message)
        self.count[message] = self.count.get(message, 0) + 1

    def unused(self, kind: str, key: str, where: Definition) -> None:
        self.skipped.setdefault(kind, {}).setdefault(key, where)

    def extend(self, notes: Iterable[Note]) -> None:
        for n in notes:
            self.first.setdefault(n.message, n)
            self.count[n.message] = self.count.get(n.message, 0) + 1

    def all(self) -> list[Note]:
        for kind, keys in self.skipped.items():
            first = next(iter(keys.values()))
            names = ", ".join(sorted(keys))
            self.add(first, f"{kind} directives not translated (ignored): {names}")
        self.skipped = {}
        return [Note(n.file, n.line, n.message, self.count[m]) for m, n in self.first.items()]


def _registered(d: Definition) -> bool:
    return d.attrs.get("register", "1").strip() != "0"


def _clean(attrs: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in attrs.items() if v != "null"}


# ---------------------------------------------------------------------- translation
def translate(
    defs: list[Definition], *, interval_length: int = 60, notes: Iterable[Note] = ()
) -> Imported:
    """Definitions of all files (in reading order) → a tree, counts and notes."""
    log = _Notes()
    log.extend(notes)
    resolver = _Resolver(defs, log)
    objects: dict[str, list[tuple[Definition, dict[str, str]]]] = {k: [] for k in KINDS}
    for d in defs:
        if d.kind not in objects:
            log.add(d, f"define {d.kind} is not translated")
            continue
        if not _registered(d):
            continue
        objects[d.kind].append((d, _clean(resolver.resolve(d))))
    counts = Counts()
    commands = _commands(objects["command"], log)
    counts.commands = len(commands)
    hosts = _hosts(objects["host"], interval_length, log, commands)
    counts.hosts = len(hosts)
    host_groups = _host_groups(objects["hostgroup"], hosts, log)
    counts.host_groups = len(host_groups)
    services = _services(objects["service"], hosts, host_groups, interval_length, log, commands)
    counts.services = sum(len(s) for s in services.values())
    service_groups = _service_groups(objects["servicegroup"], services, log)
    counts.service_groups = len(service_groups)
    contacts, contact_groups = _contacts(objects["contact"], objects["contactgroup"], log)
    counts.contacts, counts.contact_groups = len(contacts), len(contact_groups)
    periods = _named(objects["timeperiod"], "timeperiod", log)
    counts.time_periods = len(periods)
    for name, (d, _) in periods.items():
        log.add(
            d,
            f"time period {name} not translated: Lookout has no time period objects; give "
            "the notification rules that used it a time_period (days, start, end, timezone)",
        )
    for name, hcfg in hosts.items():
        hcfg["groups"] = sorted(_member_groups(name, host_groups))
        hcfg["services"] = list(services.get(name, {}).values())
        if not hcfg["groups"]:
            del hcfg["groups"]
        if not hcfg["services"]:
            del hcfg["services"]
    for name, hcfg in hosts.items():
        missing = [p for p in hcfg.get("parents", []) if p not in hosts]
        if missing:
            log.add(objects["host"][0][0], f"host {name}: parents {missing} are not hosts; dropped")
            hcfg["parents"] = [p for p in hcfg["parents"] if p in hosts]
    tree: dict[str, Any] = {
        "hosts": list(hosts.values()),
        "commands": [{"name": n, "command_line": c} for n, c in commands.items()],
        "host_groups": [{"name": n, "alias": g["alias"]} for n, g in host_groups.items()],
        "service_groups": [{"name": n, "alias": a} for n, a in service_groups.items()],
    }
    return Imported(tree, counts, log.all())


def _named(
    items: list[tuple[Definition, dict[str, str]]], kind: str, log: _Notes
) -> dict[str, tuple[Definition, dict[str, str]]]:
    out: dict[str, tuple[Definition, dict[str, str]]] = {}
    key = NAME_KEY[kind]
    for d, attrs in items:
        name = attrs.get(key, "").strip()
        if not name:
            log.add(d, f"{kind} without {key}: skipped")
            continue
        if name in out:
            log.add(d, f"duplicate {kind} {name!r}: the first definition is kept")
            continue
        out[name] = (d, attrs)
    return out


def _commands(items: list[tuple[Definition, dict[str, str]]], log: _Notes) -> dict[str, str]:
    out = {}
    for name, (d, attrs) in _named(items, "command", log).items():
        if not attrs.get("command_line"):
            log.add(d, f"command {name!r} has no command_line: skipped")
            continue
        out[name] = attrs["command_line"]
    return out


def check_of(command: str) -> dict[str, Any]:
    """``check_ping!100.0,20%!500.0,60%`` → Lookout's nagios check config (``\\!`` is a
    literal ``!``)."""
    parts = [p.replace("\0", "!") for p in command.replace("\\!", "\0").split("!")]
    return {"type": "nagios", "command": parts[0].strip(), "args": parts[1:]}


def _seconds(value: str | None, interval_length: int) -> float | None:
    if value is None:
        return None
    try:
        minutes = float(value)
    except ValueError:
        return None
    return minutes * interval_length if minutes > 0 else None


def _common(
    d: Definition,
    attrs: dict[str, str],
    interval_length: int,
    log: _Notes,
    kind: str,
    commands: Mapping[str, str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if attrs.get("check_command"):
        out["check"] = check_of(attrs["check_command"])
        if out["check"]["command"] not in commands:
            log.add(d, f"{kind} check command {out['check']['command']!r} is not defined")
    for key in ("check_interval", "retry_interval"):
        seconds = _seconds(attrs.get(key), interval_length)
        if seconds is not None:
            out[key] = min(max(seconds, 0.1), 86400.0)
        elif key in attrs:
            log.add(d, f"{kind} {key} {attrs[key]!r} is not a positive number: default used")
    if attrs.get("max_check_attempts", "").isdigit():
        out["max_check_attempts"] = min(max(int(attrs["max_check_attempts"]), 1), 100)
    labels = {}
    for key, value in attrs.items():
        if key.startswith("_") and len(key) > 1:
            labels[LABEL_KEY.sub("_", key[1:].lower())[:63]] = value
    used = HOST_USED if kind == "host" else SERVICE_USED
    for key in attrs:
        if not key.startswith("_") and key not in used:
            log.unused(kind, key, d)
    if labels:
        out["labels"] = labels
    return out


def _hosts(
    items: list[tuple[Definition, dict[str, str]]],
    interval_length: int,
    log: _Notes,
    commands: Mapping[str, str],
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, (d, attrs) in _named(items, "host", log).items():
        host: dict[str, Any] = {"name": name}
        if attrs.get("address") and attrs["address"] != name:
            host["address"] = attrs["address"]
        host.update(_common(d, attrs, interval_length, log, "host", commands))
        alias = attrs.get("alias", "")
        if alias and alias != name:
            host.setdefault("labels", {})["alias"] = alias
        if attrs.get("parents"):
            host["parents"] = _split(attrs["parents"])
        host["_groups"] = _split(attrs.get("hostgroups", ""))
        out[name] = host
    return out


def _host_groups(
    items: list[tuple[Definition, dict[str, str]]],
    hosts: dict[str, dict[str, Any]],
    log: _Notes,
) -> dict[str, dict[str, Any]]:
    named = _named(items, "hostgroup", log)
    groups: dict[str, dict[str, Any]] = {
        name: {"alias": attrs.get("alias", name), "members": set(), "nested": []}
        for name, (_, attrs) in named.items()
    }
    for name, (d, attrs) in named.items():
        members = _split(attrs.get("members", ""))
        groups[name]["members"] |= _host_set(members, hosts, d, log, f"host group {name}")
        groups[name]["nested"] = _split(attrs.get("hostgroup_members", ""))
    for host in hosts.values():
        for g in host.pop("_groups"):
            if g in groups:
                groups[g]["members"].add(host["name"])
            elif items:
                log.add(items[0][0], f"host {host['name']}: host group {g!r} is not defined")
    for name in groups:
        groups[name]["all"] = _group_members(name, groups, ())
    return groups


def _group_members(name: str, groups: dict[str, dict[str, Any]], seen: tuple[str, ...]) -> set[str]:
    g = groups[name]
    out = set(g["members"])
    for sub in g["nested"]:
        if sub in groups and sub not in seen:
            out |= _group_members(sub, groups, (*seen, name))
    return out


def _member_groups(host: str, groups: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, g in groups.items() if host in g["all"]}


def _host_set(
    names: list[str], hosts: dict[str, Any], d: Definition, log: _Notes, what: str
) -> set[str]:
    """A host list with ``*`` (every host) and ``!name`` exclusions."""
    out: set[str] = set()
    excluded: set[str] = set()
    for n in names:
        if n == "*":
            out |= set(hosts)
        elif n.startswith("!"):
            excluded.add(n[1:])
        elif n in hosts:
            out.add(n)
        else:
            log.add(d, f"{what}: host {n!r} is not defined")
    return out - excluded


def _services(
    items: list[tuple[Definition, dict[str, str]]],
    hosts: dict[str, dict[str, Any]],
    groups: dict[str, dict[str, Any]],
    interval_length: int,
    log: _Notes,
    commands: Mapping[str, str],
) -> dict[str, dict[str, dict[str, Any]]]:
    """host → service name → service; a service named by ``host_name`` wins over one from a
    host group (as in Nagios), otherwise the first definition."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    explicit: set[tuple[str, str]] = set()
    for d, attrs in items:
        name = attrs.get("service_description", "").strip()
        if not name:
            log.add(d, "service without service_description: skipped")
            continue
        host_names = _split(attrs.get("host_name", ""))
        direct = _host_set(host_names, hosts, d, log, f"service {name}")
        via: set[str] = set()
        excluded: set[str] = set()
        for g in _split(attrs.get("hostgroup_name", "")):
            target = excluded if g.startswith("!") else via
            gname = g.lstrip("!")
            if gname == "*":
                target |= set(hosts)
            elif gname in groups:
                target |= groups[gname]["all"]
            else:
                log.add(d, f"service {name}: host group {gname!r} is not defined")
        excluded |= {n[1:] for n in host_names if n.startswith("!")}
        targets = (direct | via) - excluded
        if not targets:
            log.add(d, f"service {name!r} applies to no host: skipped")
            continue
        body = {"name": name, **_common(d, attrs, interval_length, log, "service", commands)}
        sgroups = _split(attrs.get("servicegroups", ""))
        if sgroups:
            body.setdefault("labels", {})["service_groups"] = ",".join(sgroups)
        for host in sorted(targets):
            per_host = out.setdefault(host, {})
            key = (host, name)
            if name in per_host and (key in explicit or host not in direct):
                log.add(d, f"duplicate service {name!r} on a host: the first definition is kept")
                continue
            if host in direct:
                explicit.add(key)
            per_host[name] = _copy(body)
    return out


def _copy(body: dict[str, Any]) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in body.items()}


def _service_groups(
    items: list[tuple[Definition, dict[str, str]]],
    services: dict[str, dict[str, dict[str, Any]]],
    log: _Notes,
) -> dict[str, str]:
    named = _named(items, "servicegroup", log)
    for name, (d, attrs) in named.items():
        members = _split(attrs.get("members", ""))
        for host, svc in zip(members[::2], members[1::2], strict=False):
            body = services.get(host, {}).get(svc)
            if body is None:
                log.add(d, f"service group {name}: service {host}/{svc} is not defined")
                continue
            labels = body.setdefault("labels", {})
            have = _split(labels.get("service_groups", ""))
            if name not in have:
                labels["service_groups"] = ",".join([*have, name])
        if attrs.get("servicegroup_members"):
            log.add(d, "servicegroup_members (nested service groups) are not translated")
    return {name: attrs.get("alias", name) for name, (_, attrs) in named.items()}


def _contacts(
    contacts: list[tuple[Definition, dict[str, str]]],
    groups: list[tuple[Definition, dict[str, str]]],
    log: _Notes,
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Contacts → their groups (``contactgroups`` and the groups' ``members``), with a note
    per contact and group: a Lookout contact is a Lookout user, which a tree does not make."""
    named = _named(contacts, "contact", log)
    people = {name: set(_split(a.get("contactgroups", ""))) for name, (_, a) in named.items()}
    named_groups = _named(groups, "contactgroup", log)
    for gname, (d, attrs) in named_groups.items():
        for member in _split(attrs.get("members", "")):
            if member in people:
                people[member].add(gname)
            else:
                log.add(d, f"contact group {gname}: contact {member!r} is not defined")
        log.add(d, f"contact group {gname} not translated: {_group_hint(gname, attrs)}")
    for name, (d, attrs) in named.items():
        log.add(d, f"contact {name} not translated: {_contact_hint(name, attrs, people[name])}")
    return people, {g: set() for g in named_groups}


def _contact_hint(name: str, attrs: dict[str, str], groups: set[str]) -> str:
    """What to run so that Lookout notifies this Nagios contact (email, pager, groups)."""
    email = attrs.get("email", "")
    steps = [f"lookout user add {name}" + (f" --email {email}" if email else "")]
    if groups:
        steps.append(f"contacts.{name}.groups: [{', '.join(sorted(groups))}] in notifications.yaml")
    pager = attrs.get("pager", "")
    if pager:
        steps.append(f"pager {pager}: a webhook or apprise channel and a rule for it")
    return "; ".join(steps)


def _group_hint(name: str, attrs: dict[str, str]) -> str:
    alias = attrs.get("alias", "")
    named = f" ({alias})" if alias and alias != name else ""
    return f"a Lookout contact group{named} is a name in its members' contacts.groups"

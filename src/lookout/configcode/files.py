"""The tree as a directory of YAML files (made for review in git), and back.

Layout::

    DIR/hosts/<host>.yaml      one host with its services (a mapping: service name → fields)
    DIR/commands.yaml          command name → command line
    DIR/groups.yaml            host_groups / service_groups: name → alias
    DIR/notifications.yaml     channels (name → spec, secrets as env:NAME), rules (a list, in
                               order), contacts (user → groups, zulip)
    DIR/downtimes.yaml         recurring downtimes (a list)
    DIR/check-rules.yaml       check rules (a list, in order: the first match sets params)

One file per host keeps a change to one host one file in a diff; keys are written in a fixed
order and fields at their default are left out. A file that is missing means its kinds are not
managed (``hosts/`` missing: hosts and services are left alone). Secrets never appear in the
files: ``api_key: env:LOOKOUT_SECRET_OPS_API_KEY`` is read from the environment when applying
(unset: the site keeps the value it has).

Parsing YAML is the slow part of a large tree, so each file's validated content is cached by
the BLAKE2 hash of its bytes (``~/.cache/lookout/configcode``): a tree that did not change
is read again without parsing.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import msgspec
import yaml
from pydantic import ValidationError

from lookout.checks.active.rules import CheckRule
from lookout.configcode.tree import (
    ChannelEntry,
    CommandEntry,
    DowntimeEntry,
    GroupEntry,
    HostEntry,
    check_references,
    problems,
)
from lookout.errors import ConfigError
from lookout.notify.spec import MASK, SECRET_FIELDS, Contact, Rule

HOSTS_DIR = "hosts"
FILES = (
    "commands.yaml",
    "groups.yaml",
    "notifications.yaml",
    "downtimes.yaml",
    "check-rules.yaml",
)
CACHE_VERSION = b"configcode-1"
SAFE = re.compile(r"^[A-Za-z0-9_.@+-]+$")


class TreeError(ConfigError):
    """The tree on disk is not valid: ``problems`` lists each as ``file: path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the configuration tree")
        self.problems = problems


# ---------------------------------------------------------------------- file names
def host_file(name: str) -> str:
    """``hosts/<name>.yaml``; characters outside A-Z a-z 0-9 _ . @ + - are %-escaped (and a
    leading dot), so every host name makes one plain file name."""
    safe = name if SAFE.match(name) and not name.startswith(".") else quote(name, safe="")
    if safe.startswith("."):
        safe = "%2E" + safe[1:]
    return f"{HOSTS_DIR}/{safe}.yaml"


def host_of_file(path: str) -> str:
    return unquote(Path(path).name.removesuffix(".yaml"))


# ---------------------------------------------------------------------- YAML
class _Dumper(yaml.CSafeDumper):
    pass


def _str(dumper: _Dumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)


def _load(text: bytes, file: str) -> Any:
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise TreeError([f"{file}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc


# ---------------------------------------------------------------------- files → tree
def _mapping(data: Any, file: str, what: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TreeError([f"{file}: {what}: expected a mapping (name: …)"])
    return data


def host_from_file(data: Any, file: str) -> dict[str, Any]:
    """A host file → the host's tree entry, validated with the API's models (errors name the
    file and the path inside it)."""
    data = _mapping(data, file, "the host")
    services = _mapping(data.get("services"), file, "services")
    bad = [k for k, v in services.items() if v is not None and not isinstance(v, dict)]
    if bad:
        raise TreeError([f"{file}: services.{bad[0]}: expected a mapping of fields"])
    entry = {
        **data,
        "services": [{"name": str(k), **(v or {})} for k, v in services.items()],
    }
    try:
        host = HostEntry.model_validate(entry)
    except ValidationError as exc:
        raise TreeError(_service_paths(problems(exc, file), list(services))) from exc
    expected = host_of_file(file)
    if host.name != expected:
        raise TreeError([f"{file}: name: {host.name!r} does not match the file name"])
    return host.model_dump(exclude_unset=True)


def _service_paths(lines: list[str], names: list[str]) -> list[str]:
    """``services.3.check`` → ``services.<name>.check`` (the file has a mapping)."""
    out = []
    for line in lines:
        m = re.search(r": services\.(\d+)(\.|:)", line)
        if m and int(m.group(1)) < len(names):
            line = line.replace(f"services.{m.group(1)}", f"services.{names[int(m.group(1))]}", 1)
        out.append(line)
    return out


def commands_from_file(data: Any, file: str) -> list[dict[str, Any]]:
    items = _mapping(data, file, "commands")
    out = []
    errors: list[str] = []
    for name, line in items.items():
        try:
            cmd = CommandEntry.model_validate({"name": str(name), "command_line": line})
        except ValidationError as exc:
            errors += [e.replace(f"{file}: ", f"{file}: {name}.", 1) for e in problems(exc, file)]
            continue
        out.append(cmd.model_dump())
    if errors:
        raise TreeError(errors)
    return out


def groups_from_file(data: Any, file: str) -> dict[str, list[dict[str, Any]]]:
    data = _mapping(data, file, "groups")
    out: dict[str, list[dict[str, Any]]] = {}
    errors: list[str] = []
    for kind in ("host_groups", "service_groups"):
        items = []
        for name, alias in _mapping(data.get(kind), file, kind).items():
            try:
                g = GroupEntry.model_validate({"name": str(name), "alias": alias or ""})
            except ValidationError as exc:
                errors += problems(exc, f"{file}: {kind}.{name}")
                continue
            items.append(g.model_dump())
        out[kind] = items
    if errors:
        raise TreeError(errors)
    return out


def secret_ref(channel: str, key: str) -> str:
    """The environment variable export names for a channel's secret."""
    return "LOOKOUT_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{channel}_{key}".upper())


def _resolve_secrets(
    name: str, spec: dict[str, Any], env: Mapping[str, str], file: str
) -> dict[str, Any]:
    out = dict(spec)
    for key in SECRET_FIELDS:
        value = out.get(key)
        if not value:
            continue
        if not isinstance(value, str) or not value.startswith("env:"):
            raise TreeError(
                [
                    f"{file}: channels.{name}.spec.{key}: secrets do not belong in the tree; "
                    f"write env:{secret_ref(name, key)} and set that variable when applying"
                ]
            )
        out[key] = env.get(value[4:], MASK)
    return out


def notifications_from_file(
    data: Any, file: str, env: Mapping[str, str]
) -> dict[str, list[dict[str, Any]]]:
    data = _mapping(data, file, "notifications")
    out: dict[str, list[dict[str, Any]]] = {}
    errors: list[str] = []
    if "channels" in data:
        channels = []
        for name, spec in _mapping(data["channels"], file, "channels").items():
            spec = _resolve_secrets(str(name), _mapping(spec, file, f"channels.{name}"), env, file)
            try:
                channels.append(
                    ChannelEntry.model_validate({"name": str(name), "spec": spec}).model_dump()
                )
            except ValidationError as exc:
                errors += problems(exc, f"{file}: channels.{name}")
        out["channels"] = channels
    if "rules" in data:
        rules = data["rules"] or []
        if not isinstance(rules, list):
            raise TreeError([f"{file}: rules: expected a list (rules apply in order)"])
        out["rules"] = []
        for i, rule in enumerate(rules):
            try:
                out["rules"].append(Rule.model_validate(rule).model_dump(mode="json"))
            except ValidationError as exc:
                label = rule.get("name", i) if isinstance(rule, dict) else i
                errors += problems(exc, f"{file}: rules.{label}")
    if "contacts" in data:
        out["contacts"] = []
        for user, fields in _mapping(data["contacts"], file, "contacts").items():
            try:
                c = Contact.model_validate({"user": str(user), **(fields or {})})
            except (ValidationError, TypeError) as exc:
                msgs = (
                    problems(exc, f"{file}: contacts.{user}")
                    if isinstance(exc, ValidationError)
                    else [f"{file}: contacts.{user}: expected a mapping"]
                )
                errors += msgs
                continue
            out["contacts"].append(c.model_dump())
    if errors:
        raise TreeError(errors)
    return out


def downtimes_from_file(data: Any, file: str) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise TreeError([f"{file}: expected a list of downtimes"])
    out, errors = [], []
    for i, item in enumerate(data):
        if isinstance(item, dict):
            item = {k: _timestamp(v) for k, v in item.items()}
        try:
            out.append(DowntimeEntry.model_validate(item).model_dump(exclude_none=True))
        except ValidationError as exc:
            errors += problems(exc, f"{file}: {i}")
    if errors:
        raise TreeError(errors)
    return out


def check_rules_from_file(data: Any, file: str) -> list[dict[str, Any]]:
    """``check-rules.yaml``: a list of rules, each validated with its check type's params."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise TreeError([f"{file}: expected a list of rules (the first match sets params)"])
    out, errors = [], []
    for i, item in enumerate(data):
        try:
            out.append(CheckRule.model_validate(item).model_dump(mode="json"))
        except ValidationError as exc:
            label = item.get("name", i) if isinstance(item, dict) else i
            errors += problems(exc, f"{file}: {label}")
    if errors:
        raise TreeError(errors)
    return out


def _timestamp(value: Any) -> Any:
    """YAML reads ``2026-01-04T02:00:00Z`` as a datetime; the models take Unix seconds."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return value


# ---------------------------------------------------------------------- tree → files
def host_document(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A host's tree entry → the content of its file (services as a mapping)."""
    doc = {k: v for k, v in entry.items() if k != "services"}
    services = {
        s["name"]: {k: v for k, v in s.items() if k != "name"} or None
        for s in entry.get("services", ())
    }
    if services:
        doc["services"] = services
    return doc


def documents(tree: Mapping[str, Any]) -> dict[str, Any]:
    """Relative path → content for every file of ``tree`` (the kinds it has)."""
    docs: dict[str, Any] = {}
    for h in tree.get("hosts") or ():
        docs[host_file(h["name"])] = host_document(h)
    if tree.get("commands") is not None:
        docs["commands.yaml"] = {c["name"]: c["command_line"] for c in tree["commands"]}
    if tree.get("host_groups") is not None or tree.get("service_groups") is not None:
        docs["groups.yaml"] = {
            kind: {g["name"]: g.get("alias", "") for g in tree.get(kind) or ()}
            for kind in ("host_groups", "service_groups")
        }
    notes: dict[str, Any] = {}
    if tree.get("channels") is not None:
        notes["channels"] = {
            c["name"]: {
                k: (f"env:{secret_ref(c['name'], k)}" if k in SECRET_FIELDS and v else v)
                for k, v in c["spec"].items()
            }
            for c in tree["channels"]
        }
    if tree.get("rules") is not None:
        notes["rules"] = list(tree["rules"])
    if tree.get("contacts") is not None:
        notes["contacts"] = {
            c["user"]: {k: v for k, v in c.items() if k != "user" and v} or None
            for c in tree["contacts"]
        }
    if notes:
        docs["notifications.yaml"] = notes
    if tree.get("downtimes") is not None:
        docs["downtimes.yaml"] = list(tree["downtimes"])
    if tree.get("check_rules") is not None:
        docs["check-rules.yaml"] = list(tree["check_rules"])
    return docs


HEADER = "# Lookout configuration (lookout config export / apply). Edit, review, apply.\n"


def write_tree(directory: Path, tree: Mapping[str, Any]) -> int:
    """Write ``tree`` into ``directory`` (host files of hosts no longer there are removed, so
    the directory mirrors the tree). Returns the number of files written."""
    docs = documents(tree)
    hosts_dir = directory / HOSTS_DIR
    if tree.get("hosts") is not None:
        hosts_dir.mkdir(parents=True, exist_ok=True)
        keep = {p for p in docs if p.startswith(HOSTS_DIR + "/")}
        for old in hosts_dir.glob("*.yaml"):
            if f"{HOSTS_DIR}/{old.name}" not in keep:
                old.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    for rel, content in docs.items():
        text = dump(content)
        if not rel.startswith(HOSTS_DIR + "/"):
            text = HEADER + text
        path = directory / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return len(docs)


# ---------------------------------------------------------------------- reading a directory
class _Cache:
    """Validated content of files by hash of their bytes (host files only: they are many)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        self.dirty = False
        if path is not None and path.is_file():
            try:
                self.data = msgspec.msgpack.decode(path.read_bytes())
            except (OSError, msgspec.DecodeError):
                self.data = {}

    def get(self, digest: str) -> Any:
        return self.data.get(digest)

    def put(self, digest: str, value: Any) -> None:
        self.data[digest] = value
        self.dirty = True

    def save(self, used: set[str]) -> None:
        if self.path is None or not (self.dirty or used != set(self.data)):
            return
        keep = {k: v for k, v in self.data.items() if k in used}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(msgspec.msgpack.encode(keep))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time


def default_cache(directory: Path, env: Mapping[str, str]) -> Path:
    base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.blake2b(str(directory.resolve()).encode(), digest_size=8).hexdigest()
    return base / "lookout" / "configcode" / f"{key}.msgpack"


def _commands_part(data: Any, file: str) -> dict[str, Any]:
    return {"commands": commands_from_file(data, file)}


def _downtimes_part(data: Any, file: str) -> dict[str, Any]:
    return {"downtimes": downtimes_from_file(data, file)}


def _check_rules_part(data: Any, file: str) -> dict[str, Any]:
    return {"check_rules": check_rules_from_file(data, file)}


def _notifications_part(data: Any, file: str, *, env: Mapping[str, str]) -> dict[str, Any]:
    return notifications_from_file(data, file, env)


def read_tree(directory: Path, env: Mapping[str, str], cache: Path | None = None) -> dict[str, Any]:
    """Read and validate the tree in ``directory``; a :class:`TreeError` lists every problem
    (file and path)."""
    if not directory.is_dir():
        raise TreeError([f"{directory}: not a directory"])
    tree: dict[str, Any] = {}
    errors: list[str] = []
    store = _Cache(cache)
    used: set[str] = set()
    hosts_dir = directory / HOSTS_DIR
    if hosts_dir.is_dir():
        tree["hosts"] = []
        for path in sorted(hosts_dir.glob("*.yaml")):
            rel = f"{HOSTS_DIR}/{path.name}"
            raw = path.read_bytes()
            digest = hashlib.blake2b(CACHE_VERSION + rel.encode() + b"\0" + raw).hexdigest()
            used.add(digest)
            entry = store.get(digest)
            if entry is None:
                try:
                    entry = host_from_file(_load(raw, rel), rel)
                except TreeError as exc:
                    errors += exc.problems
                    continue
                store.put(digest, entry)
            tree["hosts"].append(entry)
    readers: dict[str, Callable[[Any, str], dict[str, Any]]] = {
        "commands.yaml": _commands_part,
        "groups.yaml": groups_from_file,
        "notifications.yaml": functools.partial(_notifications_part, env=env),
        "downtimes.yaml": _downtimes_part,
        "check-rules.yaml": _check_rules_part,
    }
    for name, reader in readers.items():
        path = directory / name
        if path.is_file():
            try:
                tree.update(reader(_load(path.read_bytes(), name), name))
            except TreeError as exc:
                errors += exc.problems
    errors += check_references(tree)
    if errors:
        raise TreeError(errors)
    store.save(used)
    return tree

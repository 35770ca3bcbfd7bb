"""Service dependencies: which references a service may hold in ``depends_on``.

A service depends on others when its problem is their consequence (a node's file systems
cannot be read while its kubelet is down). The engine suppresses the consequence's own
notification while a cause has a problem; here is what makes a set of references usable:
known services, not itself, no repeats, and no cycle (two services that wait on each other
would silence each other for good).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lookout.domain.objects import ServiceConfig
from lookout.domain.values import InvalidValue

Key = tuple[str, str]

MAX_DEPENDENCIES = 20


def check_dependencies(
    services: Mapping[Key, ServiceConfig], key: Key, deps: Sequence[Key], loc: str = "depends_on"
) -> None:
    """Raise ``InvalidValue`` (located at ``loc.<index>``) when ``key`` cannot depend on
    ``deps`` given the other ``services``."""
    if len(deps) > MAX_DEPENDENCIES:
        raise InvalidValue(f"at most {MAX_DEPENDENCIES} dependencies", (loc,))
    seen: set[Key] = set()
    for i, dep in enumerate(deps):
        name = f"{dep[0]}/{dep[1]}"
        if dep == key:
            raise InvalidValue("a service cannot depend on itself", (loc, i))
        if dep not in services:
            raise InvalidValue(f"no service {name}", (loc, i))
        if dep in seen:
            raise InvalidValue(f"{name} is named twice", (loc, i))
        seen.add(dep)
        path = _path_back(services, dep, key)
        if path is not None:
            chain = " → ".join(f"{h}/{s}" for h, s in [key, *path])
            raise InvalidValue(f"a cycle: {chain}", (loc, i))


def _path_back(services: Mapping[Key, ServiceConfig], start: Key, target: Key) -> list[Key] | None:
    """A path of dependencies from ``start`` to ``target`` (inclusive), or None."""
    stack: list[tuple[Key, list[Key]]] = [(start, [start])]
    visited: set[Key] = set()
    while stack:
        node, path = stack.pop()
        if node == target:
            return path
        if node in visited:
            continue
        visited.add(node)
        cfg = services.get(node)
        for nxt in cfg.depends_on if cfg is not None else ():
            stack.append((nxt, [*path, nxt]))
    return None

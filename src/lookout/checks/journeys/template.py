"""``${name}`` in journey strings: a variable (from ``variables``, the command line or an
earlier step's ``extract``) or ``${env:NAME}`` (the runner's environment, for secrets).
``$${`` stands for a literal ``${``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REF = re.compile(r"\$\$\{|\$\{(env:)?([A-Za-z_][A-Za-z0-9_]*)\}")


class UndefinedVariable(KeyError):
    """A ``${name}`` with no value yet."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        if self.name.startswith("env:"):
            return f"${{{self.name}}}: environment variable {self.name[4:]} is not set"
        known = ", ".join(self.known) or "none"
        return f"${{{self.name}}} is not defined (defined so far: {known})"


def render(text: str, variables: Mapping[str, str], env: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name = m.group(2)
        if m.group(1):
            if name not in env:
                raise UndefinedVariable(f"env:{name}", [])
            return env[name]
        if name not in variables:
            raise UndefinedVariable(name, sorted(variables))
        return variables[name]

    return _REF.sub(one, text)


def render_tree(value: Any, variables: Mapping[str, str], env: Mapping[str, str]) -> Any:
    """Every string in a JSON-like value (keys too) rendered."""
    if isinstance(value, str):
        return render(value, variables, env)
    if isinstance(value, dict):
        return {
            render_tree(k, variables, env): render_tree(v, variables, env) for k, v in value.items()
        }
    if isinstance(value, list):
        return [render_tree(v, variables, env) for v in value]
    return value

"""Command definitions and Nagios macros (pure): split a command line, expand macros safely.

A command line such as ``$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$`` is split into argv
words with :mod:`shlex` once, when the command is defined. Macros are expanded afterwards, in
each word on its own, in one pass: a macro's value can neither add a word nor split one, and a
value holding ``$ARG2$`` stays as it is. No shell ever reads the result.

Macros: ``$HOSTNAME$``, ``$HOSTADDRESS$``, ``$HOSTALIAS$``, ``$SERVICEDESC$``, ``$ARG1$`` …
``$ARG32$``, ``$USER1$`` … ``$USER256$`` (from the resource file), and ``$$`` for one ``$``.
An ``$ARGn$`` or ``$USERn$`` without a value is empty; a word made only of macros that all
came out empty is dropped (as the shell drops an empty unquoted word in Nagios); any other
``$NAME$`` is left as written.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_ARGS = 32
"""``$ARG1$`` … ``$ARG32$``."""
MAX_USER = 256
"""``$USER1$`` … ``$USER256$``."""
MAX_LINE = 4096
"""Longest command line, in characters."""
DEFAULT_USER1 = "/usr/lib/nagios/plugins"
"""``$USER1$`` when the site has no resource file (where Debian installs the plugins)."""

MAX_OUTPUT = 64 * 1024
"""Bytes of a program's output kept per run (the rest is read and dropped)."""

COMMAND_NAME_RE = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$"
"""Command names: letters, digits, ``_``, ``.``, ``-`` (Nagios ``command_name`` values)."""

_MACRO = re.compile(r"\$([A-Z][A-Z0-9_]*)?\$")
_USER = re.compile(r"USER([1-9][0-9]{0,2})")
_ARG = re.compile(r"ARG([1-9][0-9]?)")
_RESOURCE_LINE = re.compile(r"\$(USER[1-9][0-9]{0,2})\$\s*=(.*)")


class CommandLineError(ValueError):
    """A command line that cannot be used; the message says why."""


def split_command_line(line: str) -> tuple[str, ...]:
    """The argv words of ``line``; the first must be an absolute path or start with a
    ``$USERn$`` macro followed by a path (``$USER1$/check_tcp``)."""
    if len(line) > MAX_LINE:
        raise CommandLineError(f"is {len(line)} characters long, at most {MAX_LINE} allowed")
    try:
        words = tuple(shlex.split(line, comments=False, posix=True))
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise CommandLineError(f"cannot be split into words: {exc}") from exc
    if not words:
        raise CommandLineError("is empty: expected a plugin path and its arguments")
    program = words[0]
    user = re.match(r"\$USER([1-9][0-9]{0,2})\$/.", program)
    if not (program.startswith("/") or (user and int(user[1]) <= MAX_USER)):
        raise CommandLineError(
            f"program {program!r} must be an absolute path (/usr/lib/nagios/plugins/check_tcp) "
            "or start with a $USERn$ macro and a path ($USER1$/check_tcp)"
        )
    return words


def host_macros(name: str, address: str) -> dict[str, str]:
    """``$HOSTNAME$``, ``$HOSTALIAS$`` (the name) and ``$HOSTADDRESS$`` (the name if empty)."""
    return {"HOSTNAME": name, "HOSTALIAS": name, "HOSTADDRESS": address or name}


def arg_macros(args: Sequence[str]) -> dict[str, str]:
    """``$ARG1$`` … for ``args`` (at most :data:`MAX_ARGS`)."""
    if len(args) > MAX_ARGS:
        raise ValueError(f"{len(args)} arguments given, at most {MAX_ARGS} allowed")
    return {f"ARG{n}": value for n, value in enumerate(args, start=1)}


def expand(argv: Sequence[str], macros: Mapping[str, str]) -> tuple[str, ...]:
    """``argv`` with the macros of every word replaced by their values (see the module)."""
    out: list[str] = []
    for word in argv:
        if "$" not in word:
            out.append(word)
            continue
        expanded, only_empty_macros = _expand_word(word, macros)
        if expanded or not only_empty_macros:
            out.append(expanded)
    return tuple(out)


def _expand_word(word: str, macros: Mapping[str, str]) -> tuple[str, bool]:
    """(the expanded word, whether it consisted only of known macros that came out empty)."""
    only_macros = _MACRO.sub("", word) == ""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name is None:
            return "$"
        found = macros.get(name)
        if found is not None:
            return found
        if _known_empty(name):
            return ""
        return match[0]

    expanded = _MACRO.sub(value, word)
    return expanded, only_macros and "$$" not in word


def _known_empty(name: str) -> bool:
    arg = _ARG.fullmatch(name)
    if arg is not None:
        return int(arg[1]) <= MAX_ARGS
    user = _USER.fullmatch(name)
    return user is not None and int(user[1]) <= MAX_USER


def parse_resource(text: str) -> dict[str, str]:
    """The ``$USERn$=value`` lines of a Nagios resource file (``#`` comments, blank lines and
    anything else are skipped; the value is taken as written, without surrounding spaces)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        match = _RESOURCE_LINE.fullmatch(line.strip())
        if match is not None and int(match[1][4:]) <= MAX_USER:
            out[match[1]] = match[2].strip()
    return out


def resource_macros(text: str | None) -> dict[str, str]:
    """The ``$USERn$`` macros of a resource file's ``text``; without a file (None),
    ``$USER1$`` is :data:`DEFAULT_USER1`."""
    if text is None:
        return {"USER1": DEFAULT_USER1}
    return parse_resource(text)


@dataclass(frozen=True, slots=True)
class Command:
    """A command definition: ``name`` and its ``line``, split into ``argv`` once."""

    name: str
    line: str
    argv: tuple[str, ...]

    @classmethod
    def parse(cls, name: str, line: str) -> Command:
        """Split ``line`` (:class:`CommandLineError` when it cannot be used)."""
        return cls(name, line, split_command_line(line))


@dataclass(frozen=True, slots=True)
class Execution:
    """What running a program did: its exit code (None when it did not exit by itself) or
    the signal that killed it, its output (stdout and stderr, at most the cap; ``cut`` when
    there was more), the seconds it ran, and ``error`` when it could not run or was stopped
    (``"timed out after 10 s"``, ``"execution disabled on this site"``)."""

    argv: tuple[str, ...]
    exit_code: int | None = None
    signal: int | None = None
    output: str = ""
    cut: bool = False
    elapsed: float = 0.0
    error: str = ""
    timed_out: bool = False

    @property
    def program(self) -> str:
        """The program's file name (``check_tcp``), for messages."""
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else "(no program)"


def shown(argv: Sequence[str]) -> str:
    """``argv`` as one shell-quoted line, for messages and logs."""
    return shlex.join(argv)

"""Chat commands: parsing what people write to the bot (pure, no I/O).

Forms (a target ``host`` or ``host/service`` may be left out inside a problem topic)::

    ack [host[/service]] [comment]
    unack [host[/service]]
    downtime 1h|8h|1d|7d|<duration> [host[/service]] [comment]
    status [host[/service]]
    problems [filter]
    recheck [host[/service]]
    link
    help
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lookout.domain import durations
from lookout.domain.values import InvalidValue

USAGE = {
    "ack": "ack [host[/service]] [comment]",
    "unack": "unack [host[/service]]",
    "downtime": "downtime 1h|8h|1d|7d|<duration like 90m or 2h30m> [host[/service]] [comment]",
    "status": "status [host[/service]]",
    "problems": "problems [filter]",
    "recheck": "recheck [host[/service]]",
    "link": "link (a one-time code to link your Zulip account to your Lookout user)",
    "help": "help",
}
ALIASES = {"acknowledge": "ack", "dt": "downtime", "unacknowledge": "unack", "?": "help"}
MENTION = re.compile(r"^\s*@_?\*\*[^*]+\*\*\s*")


class CommandError(ValueError):
    """What was not understood, and the right form."""


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    host: str | None = None
    service: str | None = None
    comment: str = ""
    duration: float = 0.0
    filter: str = ""


def parse_duration(text: str) -> float:
    """The one duration grammar (:mod:`lookout.domain.durations`): 1h, 8h, 1d, 7d, 2h30m, 1w."""
    try:
        return durations.parse_duration(text)
    except InvalidValue as exc:
        raise CommandError(str(exc)) from None


def strip_mention(text: str) -> str:
    return MENTION.sub("", text, count=1).strip()


def parse(text: str, exists: Callable[[str, str], bool]) -> Command:
    """Parse a message (the bot mention already removed or not). ``exists(host, service)``
    tells whether a word names an object, to tell a target from the start of a comment."""
    words = strip_mention(text).split()
    if not words:
        raise CommandError("empty command; try `help`")
    verb = ALIASES.get(words[0].lower(), words[0].lower())
    rest = words[1:]
    if verb not in USAGE:
        known = ", ".join(USAGE)
        raise CommandError(f"I do not know the command {words[0]!r}. Commands: {known}.")
    if verb in ("help", "link"):
        return Command(verb)
    if verb == "problems":
        return Command("problems", filter=" ".join(rest))
    duration = 0.0
    if verb == "downtime":
        if not rest:
            raise CommandError(f"downtime needs a duration. Use: `{USAGE['downtime']}`")
        try:
            duration = parse_duration(rest[0])
        except CommandError as exc:
            raise CommandError(f"{exc}. Use: `{USAGE['downtime']}`") from None
        rest = rest[1:]
    host = service = None
    for k in range(len(rest), 0, -1):  # service names may hold spaces: longest first
        h, _, s = " ".join(rest[:k]).partition("/")
        if exists(h, s):
            host, service = h, s
            rest = rest[k:]
            break
    if verb in ("status", "unack", "recheck") and rest and host is None:
        raise CommandError(f"{rest[0]!r} is not a known host or host/service. Use: `{USAGE[verb]}`")
    return Command(verb, host, service, " ".join(rest), duration)

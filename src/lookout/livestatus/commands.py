"""``COMMAND [time] NAME;arg;…`` lines (Nagios external commands) carried out through
:class:`lookout.actions.Actions`, the same actions the REST API, the UI and chat-ops use.

Every argument is checked before anything is done: a command with a wrong number of fields,
a bad number or flag, or an unknown object changes nothing and raises :class:`LqlError`
(452) naming the command and the field. The author of acknowledgements, downtimes and
comments is the one the command carries; rechecks and removals are authored ``livestatus``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lookout.actions import Actions, Outcome
from lookout.engine.inputs import Target
from lookout.errors import LookoutError
from lookout.livestatus.errors import INVALID, LqlError

AUTHOR = "livestatus"
"""Author of commands that carry none (rechecks, removals)."""
_LINE = re.compile(r"COMMAND (?:\[(\d{1,12})\] )?([A-Z_]+)(?:;(.*))?", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Spec:
    fields: tuple[str, ...]
    run: Callable[[Actions, dict[str, str]], Awaitable[Outcome]]


def _flag(args: dict[str, str], name: str, allowed: tuple[str, ...] = ("0", "1")) -> int:
    value = args[name]
    if value not in allowed:
        raise ValueError(f"{name} must be one of {'/'.join(allowed)}, got {value!r}")
    return int(value)


def _number(args: dict[str, str], name: str) -> int:
    value = args[name]
    if not re.fullmatch(r"-?\d{1,12}", value):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _target(args: dict[str, str]) -> Target:
    if "service" in args:
        return Target(host=args["host"], service=args["service"])
    return Target(host=args["host"])


async def _ack(a: Actions, args: dict[str, str]) -> Outcome:
    expire = _number(args, "expire_time") if "expire_time" in args else None
    return await a.acknowledge(
        _target(args),
        author=args["author"],
        comment=args["comment"],
        sticky=_flag(args, "sticky", ("0", "1", "2")) == 2,
        notify=bool(_flag(args, "notify")),
        persistent=bool(_flag(args, "persistent")),
        expire_at=float(expire) if expire else None,
    )


async def _unack(a: Actions, args: dict[str, str]) -> Outcome:
    return await a.remove_acknowledgement(_target(args), author=AUTHOR)


def _downtime(include_services: bool) -> Callable[[Actions, dict[str, str]], Awaitable[Outcome]]:
    async def run(a: Actions, args: dict[str, str]) -> Outcome:
        fixed = bool(_flag(args, "fixed"))
        _number(args, "trigger_id")
        duration = _number(args, "duration")
        return await a.schedule_downtime(
            _target(args),
            start=float(_number(args, "start_time")),
            end=float(_number(args, "end_time")),
            author=args["author"],
            comment=args["comment"],
            fixed=fixed,
            duration=None if fixed else float(duration),
            include_services=include_services,
        )

    return run


async def _del_downtime(a: Actions, args: dict[str, str]) -> Outcome:
    return await a.remove_downtime(author=AUTHOR, ids=[_number(args, "downtime_id")])


async def _del_comment(a: Actions, args: dict[str, str]) -> Outcome:
    return await a.remove_comment([_number(args, "comment_id")], author=AUTHOR)


async def _comment(a: Actions, args: dict[str, str]) -> Outcome:
    _flag(args, "persistent")
    return await a.comment(_target(args), author=args["author"], comment=args["comment"])


async def _recheck(a: Actions, args: dict[str, str]) -> Outcome:
    _number(args, "check_time")
    return await a.recheck(_target(args), author=AUTHOR)


_ACK = ("sticky", "notify", "persistent", "author", "comment")
_ACK_EXPIRE = ("sticky", "notify", "persistent", "expire_time", "author", "comment")
_DT = ("start_time", "end_time", "fixed", "trigger_id", "duration", "author", "comment")
HOST = ("host",)
SVC = ("host", "service")

COMMANDS: dict[str, Spec] = {
    "ACKNOWLEDGE_HOST_PROBLEM": Spec(HOST + _ACK, _ack),
    "ACKNOWLEDGE_SVC_PROBLEM": Spec(SVC + _ACK, _ack),
    "ACKNOWLEDGE_HOST_PROBLEM_EXPIRE": Spec(HOST + _ACK_EXPIRE, _ack),
    "ACKNOWLEDGE_SVC_PROBLEM_EXPIRE": Spec(SVC + _ACK_EXPIRE, _ack),
    "REMOVE_HOST_ACKNOWLEDGEMENT": Spec(HOST, _unack),
    "REMOVE_SVC_ACKNOWLEDGEMENT": Spec(SVC, _unack),
    "SCHEDULE_HOST_DOWNTIME": Spec(HOST + _DT, _downtime(False)),
    "SCHEDULE_HOST_SVC_DOWNTIME": Spec(HOST + _DT, _downtime(True)),
    "SCHEDULE_SVC_DOWNTIME": Spec(SVC + _DT, _downtime(False)),
    "DEL_HOST_DOWNTIME": Spec(("downtime_id",), _del_downtime),
    "DEL_SVC_DOWNTIME": Spec(("downtime_id",), _del_downtime),
    "ADD_HOST_COMMENT": Spec((*HOST, "persistent", "author", "comment"), _comment),
    "ADD_SVC_COMMENT": Spec((*SVC, "persistent", "author", "comment"), _comment),
    "DEL_HOST_COMMENT": Spec(("comment_id",), _del_comment),
    "DEL_SVC_COMMENT": Spec(("comment_id",), _del_comment),
    "SCHEDULE_HOST_CHECK": Spec((*HOST, "check_time"), _recheck),
    "SCHEDULE_FORCED_HOST_CHECK": Spec((*HOST, "check_time"), _recheck),
    "SCHEDULE_SVC_CHECK": Spec((*SVC, "check_time"), _recheck),
    "SCHEDULE_FORCED_SVC_CHECK": Spec((*SVC, "check_time"), _recheck),
}


def parse_command(line: str) -> tuple[str, Spec, dict[str, str]]:
    """Name, spec and named arguments of a ``COMMAND`` line; LqlError when it is not one we
    carry out or its fields do not fit."""
    match = _LINE.fullmatch(line)
    if match is None:
        raise LqlError(
            INVALID, f"malformed command line {line[:80]!r}: expected 'COMMAND [time] NAME;arg;…'"
        )
    name, rest = match.group(2), match.group(3)
    spec = COMMANDS.get(name)
    if spec is None:
        raise LqlError(
            INVALID,
            f"{name}: not a command Lookout carries out (known: "
            + ", ".join(sorted(COMMANDS))
            + ")",
        )
    # the last field (a comment) may hold ';'
    parts = rest.split(";", len(spec.fields) - 1) if rest is not None else []
    if len(parts) != len(spec.fields):
        raise LqlError(
            INVALID,
            f"{name}: expected {len(spec.fields)} fields "
            f"({';'.join(spec.fields)}), got {len(parts)}",
        )
    return name, spec, dict(zip(spec.fields, parts, strict=True))


async def run_command(actions: Actions, line: str) -> Outcome:
    """Carry out one command line (LqlError 452 naming the command when refused)."""
    name, spec, args = parse_command(line)
    try:
        return await spec.run(actions, args)
    except ValueError as exc:
        raise LqlError(INVALID, f"{name}: {exc}") from None
    except LookoutError as exc:
        raise LqlError(INVALID, f"{name}: {exc}") from None

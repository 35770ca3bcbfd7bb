"""Local checks: lines ``STATE "Service name" metrics Summary`` from the agent's ``local.d``.

Lenient: state as 0-3, OK/WARN/CRIT/UNKNOWN (any case) or P (computed from the metrics'
levels); the name quoted or one word; metrics ``-`` or ``name=value[unit];warn;crit;min;max``
joined by ``|``; the summary may be missing; ``\\n`` in it starts the details. A metric that does
not parse is dropped with a note. A line that cannot be parsed becomes part of the UNKNOWN
"Local checks" service, quoted.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import msgspec
from lookout_agent.wire import Sections

from lookout.checks.agent.api import OK, UNKNOWN, CheckPlugin, Context, Outcome, worst
from lookout.domain.metrics import Metric

STATES = {
    "0": 0, "1": 1, "2": 2, "3": 3, "OK": 0, "WARN": 1, "WARNING": 1, "CRIT": 2,
    "CRITICAL": 2, "UNKNOWN": 3, "UNKN": 3, "P": -1,
}  # fmt: skip
NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%/]*)\s*$")
METRIC_NAME = re.compile(r"^[A-Za-z0-9_.\-/:]{1,128}$")
MAX_NAME = 200


@dataclass(frozen=True)
class LocalLine:
    name: str
    state: int
    summary: str
    details: str
    metrics: tuple[Metric, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Malformed:
    line: str
    reason: str


def _num(text: str) -> tuple[float, str] | None:
    m = NUMBER.match(text)
    return (float(m.group(1)), m.group(2)) if m else None


def parse_metrics(text: str) -> tuple[tuple[Metric, ...], tuple[str, ...]]:
    if text == "-":
        return (), ()
    out: list[Metric] = []
    notes: list[str] = []
    for part in text.split("|"):
        name, sep, rest = part.partition("=")
        fields = rest.split(";")
        value = _num(fields[0]) if sep else None
        if not METRIC_NAME.match(name) or value is None:
            notes.append(f"metric {part!r} ignored: expected name=value;warn;crit;min;max")
            continue
        extra = [_num(f) if f.strip() else None for f in fields[1:5]]
        nums = [e[0] if e else None for e in extra] + [None] * (4 - len(extra))
        try:
            out.append(Metric(name, value[0], value[1], *nums))
        except (TypeError, ValueError) as exc:
            notes.append(f"metric {part!r} ignored: {exc}")
    return tuple(out), tuple(notes)


def _computed_state(metrics: tuple[Metric, ...]) -> int:
    states = [OK]
    for m in metrics:
        if m.crit is not None and m.value >= m.crit:
            states.append(2)
        elif m.warn is not None and m.value >= m.warn:
            states.append(1)
    return max(states)


def parse_line(raw: str) -> LocalLine | Malformed:
    line = raw.strip()
    if not line:
        return Malformed(raw, "empty line")
    state_tok, _, rest = line.partition(" ")
    state = STATES.get(state_tok.upper())
    if state is None:
        return Malformed(raw, f"state {state_tok[:20]!r} is not 0-3, OK/WARN/CRIT/UNKNOWN or P")
    rest = rest.lstrip()
    if rest.startswith('"'):
        end = rest.find('"', 1)
        if end < 0:
            return Malformed(raw, "the service name has no closing quote")
        name, rest = rest[1:end], rest[end + 1 :].lstrip()
    else:
        name, _, rest = rest.partition(" ")
        rest = rest.lstrip()
    name = " ".join(name.split())
    if not name:
        return Malformed(raw, "no service name")
    if len(name) > MAX_NAME:
        return Malformed(raw, f"service name longer than {MAX_NAME} characters")
    metrics_tok, _, summary = rest.partition(" ")
    metrics, notes = parse_metrics(metrics_tok) if metrics_tok else ((), ())
    summary, _, details = summary.strip().replace("\\n", "\n").partition("\n")
    if state == -1:
        state = _computed_state(metrics)
    return LocalLine(name, state, summary, details, metrics, notes)


def parse(lines: list[str]) -> tuple[dict[str, LocalLine], list[Malformed]]:
    """All lines, parsed once per push (every local service's check asks for them): the same
    list object as last time is answered at once, equal lines from the cache."""
    if _last and _last[0][0] is lines:
        return _last[0][1]
    parsed = _parse(tuple(lines))
    _last[:] = [(lines, parsed)]
    return parsed


_last: list[tuple[list[str], tuple[dict[str, LocalLine], list[Malformed]]]] = []


@functools.lru_cache(maxsize=256)
def _parse(lines: tuple[str, ...]) -> tuple[dict[str, LocalLine], list[Malformed]]:
    good: dict[str, LocalLine] = {}
    bad: list[Malformed] = []
    for raw in lines:
        parsed = parse_line(raw)
        if isinstance(parsed, Malformed):
            bad.append(parsed)
        elif parsed.name in good:
            bad.append(Malformed(raw, f"service {parsed.name!r} appears twice"))
        else:
            good[parsed.name] = parsed
    return good, bad


class NoParams(msgspec.Struct, frozen=True):
    pass


def discover_lines(s: Sections) -> list[str]:
    return list(parse(s.local.lines)[0]) if s.local is not None else []


def check_line(ctx: Context, p: NoParams, s: Sections) -> Outcome:
    if s.local is None:
        return Outcome(UNKNOWN, "no local checks in the agent's data")
    line = parse(s.local.lines)[0].get(ctx.item)
    if line is None:
        return Outcome(UNKNOWN, f"local check {ctx.item!r} no longer reported by the agent")
    details = "\n".join([line.details, *line.notes]).strip()
    return Outcome(line.state, line.summary, details, line.metrics)


def discover_summary(s: Sections) -> list[str]:
    return [""] if s.local is not None else []


def check_summary(ctx: Context, p: NoParams, s: Sections) -> Outcome:
    if s.local is None:
        return Outcome(UNKNOWN, "no local checks in the agent's data")
    good, bad = parse(s.local.lines)
    problems = [f"{m.reason}: {m.line.strip()[:300]!r}" for m in bad] + list(s.local.errors)
    if not problems:
        return Outcome(OK, f"{len(good)} local checks, all lines parsed")
    return Outcome(
        worst(UNKNOWN),
        f"{len(problems)} problem(s): {problems[0]}",
        "\n".join(problems),
    )


lines = CheckPlugin("local", "{item}", NoParams, discover_lines, check_line)
summary = CheckPlugin("local_summary", "Local checks", NoParams, discover_summary, check_summary)

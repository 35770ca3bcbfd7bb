"""Which rules match a candidate notification, and who gets what (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from lookout.notify.spec import BROADCAST, Contact, EmailSpec, Rule, TimePeriod

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A notification to come, with what rules match on."""

    kind: str
    host: str
    service: str
    state: str
    state_type: str
    at: float
    number: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)
    """Host labels overlaid by service labels."""
    host_groups: Sequence[str] = ()

    @property
    def contact_groups(self) -> list[str]:
        raw = self.labels.get("contact_groups", "")
        return [g.strip() for g in raw.split(",") if g.strip()]


@dataclass(frozen=True, slots=True)
class Planned:
    """One delivery a rule asks for."""

    rule: str
    channel: str
    recipient: str
    delay: float = 0.0
    repeat_every: float = 0.0


@dataclass(frozen=True, slots=True)
class Directory:
    """Contacts and channels, as the rules see them."""

    contacts: Mapping[str, Contact]
    emails: Mapping[str, str]
    """User → email (users table)."""
    channels: Mapping[str, object]
    """Channel name → spec."""

    def members(self, group: str) -> list[str]:
        return [c.user for c in self.contacts.values() if group in c.groups]


def _any_glob(value: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


def in_period(period: TimePeriod, ts: float) -> bool:
    local = datetime.fromtimestamp(ts, ZoneInfo(period.timezone))
    now = local.time()
    day = DAYS[local.weekday()]
    if period.start <= period.end:
        return day in period.days and period.start <= now <= period.end
    # spans midnight: the early part belongs to the previous day's window
    if now >= period.start:
        return day in period.days
    return DAYS[(local.weekday() - 1) % 7] in period.days and now <= period.end


def why_not(rule: Rule, c: Candidate) -> str | None:
    """None when ``rule`` matches ``c``; otherwise the first reason it does not."""
    checks: list[tuple[bool, str]] = [
        (rule.enabled, "rule disabled"),
        (c.kind in rule.events, f"event {c.kind} not in {[str(e) for e in rule.events]}"),
        (not rule.states or c.state in rule.states, f"state {c.state} not in {rule.states}"),
        (
            not c.state_type or c.state_type in rule.state_types,
            f"state type {c.state_type} not in {rule.state_types}",
        ),
        (
            rule.objects == "any" or (rule.objects == "hosts") == (not c.service),
            f"rule is for {rule.objects} only",
        ),
        (not rule.hosts or _any_glob(c.host, rule.hosts), f"host {c.host} not in {rule.hosts}"),
        (
            not rule.services or (bool(c.service) and _any_glob(c.service, rule.services)),
            f"service {c.service!r} not in {rule.services}",
        ),
        (not _any_glob(c.host, rule.exclude_hosts), f"host {c.host} excluded"),
        (
            not c.service or not _any_glob(c.service, rule.exclude_services),
            f"service {c.service} excluded",
        ),
        (
            all(fnmatchcase(c.labels.get(k, ""), v) for k, v in rule.labels.items()),
            f"labels do not match {rule.labels}",
        ),
        (
            not rule.host_groups or bool(set(rule.host_groups) & set(c.host_groups)),
            f"host groups {list(c.host_groups)} not in {rule.host_groups}",
        ),
        (
            not rule.object_contact_groups
            or bool(set(rule.object_contact_groups) & set(c.contact_groups)),
            f"object contact groups {c.contact_groups} not in {rule.object_contact_groups}",
        ),
        (
            rule.time_period is None or in_period(rule.time_period, c.at),
            "outside the rule's time period",
        ),
        (
            rule.from_number <= c.number
            and (rule.until_number is None or c.number <= rule.until_number),
            f"notification number {c.number} outside {rule.from_number}..{rule.until_number}",
        ),
    ]
    for ok, reason in checks:
        if not ok:
            return reason
    return None


def recipients(rule: Rule, channel: str, d: Directory) -> list[str]:
    """Addresses on ``channel`` for ``rule``: emails of its contacts on email channels, the
    channel's own target everywhere else."""
    spec = d.channels.get(channel)
    if not isinstance(spec, EmailSpec):
        return [BROADCAST]
    users = list(rule.contacts)
    for g in rule.contact_groups:
        users += d.members(g)
    emails = [d.emails[u] for u in dict.fromkeys(users) if d.emails.get(u)]
    return emails or list(spec.to)


@dataclass(slots=True)
class Decision:
    """The outcome of evaluating all rules: deliveries, and why each rule did or did not."""

    planned: list[Planned]
    trace: list[tuple[str, str]]


def evaluate(rules: Sequence[Rule], c: Candidate, d: Directory) -> Decision:
    planned: list[Planned] = []
    trace: list[tuple[str, str]] = []
    for rule in rules:
        reason = why_not(rule, c)
        if reason is not None:
            trace.append((rule.name, f"skipped: {reason}"))
            continue
        if rule.action == "suppress":
            before = len(planned)
            planned = [p for p in planned if not _suppressed(rule, p, d)]
            trace.append((rule.name, f"suppressed {before - len(planned)} delivery(ies)"))
            continue
        added = 0
        for ch in rule.channels:
            if ch not in d.channels:
                trace.append((rule.name, f"channel {ch!r} does not exist"))
                continue
            for r in recipients(rule, ch, d):
                if any(p.channel == ch and p.recipient == r for p in planned):
                    continue
                planned.append(Planned(rule.name, ch, r, rule.delay, rule.repeat_every))
                added += 1
        trace.append((rule.name, f"matched: {added} delivery(ies)"))
    return Decision(planned, trace)


def _suppressed(rule: Rule, p: Planned, d: Directory) -> bool:
    if rule.channels and p.channel not in rule.channels:
        return False
    if not rule.contacts and not rule.contact_groups:
        return True
    return p.recipient in recipients(rule, p.channel, d)

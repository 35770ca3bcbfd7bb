"""Writing rules and channels: the one path of the REST API and the web UI's setup pages.

The models (``notify.spec``) check each rule and channel on its own; a write here also checks
what depends on the rest of the configuration, so both ways in refuse the same things:

- a rule names only channels that exist (otherwise nobody would be notified, silently);
- a channel is removed only when no rule names it;
- a secret sent back masked (``********``) keeps its stored value.

Refusals are ``ValidationError`` (with the field's path), ``Conflict`` or ``NotFound``; invalid
fields are the model's ``pydantic.ValidationError``. Every write reloads the notifier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from lookout.errors import Conflict, LookoutError, NotFound, PermissionDenied, ValidationError
from lookout.notify.notifier import Notifier
from lookout.notify.spec import Channel, Rule, carries_mask, masked, unmask


def unknown_channels(rule: Rule, known: set[str]) -> list[ValidationError]:
    """One error per channel ``rule`` names that is not in ``known``, at ``channels.<i>``."""
    have = ", ".join(sorted(known)) or "none yet"
    return [
        ValidationError(f"channel {name!r} does not exist (channels: {have})", ("channels", i))
        for i, name in enumerate(rule.channels)
        if name not in known
    ]


async def save_rule(
    n: Notifier, rule: Rule, at: float, *, position: int | None = None, create: bool = False
) -> None:
    """Store ``rule`` (replacing one of its name unless ``create``); ``position`` orders the
    rules (None: keep its place, or after the last one)."""
    missing = unknown_channels(rule, await asyncio.to_thread(n.store.channel_names))
    if missing:
        raise missing[0]
    old = await _rule(n, rule.name)
    await asyncio.to_thread(n.store.put_rule, rule, at, position=position, create=create)
    await n.reload()
    after = rule.model_dump(mode="json")
    await _record(n, "rule", rule.name, "create" if old is None else "change", old, after)


async def move_rule(n: Notifier, name: str, steps: int, at: float) -> None:
    """Move a rule ``steps`` places in the order rules are evaluated (negative: earlier)."""
    names = [r.name for r in await asyncio.to_thread(n.store.rules)]
    if name not in names:
        raise NotFound(f"rule {name!r} not found")
    i = names.index(name)
    before = list(names)
    names.insert(max(0, min(len(names) - 1, i + steps)), names.pop(i))
    await asyncio.to_thread(n.store.order_rules, names, at)
    await n.reload()
    await _record(n, "rule", name, "move", {"order": before}, {"order": names})


async def remove_rule(n: Notifier, name: str) -> None:
    old = await _rule(n, name)
    await asyncio.to_thread(n.store.delete_rule, name)
    await n.reload()
    await _record(n, "rule", name, "delete", old, None)


async def channel_of(n: Notifier, body: Mapping[str, Any]) -> Channel:
    """The channel ``body`` describes, masked secrets replaced by the stored ones (raises the
    model's ``pydantic.ValidationError``)."""
    name, spec = str(body.get("name", "")), body.get("spec")
    if isinstance(spec, dict) and name and carries_mask(spec):  # else nothing to keep
        try:
            old = await asyncio.to_thread(n.store.channel_spec, name)
        except NotFound:
            old = {}
        body = {**body, "spec": unmask(spec, old)}
    return Channel.model_validate(body)


async def save_channel(n: Notifier, channel: Channel, at: float, *, create: bool = False) -> None:
    """Store ``channel`` (replacing one of its name unless ``create``), secrets sealed."""
    allowed = n.options.channel_types
    if allowed is not None and channel.spec.type not in allowed:
        raise PermissionDenied(
            f"channel type {channel.spec.type!r} is not allowed on this SaaS site "
            f"(allowed: {', '.join(allowed) or 'none'})"
        )
    old = await _channel(n, channel.name)
    await asyncio.to_thread(n.store.put_channel, channel, at, create=create)
    await n.reload()
    after = {"type": channel.spec.type, **masked(channel.spec.model_dump(mode="json"))}
    await _record(n, "channel", channel.name, "create" if old is None else "change", old, after)


async def remove_channel(n: Notifier, name: str) -> None:
    """Remove a channel no rule names (Conflict naming the rules otherwise)."""
    users = [r.name for r in await asyncio.to_thread(n.store.rules) if name in r.channels]
    if users:
        raise Conflict(
            f"channel {name!r} is used by rule{'s' if len(users) > 1 else ''} "
            f"{', '.join(users)}: change or remove {'them' if len(users) > 1 else 'it'} first"
        )
    old = await _channel(n, name)
    await asyncio.to_thread(n.store.delete_channel, name)
    await n.reload()
    await _record(n, "channel", name, "delete", old, None)


async def _rule(n: Notifier, name: str) -> dict[str, Any] | None:
    rules = await asyncio.to_thread(n.store.rules)
    return next((r.model_dump(mode="json") for r in rules if r.name == name), None)


async def _channel(n: Notifier, name: str) -> dict[str, Any] | None:
    """A channel as stored, its secrets masked (None: none of that name, or unreadable)."""
    try:
        return masked(await asyncio.to_thread(n.store.channel_spec, name))
    except LookoutError:
        return None


async def _record(n: Notifier, kind: str, name: str, verb: str, before: Any, after: Any) -> None:
    if n.audit is not None:
        await n.audit.record(kind, name, verb, before=before, after=after)

"""Zulip channel: one topic per problem; control reactions on problem messages; recovery,
acknowledgement and downtime messages in the same topic; resolved (``✔ ``) on recovery."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from lookout.errors import LookoutError, TemporaryFailure
from lookout.notify import render
from lookout.notify.channels.base import ChannelContext
from lookout.notify.model import Notification, Outgoing, Sent
from lookout.notify.ratelimit import RateLimiter
from lookout.notify.spec import ZulipSpec
from lookout.notify.zulipapi import ZulipClient, ZulipError

log = logging.getLogger(__name__)

TOPIC_MAX = 60
RESOLVED = "✔ "
ECHO_SECONDS = 300.0
"""How long an action taken from chat keeps the notifier from repeating it in the topic."""


def topic_for(host: str, service: str) -> str:
    """``host / service``, at most 60 characters; longer names keep a stable hash suffix so
    two long names never share a topic."""
    name = f"{host} / {service}" if service else host
    if len(name) <= TOPIC_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return name[: TOPIC_MAX - 9].rstrip() + "… #" + digest


def bundle_topic(msg: Outgoing) -> str:
    first = msg.notes[0]
    return f"{msg.total} problems from {render.stamp(first.at)[11:16]} UTC"


def _line(n: Notification) -> str:
    icon = render.STATE_ICONS.get(n.state, "")
    return f"{icon} **{n.state}** {n.object}: {n.summary}".strip()


def content(msg: Outgoing, spec: ZulipSpec) -> str:
    if msg.bundled:
        lines = [f"**{msg.total} problems arrived together:**"]
        lines += [f"* {_line(n)}" for n in msg.listed]
        if msg.total > len(msg.listed):
            lines.append(f"* … and {msg.total - len(msg.listed)} more")
        lines.append(_controls_hint(spec, "all of them"))
        return "\n".join(lines)
    n = msg.notes[0]
    icon = render.STATE_ICONS.get(n.state, "")
    kind = render.TITLES.get(n.kind, n.kind.upper())
    head = f"{icon} **{n.state}** · {kind}" if n.state else f"**{kind}**"
    lines = [head.strip()]
    if n.kind == "acknowledgement":
        lines = [f"✓ Acknowledged by **{n.author}**" + (f": {n.comment}" if n.comment else "")]
    elif n.kind in ("downtime_start", "downtime_end", "downtime_cancel"):
        lines.append(f"by **{n.author}**" + (f": {n.comment}" if n.comment else ""))
    if n.summary and n.kind != "acknowledgement":
        lines.append(f"```quote\n{n.summary}\n```")
    meta = []
    if n.since and n.kind == "problem":
        meta.append(f"since {render.stamp(n.since)}")
    if n.number > 1:
        meta.append(f"notification {n.number}")
    if n.url:
        meta.append(f"[open in Lookout]({n.url})")
    if meta:
        lines.append(" · ".join(meta))
    if n.kind == "problem":
        lines.append(_controls_hint(spec, "it"))
    return "\n".join(lines)


def _controls_hint(spec: ZulipSpec, what: str) -> str:
    c = spec.controls
    return (
        f"React to handle {what}: :{c.ack.name}: acknowledge · downtime :{c.dt_1h.name}: 1h · "
        f":{c.dt_8h.name}: 8h · :{c.dt_1d.name}: 1d · :{c.dt_7d.name}: 7d"
    )


class ZulipChannel:
    ordered = True

    def __init__(self, name: str, spec: ZulipSpec, ctx: ChannelContext) -> None:
        self.name = name
        self.spec = spec
        self.ctx = ctx
        self.parallel = spec.parallel
        self.limiter = RateLimiter(spec.rate_per_minute, ctx.clock)
        self._controls: asyncio.Queue[int] = asyncio.Queue()
        self._controls_task: asyncio.Task[None] | None = None
        self._sending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.echoes: dict[tuple[str, str, str], float] = {}
        """(host, service, kind) of actions the bot took and confirmed in the topic itself."""
        self.client = ZulipClient(
            spec.site,
            spec.email,
            spec.api_key,
            limiter=self.limiter,
            clock=ctx.clock,
            ca_file=spec.ca_file,
        )

    async def aclose(self) -> None:
        if self._controls_task is not None:
            self._controls_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._controls_task
        await self.client.aclose()

    def expect_echo(self, host: str, service: str, kind: str) -> None:
        """The bot is about to act and confirm in the topic: skip the notification of it."""
        self.echoes[(host, service, kind)] = self.ctx.clock.now()

    def _is_echo(self, n: Notification) -> bool:
        at = self.echoes.pop((n.host, n.service, n.kind), None)
        return at is not None and self.ctx.clock.now() - at < ECHO_SECONDS

    async def send(self, msg: Outgoing) -> Sent:
        n = msg.notes[0]
        if not msg.bundled and self._is_echo(n):
            return Sent(external_id="confirmed-by-bot")
        self._sending += 1
        self._idle.clear()
        try:
            return await self._send(msg, n)
        finally:
            self._sending -= 1
            if not self._sending:
                self._idle.set()

    async def _send(self, msg: Outgoing, n: Notification) -> Sent:
        topic = bundle_topic(msg) if msg.bundled else topic_for(n.host, n.service)
        message_id = await self.client.send_stream(self.spec.stream, topic, content(msg, self.spec))
        store = self.ctx.store
        if n.kind == "problem":
            objects = [(x.host, x.service) for x in msg.notes]
            await asyncio.to_thread(
                store.record_message,
                self.name,
                message_id,
                objects,
                self.spec.stream,
                topic,
                self.ctx.clock.now(),
            )
            self._controls.put_nowait(message_id)
            if self._controls_task is None:
                self._controls_task = asyncio.create_task(self._controls_worker())
        elif n.kind == "recovery" and not msg.bundled:
            await self._resolve(n, topic)
        return Sent(external_id=str(message_id))

    async def _controls_worker(self) -> None:
        """Adds control reactions behind the messages, so the next problem is not held up."""
        while True:
            message_id = await self._controls.get()
            await self._add_controls(message_id)

    async def _add_controls(self, message_id: int) -> None:
        """Pre-add the control reactions; the message is out already, so a failure here is
        logged, not retried (people can still type commands)."""
        for emoji in self.spec.controls.ordered():
            await self._idle.wait()  # messages first: each reaction uses a gap between them
            try:
                await self.client.add_reaction(message_id, emoji.name, emoji.type)
            except ZulipError as exc:  # e.g. a custom emoji that was never uploaded
                log.warning("zulip %s: reaction %s: %s", self.name, emoji.name, exc)
            except LookoutError as exc:
                log.warning("zulip %s: control reactions on %s: %s", self.name, message_id, exc)
                return

    async def _resolve(self, n: Notification, topic: str) -> None:
        store = self.ctx.store
        found = await asyncio.to_thread(store.topic_message, self.name, n.host, n.service)
        await asyncio.to_thread(store.close_messages, self.name, n.host, n.service)
        if not self.spec.resolve_topics or found is None or found[1] != topic:
            return
        try:
            await self.client.rename_topic(found[0], RESOLVED + topic)
        except TemporaryFailure as exc:
            log.warning("zulip %s: resolving %r later failed: %s", self.name, topic, exc)
        except LookoutError as exc:  # e.g. MOVE_MESSAGES_TIME_LIMIT_EXCEEDED: realm policy
            log.info("zulip %s: topic %r not marked resolved: %s", self.name, topic, exc)

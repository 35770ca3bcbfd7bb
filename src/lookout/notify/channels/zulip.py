"""Zulip channel: one topic per problem; control reactions on problem messages; recovery,
acknowledgement and downtime messages in the topic the problem was posted to (its own, or a
storm's bundle topic); a topic is resolved (``✔ ``) once every problem in it recovered.
Handling a problem (acknowledged, in downtime) is also written into the problem message itself,
so its state does not depend on counting reactions."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from lookout.domain.values import is_time
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
    """A storm's topic: its size, its time and its first delivery id, so two storms of equal
    size in one minute do not share a topic (and a retry keeps the name)."""
    first = msg.notes[0]
    tag = msg.ids[0] if msg.ids else hashlib.sha256(msg.keys[0].encode()).hexdigest()[:6]
    return f"{msg.total} problems from {render.stamp(first.at)[11:16]} UTC #{tag}"


def local_time(ts: float) -> str:
    """Zulip's global time: every reader sees it in their own time zone."""
    if not is_time(ts):
        return render.stamp(ts)
    return f"<time:{datetime.fromtimestamp(ts, UTC).isoformat(timespec='seconds')}>"


def object_name(host: str, service: str) -> str:
    return f"**{service}** on **{host}**" if service else f"host **{host}**"


def _line(n: Notification) -> str:
    icon = render.STATE_ICONS.get(n.state, "")
    link = f" ([open]({n.url}))" if n.url else ""
    return f"{icon} **{n.state}** {n.object}: {n.summary}{link}".strip()


def content(msg: Outgoing, spec: ZulipSpec) -> str:
    if msg.bundled:
        lines = [f"**{render.bundle_head(msg)}:**"]
        lines += [f"* {_line(n)}" for n in msg.listed]
        if msg.total > len(msg.listed):
            lines.append(f"* … and {msg.total - len(msg.listed)} more")
        if msg.notes[0].kind == "problem":
            lines.append(_controls_hint(spec, "all of them"))
        return "\n".join(lines)
    n = msg.notes[0]
    icon = render.STATE_ICONS.get(n.state, "")
    kind = render.TITLES.get(n.kind, n.kind.upper())
    what = object_name(n.host, n.service)
    head = f"{icon} **{n.state}** · {kind} · {what}" if n.state else f"**{kind}** · {what}"
    lines = [head.strip()]
    if n.kind == "acknowledgement":
        lines = [f"✓ Acknowledged by **{n.author}**" + (f": {n.comment}" if n.comment else "")]
    elif n.kind in ("downtime_start", "downtime_end", "downtime_cancel"):
        lines.append(f"by **{n.author}**" + (f": {n.comment}" if n.comment else ""))
    if n.summary and n.kind != "acknowledgement":
        lines.append(f"```quote\n{n.summary}\n```")
    meta = []
    if n.since and n.kind == "problem":
        meta.append(f"since {local_time(n.since)}")
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
        self.realm = spec.site.rstrip("/")
        """The Zulip organisation (its URL): Zulip user ids are unique within it."""
        self._editing: dict[int, asyncio.Lock] = {}
        self._posted: dict[str, int] = {}
        """Delivery key → message id of follow-up parts already posted while a later part of
        the same bundle failed (kept until the bundle is sent)."""
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

    async def probe(self) -> None:
        """Does Zulip answer (and know the bot)? Raises like any other call if not."""
        await self.client.me()

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
        if not msg.bundled and n.kind in HANDLED:
            # only a message about this object alone: a storm acknowledged in the UI would
            # cost two requests per object on the bundle (the topic gets the messages)
            await self.mark_object(n.host, n.service, HANDLED[n.kind](n), in_bundle=False)
        self._sending += 1
        self._idle.clear()
        try:
            return await self._send(msg, n)
        finally:
            self._sending -= 1
            if not self._sending:
                self._idle.set()

    async def _follow_ups(self, msg: Outgoing) -> dict[str, Outgoing]:
        """Recoveries, acknowledgements … by topic: each goes where its object's problem was
        posted (its own topic, or a storm's); a bundle may span several topics."""
        objects = [(x.host, x.service) for x in msg.notes]
        found = await asyncio.to_thread(self.ctx.store.problem_topics, self.name, objects)
        parts: dict[str, list[int]] = {}
        for i, key in enumerate(objects):
            parts.setdefault(found.get(key) or topic_for(*key), []).append(i)
        return {
            topic: Outgoing(
                recipient=msg.recipient,
                notes=[msg.notes[i] for i in idx],
                keys=[msg.keys[i] for i in idx],
                cap=msg.cap,
                ids=[msg.ids[i] for i in idx if i < len(msg.ids)],
            )
            for topic, idx in parts.items()
        }

    async def _send(self, msg: Outgoing, n: Notification) -> Sent:
        if n.kind != "problem":
            return await self._send_follow_ups(msg, n)
        topic = bundle_topic(msg) if msg.bundled else topic_for(n.host, n.service)
        message_id = await self.client.send_stream(self.spec.stream, topic, content(msg, self.spec))
        await asyncio.to_thread(
            self.ctx.store.record_message,
            self.name,
            message_id,
            [(x.host, x.service) for x in msg.notes],
            self.spec.stream,
            topic,
            self.ctx.clock.now(),
        )
        self._controls.put_nowait(message_id)
        if self._controls_task is None:
            self._controls_task = asyncio.create_task(self._controls_worker())
        return Sent(external_id=str(message_id))

    async def _send_follow_ups(self, msg: Outgoing, n: Notification) -> Sent:
        """One message per topic. A part posted before a later part failed is remembered, so
        the dispatcher's retry does not post it twice."""
        message_id = 0
        for topic, part in (await self._follow_ups(msg)).items():
            done = self._posted.get(part.keys[0])
            if done is None:
                done = await self.client.send_stream(
                    self.spec.stream, topic, content(part, self.spec)
                )
                self._posted.update(dict.fromkeys(part.keys, done))
            message_id = done
        for key in msg.keys:
            self._posted.pop(key, None)
        if n.kind == "recovery":
            await self._resolve([(x.host, x.service) for x in msg.notes])
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

    async def _resolve(self, objects: list[tuple[str, str]]) -> None:
        """Close the problem messages of recovered objects; a topic none of whose problems is
        open any more is marked resolved."""
        store = self.ctx.store
        topics = await asyncio.to_thread(store.close_problems, self.name, objects)
        if not self.spec.resolve_topics:
            return
        for topic, message_id in topics.items():
            try:
                await self.client.rename_topic(message_id, RESOLVED + topic)
            except TemporaryFailure as exc:
                log.warning("zulip %s: resolving %r failed: %s", self.name, topic, exc)
            except LookoutError as exc:  # e.g. MOVE_MESSAGES_TIME_LIMIT_EXCEEDED: realm policy
                log.info("zulip %s: topic %r not marked resolved: %s", self.name, topic, exc)

    # ------------------------------------------------------------------ state in the message
    async def mark_object(
        self, host: str, service: str, line: str, *, in_bundle: bool = True
    ) -> None:
        """Write ``line`` into the object's open problem message (in a bundle: naming it,
        unless ``in_bundle`` is false)."""
        store = self.ctx.store
        found = await asyncio.to_thread(store.open_problem_message, self.name, host, service)
        if found is None or not (found[1] or in_bundle):
            return
        message_id, alone = found
        await self.mark_message(message_id, line if alone else f"{line} ({host}/{service})")

    async def mark_message(self, message_id: int, line: str) -> None:
        """Append ``line`` to one of the bot's messages. Zulip may refuse (the realm's edit
        time limit, 10 minutes by default): the answer in the topic still says it."""
        lock = self._editing.setdefault(message_id, asyncio.Lock())
        async with lock:
            try:
                msg = await self.client.get_message(message_id)
                text = str(msg.get("raw_content") or msg.get("content") or "")
                await self.client.edit_content(message_id, f"{text}\n{line}")
            except LookoutError as exc:
                log.info("zulip %s: message %s not updated: %s", self.name, message_id, exc)
        if not lock.locked():
            self._editing.pop(message_id, None)


def _handled_line(verb: str) -> Callable[[Notification], str]:
    def line(n: Notification) -> str:
        comment = f": {n.comment}" if n.comment else ""
        if verb == "ack":
            return f"✅ Acknowledged by **{n.author}** in Lookout{comment}"
        until = n.extra.get("end")
        when = f" until {local_time(float(until))}" if isinstance(until, int | float) else ""
        return f"🔕 In downtime{when}, set by **{n.author}** in Lookout{comment}"

    return line


HANDLED: dict[str, Callable[[Notification], str]] = {
    "acknowledgement": _handled_line("ack"),
    "downtime_start": _handled_line("downtime"),
}
"""Notifications whose news is also written into the problem message."""

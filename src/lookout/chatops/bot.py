"""The Zulip bot: commands and reactions become actions (``lookout.actions``) with the Zulip
user as author; answers go to the same thread.

Inbound paths: the real-time events API (:meth:`ZulipBot.run`: register a queue, long-poll,
re-register after ``BAD_EVENT_QUEUE_ID`` and reconcile by re-reading the reactions on open
problem messages) and outgoing webhooks (:meth:`ZulipBot.on_webhook`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

from lookout.actions import Actions
from lookout.auth import Role
from lookout.chatops.commands import USAGE, Command, CommandError, parse
from lookout.domain.states import state_name
from lookout.engine.inputs import Target
from lookout.errors import LookoutError, TemporaryFailure
from lookout.notify.channels.zulip import ZulipChannel, topic_for
from lookout.notify.clock import Clock
from lookout.notify.store import NotifyStore
from lookout.notify.zulipapi import ZulipError

EVENT_GATHER = 0.2
"""Seconds the bot lets events gather after a non-empty poll (commands wait at most this)."""

log = logging.getLogger(__name__)

RECONCILE_DAYS = 14
"""Problem messages older than this are not re-read after a lost event queue."""
DURATIONS = {"1h": 3600.0, "8h": 8 * 3600.0, "1d": 86400.0, "7d": 7 * 86400.0}


@dataclass(frozen=True, slots=True)
class Where:
    """Where to answer: a stream topic, or a direct message to ``sender``."""

    stream: str
    topic: str
    sender: str


@dataclass(frozen=True, slots=True)
class Person:
    user: str
    role: Role
    zulip: str
    groups: tuple[str, ...] = ()
    """The user's contact groups."""


class ZulipBot:
    def __init__(
        self, channel: ZulipChannel, actions: Actions, store: NotifyStore, clock: Clock
    ) -> None:
        self.channel = channel
        self.name = channel.name
        self.spec = channel.spec
        self.client = channel.client
        self.actions = actions
        self.engine = actions.engine
        self.store = store
        self.clock = clock
        self.bot_user_id: int | None = None
        self.registrations = 0
        self.handled = 0

    # ------------------------------------------------------------------ identity
    async def person(self, email: str) -> Person | None:
        users = await asyncio.to_thread(self.store.users)
        contacts = await asyncio.to_thread(self.store.contacts)
        name = self.spec.user_map.get(email)
        if name is None:
            name = next((c.user for c in contacts if c.zulip.lower() == email.lower()), None)
        if name is None:
            name = next(
                (u for u, (e, _) in users.items() if e and e.lower() == email.lower()), None
            )
        if name is None or name not in users:
            return None
        groups = next((tuple(c.groups) for c in contacts if c.user == name), ())
        return Person(name, Role(users[name][1]), email, groups)

    def object_groups(self, host: str, service: str) -> set[str]:
        """Contact groups an object belongs to (label ``contact_groups`` on host or service)."""
        labels = dict(self.engine.hosts[host].labels) if host in self.engine.hosts else {}
        svc = self.engine.services.get((host, service)) if service else None
        if svc is not None:
            labels.update(svc.labels)
        return {g.strip() for g in labels.get("contact_groups", "").split(",") if g.strip()}

    def not_theirs(self, who: Person, host: str, service: str) -> str | None:
        """Operators act on objects of their contact groups (or on objects without any)."""
        groups = self.object_groups(host, service)
        if who.role.allows(Role.ADMIN) or not groups or groups & set(who.groups):
            return None
        return (
            f"Sorry @**{who.zulip}**, {_name(host, service)} belongs to contact group(s) "
            f"{', '.join(sorted(groups))}, which you are not in."
        )

    def _refusal(self, email: str, who: Person | None, what: str) -> str | None:
        if who is None:
            return (
                f"Sorry, {email} is not linked to a Lookout user, so I cannot {what}. "
                "An admin can add your Zulip email to a Lookout user."
            )
        if not who.role.allows(Role.OPERATOR):
            return (
                f"Sorry @**{who.zulip}**, your Lookout role ({who.role}) may look but not "
                f"{what}; that needs the operator role."
            )
        return None

    # ------------------------------------------------------------------ commands
    def _exists(self, host: str, service: str) -> bool:
        return (host, service) in self.engine.status

    async def on_message(self, message: dict[str, Any]) -> str | None:
        """Handle a message addressed to the bot; returns the answer (None: no answer)."""
        content = str(message.get("content", ""))
        email = str(message.get("sender_email", ""))
        try:
            cmd = parse(content, self._exists)
        except CommandError as exc:
            return str(exc)
        implied = None
        if message.get("type") == "stream":
            implied = await asyncio.to_thread(
                self.store.object_of_topic, self.name, str(message.get("subject", ""))
            )
        return await self.run_command(cmd, email, implied)

    async def run_command(self, cmd: Command, email: str, implied: tuple[str, str] | None) -> str:
        if cmd.verb == "help":
            return "Commands:\n" + "\n".join(f"* `{u}`" for u in USAGE.values())
        if cmd.verb == "problems":
            return self._problems(cmd.filter)
        target = (cmd.host, cmd.service or "") if cmd.host else implied
        if target is None:
            return f"Which object? Outside a problem topic name it. Use: `{USAGE[cmd.verb]}`"
        if cmd.verb == "status":
            return self._status(*target)
        who = await self.person(email)
        refusal = self._refusal(email, who, {"ack": "acknowledge"}.get(cmd.verb, cmd.verb))
        if refusal or who is None:
            return refusal or ""
        theirs = self.not_theirs(who, *target)
        if theirs:
            return theirs
        try:
            return await self._act(cmd.verb, target, who.user, cmd.comment, cmd.duration)
        except LookoutError as exc:
            return f"Could not {cmd.verb} {_name(*target)}: {exc}"

    async def _act(
        self, verb: str, key: tuple[str, str], author: str, comment: str, duration: float
    ) -> str:
        host, service = key
        target = Target(host=host, service=service or None)
        echo = {"ack": "acknowledgement", "downtime": "downtime_start"}.get(verb)
        if echo is not None:
            self.channel.expect_echo(host, service, echo)
        try:
            return await self._apply(verb, target, author, comment, duration)
        except LookoutError:
            if echo is not None:
                self.channel.echoes.pop((host, service, echo), None)
            raise

    async def _apply(
        self, verb: str, target: Target, author: str, comment: str, duration: float
    ) -> str:
        a = self.actions
        host, service = target.host or "", target.service or ""
        if verb == "ack":
            await a.acknowledge(target, author=author, comment=comment or "acknowledged in Zulip")
            return f"Acknowledged {_name(host, service)} by **{author}** ✓"
        if verb == "unack":
            await a.remove_acknowledgement(target, author=author, comment=comment)
            return f"Acknowledgement of {_name(host, service)} removed by **{author}** ✓"
        if verb == "downtime":
            now = self.clock.now()
            await a.schedule_downtime(
                target,
                start=now,
                end=now + duration,
                author=author,
                comment=comment or "downtime from Zulip",
                include_services=not service,
            )
            until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now + duration))
            return f"Downtime for {_name(host, service)} until {until} set by **{author}** ✓"
        await a.recheck(target, author=author, comment=comment)
        return f"Recheck of {_name(host, service)} requested by **{author}** ✓"

    def _status(self, host: str, service: str) -> str:
        st = self.engine.status.get((host, service))
        if st is None:
            return f"{_name(host, service)} is not known."
        state = state_name(st.state, is_host=not service)
        flags = [
            f for f, on in (("acknowledged", st.ack), ("in downtime", st.downtime_depth)) if on
        ]
        extra = f" ({', '.join(flags)})" if flags else ""
        return f"{_name(host, service)}: **{state}** {st.state_type}{extra} — {st.summary}"

    def _problems(self, needle: str) -> str:
        rows = []
        for (host, service), st in self.engine.status.items():
            if st.state == 0 or not st.hard:
                continue
            name = f"{host}/{service}" if service else host
            if needle and needle.lower() not in f"{name} {st.summary}".lower():
                continue
            handled = " (handled)" if self.engine.handled(st) else ""
            rows.append(f"* **{state_name(st.state, is_host=not service)}** {name}{handled}")
        if not rows:
            return "No problems" + (f" matching {needle!r}" if needle else "") + " 🎉"
        more = f"\n… and {len(rows) - 30} more" if len(rows) > 30 else ""
        return f"{len(rows)} problem(s):\n" + "\n".join(rows[:30]) + more

    # ------------------------------------------------------------------ reactions
    async def on_reaction(self, ev: dict[str, Any]) -> str | None:
        """A reaction was added; returns the confirmation posted (None: not a control)."""
        if ev.get("op", "add") != "add" or ev.get("user_id") == self.bot_user_id:
            return None
        action = self.spec.controls.actions().get(str(ev.get("emoji_name", "")))
        if action is None:
            return None
        message_id = int(ev["message_id"])
        objects = await asyncio.to_thread(self.store.message_objects, self.name, message_id)
        if not objects:
            return None
        user_id = int(ev.get("user_id", 0))
        emoji = str(ev["emoji_name"])
        claimed = await asyncio.to_thread(
            self.store.claim_reaction, self.name, message_id, user_id, emoji, self.clock.now()
        )
        if not claimed:
            return None
        email = str((ev.get("user") or {}).get("email", ""))
        if not email:
            user = await self.client.call("GET", f"/users/{user_id}")
            email = str(user.get("user", {}).get("email", ""))
        answer = await self._react(action, objects, email)
        await asyncio.to_thread(
            self.store.reaction_outcome, self.name, message_id, user_id, emoji, answer
        )
        await self._say_in_topic(objects, answer)
        self.handled += 1
        return answer

    async def _react(self, action: str, objects: list[tuple[str, str]], email: str) -> str:
        what = "acknowledge" if action == "ack" else "set downtimes"
        who = await self.person(email)
        refusal = self._refusal(email, who, what)
        if refusal or who is None:
            return refusal or ""
        done, failed = [], []
        for key in objects:
            verb = "ack" if action == "ack" else "downtime"
            theirs = self.not_theirs(who, *key)
            if theirs:
                failed.append(f"{_name(*key)}: not in your contact groups")
                continue
            try:
                await self._act(verb, key, who.user, "", DURATIONS.get(action, 0.0))
                done.append(_name(*key))
            except LookoutError as exc:
                failed.append(f"{_name(*key)}: {exc}")
        names = ", ".join(done[:5]) + (f" and {len(done) - 5} more" if len(done) > 5 else "")
        if action == "ack":
            text = f"Acknowledged by **{who.user}** ✓ ({names})" if done else ""
        else:
            text = f"Downtime {action} set by **{who.user}** ✓ ({names})" if done else ""
        if failed:
            text += ("\n" if text else "") + "Not done: " + "; ".join(failed[:5])
        return text

    async def _say_in_topic(self, objects: list[tuple[str, str]], text: str) -> None:
        if len(objects) == 1:
            found = await asyncio.to_thread(self.store.topic_message, self.name, *objects[0])
            topic = found[1] if found else topic_for(*objects[0])
        else:
            found = await asyncio.to_thread(self.store.topic_message, self.name, *objects[0])
            topic = found[1] if found else "problems"
        await self.reply(Where(self.spec.stream, topic, ""), text)

    async def reply(self, where: Where, text: str) -> None:
        if not text:
            return
        try:
            if where.stream:
                await self.client.send_stream(where.stream, where.topic, text)
            else:
                await self.client.send_direct([where.sender], text)
        except LookoutError as exc:
            log.warning("zulip %s: could not answer: %s", self.name, exc)

    # ------------------------------------------------------------------ outgoing webhook
    def token_ok(self, token: str) -> bool:
        expected = self.spec.webhook_token
        return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())

    async def on_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        """An outgoing-webhook POST (token already verified): answer in the response."""
        message = dict(body.get("message") or {})
        if "data" in body:  # the raw Markdown; message.content may be rendered HTML
            message["content"] = body["data"]
        answer = await self.on_message(message)
        return {"content": answer} if answer else {"response_not_required": True}

    # ------------------------------------------------------------------ events API
    async def reconcile(self) -> int:
        """Re-read the reactions of open problem messages (events may have been lost while no
        queue existed); reactions handled before are skipped by their stored claim."""
        n = 0
        since = self.clock.now() - RECONCILE_DAYS * 86400
        for message_id in await asyncio.to_thread(self.store.open_messages, self.name, since):
            try:
                msg = await self.client.get_message(message_id)
            except ZulipError as exc:
                log.info("zulip %s: message %s: %s", self.name, message_id, exc)
                continue
            for r in msg.get("reactions", []):
                ev = {**r, "op": "add", "message_id": message_id}
                if await self.on_reaction(ev) is not None:
                    n += 1
        return n

    async def _handle_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        if kind == "reaction":
            await self.on_reaction(ev)
        elif kind == "message":
            msg = ev.get("message") or {}
            if msg.get("sender_id") == self.bot_user_id:
                return
            flags = ev.get("flags") or []
            private = msg.get("type") in ("private", "direct")
            if not private and "mentioned" not in flags:
                return
            answer = await self.on_message(msg)
            stream = "" if private else str(msg.get("display_recipient", ""))
            where = Where(stream, str(msg.get("subject", "")), str(msg.get("sender_email", "")))
            await self.reply(where, answer or "")
            self.handled += 1

    async def run(self) -> None:
        """Follow the events API until cancelled."""
        queue_id: str | None = None
        last = -1
        longpoll = 90.0
        failures = 0
        never = asyncio.Event()
        while True:
            try:
                if queue_id is None:
                    me = await self.client.me()
                    self.bot_user_id = int(me.get("user_id", 0)) or None
                    queue_id, last, longpoll = await self.client.register(["message", "reaction"])
                    self.registrations += 1
                    await self.reconcile()
                events = await self.client.get_events(queue_id, last, longpoll)
                failures = 0
                busy = False
                for ev in events:
                    last = max(last, int(ev.get("id", last)))
                    if ev.get("type") != "heartbeat":
                        busy = True
                        try:
                            await self._handle_event(ev)
                        except LookoutError as exc:
                            log.warning("zulip %s: event %s: %s", self.name, ev.get("id"), exc)
                if busy:
                    # While events stream in (mostly our own messages and reactions during a
                    # storm), let them gather instead of one long-poll round trip per event:
                    # that round trip cost more CPU than sending the notifications.
                    await asyncio.sleep(EVENT_GATHER)
            except asyncio.CancelledError:
                raise
            except ZulipError as exc:
                if exc.code == "BAD_EVENT_QUEUE_ID":
                    log.info("zulip %s: event queue expired; registering again", self.name)
                    queue_id = None
                    continue
                failures += 1
                log.warning("zulip %s: %s", self.name, exc)
            except TemporaryFailure as exc:
                failures += 1
                log.info("zulip %s: %s", self.name, exc)
            except Exception:
                failures += 1
                log.exception("zulip %s: bot step failed", self.name)
            if failures:
                wait = min(60.0, 2.0 ** min(failures, 6))
                await self.clock.wait(never, self.clock.now() + wait)


def _name(host: str, service: str) -> str:
    return f"{host}/{service}" if service else host

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
import re
import secrets
from dataclasses import dataclass
from typing import Any

from lookout.actions import Actions
from lookout.auth import Role
from lookout.chatops.commands import USAGE, Command, CommandError, parse
from lookout.chatops.people import Person, Sender, find_user
from lookout.domain import audit
from lookout.domain.states import state_name
from lookout.engine.inputs import Target
from lookout.errors import LookoutError, TemporaryFailure
from lookout.notify.channels.zulip import ZulipChannel, local_time, topic_for
from lookout.notify.clock import Clock
from lookout.notify.store import NotifyStore
from lookout.notify.zulipapi import ZulipError

EVENT_GATHER = 0.2
"""Seconds the bot lets events gather after a non-empty poll (commands wait at most this)."""

log = logging.getLogger(__name__)

RECONCILE_DAYS = 14
"""Problem messages older than this are not re-read after a lost event queue."""
LINK_CODE_SECONDS = 600
"""How long a one-time code for linking a Zulip account stays valid."""
DURATIONS = {"1h": 3600.0, "8h": 8 * 3600.0, "1d": 86400.0, "7d": 7 * 86400.0}


@dataclass(frozen=True, slots=True)
class Where:
    """Where to answer: a stream topic, or (no stream) a direct message to ``to``."""

    stream: str
    topic: str
    to: int = 0
    """Zulip user id of a direct message's recipient."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the bot says: in the thread, or privately to the person (refusals)."""

    text: str
    private: bool = False


class ZulipBot:
    def __init__(
        self, channel: ZulipChannel, actions: Actions, store: NotifyStore, clock: Clock
    ) -> None:
        self.channel = channel
        self.name = channel.name
        self.spec = channel.spec
        self.client = channel.client
        self.realm = channel.realm
        self.actions = actions
        self.engine = actions.engine
        self.store = store
        self.clock = clock
        self.bot_user_id: int | None = None
        self.bot_name = "Lookout"
        self.registrations = 0
        self.handled = 0

    # ------------------------------------------------------------------ identity
    async def person(self, sender: Sender) -> Person | None:
        store = self.store
        linked, users, contacts = await asyncio.gather(
            asyncio.to_thread(store.linked_user, self.realm, sender.user_id),
            asyncio.to_thread(store.users),
            asyncio.to_thread(store.contacts),
        )
        name = find_user(
            sender,
            linked=linked,
            user_map=self.spec.user_map,
            contacts=contacts,
            emails={u: e for u, (e, _) in users.items()},
        )
        if name is None or name not in users:
            return None
        groups = next((tuple(c.groups) for c in contacts if c.user == name), ())
        return Person(name, Role(users[name][1]), sender, groups)

    async def sender_of(self, user_id: int, brief: dict[str, Any] | None) -> Sender:
        """The reacting user (reaction events carry a deprecated ``user`` with the name)."""
        info = brief or {}
        if not info.get("full_name"):
            body = await self.client.call("GET", f"/users/{user_id}")
            info = body.get("user", {})
        return Sender(user_id, str(info.get("full_name", "")), str(info.get("email", "")))

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
            f"Sorry, {_name(host, service)} belongs to contact group(s) "
            f"{', '.join(sorted(groups))}, which you (Lookout user **{who.user}**) are not in."
        )

    def _refusal(self, who: Person | None, what: str) -> str | None:
        if who is None:
            return (
                f"Sorry, your Zulip account is not linked to a Lookout user, so I cannot {what}. "
                f"Send me `link` (here, privately) for a one-time code to enter on your "
                "Lookout profile page, or ask an admin to link you."
            )
        if not who.role.allows(Role.OPERATOR):
            return (
                f"Sorry, your Lookout role ({who.role}) may look but not {what}; "
                "that needs the operator role."
            )
        return None

    # ------------------------------------------------------------------ commands
    def _exists(self, host: str, service: str) -> bool:
        return (host, service) in self.engine.status

    def addressed(self, content: str) -> str | None:
        """``content`` without a plain-text ``@Lookout`` at its start (None: not addressed)."""
        m = re.match(rf"\s*@{re.escape(self.bot_name)}\b", content, re.IGNORECASE)
        return content[m.end() :] if m else None

    async def on_message(self, message: dict[str, Any]) -> Answer | None:
        """Handle a message addressed to the bot; returns the answer (None: no answer)."""
        content = str(message.get("content", ""))
        content = self.addressed(content) or content
        sender = Sender(
            int(message.get("sender_id") or 0),
            str(message.get("sender_full_name", "")),
            str(message.get("sender_email", "")),
        )
        try:
            cmd = parse(content, self._exists)
        except CommandError as exc:
            return Answer(f"{sender.mention} {exc}")
        implied = None
        if message.get("type") == "stream":
            implied = await asyncio.to_thread(
                self.store.object_of_topic, self.name, str(message.get("subject", ""))
            )
        return await self.run_command(cmd, sender, implied)

    async def run_command(
        self, cmd: Command, sender: Sender, implied: tuple[str, str] | None
    ) -> Answer:
        if cmd.verb == "help":
            return Answer("Commands:\n" + "\n".join(f"* `{u}`" for u in USAGE.values()))
        if cmd.verb == "problems":
            return Answer(self._problems(cmd.filter))
        if cmd.verb == "link":
            return Answer(await self._link_code(sender), private=True)
        target = (cmd.host, cmd.service or "") if cmd.host else implied
        if target is None:
            return Answer(
                f"{sender.mention} which object? Outside a problem topic name it. "
                f"Use: `{USAGE[cmd.verb]}`"
            )
        if cmd.verb == "status":
            return Answer(self._status(*target))
        who = await self.person(sender)
        refusal = self._refusal(who, {"ack": "acknowledge"}.get(cmd.verb, cmd.verb))
        if refusal or who is None:
            return Answer(refusal or "", private=True)
        theirs = self.not_theirs(who, *target)
        if theirs:
            return Answer(theirs, private=True)
        try:
            text = await self._act(cmd.verb, target, who, cmd.comment, cmd.duration)
        except LookoutError as exc:
            return Answer(f"{sender.mention} could not {cmd.verb} {_name(*target)}: {exc}")
        await self._mark_object(cmd.verb, target, who, cmd.duration, cmd.comment)
        return Answer(text)

    async def _link_code(self, sender: Sender) -> str:
        code = secrets.token_hex(4).upper()
        await asyncio.to_thread(
            self.store.put_link_code,
            self.realm,
            sender.user_id,
            sender.full_name,
            code,
            self.clock.now() + LINK_CODE_SECONDS,
        )
        where = self.channel.ctx.site_url
        page = (
            f"your [Lookout profile page]({where}/profile)"
            if where
            else "your Lookout profile page"
        )
        return (
            f"Your one-time code is `{code}`. Enter it on {page} within "
            f"{LINK_CODE_SECONDS // 60} minutes; from then on your reactions and commands here "
            "act in Lookout as you."
        )

    async def _act(
        self, verb: str, key: tuple[str, str], who: Person, comment: str, duration: float
    ) -> str:
        host, service = key
        target = Target(host=host, service=service or None)
        echo = {"ack": "acknowledgement", "downtime": "downtime_start"}.get(verb)
        if echo is not None:
            self.channel.expect_echo(host, service, echo)
        door = audit.Door("chat", f"zulip user {who.sender.user_id}", who.user)
        try:
            with audit.acting(door):
                return await self._apply(verb, target, who, comment, duration)
        except LookoutError:
            if echo is not None:
                self.channel.echoes.pop((host, service, echo), None)
            raise

    async def _apply(
        self, verb: str, target: Target, who: Person, comment: str, duration: float
    ) -> str:
        a = self.actions
        author, by = who.user, who.sender.silent
        host, service = target.host or "", target.service or ""
        if verb == "ack":
            await a.acknowledge(target, author=author, comment=comment or "acknowledged in Zulip")
            return f"Acknowledged {_name(host, service)} by {by} ✓"
        if verb == "unack":
            await a.remove_acknowledgement(target, author=author, comment=comment)
            return f"Acknowledgement of {_name(host, service)} removed by {by} ✓"
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
            until = local_time(now + duration)
            return f"Downtime for {_name(host, service)} until {until} set by {by} ✓"
        await a.recheck(target, author=author, comment=comment)
        return f"Recheck of {_name(host, service)} requested by {by} ✓"

    def _state_line(self, verb: str, who: Person, duration: float, comment: str = "") -> str | None:
        """The line edited into a problem message when it is handled from chat."""
        why = f": {comment}" if comment else ""
        if verb == "ack":
            return f"✅ Acknowledged by {who.sender.silent}{why}"
        if verb == "downtime":
            until = local_time(self.clock.now() + duration)
            return f"🔕 In downtime until {until}, set by {who.sender.silent}{why}"
        return None

    async def _mark_object(
        self, verb: str, key: tuple[str, str], who: Person, duration: float, comment: str
    ) -> None:
        line = self._state_line(verb, who, duration, comment)
        if line is not None:
            await self.channel.mark_object(*key, line)

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
    async def on_reaction(self, ev: dict[str, Any]) -> Answer | None:
        """A reaction was added; returns what the bot said (None: not a control)."""
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
        sender = await self.sender_of(user_id, ev.get("user"))
        answer = await self._react(action, objects, sender, message_id)
        # a refusal releases the claim: the same reaction, added again once the person is
        # linked or has the role, acts then
        settle = self.store.release_reaction if answer.private else self.store.reaction_outcome
        await asyncio.to_thread(settle, self.name, message_id, user_id, emoji, answer.text)
        if answer.private:
            await self.reply(Where("", "", sender.user_id), answer.text)
        else:
            await self._say_in_topic(message_id, objects, answer.text)
        self.handled += 1
        return answer

    async def _react(
        self, action: str, objects: list[tuple[str, str]], sender: Sender, message_id: int
    ) -> Answer:
        what = "acknowledge" if action == "ack" else "set downtimes"
        who = await self.person(sender)
        refusal = self._refusal(who, what)
        if refusal or who is None:
            return Answer(refusal or "", private=True)
        verb = "ack" if action == "ack" else "downtime"
        duration = DURATIONS.get(action, 0.0)
        done, failed = [], []
        for key in objects:
            if self.not_theirs(who, *key):
                failed.append(f"{_name(*key)}: not in your contact groups")
                continue
            try:
                await self._act(verb, key, who, "", duration)
                done.append(_name(*key))
            except LookoutError as exc:
                failed.append(f"{_name(*key)}: {exc}")
        if not done:
            return Answer("Not done: " + "; ".join(failed[:5]), private=True)
        names = ", ".join(done[:5]) + (f" and {len(done) - 5} more" if len(done) > 5 else "")
        by = who.sender.silent
        if action == "ack":
            text = f"Acknowledged by {by} ✓ ({names})"
        else:
            text = f"Downtime {action} set by {by} ✓ ({names})"
        if failed:
            text += "\nNot done: " + "; ".join(failed[:5])
        line = self._state_line(verb, who, duration)
        if line is not None:
            part = f" ({len(done)} of {len(objects)})" if len(objects) > 1 and failed else ""
            await self.channel.mark_message(message_id, line + part)
        return Answer(text)

    async def _say_in_topic(
        self, message_id: int, objects: list[tuple[str, str]], text: str
    ) -> None:
        topic = await asyncio.to_thread(self.store.message_topic, self.name, message_id)
        await self.reply(Where(self.spec.stream, topic or topic_for(*objects[0])), text)

    async def reply(self, where: Where, text: str) -> None:
        if not text:
            return
        try:
            if where.stream:
                await self.client.send_stream(where.stream, where.topic, text)
            else:
                await self.client.send_direct([where.to], text)
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
        if answer is None or not answer.text:
            return {"response_not_required": True}
        if answer.private:
            await self.reply(Where("", "", int(message.get("sender_id") or 0)), answer.text)
            return {"response_not_required": True}
        return {"content": answer.text}

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
            if not await self._for_me(ev, msg):
                return
            answer = await self.on_message(msg)
            if answer is None:
                return
            private = answer.private or msg.get("type") in ("private", "direct")
            stream = "" if private else str(msg.get("display_recipient", ""))
            where = Where(stream, str(msg.get("subject", "")), int(msg.get("sender_id") or 0))
            await self.reply(where, answer.text)
            self.handled += 1

    async def _for_me(self, ev: dict[str, Any], msg: dict[str, Any]) -> bool:
        """Direct messages, mentions, and a plain-text ``@Lookout …`` in the bot's topics."""
        if msg.get("type") in ("private", "direct") or "mentioned" in (ev.get("flags") or []):
            return True
        if self.addressed(str(msg.get("content", ""))) is None:
            return False
        topic = str(msg.get("subject", ""))
        return await asyncio.to_thread(self.store.is_bot_topic, self.name, topic)

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
                    self.bot_name = str(me.get("full_name") or self.bot_name)
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

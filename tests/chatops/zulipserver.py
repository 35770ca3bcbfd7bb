"""A local Zulip server speaking the documented REST API, for tests of the notifier and bot.

Implemented from https://zulip.com/api/ (send-message, update-message, add/remove-reaction,
get-message, register-queue, get-events, get-own-user, rest-error-handling, http-headers,
message-formatting, resolve-a-topic):
HTTP Basic auth ``email:api_key``; errors as ``{"result": "error", "msg", "code"}``; a per-user
rate limit with ``X-RateLimit-*`` headers and 429 ``RATE_LIMIT_HIT`` + ``Retry-After``; event
queues with heartbeats, expiry → ``BAD_EVENT_QUEUE_ID``; topics cut at 60 characters.

As Zulip does, too: mentions go by name (``@**Alice**``) or name and id (``@**Alice|11**``),
silent ones (``@_**Alice|11**``) set no ``mentioned`` flag, and anything else (``@**alice@…**``,
plain ``@Alice``) is text; users may hide their e-mail (``hidden_emails``: the API shows
``user<id>@zulip.example.org``); content edits are refused after ``edit_limit`` seconds;
moving a topic to ``✔ topic`` resolves it, and the Notification Bot says so in it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from livesite import free_port


@dataclass
class User:
    user_id: int
    email: str
    full_name: str
    api_key: str
    is_bot: bool = False

    def brief(self) -> dict[str, Any]:
        return {"id": self.user_id, "email": self.email, "full_name": self.full_name}


@dataclass
class Queue:
    id: str
    user: User
    event_types: list[str]
    events: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, ev: dict[str, Any]) -> None:
        if ev["type"] not in self.event_types:
            return
        self.events.append({**ev, "id": self.next_id})
        self.next_id += 1
        self.wake.set()


async def _form(request: Request) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` parameters (the Zulip API's request format)."""
    body = (await request.body()).decode()
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


MENTION = re.compile(r"@(_?)\*\*([^*|]+?)(?:\|(\d+))?\*\*")
RESOLVED = "✔ "


def error(msg: str, code: str, status: int = 400, **extra: Any) -> JSONResponse:
    return JSONResponse({"result": "error", "msg": msg, "code": code, **extra}, status)


class ZulipServer:
    def __init__(
        self, *, rate_limit: int = 200, heartbeat: float = 1.0, edit_limit: float = 600.0
    ) -> None:
        self.users: dict[str, User] = {}
        self.hidden_emails: set[str] = set()
        """Users whose e-mail the API does not show (``email_address_visibility``)."""
        self.edit_limit = edit_limit
        self.unavailable_topics: dict[str, int] = {}
        """Topic → how many more posts to it are answered 503 (a server in trouble)."""
        """Seconds after sending that a message's content may be edited (the realm default)."""
        self.streams = {"monitoring"}
        self.realm_emoji: dict[str, str] = {}
        """Custom emoji name → id (``POST /realm/emoji/{name}`` uploads them in Zulip)."""
        self.messages: dict[int, dict[str, Any]] = {}
        self.queues: dict[str, Queue] = {}
        self.rate_limit = rate_limit
        self.heartbeat = heartbeat
        self.requests: list[tuple[str, str, float]] = []
        self._ids = itertools.count(100)
        self._qids = itertools.count(1)
        self._hits: dict[str, list[float]] = {}
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.add_user("bot@zulip.test", "Lookout", is_bot=True)
        self.notification_bot = self.add_user("notification-bot@zulip.test", "Notification Bot")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_user(self, email: str, name: str, *, is_bot: bool = False) -> User:
        u = User(len(self.users) + 10, email, name, f"key-{len(self.users)}", is_bot)
        self.users[email] = u
        return u

    def email_of(self, user: User) -> str:
        """The e-mail other users and bots see."""
        if user.email in self.hidden_emails:
            return f"user{user.user_id}@zulip.example.org"
        return user.email

    def by_id(self, user_id: int) -> User | None:
        return next((u for u in self.users.values() if u.user_id == user_id), None)

    def mentions(self, content: str) -> tuple[set[int], set[int]]:
        """User ids ``content`` mentions: (notified, silently). ``@**Name|id**`` needs the id
        to match the name; ``@**Name**`` a unique full name; e-mails are no mentions."""
        loud: set[int] = set()
        silent: set[int] = set()
        for m in MENTION.finditer(content):
            name, uid = m.group(2), m.group(3)
            found = [
                u
                for u in self.users.values()
                if u.full_name == name and (uid is None or u.user_id == int(uid))
            ]
            if len(found) == 1:
                (silent if m.group(1) else loud).add(found[0].user_id)
        return loud, silent

    def recipient(self, to: object) -> User | None:
        """A direct message recipient by user id or by the e-mail the sender sees."""
        if isinstance(to, int):
            return self.by_id(to)
        return next((u for u in self.users.values() if self.email_of(u) == to), None)

    # ------------------------------------------------------------------ running
    def app(self) -> Starlette:
        api = "/api/v1"
        return Starlette(
            routes=[
                Route(f"{api}/messages", self.send_message, methods=["POST"]),
                Route(f"{api}/messages/{{mid:int}}", self.get_message, methods=["GET"]),
                Route(f"{api}/messages/{{mid:int}}", self.update_message, methods=["PATCH"]),
                Route(
                    f"{api}/messages/{{mid:int}}/reactions",
                    self.reaction,
                    methods=["POST", "DELETE"],
                ),
                Route(f"{api}/register", self.register, methods=["POST"]),
                Route(f"{api}/events", self.get_events, methods=["GET", "DELETE"]),
                Route(f"{api}/users/me", self.me, methods=["GET"]),
                Route(f"{api}/users/{{uid:int}}", self.get_user, methods=["GET"]),
                Route("/_test/messages", self.dump, methods=["GET"]),
            ]
        )

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):  # uvicorn exposes no start-up event
            if self._server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("local Zulip server did not start")

    async def stop(self) -> None:
        """Go down (connections are refused until :meth:`start`); state is kept."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            for q in self.queues.values():
                q.wake.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._server = None

    # ------------------------------------------------------------------ auth and limits
    def _auth(self, request: Request) -> User | Response:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return error("Missing 'Authorization' header", "UNAUTHORIZED", 401)
        try:
            email, _, key = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return error("Invalid authorization header", "UNAUTHORIZED", 401)
        user = self.users.get(email)
        if user is None or user.api_key != key:
            return error("Invalid API key", "INVALID_API_KEY", 401)
        return user

    def _limit(self, user: User) -> tuple[dict[str, str], Response | None]:
        now = time.time()
        hits = [t for t in self._hits.get(user.email, []) if t > now - 60]
        reset = (hits[0] + 60) if hits else now + 60
        if len(hits) >= self.rate_limit:
            wait = max(1, int(reset - now) + 1)
            headers = {
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(reset)),
                "Retry-After": str(wait),
            }
            resp = error(
                "API usage exceeded rate limit", "RATE_LIMIT_HIT", 429, **{"retry-after": wait}
            )
            resp.headers.update(headers)
            return headers, resp
        hits.append(now)
        self._hits[user.email] = hits
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(self.rate_limit - len(hits)),
            "X-RateLimit-Reset": str(int(reset)),
        }, None

    async def _enter(self, request: Request) -> tuple[User, dict[str, str]] | Response:
        who = self._auth(request)
        if isinstance(who, Response):
            return who
        headers, limited = self._limit(who)
        self.requests.append((request.method, request.url.path, time.time()))
        return limited if limited is not None else (who, headers)

    @staticmethod
    def ok(headers: dict[str, str], **body: Any) -> JSONResponse:
        return JSONResponse({"result": "success", "msg": "", **body}, headers=headers)

    # ------------------------------------------------------------------ messages
    def post(
        self,
        sender: User,
        stream: str,
        topic: str,
        content: str,
        kind: str,
        to: list[int] | list[str] | None = None,
    ) -> int:
        mid = next(self._ids)
        targets = [self.recipient(x) for x in to or []]
        to_ids = [u.user_id for u in targets if u is not None]
        msg = {
            "id": mid,
            "type": kind,
            "sender_id": sender.user_id,
            "sender_email": self.email_of(sender),
            "sender_full_name": sender.full_name,
            "display_recipient": stream,
            "subject": topic[:60],
            "content": content[:10000],
            "timestamp": int(time.time()),
            "timestamp_f": time.time(),  # not Zulip's: when this server received it
            "reactions": [],
            "to": to_ids,  # not Zulip's: the user ids of a direct message
        }
        self.messages[mid] = msg
        loud, _ = self.mentions(content)
        for q in self.queues.values():
            if q.user is sender:
                continue
            mentioned = q.user.user_id in loud
            if kind == "stream" or q.user.user_id in to_ids:
                flags = ["mentioned"] if mentioned else []
                q.push({"type": "message", "message": dict(msg), "flags": flags})
        return mid

    async def send_message(self, request: Request) -> Response:
        entered = await self._enter(request)
        if isinstance(entered, Response):
            return entered
        user, headers = entered
        form = await _form(request)
        kind = str(form.get("type", ""))
        content = str(form.get("content", ""))
        if not content:
            return error("Message must not be empty", "BAD_REQUEST")
        if kind in ("stream", "channel"):
            to = str(form.get("to", ""))
            if to not in self.streams:
                return error(f"Channel '{to}' does not exist", "STREAM_DOES_NOT_EXIST")
            topic = str(form.get("topic") or form.get("subject") or "")
            if not topic:
                return error("Missing topic", "BAD_REQUEST")
            if self.unavailable_topics.get(topic, 0) > 0:
                self.unavailable_topics[topic] -= 1
                return Response("Service Unavailable", 503)
            mid = self.post(user, to, topic, content, "stream")
        elif kind in ("private", "direct"):
            to = json.loads(str(form.get("to", "[]")))
            if not all(self.recipient(x) for x in to):
                return error(f"Invalid user ID or e-mail in {to}", "BAD_REQUEST")
            mid = self.post(user, "", "", content, "private", to=to)
        else:
            return error(f"Invalid message type '{kind}'", "BAD_REQUEST")
        return self.ok(headers, id=mid)

    async def get_message(self, request: Request) -> Response:
        entered = await self._enter(request)
        if isinstance(entered, Response):
            return entered
        _, headers = entered
        msg = self.messages.get(request.path_params["mid"])
        if msg is None:
            return error("Invalid message(s)", "BAD_REQUEST")
        return self.ok(headers, message=msg, raw_content=msg["content"])

    async def update_message(self, request: Request) -> Response:
        entered = await self._enter(request)
        if isinstance(entered, Response):
            return entered
        user, headers = entered
        msg = self.messages.get(request.path_params["mid"])
        if msg is None:
            return error("Invalid message(s)", "BAD_REQUEST")
        form = await _form(request)
        topic = form.get("topic")
        if "content" in form and msg["sender_id"] != user.user_id:
            return error("You don't have permission to edit this message", "BAD_REQUEST")
        if "content" in form and time.time() - msg["timestamp_f"] > self.edit_limit:
            return error("The time limit for editing this message has passed", "BAD_REQUEST")
        if topic is not None:
            self.move_topic(user, msg, str(topic).strip()[:60], form)
        if "content" in form:
            msg["content"] = str(form["content"])
        return self.ok(headers)

    def move_topic(self, user: User, msg: dict[str, Any], topic: str, form: dict[str, str]) -> None:
        old = msg["subject"]
        mode = str(form.get("propagate_mode", "change_one"))
        for m in self.messages.values():
            same = m["display_recipient"] == msg["display_recipient"] and m["subject"] == old
            if m is msg or (mode == "change_all" and same):
                m["subject"] = topic
        resolved = topic == RESOLVED + old.removeprefix(RESOLVED) and not old.startswith(RESOLVED)
        if resolved and form.get("send_notification_to_new_thread", "true") == "true":
            note = f"@_**{user.full_name}|{user.user_id}** has marked this topic as resolved."
            self.post(self.notification_bot, msg["display_recipient"], topic, note, "stream")

    def add_reaction(self, user: User, mid: int, name: str, rtype: str) -> Response | None:
        msg = self.messages.get(mid)
        if msg is None:
            return error("Invalid message(s)", "BAD_REQUEST")
        if rtype == "realm_emoji":
            if name not in self.realm_emoji:
                return error(f"Emoji '{name}' does not exist", "BAD_REQUEST")
            code = self.realm_emoji[name]
        else:
            code = f"{rtype}:{name}"
        if any(r["user_id"] == user.user_id and r["emoji_name"] == name for r in msg["reactions"]):
            return error("Reaction already exists.", "REACTION_ALREADY_EXISTS")
        reaction = {
            "emoji_name": name,
            "emoji_code": code,
            "reaction_type": rtype,
            "user_id": user.user_id,
            "user": {**user.brief(), "email": self.email_of(user)},
        }
        msg["reactions"].append(reaction)
        for q in self.queues.values():
            q.push({"type": "reaction", "op": "add", "message_id": mid, **reaction})
        return None

    async def reaction(self, request: Request) -> Response:
        entered = await self._enter(request)
        if isinstance(entered, Response):
            return entered
        user, headers = entered
        form = await _form(request)
        mid = request.path_params["mid"]
        name = str(form.get("emoji_name", ""))
        rtype = str(form.get("reaction_type", "unicode_emoji"))
        if request.method == "POST":
            failed = self.add_reaction(user, mid, name, rtype)
            return failed or self.ok(headers)
        msg = self.messages.get(mid)
        mine = [
            r
            for r in (msg or {}).get("reactions", [])
            if r["user_id"] == user.user_id and r["emoji_name"] == name
        ]
        if msg is None or not mine:
            return error("Reaction doesn't exist.", "REACTION_DOES_NOT_EXIST")
        msg["reactions"].remove(mine[0])
        return self.ok(headers)

    # ------------------------------------------------------------------ events
    async def register(self, request: Request) -> Response:
        entered = await self._enter(request)
        if isinstance(entered, Response):
            return entered
        user, headers = entered
        form = await _form(request)
        types = json.loads(str(form.get("event_types", '["message"]')))
        qid = f"q{next(self._qids)}"
        self.queues[qid] = Queue(qid, user, [*types, "heartbeat"])
        return self.ok(
            headers,
            queue_id=qid,
            last_event_id=-1,
            zulip_feature_level=300,
            max_message_length=10000,
            event_queue_longpoll_timeout_seconds=max(1, int(self.heartbeat * 2)),
        )

    def expire_queue(self, qid: str | None = None) -> None:
        """Garbage-collect queues (as Zulip does after 10 idle minutes)."""
        for key in [qid] if qid else list(self.queues):
            q = self.queues.pop(key, None)
            if q is not None:
                q.wake.set()

    async def get_events(self, request: Request) -> Response:
        entered = await self._enter(request)
        if isinstance(entered, Response):
            return entered
        _, headers = entered
        qid = request.query_params.get("queue_id", "")
        q = self.queues.get(qid)
        if q is None:
            return error(f"Bad event queue ID: {qid}", "BAD_EVENT_QUEUE_ID", queue_id=qid)
        if request.method == "DELETE":
            self.queues.pop(qid, None)
            return self.ok(headers)
        last = int(request.query_params.get("last_event_id", "-1"))
        q.events = [e for e in q.events if e["id"] > last]
        if not q.events:
            q.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(q.wake.wait(), self.heartbeat)
            if qid not in self.queues:
                return error(f"Bad event queue ID: {qid}", "BAD_EVENT_QUEUE_ID", queue_id=qid)
            if not q.events:
                q.push({"type": "heartbeat"})
        return self.ok(headers, events=list(q.events), queue_id=qid)

    async def me(self, request: Request) -> Response:
        entered = await self._enter(request)
        if isinstance(entered, Response):
            return entered
        user, headers = entered
        return self.ok(
            headers,
            user_id=user.user_id,
            email=user.email,
            full_name=user.full_name,
            is_bot=user.is_bot,
        )

    async def get_user(self, request: Request) -> Response:
        entered = await self._enter(request)
        if isinstance(entered, Response):
            return entered
        _, headers = entered
        uid = request.path_params["uid"]
        user = next((u for u in self.users.values() if u.user_id == uid), None)
        if user is None:
            return error("No such user", "BAD_REQUEST")
        hidden = user.email in self.hidden_emails
        return self.ok(
            headers,
            user={
                **user.brief(),
                "email": self.email_of(user),
                "delivery_email": None if hidden else user.email,
                "user_id": user.user_id,
            },
        )

    # ------------------------------------------------------------------ for tests
    async def dump(self, request: Request) -> Response:
        """Not Zulip's: every stored message, for a benchmark in another process."""
        return JSONResponse(
            {"messages": list(self.messages.values()), "requests": len(self.requests)}
        )

    def direct_messages(self, to: User) -> list[dict[str, Any]]:
        return [
            m for m in self.messages.values() if m["type"] == "private" and m["to"] == [to.user_id]
        ]

    def stream_messages(self, topic: str | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages.values()
            if m["type"] == "stream" and (topic is None or m["subject"] == topic)
        ]


if __name__ == "__main__":  # a standalone server (the benchmark runs it in its own process)
    import sys

    server = ZulipServer(rate_limit=int(sys.argv[2]) if len(sys.argv) > 2 else 200)
    server.port = int(sys.argv[1])
    uvicorn.run(server.app(), host="127.0.0.1", port=server.port, log_level="warning")

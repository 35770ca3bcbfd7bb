"""Database access of the notifier: configuration, the outbox, the event cursor, per-object
notification state, and the chat bot's message map. Synchronous; callers use a thread."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lookout.domain.events import Event
from lookout.errors import ConfigError, Conflict, NotFound
from lookout.notify.spec import (
    CHANNEL_ADAPTER,
    SECRET_FIELDS,
    SECRET_VALUES,
    Channel,
    Contact,
    Rule,
)
from lookout.storage import tables as t
from lookout.storage.store import event_from_row
from lookout.storage.vault import Vault

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
SEALED = "fernet:"
SEALED_JSON = "fernet-json:"
"""Prefix of a sealed list or map (apprise URLs, webhook headers): JSON inside."""
"""Prefix of a sealed secret in a stored channel spec; a secret without it is plain text, as
databases written before secrets were sealed hold them (``seal_plain_secrets`` seals those)."""


@dataclass(slots=True)
class Delivery:
    """A row of the outbox."""

    id: int
    key: str
    event_id: int
    kind: str
    rule: str
    channel: str
    recipient: str
    host: str
    service: str
    number: int
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: float
    due_at: float
    sent_at: float | None
    error: str
    external_id: str

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(slots=True)
class ObjectState:
    host: str
    service: str
    problem_id: int
    number: int
    last_sent_at: float
    recipients: list[list[str]]
    """[channel, recipient] pairs that got the problem."""


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


class NotifyStore:
    """Without a ``vault`` (tests of the tables) a channel with a secret is refused."""

    def __init__(self, db: sa.Engine, vault: Vault | None = None) -> None:
        self.db = db
        self.vault = vault

    # ------------------------------------------------------------------ secrets at rest
    def _seal(self, spec: dict[str, Any]) -> dict[str, Any]:
        secrets = {k: v for k, v in spec.items() if _is_plain_secret(k, v)}
        if not secrets:
            return spec
        if self.vault is None:
            raise ConfigError(f"no site key to seal the channel's {', '.join(secrets)} with")
        vault = self.vault
        return {**spec, **{k: _sealed(vault, v) for k, v in secrets.items()}}

    def _open(self, spec: dict[str, Any]) -> dict[str, Any]:
        """``spec`` with its sealed secrets opened; plain ones (older databases) pass as they
        are. Raises ConfigError when a secret does not open with the site key."""
        sealed = {
            k: v
            for k, v in spec.items()
            if k in SECRET_FIELDS + SECRET_VALUES
            and isinstance(v, str)
            and v.startswith((SEALED, SEALED_JSON))
        }
        if not sealed:
            return spec
        if self.vault is None:
            raise ConfigError("no site key to open the channel's secrets with")
        vault = self.vault
        return {**spec, **{k: _opened(vault, v) for k, v in sealed.items()}}

    def seal_plain_secrets(self, at: float) -> list[str]:
        """Seal the plain-text secrets of channels stored before secrets were sealed (run at
        start; idempotent). Returns the names of the channels sealed."""
        c = t.notify_channels
        done = []
        with self.db.begin() as conn:
            for name, spec in conn.execute(sa.select(c.c.name, c.c.spec).order_by(c.c.name)):
                plain = {k: v for k, v in spec.items() if _is_plain_secret(k, v)}
                if plain:
                    sealed = {**spec, **self._seal(plain)}
                    conn.execute(
                        c.update().where(c.c.name == name).values(spec=sealed, updated_at=at)
                    )
                    done.append(name)
        return done

    # ------------------------------------------------------------------ configuration
    def channels(self) -> list[Channel]:
        """The stored channels with their secrets opened. A channel whose secrets do not open
        (the key file was replaced) is left out and logged: it costs that channel only."""
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(t.notify_channels).order_by(t.notify_channels.c.name))
            out = []
            for r in rows:
                try:
                    spec = self._open(r.spec)
                except ConfigError as exc:
                    log.error("channel %s left out: its secrets do not open: %s", r.name, exc)
                    continue
                out.append(Channel(name=r.name, spec=CHANNEL_ADAPTER.validate_python(spec)))
            return out

    def channel_names(self) -> set[str]:
        """Names of the stored channels (secrets left sealed)."""
        with self.db.connect() as conn:
            return set(conn.execute(sa.select(t.notify_channels.c.name)).scalars())

    def channel_spec(self, name: str) -> dict[str, Any]:
        """The stored spec of ``name``, secrets opened (ConfigError if they do not open)."""
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(t.notify_channels.c.spec).where(t.notify_channels.c.name == name)
            ).first()
        if row is None:
            raise NotFound(f"channel {name!r} not found")
        try:
            return self._open(row[0])
        except ConfigError as exc:
            raise ConfigError(
                f"channel {name!r}: {exc}; give its secrets again in full, not masked"
            ) from exc

    def put_channel(self, ch: Channel, at: float, *, create: bool) -> None:
        """Store ``ch`` with its secrets sealed."""
        spec = self._seal(ch.spec.model_dump(mode="json"))
        with self.db.begin() as conn:
            exists = conn.execute(
                sa.select(t.notify_channels.c.name).where(t.notify_channels.c.name == ch.name)
            ).first()
            if create and exists:
                raise Conflict(f"channel {ch.name!r} exists already")
            if exists:
                conn.execute(
                    t.notify_channels.update()
                    .where(t.notify_channels.c.name == ch.name)
                    .values(type=ch.spec.type, spec=spec, updated_at=at)
                )
            else:
                conn.execute(
                    t.notify_channels.insert().values(
                        name=ch.name, type=ch.spec.type, spec=spec, created_at=at, updated_at=at
                    )
                )

    def delete_channel(self, name: str) -> None:
        with self.db.begin() as conn:
            n = conn.execute(t.notify_channels.delete().where(t.notify_channels.c.name == name))
        if not n.rowcount:
            raise NotFound(f"channel {name!r} not found")

    def rules(self) -> list[Rule]:
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(t.notify_rules.c.spec).order_by(
                    t.notify_rules.c.position, t.notify_rules.c.name
                )
            )
            return [Rule.model_validate(r.spec) for r in rows]

    def put_rule(self, rule: Rule, at: float, *, position: int | None, create: bool) -> None:
        spec = rule.model_dump(mode="json")
        r = t.notify_rules
        with self.db.begin() as conn:
            row = conn.execute(sa.select(r.c.position).where(r.c.name == rule.name)).first()
            if create and row is not None:
                raise Conflict(f"rule {rule.name!r} exists already")
            if position is None:
                if row is not None:
                    position = row[0]
                else:
                    last = conn.execute(sa.select(sa.func.max(r.c.position))).scalar()
                    position = (last or 0) + 10
            if row is not None:
                conn.execute(
                    r.update()
                    .where(r.c.name == rule.name)
                    .values(spec=spec, position=position, updated_at=at)
                )
            else:
                conn.execute(
                    r.insert().values(
                        name=rule.name, position=position, spec=spec, created_at=at, updated_at=at
                    )
                )

    def order_rules(self, names: list[str], at: float) -> None:
        """Number the rules ``names`` 10, 20, … in that order (one transaction)."""
        r = t.notify_rules
        with self.db.begin() as conn:
            for i, name in enumerate(names):
                conn.execute(
                    r.update().where(r.c.name == name).values(position=(i + 1) * 10, updated_at=at)
                )

    def delete_rule(self, name: str) -> None:
        with self.db.begin() as conn:
            n = conn.execute(t.notify_rules.delete().where(t.notify_rules.c.name == name))
        if not n.rowcount:
            raise NotFound(f"rule {name!r} not found")

    def contacts(self) -> list[Contact]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(t.notify_contacts).order_by(t.notify_contacts.c.user))
            return [Contact(user=r.user, groups=r.groups, zulip=r.zulip) for r in rows]

    def put_contact(self, c: Contact, at: float) -> None:
        with self.db.begin() as conn:
            known = conn.execute(sa.select(t.users.c.name).where(t.users.c.name == c.user)).first()
            if known is None:
                raise NotFound(f"user {c.user!r} not found")
            stmt = _insert(conn, t.notify_contacts).values(
                user=c.user, groups=c.groups, zulip=c.zulip, updated_at=at
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["user"],
                    set_={"groups": c.groups, "zulip": c.zulip, "updated_at": at},
                )
            )

    def users(self) -> dict[str, tuple[str, str]]:
        """User → (email, role)."""
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(t.users.c.name, t.users.c.email, t.users.c.role))
            return {r.name: (r.email, r.role) for r in rows}

    # ------------------------------------------------------------------ events and cursor
    def cursor(self) -> int:
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(t.notify_cursor.c.event_id).where(t.notify_cursor.c.id == 1)
            ).first()
            if row is not None:
                return int(row[0])
            last = conn.execute(sa.select(sa.func.max(t.events.c.id))).scalar()
            return int(last or 0)  # a new notifier does not notify history

    def events_after(self, event_id: int, limit: int = 5000) -> list[Event]:
        e = t.events
        q = sa.select(e).where(e.c.id > event_id).order_by(e.c.id).limit(limit)
        with self.db.connect() as conn:
            return [event_from_row(r) for r in conn.execute(q)]

    def objects(self) -> dict[tuple[str, str], ObjectState]:
        with self.db.connect() as conn:
            return {
                (r.host, r.service): ObjectState(
                    r.host, r.service, r.problem_id, r.number, r.last_sent_at, r.recipients
                )
                for r in conn.execute(sa.select(t.notify_objects))
            }

    def commit_batch(
        self,
        cursor: int,
        at: float,
        rows: Sequence[dict[str, Any]],
        put_objects: Iterable[ObjectState],
        drop_objects: Iterable[tuple[str, str]],
    ) -> list[Delivery]:
        """Store deliveries (ignoring keys seen before), object states and the cursor in one
        transaction; returns the deliveries that are new."""
        with self.db.begin() as conn:
            new: list[Delivery] = []
            if rows:
                keys = [r["key"] for r in rows]
                seen = {
                    k
                    for (k,) in conn.execute(
                        sa.select(t.notify_deliveries.c.key).where(
                            t.notify_deliveries.c.key.in_(keys)
                        )
                    )
                }
                fresh = [r for r in rows if r["key"] not in seen]
                if fresh:
                    conn.execute(t.notify_deliveries.insert(), fresh)
                    q = sa.select(t.notify_deliveries).where(
                        t.notify_deliveries.c.key.in_([r["key"] for r in fresh])
                    )
                    new = [_delivery(r) for r in conn.execute(q.order_by(t.notify_deliveries.c.id))]
            for obj in put_objects:
                values = {
                    "problem_id": obj.problem_id,
                    "number": obj.number,
                    "last_sent_at": obj.last_sent_at,
                    "recipients": obj.recipients,
                }
                stmt = _insert(conn, t.notify_objects).values(
                    host=obj.host, service=obj.service, **values
                )
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=["host", "service"], set_=values)
                )
            for host, service in drop_objects:
                conn.execute(
                    t.notify_objects.delete().where(
                        (t.notify_objects.c.host == host) & (t.notify_objects.c.service == service)
                    )
                )
            stmt = _insert(conn, t.notify_cursor).values(id=1, event_id=cursor, at=at)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"], set_={"event_id": cursor, "at": at}
                )
            )
            return new

    # ------------------------------------------------------------------ outbox
    def pending(self) -> list[Delivery]:
        d = t.notify_deliveries
        with self.db.connect() as conn:
            q = sa.select(d).where(d.c.status == PENDING).order_by(d.c.id)
            return [_delivery(r) for r in conn.execute(q)]

    def fail_interrupted(self, at: float) -> int:
        """Deliveries caught mid-send by a crash: their outcome is unknown, and sending again
        could deliver twice, so they are marked failed (at most once)."""
        d = t.notify_deliveries
        with self.db.begin() as conn:
            n = conn.execute(
                d.update()
                .where(d.c.status == SENDING)
                .values(status=FAILED, error="interrupted while sending; not retried", sent_at=at)
            )
            return int(n.rowcount or 0)

    def mark(self, ids: Sequence[int], status: str, **values: Any) -> None:
        d = t.notify_deliveries
        with self.db.begin() as conn:
            conn.execute(d.update().where(d.c.id.in_(list(ids))).values(status=status, **values))

    def mark_sent_many(self, pairs: Sequence[tuple[int, str]], at: float) -> None:
        """Mark deliveries sent, each with its external id, in one transaction."""
        d = t.notify_deliveries
        by_ext: dict[str, list[int]] = {}
        for id_, ext in pairs:
            by_ext.setdefault(ext, []).append(id_)
        with self.db.begin() as conn:
            for ext, ids in by_ext.items():
                conn.execute(
                    d.update()
                    .where(d.c.id.in_(ids))
                    .values(status=SENT, sent_at=at, error="", external_id=ext)
                )

    def mark_attempt(self, ids: Sequence[int]) -> None:
        d = t.notify_deliveries
        with self.db.begin() as conn:
            conn.execute(
                d.update()
                .where(d.c.id.in_(list(ids)))
                .values(status=SENDING, attempts=d.c.attempts + 1)
            )

    def counts_since(self, since: float) -> dict[str, int]:
        """Deliveries created since ``since``, by status (for the overview's health line)."""
        d = t.notify_deliveries
        q = (
            sa.select(d.c.status, sa.func.count())
            .where(d.c.created_at >= since)
            .group_by(d.c.status)
        )
        with self.db.connect() as conn:
            return {status: int(n) for status, n in conn.execute(q)}

    def deliveries(
        self,
        *,
        status: str | None = None,
        channel: str | None = None,
        host: str | None = None,
        service: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        d = t.notify_deliveries
        q = sa.select(d)
        for col, value in (
            (d.c.status, status),
            (d.c.channel, channel),
            (d.c.host, host),
            (d.c.service, service),
        ):
            if value is not None:
                q = q.where(col == value)
        with self.db.connect() as conn:
            return [_delivery(r) for r in conn.execute(q.order_by(d.c.id.desc()).limit(limit))]

    # ------------------------------------------------------------------ chat messages
    def record_message(
        self,
        channel: str,
        message_id: int,
        objects: Sequence[tuple[str, str]],
        stream: str,
        topic: str,
        at: float,
    ) -> None:
        rows = [
            {
                "channel": channel,
                "message_id": message_id,
                "host": h,
                "service": s,
                "stream": stream,
                "topic": topic,
                "posted_at": at,
                "open": True,
            }
            for h, s in objects
        ]
        with self.db.begin() as conn:
            conn.execute(_insert(conn, t.chat_messages).on_conflict_do_nothing(), rows)

    def message_objects(self, channel: str, message_id: int) -> list[tuple[str, str]]:
        m = t.chat_messages
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(m.c.host, m.c.service).where(
                    (m.c.channel == channel) & (m.c.message_id == message_id)
                )
            )
            return [(r.host, r.service) for r in rows]

    def open_messages(self, channel: str, since: float = 0.0) -> list[int]:
        """Problem messages not recovered yet, posted after ``since``."""
        m = t.chat_messages
        with self.db.connect() as conn:
            q = (
                sa.select(m.c.message_id)
                .where((m.c.channel == channel) & m.c.open & (m.c.posted_at >= since))
                .distinct()
            )
            return sorted(r[0] for r in conn.execute(q))

    def message_topic(self, channel: str, message_id: int) -> str | None:
        """The topic a problem message was posted to (without the resolved mark)."""
        m = t.chat_messages
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(m.c.topic)
                .where((m.c.channel == channel) & (m.c.message_id == message_id))
                .limit(1)
            ).first()
        return None if row is None else str(row[0])

    def problem_topics(
        self, channel: str, objects: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """Object → the topic of its latest problem message (objects without one left out)."""
        m = t.chat_messages
        out: dict[tuple[str, str], str] = {}
        with self.db.connect() as conn:
            for host, service in objects:
                row = conn.execute(
                    sa.select(m.c.topic)
                    .where((m.c.channel == channel) & (m.c.host == host) & (m.c.service == service))
                    .order_by(m.c.message_id.desc())
                    .limit(1)
                ).first()
                if row is not None:
                    out[(host, service)] = str(row[0])
        return out

    def open_problem_message(
        self, channel: str, host: str, service: str
    ) -> tuple[int, bool] | None:
        """The object's latest open problem message, and whether it is about this object alone."""
        m = t.chat_messages
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(m.c.message_id)
                .where(
                    (m.c.channel == channel)
                    & (m.c.host == host)
                    & (m.c.service == service)
                    & m.c.open
                )
                .order_by(m.c.message_id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            n = conn.execute(
                sa.select(sa.func.count())
                .select_from(m)
                .where((m.c.channel == channel) & (m.c.message_id == row[0]))
            ).scalar()
        return int(row[0]), n == 1

    def is_bot_topic(self, channel: str, topic: str) -> bool:
        """A topic the bot posted a problem to."""
        m = t.chat_messages
        bare = topic.removeprefix("✔ ")
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(m.c.message_id)
                .where((m.c.channel == channel) & (m.c.topic == bare))
                .limit(1)
            ).first()
        return row is not None

    def object_of_topic(self, channel: str, topic: str) -> tuple[str, str] | None:
        m = t.chat_messages
        bare = topic.removeprefix("✔ ")
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(m.c.host, m.c.service, sa.func.count())
                .where((m.c.channel == channel) & (m.c.topic == bare))
                .group_by(m.c.host, m.c.service)
                .limit(2)
            ).all()
        return (row[0][0], row[0][1]) if len(row) == 1 else None

    def close_problems(self, channel: str, objects: Sequence[tuple[str, str]]) -> dict[str, int]:
        """Close the problem messages of recovered objects. Returns the topics this left
        without an open problem (to be marked resolved), each with a message id in it."""
        m = t.chat_messages
        touched: set[str] = set()
        with self.db.begin() as conn:
            for host, service in objects:
                mine = (
                    (m.c.channel == channel)
                    & (m.c.host == host)
                    & (m.c.service == service)
                    & m.c.open
                )
                touched.update(str(r[0]) for r in conn.execute(sa.select(m.c.topic).where(mine)))
                conn.execute(m.update().where(mine).values(open=False))
            done: dict[str, int] = {}
            for topic in sorted(touched):
                here = (m.c.channel == channel) & (m.c.topic == topic)
                still = conn.execute(sa.select(m.c.message_id).where(here & m.c.open).limit(1))
                if still.first() is None:
                    last = conn.execute(sa.select(sa.func.max(m.c.message_id)).where(here))
                    done[topic] = int(last.scalar() or 0)
            return done

    def close_messages(self, channel: str, host: str, service: str) -> None:
        self.close_problems(channel, [(host, service)])

    # ------------------------------------------------------------------ linked Zulip accounts
    def linked_user(self, realm: str, zulip_user_id: int) -> str | None:
        """The Lookout user a Zulip account was linked to (by its user id)."""
        k = t.chat_links
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(k.c.user).where(
                    (k.c.realm == realm) & (k.c.zulip_user_id == zulip_user_id)
                )
            ).first()
        return None if row is None else str(row[0])

    def put_link_code(
        self, realm: str, zulip_user_id: int, full_name: str, code: str, expires_at: float
    ) -> None:
        """Remember a one-time code (as its hash) that links this Zulip account when a
        Lookout user enters it; the account's earlier codes and expired ones are dropped."""
        c = t.chat_link_codes
        with self.db.begin() as conn:
            conn.execute(
                c.delete().where(
                    ((c.c.realm == realm) & (c.c.zulip_user_id == zulip_user_id))
                    | (c.c.expires_at < expires_at - 86400)
                )
            )
            conn.execute(
                c.insert().values(
                    code_hash=_code_hash(code),
                    realm=realm,
                    zulip_user_id=zulip_user_id,
                    full_name=full_name,
                    expires_at=expires_at,
                )
            )

    def redeem_link_code(self, code: str, user: str, at: float) -> str | None:
        """Link the Zulip account the code was made for to ``user``; returns its Zulip name
        (None: no such code, or it expired). A code works once."""
        c, k = t.chat_link_codes, t.chat_links
        with self.db.begin() as conn:
            row = conn.execute(
                sa.select(c).where(c.c.code_hash == _code_hash(code)).with_for_update()
            ).first()
            if row is None:
                return None
            conn.execute(c.delete().where(c.c.code_hash == row.code_hash))
            if row.expires_at < at:
                return None
            values = {"user": user, "full_name": row.full_name, "linked_at": at}
            stmt = _insert(conn, k).values(
                realm=row.realm, zulip_user_id=row.zulip_user_id, **values
            )
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["realm", "zulip_user_id"], set_=values)
            )
            return str(row.full_name)

    def zulip_links(self, user: str) -> list[tuple[str, int, str]]:
        """The Zulip accounts linked to ``user``: (realm, user id, name)."""
        k = t.chat_links
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(k.c.realm, k.c.zulip_user_id, k.c.full_name)
                .where(k.c.user == user)
                .order_by(k.c.realm, k.c.zulip_user_id)
            )
            return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def unlink(self, user: str, realm: str, zulip_user_id: int) -> bool:
        k = t.chat_links
        with self.db.begin() as conn:
            n = conn.execute(
                k.delete().where(
                    (k.c.user == user) & (k.c.realm == realm) & (k.c.zulip_user_id == zulip_user_id)
                )
            )
        return bool(n.rowcount)

    def claim_reaction(
        self, channel: str, message_id: int, user_id: int, emoji: str, at: float
    ) -> bool:
        """True the first time this reaction is seen (it is then acted on exactly once)."""
        with self.db.begin() as conn:
            res = conn.execute(
                _insert(conn, t.chat_reactions)
                .values(
                    channel=channel,
                    message_id=message_id,
                    user_id=user_id,
                    emoji=emoji,
                    at=at,
                    outcome="",
                )
                .on_conflict_do_nothing()
                .returning(t.chat_reactions.c.at)
            )
            return res.first() is not None

    def release_reaction(
        self, channel: str, message_id: int, user_id: int, emoji: str, outcome: str = ""
    ) -> None:
        """Forget a claimed reaction that was refused (``outcome`` is not kept)."""
        r = t.chat_reactions
        with self.db.begin() as conn:
            conn.execute(
                r.delete().where(
                    (r.c.channel == channel)
                    & (r.c.message_id == message_id)
                    & (r.c.user_id == user_id)
                    & (r.c.emoji == emoji)
                )
            )

    def reaction_outcome(
        self, channel: str, message_id: int, user_id: int, emoji: str, outcome: str
    ) -> None:
        r = t.chat_reactions
        with self.db.begin() as conn:
            conn.execute(
                r.update()
                .where(
                    (r.c.channel == channel)
                    & (r.c.message_id == message_id)
                    & (r.c.user_id == user_id)
                    & (r.c.emoji == emoji)
                )
                .values(outcome=outcome)
            )


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def _delivery(r: Any) -> Delivery:
    return Delivery(
        id=r.id,
        key=r.key,
        event_id=r.event_id,
        kind=r.kind,
        rule=r.rule,
        channel=r.channel,
        recipient=r.recipient,
        host=r.host,
        service=r.service,
        number=r.number,
        payload=r.payload,
        status=r.status,
        attempts=r.attempts,
        created_at=r.created_at,
        due_at=r.due_at,
        sent_at=r.sent_at,
        error=r.error,
        external_id=r.external_id,
    )


def _is_plain_secret(key: str, value: Any) -> bool:
    """A secret setting with a value not sealed yet."""
    if not value:
        return False
    if key in SECRET_FIELDS:
        return not str(value).startswith(SEALED)
    if key in SECRET_VALUES:
        return not (isinstance(value, str) and value.startswith(SEALED_JSON))
    return False


def _sealed(vault: Vault, value: Any) -> str:
    if isinstance(value, str):
        return SEALED + vault.seal(value)
    return SEALED_JSON + vault.seal(json.dumps(value, separators=(",", ":")))


def _opened(vault: Vault, value: str) -> Any:
    if value.startswith(SEALED_JSON):
        return json.loads(vault.open(value[len(SEALED_JSON) :]))
    return vault.open(value[len(SEALED) :])

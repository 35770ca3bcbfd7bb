"""The audit log's pure parts: who is acting (the door), what an entry holds, the one
redaction rule, and the hash chain.

*Who* and *from where* are known at the door (the API's bearer token, the UI's session, the
chat sender, a Livestatus connection); *what* changed is known at the choke point below it
(``Actions``, ``Site.save_host``, ``notify.editing``…). The door puts a :class:`Door` into a
context variable for the request; the choke point records the entry and reads the door from
there, so no write path needs an extra parameter threaded through every layer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

CHANNELS = ("api", "ui", "cli", "chat", "livestatus", "import", "config-apply", "system")
"""Where a change came from. ``cli``, ``import`` and ``config-apply`` are what the CLI says it
is (header ``X-Lookout-Client``); a client that says nothing is ``api``."""

CLIENT_HEADER = "x-lookout-client"
REDACTED = "<redacted>"
GENESIS = "0" * 64
"""The ``prev`` of the first entry ever written."""


@dataclass(slots=True)
class Door:
    """Who is acting and from where. Mutable on purpose: the door is set before the caller is
    authenticated, and authentication fills in ``user``."""

    channel: str
    address: str = ""
    user: str = ""


_door: ContextVar[Door | None] = ContextVar("lookout_audit_door", default=None)


def current() -> Door | None:
    return _door.get()


@contextmanager
def acting(door: Door) -> Iterator[Door]:
    """Everything recorded inside (in this task and tasks it starts) is done through ``door``."""
    token = _door.set(door)
    try:
        yield door
    finally:
        _door.reset(token)


def channel_of(header: str, default: str = "api") -> str:
    """The channel a client names in ``X-Lookout-Client`` (unknown or ``system``: ``default``)."""
    name = header.strip().lower()
    return name if name in CHANNELS and name not in ("system", "ui") else default


# ---------------------------------------------------------------------- redaction
SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|passphrase|secret|secrets|token|tokens|api_?key|private_?key|"
    r"client_?key|client_?secret|credentials?|authorization|cookie|headers|urls|sealed|hash)$",
    re.IGNORECASE,
)
"""Keys whose value is a secret wherever they appear. The models' secret fields all match it
(``notify.spec.SECRET_FIELDS``, ``wire.clusters.CREDENTIALS``, a user's ``password``, an
apprise channel's ``urls``, a webhook's ``headers``); ``tests/domain/test_audit_redaction.py``
checks that for every writable model, so a new secret field with another name fails there."""

_URL = re.compile(r"^([a-z][a-z0-9+.-]*://)([^?#\s]*@)?([^/?#\s]*)([^?#\s]*)([?#].*)?$", re.I)
_SECRET_VALUE = re.compile(r"^(fernet:|lk_|env:)", re.IGNORECASE)
_SECRET_OPTION = re.compile(
    r"(--?(?:token|password|passwd|secret|api-?key)[= ]|\b(?:token|password|secret)=)\S+",
    re.IGNORECASE,
)
_TOKENISH = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9_\-.~%+=]{12,}$")
"""A URL path segment that looks generated (12+ characters, letters and digits): the secret
part of incoming-webhook URLs such as Slack's or Discord's."""


def _url(match: re.Match[str]) -> str:
    scheme, user, host, path, rest = match.groups()
    if scheme.lower() not in ("http://", "https://"):
        return f"{scheme}{REDACTED}"  # apprise-style URLs: the "host" is often the token
    host = f"{REDACTED}@{host}" if user else host
    path = "/".join(REDACTED if _TOKENISH.match(seg) else seg for seg in path.split("/"))
    return f"{scheme}{host}{path}{'?' + REDACTED if rest else ''}"


def redact(value: Any, key: str = "") -> Any:
    """``value`` with every secret replaced by ``<redacted>``: values under a secret key (a
    dict keeps its keys, so one sees *which* headers were set), in URLs the user and password,
    the query and generated-looking path segments, sealed values (``fernet:…``), Lookout
    tokens (``lk_…``), ``env:`` references and ``--token X``/``password=X`` in command lines."""
    if key and SECRET_KEY.search(key):
        if isinstance(value, dict):
            return {str(k): REDACTED for k in value}
        return REDACTED if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        if _SECRET_VALUE.match(value):
            return REDACTED
        value = _SECRET_OPTION.sub(
            lambda m: m.group(1) + REDACTED if m.group(1) else REDACTED, value
        )
        return _URL.sub(_url, value)
    return value


# ---------------------------------------------------------------------- entries and the chain
@dataclass(frozen=True, slots=True)
class Entry:
    """One audit entry as recorded (before it has its place in the chain)."""

    at: float
    actor: str
    channel: str
    address: str
    kind: str
    object: str
    verb: str
    summary: str = ""
    before: Any = None
    after: Any = None

    def payload(self) -> dict[str, Any]:
        """The stored fields, with ``before``/``after`` redacted."""
        return {
            "at": self.at,
            "actor": self.actor,
            "channel": self.channel,
            "address": self.address,
            "kind": self.kind,
            "object": self.object,
            "verb": self.verb,
            "summary": self.summary,
            "before": dump(redact(self.before)) if self.before is not None else None,
            "after": dump(redact(self.after)) if self.after is not None else None,
        }


HASHED = ("at", "actor", "channel", "address", "kind", "object", "verb", "summary")


def dump(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): the stored text is what is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev: str, row: dict[str, Any]) -> str:
    """SHA-256 over the previous entry's hash and this entry's stored fields."""
    fields = [row[k] for k in HASHED] + [row["before"], row["after"]]
    return hashlib.sha256((prev + "\n" + dump(fields)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Break:
    """Where the chain does not hold: the entry's id and what is wrong."""

    id: int
    why: str


def verify(rows: Iterator[dict[str, Any]], prev: str | None = None) -> Iterator[Break]:
    """Check stored rows (in id order, each with ``id``, ``prev``, ``hash`` and the hashed
    fields). The first row's ``prev`` is taken as given unless ``prev`` is known (rows before
    it were pruned by age; the prune is itself an entry)."""
    for row in rows:
        if prev is not None and row["prev"] != prev:
            yield Break(row["id"], "prev does not match the hash of the entry before it")
        if chain_hash(row["prev"], row) != row["hash"]:
            yield Break(row["id"], "the entry's content does not match its hash")
        prev = row["hash"]

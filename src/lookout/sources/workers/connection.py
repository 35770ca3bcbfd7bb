"""Connecting to NATS the same way from the site and from a worker: URL(s), credentials file,
TLS; reconnecting for ever once connected. nats-py's errors stay inside this package."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.aio.client import Client

from lookout.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NatsAccess:
    """Where NATS is and how to prove who we are (files as absolute paths)."""

    url: str
    creds: str = ""
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""

    def servers(self) -> list[str]:
        return [u.strip() for u in self.url.split(",") if u.strip()]

    def shown(self) -> str:
        """The URL(s) without passwords, for messages."""
        return ",".join(_without_password(u) for u in self.servers())


def access_in(
    url: str, base: Path, creds: str = "", tls_ca: str = "", tls_cert: str = "", tls_key: str = ""
) -> NatsAccess:
    """A :class:`NatsAccess` whose relative file names are taken relative to ``base``."""

    def path(name: str) -> str:
        return str(base / name) if name else ""

    return NatsAccess(url, path(creds), path(tls_ca), path(tls_cert), path(tls_key))


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def tls_context(access: NatsAccess) -> ssl.SSLContext | None:
    """The TLS context for ``access`` (None: plain, unless the URL says tls://)."""
    if not (access.tls_ca or access.tls_cert):
        return None
    try:
        ctx = ssl.create_default_context(cafile=access.tls_ca or None)
        if access.tls_cert:
            ctx.load_cert_chain(access.tls_cert, access.tls_key or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"NATS TLS files cannot be used: {exc}") from exc
    return ctx


def _options(access: NatsAccess) -> dict[str, object]:
    options: dict[str, object] = {}
    if access.creds:
        if not Path(access.creds).is_file():
            raise ConfigError(f"NATS credentials file {access.creds} not found")
        options["user_credentials"] = access.creds
    tls = tls_context(access)
    if tls is not None:
        options["tls"] = tls
    return options


async def connect(
    access: NatsAccess,
    name: str,
    connect_timeout: float = 5.0,
    report: Callable[[str], None] | None = None,
) -> Client:
    """A connection that tries, and later reconnects, for ever (nats-py retries the first
    connection too: ``connect`` returns once it works). Failures go to ``report``, else to
    the log (the same one at most once a minute)."""
    options = _options(access)
    quiet = Quiet()

    async def error(exc: Exception) -> None:
        text = describe(exc)
        if report is not None:
            report(text)
        elif quiet.fresh(text):
            log.warning("NATS (%s): %s", access.shown(), text)

    return await nats.connect(
        servers=access.servers(),
        name=name,
        connect_timeout=connect_timeout,
        reconnect_time_wait=0.5,
        max_reconnect_attempts=-1,
        allow_reconnect=True,
        error_cb=error,
        **options,
    )


def describe(exc: BaseException) -> str:
    """A short reason for a NATS failure."""
    text = str(exc).removeprefix("nats: ")
    return text or type(exc).__name__


class Quiet:
    """Says whether a message is worth logging: once a minute each (reconnects repeat them)."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._said: dict[str, float] = {}

    def fresh(self, text: str) -> bool:
        now = time.monotonic()
        if now - self._said.get(text, -self.every) < self.every:
            return False
        if len(self._said) > 100:
            self._said.clear()
        self._said[text] = now
        return True

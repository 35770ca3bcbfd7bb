"""The sign-up rules, apart from HTTP: ask for a code (the same outcome for every address: a
known one gets a "you have an account" mail instead of a code), check a code (few tries, short
life), then make the account and the first site and hand the new admin over to it with a
one-time log-in link."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lookout import auth
from lookout.errors import ConfigError, Conflict
from lookout.manager.root import Root, check_new_name
from lookout.manager.signup import mail, store
from lookout.manager.signup.settings import SignupSettings
from lookout.manager.signup.store import SignupStore, digest

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Code characters: no 0/O and 1/I, which people mix up."""
EMAIL = re.compile(r"^[^@\s\x00-\x1f\"<>,;]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
HOUR = 3600.0
LINK_SECONDS = 300.0


class Refused(Exception):
    """A form value that cannot go on: ``field`` and a message for the page."""

    def __init__(self, field: str, why: str, status: int = 400) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field
        self.why = why
        self.status = status


def normal_email(value: str) -> str:
    email = value.strip()
    if len(email) > 254 or not EMAIL.match(email):
        raise Refused("email", "not an e-mail address (name@example.org)")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(6))


class Signup:
    def __init__(
        self,
        root: Root,
        store: SignupStore,
        settings: SignupSettings,
        create_site: Callable[[str], Awaitable[dict[str, Any]]],
        hand_over: Callable[[Path, str, str], Awaitable[str]],
        smtp_password: str | None = None,
        clock: Callable[[], float] = time.time,
        connect: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.root = root
        self.store = store
        self.settings = settings
        self.create_site = create_site
        self.hand_over = hand_over
        self.smtp_password = smtp_password
        self.clock = clock
        self.connect = connect

    def client_blocked(self, client: str) -> bool:
        """True once ``client`` made ``requests_per_client`` requests within the hour."""
        now = self.clock()
        blocked = self.store.count(f"ip:{client}", now - HOUR) >= self.settings.requests_per_client
        self.store.note([f"ip:{client}"], now, now - HOUR)
        return blocked

    async def request_code(self, email: str) -> None:
        """Send ``email`` a code, or a note that it has an account; nothing past the address's
        hourly allowance. The caller's answer is the same in every case."""
        now = self.clock()
        key = f"addr:{email.lower()}"
        if self.store.count(key, now - HOUR) >= self.settings.codes_per_address:
            return
        self.store.note([key], now, now - HOUR)
        site = self.store.account_site(email)
        if site is not None:
            subject, body = mail.known_mail(site)
        else:
            code = new_code()
            self.store.put_code(email, digest(email, code), now + self.settings.code_seconds)
            subject, body = mail.code_mail(code, round(self.settings.code_seconds / 60))
        await mail.send(self.settings, self.smtp_password, email, subject, body)

    def check_code(self, email: str, code: str) -> str:
        """A token for the account form when ``code`` is ``email``'s current code."""
        row = self.store.code(email)
        wrong = Refused("code", "wrong or expired: ask for a new one if it keeps failing", 401)
        if row is None or row.expires_at <= self.clock():
            raise wrong
        if row.attempts >= self.settings.code_attempts:
            raise Refused("code", "too many wrong tries: ask for a new code", 429)
        self.store.count_attempt(email)
        typed = "".join(code.split()).upper()[:12]
        if not hmac.compare_digest(row.code_hash, digest(email, typed)):
            raise wrong
        token = secrets.token_urlsafe(32)
        self.store.verified(email, digest(token), self.clock() + self.settings.code_seconds)
        return token

    async def create(self, email: str, token: str, password: str, site: str) -> str:
        """Make the account and its first site; the URL that logs the new admin in."""
        row = self.store.code(email)
        if (
            row is None
            or row.verified_hash is None
            or not hmac.compare_digest(row.verified_hash, digest(token))
            or row.expires_at <= self.clock()
        ):
            raise Refused("email", "this sign-up expired: start again", 403)
        if not 10 <= len(password) <= 1024:
            raise Refused("password", "10 to 1024 characters")
        try:
            check_new_name(site)
        except ConfigError as exc:
            raise Refused("site", str(exc)) from exc
        password_hash = auth.hash_password(password)
        try:
            new = await self.create_site(site)
        except Conflict as exc:
            raise Refused("site", f"{site!r} is taken: choose another name", 409) from exc
        link = await self.hand_over(self.root.site_dir(site), email, password_hash)
        self.store.add_account(email, password_hash, site, self.clock())
        if self.connect is not None:  # log-in through the control plane's accounts
            await self.connect(site, email)
        return f"{str(new['url']).rstrip('/')}/login/link?token={link}"

    async def add_site(self, email: str, password: str, site: str) -> str:
        """A further site for an existing account (its e-mail and password), within
        ``sites_per_account``; the URL that logs its owner in to it."""
        now = self.clock()
        key = f"more:{email.lower()}"
        wrong = Refused("password", "wrong e-mail or password", 401)
        if self.store.count(key, now - HOUR) >= self.settings.site_tries_per_account:
            raise Refused("email", "too many tries for this account: try again in an hour", 429)
        self.store.note([key], now, now - HOUR)
        found = store.account(self.store, email)
        if found is None:
            auth.hash_password(password[:1024])  # the same time as a wrong password
            raise wrong
        if not auth.verify_password(password[:1024], found[0]):
            raise wrong
        sites = store.sites_of(self.store, email)
        if len(sites) >= self.settings.sites_per_account:
            raise Refused("site", f"this account has {len(sites)} sites, the most it may have", 403)
        try:
            check_new_name(site)
        except ConfigError as exc:
            raise Refused("site", str(exc)) from exc
        try:
            new = await self.create_site(site)
        except Conflict as exc:
            raise Refused("site", f"{site!r} is taken: choose another name", 409) from exc
        link = await self.hand_over(self.root.site_dir(site), email, found[0])
        store.add_site(self.store, email, site, self.clock())
        if self.connect is not None:
            await self.connect(site, email)
        return f"{str(new['url']).rstrip('/')}/login/link?token={link}"

"""The sign-up rules with the time handed in: a code expires after ``code_seconds``, a new one
replaces the old, the account form's token expires too, and the address is kept as typed
(domain lower-cased). Mail goes to a real SMTP server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from smtpbox import code_in, mailbox

from lookout.manager.root import Root
from lookout.manager.signup.flow import Refused, Signup, normal_email
from lookout.manager.signup.settings import SignupSettings
from lookout.manager.signup.store import SignupStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _signup(root: Root, smtp_port: int, clock: Clock, made: list[str]) -> Signup:
    async def create_site(name: str) -> dict[str, Any]:
        made.append(name)
        return {"url": f"http://127.0.0.1:1/{name}"}

    async def hand_over(site_dir: Path, email: str, password_hash: str) -> str:
        return "link-token"

    settings = SignupSettings(enabled=True, smtp_port=smtp_port)
    store = SignupStore(root.path / "signup.db")
    return Signup(root, store, settings, create_site, hand_over, clock=clock)


def test_codes_expire_and_a_new_one_replaces_the_old(root: Root) -> None:
    clock, made = Clock(), []
    with mailbox() as (box, port):
        s = _signup(root, port, clock, made)
        asyncio.run(s.request_code("kim@example.org"))
        first = code_in(box.wait_for("kim@example.org")[0])
        clock.now += 601
        with pytest.raises(Refused, match="wrong or expired"):
            s.check_code("kim@example.org", first)
        asyncio.run(s.request_code("kim@example.org"))
        second = code_in(box.wait_for("kim@example.org", 2)[1])
        if second != first:
            with pytest.raises(Refused, match="wrong or expired"):
                s.check_code("kim@example.org", first)
        token = s.check_code("kim@example.org", second)
        clock.now += 601  # the account form waited too long
        with pytest.raises(Refused, match="expired: start again"):
            asyncio.run(s.create("kim@example.org", token, "a long password", "kim"))
        assert made == []
    assert (root.path / "signup.db").stat().st_mode & 0o077 == 0


def test_addresses_are_checked_and_their_domain_lower_cased() -> None:
    assert normal_email(" Kim.Lee@Example.ORG ") == "Kim.Lee@example.org"
    for bad in ("kim", "kim@localhost", "a b@example.org", "<kim@example.org>", "@example.org"):
        with pytest.raises(Refused, match="not an e-mail address"):
            normal_email(bad)

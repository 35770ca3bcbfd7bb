"""Logged-in browsers (httpx with cookies) for the shared test site, one per role."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from uiweb import Browser, add_user

from livesite import LiveSite


def _browser(site: LiveSite, admin: httpx.Client, role: str) -> Iterator[Browser]:
    b = Browser(site, add_user(admin, role))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="session")
def ui_admin(site: LiveSite, admin: httpx.Client) -> Iterator[Browser]:
    yield from _browser(site, admin, "admin")


@pytest.fixture(scope="session")
def ui_operator(site: LiveSite, admin: httpx.Client) -> Iterator[Browser]:
    yield from _browser(site, admin, "operator")


@pytest.fixture(scope="session")
def ui_viewer(site: LiveSite, admin: httpx.Client) -> Iterator[Browser]:
    yield from _browser(site, admin, "viewer")

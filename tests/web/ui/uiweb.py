"""Helpers for the web UI tests: log in like a browser, read CSRF tokens, post forms."""

from __future__ import annotations

import re
import uuid

import httpx

from livesite import LiveSite

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def add_user(admin: httpx.Client, role: str, password: str = "correct horse battery") -> str:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    r = admin.post("/api/v1/users", json={"name": name, "role": role, "password": password})
    assert r.status_code == 201, r.text
    return name


class Browser:
    """An httpx client that keeps cookies, logged in as one user."""

    def __init__(self, site: LiveSite, user: str, password: str = "correct horse battery"):
        self.user = user
        self.c = httpx.Client(base_url=site.url, timeout=30, follow_redirects=False)
        page = self.c.get("/login")
        r = self.c.post(
            "/login",
            data={"user": user, "password": password, "csrf": csrf_of(page.text), "next": "/"},
        )
        assert r.status_code == 303, r.text
        self.csrf = csrf_of(self.c.get("/").text)

    def get(self, path: str, **params: object) -> httpx.Response:
        return self.c.get(path, params=params or None)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, object], csrf: bool = True) -> httpx.Response:
        body = {"csrf": self.csrf, **data} if csrf else data
        return self.c.post(path, data=body)  # type: ignore[arg-type]

    def act(self, action: str, *targets: tuple[str, str], **fields: object) -> httpx.Response:
        data: dict[str, object] = {
            "action": action,
            "target": [target(h, s) for h, s in targets],
            "next": "/problems",
            **fields,
        }
        return self.post("/act", data)

    def close(self) -> None:
        self.c.close()


def target(host: str, service: str) -> str:
    from urllib.parse import quote

    return f"{quote(host, safe='')}:{quote(service, safe='')}"

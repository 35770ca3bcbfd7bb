"""A small shop on 127.0.0.1 for journey tests (stdlib HTTP server in a thread): a log-in form
with a CSRF field that sets a session cookie, pages behind it, a JSON API whose token comes
from an earlier call, a slow endpoint and a broken one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

USER, PASSWORD, CSRF, SESSION, TOKEN = "alice", "s3cret", "csrf-7f3a", "sess-42", "tok-9b1c"

LOGIN_PAGE = f"""<!doctype html><title>Log in</title>
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{CSRF}">
<input id="user" name="user"> <input id="password" name="password" type="password">
<button type="submit">Log in</button></form>"""
HOME_PAGE = """<!doctype html><title>Home</title><h1>Welcome, alice</h1>
<a id="orders" href="/orders">Your orders</a>"""
ORDERS_PAGE = (
    """<!doctype html><title>Orders</title><ul id="list"><li>Order 42: shipped</li></ul>"""
)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(
        self,
        status: int,
        body: str,
        ctype: str = "text/html",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _logged_in(self) -> bool:
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        return "session" in cookie and cookie["session"].value == SESSION

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/login":
            self._send(200, LOGIN_PAGE)
        elif url.path in ("/home", "/orders"):
            if not self._logged_in():
                self._send(302, "", headers={"Location": "/login"})
            else:
                self._send(200, HOME_PAGE if url.path == "/home" else ORDERS_PAGE)
        elif url.path == "/api/orders":
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, json.dumps({"error": "no token"}), "application/json")
            else:
                orders = {"orders": [{"id": 42, "status": "shipped", "paid": True}]}
                self._send(200, json.dumps(orders), "application/json")
        elif url.path == "/slow":
            time.sleep(float(parse_qs(url.query).get("s", ["0.5"])[0]))
            self._send(200, "finally")
        elif url.path == "/broken":
            self._send(500, "Internal Server Error: database gone")
        else:
            self._send(404, "not found")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        if url.path == "/login":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("csrf") != CSRF:
                self._send(403, "CSRF token missing")
            elif form.get("user") == USER and form.get("password") == PASSWORD:
                cookie = f"session={SESSION}; Path=/; HttpOnly"
                self._send(302, "", headers={"Location": "/home", "Set-Cookie": cookie})
            else:
                self._send(401, LOGIN_PAGE.replace("<form", "<p>Wrong password</p><form"))
        elif url.path == "/api/token":
            if not self._logged_in():
                self._send(401, json.dumps({"error": "log in first"}), "application/json")
            else:
                answer = {"token": TOKEN, "user": json.loads(body or b"{}").get("user")}
                self._send(200, json.dumps(answer), "application/json", {"X-Request-Id": "r-1"})
        else:
            self._send(404, "not found")


@contextmanager
def running_shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

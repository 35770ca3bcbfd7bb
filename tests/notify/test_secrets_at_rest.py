"""Channel secrets at rest: sealed with the site key (``kube.key``) on SQLite and PostgreSQL,
masked by the API, opened for delivery; plain-text secrets of older databases are sealed at
start; a secret that no longer opens costs its channel only, never the site."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).parent.parent / "chatops"))
from harness import Harness

from livesite import make_site
from lookout.errors import ConfigError
from lookout.notify.channels.webhook import sign
from lookout.notify.spec import MASK, SECRET_FIELDS, Channel
from lookout.notify.store import NotifyStore
from lookout.sites.site import Site
from lookout.storage import tables as t
from lookout.storage.database import open_database
from lookout.storage.vault import Vault

pytestmark = pytest.mark.integration


def secret(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex}"


class HookServer(ThreadingHTTPServer):
    """Keeps (signature, timestamp, body) of every webhook request."""

    got: list[tuple[str, str, bytes]]
    authorizations: list[str]


class Hook(BaseHTTPRequestHandler):
    server: HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        sig, stamp = self.headers["X-Lookout-Signature"], self.headers["X-Lookout-Timestamp"]
        self.server.got.append((sig, stamp, body))
        self.server.authorizations.append(self.headers.get("Authorization", ""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[HookServer]:
    server = HookServer(("127.0.0.1", 0), Hook)
    server.got = []
    server.authorizations = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def raw_specs(url: str) -> dict[str, str]:
    """``notify_channels.spec`` as the database holds it (text), by channel name."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, CAST(spec AS TEXT) FROM notify_channels"))
            return {name: text for name, text in rows}
    finally:
        engine.dispose()


def assert_nowhere(secrets: list[str], url: str, site_dir: Path) -> None:
    texts = raw_specs(url)
    for s in secrets:
        assert not any(s in text for text in texts.values()), s
    for text in texts.values():
        spec = json.loads(text)
        assert all(spec[k] not in ("", MASK) for k in SECRET_FIELDS if k in spec), spec
    if url.startswith("sqlite"):  # the bytes of the file and its WAL, not only what SQL shows
        db = Path(url.removeprefix("sqlite:///"))
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                data = path.read_bytes()
                assert not any(s.encode() in data for s in secrets), path


def test_secrets_sent_to_the_api_are_sealed_masked_and_delivered(
    tmp_path: Path, database_url: str, hook: HookServer
) -> None:
    site_dir = tmp_path / "site"
    site = make_site(site_dir, database_url=database_url, tick_interval=0.2)
    api_key, token, password, signing, bearer, ntfy = (
        secret(w)
        for w in ("api-key", "webhook-token", "smtp-password", "hook-secret", "bearer", "ntfy")
    )
    port = hook.server_address[1]
    channels = [
        {
            "name": "chat",
            "spec": {
                "type": "zulip",
                "site": "https://chat.invalid",
                "email": "bot@chat.invalid",
                "api_key": api_key,
                "stream": "ops",
                "listen": False,
                "webhook_token": token,
            },
        },
        {
            "name": "mail",
            "spec": {
                "type": "email",
                "host": "smtp.invalid",
                "username": "lookout",
                "password": password,
                "sender": "lookout@x.org",
            },
        },
        {
            "name": "hook",
            "spec": {
                "type": "webhook",
                "url": f"http://127.0.0.1:{port}/hook",
                "secret": signing,
                "headers": {"Authorization": f"Bearer {bearer}", "X-Team": "ops"},
                "group_window": 0,
            },
        },
        {
            "name": "phones",
            "spec": {"type": "apprise", "urls": [f"ntfys://{ntfy}@ntfy.invalid/ops", "json://x"]},
        },
    ]
    secrets = [api_key, token, password, signing, bearer, ntfy]
    site.start()
    try:
        with site.client() as admin:
            for ch in channels:
                r = admin.post("/api/v1/notifications/channels", json=ch)
                assert r.status_code == 200, r.text
                masked = r.json()
                assert not any(s in r.text for s in secrets)
                # the masked document sent back keeps the stored secrets (sealed once, not twice)
                r = admin.post("/api/v1/notifications/channels", json=masked)
                assert r.status_code == 200, r.text
            listed = admin.get("/api/v1/notifications/channels")
            assert not any(s in listed.text for s in secrets)
            specs = {c["name"]: c["spec"] for c in listed.json()["items"]}
            assert specs["chat"]["api_key"] == specs["chat"]["webhook_token"] == MASK
            assert specs["mail"]["password"] == specs["hook"]["secret"] == MASK
            assert specs["hook"]["headers"] == {"Authorization": MASK, "X-Team": MASK}
            assert specs["phones"]["urls"] == [f"ntfys://{MASK}", f"json://{MASK}"]
            # one URL changed, the other sent back masked: the masked one is kept as stored
            changed = {**specs["phones"], "urls": [f"ntfys://{MASK}", "json://y"]}
            r = admin.post(
                "/api/v1/notifications/channels", json={"name": "phones", "spec": changed}
            )
            assert r.status_code == 200, r.text
            assert_nowhere(secrets, database_url, site_dir)

            r = admin.post("/api/v1/hosts", json={"name": "web1"})
            assert r.status_code == 201, r.text
            r = admin.post(
                "/api/v1/hosts/web1/services", json={"name": "disk", "max_check_attempts": 1}
            )
            assert r.status_code == 201, r.text
            rule = {"name": "all", "channels": ["hook"], "hosts": ["web1"]}
            assert admin.post("/api/v1/notifications/rules", json=rule).status_code == 200
            results = {"results": [{"host": "web1", "service": "disk", "state": 2}]}
            assert admin.post("/api/v1/results", json=results).status_code == 200
            deadline = time.monotonic() + 20
            while not hook.got and time.monotonic() < deadline:
                time.sleep(0.05)
        sig, stamp, body = hook.got[0]
        assert sig == sign(signing, stamp, body)  # the notifier signed with the opened secret
        assert hook.authorizations[0] == f"Bearer {bearer}"  # and sent the opened header
    finally:
        site.stop()
    assert_nowhere(secrets, database_url, site_dir)
    db = open_database(database_url)
    try:  # sealed with the site key that Kubernetes tokens use
        opened = {c.name: c.spec.model_dump() for c in NotifyStore(db, Vault(site_dir)).channels()}
    finally:
        db.dispose()
    assert opened["chat"]["api_key"] == api_key
    assert opened["chat"]["webhook_token"] == token
    assert opened["mail"]["password"] == password
    assert opened["hook"]["secret"] == signing
    assert opened["hook"]["headers"] == {"Authorization": f"Bearer {bearer}", "X-Team": "ops"}
    assert opened["phones"]["urls"] == [f"ntfys://{ntfy}@ntfy.invalid/ops", "json://y"]


async def test_plain_text_secrets_of_an_older_database_are_sealed_at_start(
    tmp_path: Path, database_url: str
) -> None:
    h = Harness(tmp_path, database_url=database_url)
    old = {
        "type": "webhook",
        "url": "http://127.0.0.1:9/x",
        "secret": "old-plain-secret",
        "headers": {"Authorization": "Bearer old-plain-header"},
    }
    with h.site.db.begin() as conn:  # as Lookout wrote it before secrets were sealed
        conn.execute(
            t.notify_channels.insert().values(
                name="hook", type="webhook", spec=old, created_at=1.0, updated_at=1.0
            )
        )
    await h.start()
    try:
        assert "old-plain-secret" not in raw_specs(database_url)["hook"]
        assert "old-plain-header" not in raw_specs(database_url)["hook"]
        opened = h.site.notifier.directory.channels["hook"].model_dump()
        assert opened["secret"] == "old-plain-secret"
        assert opened["headers"] == {"Authorization": "Bearer old-plain-header"}
    finally:
        await h.stop()


async def test_a_secret_that_does_not_open_costs_its_channel_not_the_site(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path)
    await h.start()
    await h.configure(
        [
            {"name": "hook", "spec": {"type": "webhook", "url": "http://x", "secret": "s3cret"}},
            {"name": "open", "spec": {"type": "webhook", "url": "http://y"}},
        ],
        [],
    )
    await h.stop()
    key = tmp_path / "site" / "kube.key"
    key.write_bytes(Fernet.generate_key())  # the key was lost and made again
    site = Site(tmp_path / "site")
    with caplog.at_level(logging.ERROR):
        await site.start()
    try:
        assert list(site.notifier.directory.channels) == ["open"]
        assert "hook" in caplog.text
        assert "kube.key" in caplog.text
        with pytest.raises(ConfigError, match=r"kube\.key"):
            site.notifier.store.channel_spec("hook")  # a masked secret cannot be kept
        spec = {"type": "webhook", "url": "http://x", "secret": "new"}
        channel = Channel.model_validate({"name": "hook", "spec": spec})
        site.notifier.store.put_channel(channel, 2.0, create=False)  # given again in full
        await site.notifier.reload()
        assert site.notifier.directory.channels["hook"].model_dump()["secret"] == "new"
    finally:
        await site.stop()


def test_a_store_without_a_key_refuses_secrets(store: NotifyStore) -> None:
    spec = {"type": "webhook", "url": "http://x", "secret": "s3cret"}
    with pytest.raises(ConfigError, match="secret"):
        store.put_channel(Channel.model_validate({"name": "h", "spec": spec}), 1.0, create=True)
    assert store.channels() == []
    store.put_channel(
        Channel.model_validate({"name": "h", "spec": {"type": "webhook", "url": "http://x"}}),
        1.0,
        create=True,
    )
    assert [c.name for c in store.channels()] == ["h"]

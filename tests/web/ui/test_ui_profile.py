"""The profile page: link a Zulip account with the one-time code the bot sent, unlink it."""

from __future__ import annotations

import html
import time

from uiweb import Browser

from livesite import LiveSite
from lookout.notify.store import NotifyStore
from lookout.storage.database import open_database

REALM = "https://chat.example.org"


def test_link_and_unlink_a_zulip_account(site: LiveSite, ui_operator: Browser) -> None:
    db = open_database(f"sqlite:///{site.dir / 'lookout.db'}")
    try:
        store = NotifyStore(db)
        store.put_link_code(REALM, 4242, "Olga Operator", "C0DE1234", time.time() + 600)
        page = ui_operator.get("/profile").text
        assert "No Zulip account linked." in page
        wrong = ui_operator.post("/profile/zulip", {"code": "nope", "next": "/profile"})
        assert wrong.status_code == 303
        assert "code: unknown or expired" in html.unescape(ui_operator.get("/profile").text)
        ui_operator.post("/profile/zulip", {"code": "c0de1234", "next": "/profile"})
        page = html.unescape(ui_operator.get("/profile").text)
        assert f"Zulip account Olga Operator now acts as {ui_operator.user}" in page
        assert store.linked_user(REALM, 4242) == ui_operator.user
        form = {"realm": REALM, "user_id": "4242", "next": "/profile"}
        assert ui_operator.post("/profile/zulip/unlink", form).status_code == 303
        assert "Zulip account unlinked" in html.unescape(ui_operator.get("/profile").text)
        assert store.linked_user(REALM, 4242) is None
    finally:
        db.dispose()


def test_profile_forms_need_the_csrf_token(ui_viewer: Browser) -> None:
    r = ui_viewer.post("/profile/zulip", {"code": "C0DE1234"}, csrf=False)
    assert r.status_code == 403

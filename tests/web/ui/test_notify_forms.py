"""The setup pages of notification rules and channels, over real HTTP against a real site:
forms create, edit and remove what the REST API then reads back; invalid input comes back with
the error next to its field and what was typed still there; secrets are never shown back."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from uiweb import Browser
from webapi import unique

pytestmark = pytest.mark.integration

HOOK = {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s3cret-signing-key"}


def stored_channel(admin: httpx.Client, name: str) -> dict[str, Any] | None:
    items = admin.get("/api/v1/notifications/channels").json()["items"]
    return next((c for c in items if c["name"] == name), None)


def stored_rule(admin: httpx.Client, name: str) -> dict[str, Any] | None:
    items = admin.get("/api/v1/notifications/rules").json()["items"]
    return next((r for r in items if r["name"] == name), None)


def field_error(page: str, field: str) -> str:
    """The error text shown next to ``field`` (empty when there is none)."""
    block = re.search(
        rf'<div class="field invalid" data-field="{re.escape(field)}">(.*?)</div>', page, re.S
    )
    if block is None:
        return ""
    return html.unescape(
        " ".join(re.findall(r'class="field-error"[^>]*>✖ ([^<]*)<', block.group(1)))
    )


def value_of(page: str, field: str) -> str:
    m = re.search(rf'name="{re.escape(field)}" id="[^"]+"(?: aria-[^>]*?)? value="([^"]*)"', page)
    if m is None:
        m = re.search(rf'<textarea name="{re.escape(field)}"[^>]*>([^<]*)</textarea>', page)
    assert m, f"no input {field}"
    return html.unescape(m.group(1))


def new_webhook(ui: Browser, called: str, **fields: object) -> httpx.Response:
    form = {"type": "webhook", "name": called, "url": HOOK["url"], "secret": HOOK["secret"]}
    return ui.post("/setup/channel", {**form, **fields})


def test_an_admin_adds_edits_and_removes_a_channel(admin: httpx.Client, ui_admin: Browser) -> None:
    name = unique("hook")
    r = new_webhook(ui_admin, name, timeout="5", headers="X-Team=ops")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/setup/notifications"
    spec = stored_channel(admin, name)["spec"]  # type: ignore[index]
    assert (spec["url"], spec["timeout"]) == (HOOK["url"], 5.0)
    assert spec["headers"] == {"X-Team": "********"}  # header values may be credentials
    assert spec["secret"] == "********"  # set, and masked by the API

    page = ui_admin.get("/setup/channel", name=name).text
    assert HOOK["secret"] not in page, "a secret is never shown back"
    assert 'placeholder="set — leave empty to keep"' in page
    assert value_of(page, "url") == HOOK["url"]

    edit = {"original": name, "type": "webhook", "url": "https://ops.example.org/in", "secret": ""}
    assert ui_admin.post("/setup/channel", edit).status_code == 303
    stored = admin.get("/api/v1/notifications/channels").json()["items"]
    spec = next(c["spec"] for c in stored if c["name"] == name)
    assert spec["url"] == "https://ops.example.org/in"
    assert spec["secret"] == "********", "an empty secret input keeps the stored secret"
    assert spec["headers"] == {}, "an emptied input is emptied"

    assert ui_admin.post("/setup/channel", {**edit, "clear.secret": "on"}).status_code == 303
    assert stored_channel(admin, name)["spec"]["secret"] == ""  # type: ignore[index]

    r = ui_admin.post("/setup/channel/delete", {"name": name})
    assert r.status_code == 303
    assert stored_channel(admin, name) is None
    assert f"channel {name} removed" in ui_admin.get("/setup/notifications").text


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        ({"url": "ftp:/nowhere"}, "url", "String should match pattern"),
        ({"timeout": "soon"}, "timeout", "valid number"),
        ({"headers": "no-equals-sign"}, "headers", "'no-equals-sign' is not key=value"),
        ({"name": "bad name!"}, "name", "String should match pattern"),
        ({"type": "sms"}, "type", "does not match any of the expected tags"),
    ],
)
def test_an_invalid_channel_is_refused_next_to_its_field_keeping_the_input(
    admin: httpx.Client, ui_admin: Browser, form: dict[str, str], field: str, says: str
) -> None:
    name = unique("hook")
    r = new_webhook(ui_admin, name, **form)
    assert r.status_code == 422
    assert says in field_error(r.text, field), r.text
    if field != "type":
        assert value_of(r.text, "name") == form.get("name", name), "what was typed is kept"
        assert value_of(r.text, "url") == form.get("url", HOOK["url"])
        assert HOOK["secret"] not in r.text
        assert 'placeholder="type it again (secrets are not shown back)"' in r.text
        assert field_error(r.text, "secret") == "", "a secret typed again is no error"
    assert stored_channel(admin, form.get("name", name)) is None


def test_a_channel_name_is_not_taken_twice(admin: httpx.Client, ui_admin: Browser) -> None:
    name = unique("hook")
    assert new_webhook(ui_admin, name).status_code == 303
    r = new_webhook(ui_admin, name, url="https://other.example.org/")
    assert r.status_code == 422
    assert "exists already" in field_error(r.text, "name")
    assert stored_channel(admin, name)["spec"]["url"] == HOOK["url"]  # type: ignore[index]


def test_an_admin_adds_edits_and_removes_a_rule(admin: httpx.Client, ui_admin: Browser) -> None:
    channel, rule = unique("hook"), unique("rule")
    assert new_webhook(ui_admin, channel).status_code == 303
    page = ui_admin.get("/setup/rule").text
    assert f'value="{channel}"' in page, "the channels there are are offered"
    form = {
        "name": rule,
        "enabled": "on",
        "action": "notify",
        "events": ["problem", "recovery"],
        "state_types": "hard",
        "objects": "services",
        "hosts": "db-*\nweb-01",
        "labels": "env=prod",
        "channels": channel,
        "states": ["CRIT", "WARN"],
        "delay": "5m",
        "repeat_every": "2h30m",
        "time_period": "on",
        "time_period.days": ["mon", "fri"],
        "time_period.start": "08:00",
        "time_period.end": "18:00",
        "time_period.timezone": "Europe/Berlin",
    }
    r = ui_admin.post("/setup/rule", form)
    assert r.status_code == 303, r.text
    got = stored_rule(admin, rule)
    assert got is not None
    assert (got["hosts"], got["labels"], got["channels"]) == (
        ["db-*", "web-01"],
        {"env": "prod"},
        [channel],
    )
    assert (got["delay"], got["repeat_every"], got["states"]) == (300.0, 9000.0, ["CRIT", "WARN"])
    assert got["time_period"] == {
        "days": ["mon", "fri"],
        "start": "08:00:00",
        "end": "18:00:00",
        "timezone": "Europe/Berlin",
    }
    page = ui_admin.get("/setup/rule", name=rule).text
    assert value_of(page, "repeat_every") == "2h30m"
    assert value_of(page, "time_period.start") == "08:00"

    r = ui_admin.post("/setup/rule", {**form, "original": rule, "name": "", "time_period": ""})
    assert r.status_code == 303, r.text
    got = stored_rule(admin, rule)
    assert got is not None
    assert got["time_period"] is None

    body = ui_admin.post("/setup/channel/delete", {"name": channel})
    assert body.status_code == 303
    listing = ui_admin.get("/setup/notifications").text
    assert f"channel {channel!r} is used by rule {rule}".replace("'", "&#39;") in listing
    assert stored_channel(admin, channel) is not None
    assert ui_admin.post("/setup/rule/delete", {"name": rule}).status_code == 303
    assert stored_rule(admin, rule) is None


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        ({"channels": "no-such-channel"}, "channels", "channel 'no-such-channel' does not exist"),
        ({"repeat_every": "60d"}, "repeat_every", "at most 4w2d (30 days)"),
        ({"delay": "soon"}, "delay", "'soon' is not a duration"),
        ({"states": "PURPLE"}, "states", "unknown state 'PURPLE'"),
        (
            {"time_period": "on", "time_period.timezone": "Mars/Olympus"},
            "time_period.timezone",
            "unknown time zone",
        ),
        ({"until_number": "0"}, "until_number", "greater than or equal to 1"),
    ],
)
def test_an_invalid_rule_is_refused_next_to_its_field_keeping_the_input(
    admin: httpx.Client, ui_admin: Browser, form: dict[str, str], field: str, says: str
) -> None:
    channel, rule = unique("hook"), unique("rule")
    assert new_webhook(ui_admin, channel).status_code == 303
    typed = {"name": rule, "action": "notify", "channels": channel, "hosts": "kept-host-*", **form}
    r = ui_admin.post("/setup/rule", typed)
    assert r.status_code == 422
    assert says in field_error(r.text, field), r.text
    assert value_of(r.text, "hosts") == "kept-host-*"
    assert value_of(r.text, "name") == rule
    assert stored_rule(admin, rule) is None


def test_a_rule_without_channels_is_refused_for_the_form(ui_admin: Browser) -> None:
    r = ui_admin.post("/setup/rule", {"name": unique("rule"), "action": "notify"})
    assert r.status_code == 422
    assert "a notify rule needs at least one channel" in r.text


def test_only_admins_edit_notifications(ui_operator: Browser) -> None:
    assert ui_operator.get("/setup/notifications").status_code == 403
    assert ui_operator.get("/setup/rule").status_code == 403
    form = {"type": "webhook", "name": unique("x"), "url": HOOK["url"]}
    assert ui_operator.post("/setup/channel", form).status_code == 403
    assert ui_operator.post("/setup/rule/delete", {"name": "any"}).status_code == 403


def test_forms_without_the_csrf_token_are_refused(admin: httpx.Client, ui_admin: Browser) -> None:
    name = unique("hook")
    r = ui_admin.post(
        "/setup/channel", {"type": "webhook", "name": name, "url": HOOK["url"]}, csrf=False
    )
    assert r.status_code == 403
    assert stored_channel(admin, name) is None


def test_rules_move_up_and_down_in_the_order_they_are_evaluated(
    admin: httpx.Client, ui_admin: Browser
) -> None:
    channel = unique("hook")
    assert new_webhook(ui_admin, channel).status_code == 303
    names = [unique(f"r{i}") for i in range(3)]
    for name in names:
        r = ui_admin.post("/setup/rule", {"name": name, "action": "notify", "channels": channel})
        assert r.status_code == 303, r.text

    def order() -> list[str]:
        items = admin.get("/api/v1/notifications/rules").json()["items"]
        return [r["name"] for r in items if r["name"] in names]

    assert order() == names
    assert ui_admin.post("/setup/rule/move", {"name": names[2], "by": "-1"}).status_code == 303
    assert order() == [names[0], names[2], names[1]]
    ui_admin.post("/setup/rule/move", {"name": names[0], "by": "-1"})  # first already
    ui_admin.post("/setup/rule/move", {"name": names[0], "by": "1"})
    assert order() == [names[2], names[0], names[1]]
    ui_admin.post("/setup/rule/move", {"name": names[0], "by": "7"})
    assert "by: expected -1 or 1, not &#39;7&#39;" in ui_admin.get("/setup/notifications").text
    for name in names:
        ui_admin.post("/setup/rule/delete", {"name": name})

"""The setup page's Check rules card, and the service page naming the rule that applies."""

from __future__ import annotations

import html

from uiweb import Browser
from webapi import Api, unique


def _form(name: str, team: str, params: str, **extra: str) -> dict[str, str]:
    return {
        "name": name,
        "check_type": "tls",
        "objects": "any",
        "host_labels": f"team={team}",
        "params": params,
        **extra,
    }


def test_add_show_on_the_service_page_and_remove(ui_admin: Browser, api: Api) -> None:
    name, team = unique("tls"), unique("team")
    host = api.host(labels={"team": team})
    api.service(host, "Cert", check={"type": "tls", "port": 1})
    form = _form(name, team, "warn_days=40\ncrit_days=20", description="certs of the team")
    assert ui_admin.post("/setup/check-rule", form).status_code == 303
    page = html.unescape(ui_admin.get("/setup").text)
    assert f"check rule {name} added" in page
    assert "warn_days=40" in page
    assert "certs of the team" in page
    service = html.unescape(ui_admin.get(f"/service?host={host}&name=Cert").text)
    assert f'from rule <a href="/setup#check-rules">{name}</a>' in service
    replaced = _form(name, team, "warn_days=50")
    assert ui_admin.post("/setup/check-rule", replaced).status_code == 303
    assert f"check rule {name} replaced" in html.unescape(ui_admin.get("/setup").text)
    assert ui_admin.post("/setup/check-rule/delete", {"name": name}).status_code == 303
    page = html.unescape(ui_admin.get("/setup").text)
    assert f"check rule {name} removed" in page
    service = html.unescape(ui_admin.get(f"/service?host={host}&name=Cert").text)
    assert "no check rule matches" in service


def test_bad_params_are_refused_naming_the_field(ui_admin: Browser) -> None:
    form = _form(unique("tls"), unique("team"), "warn_days=soon")
    assert ui_admin.post("/setup/check-rule", form).status_code == 303
    page = html.unescape(ui_admin.get("/setup").text)
    assert "params.warn_days: Input should be a valid integer" in page
    form = _form(unique("tls"), unique("team"), "warn_days")
    ui_admin.post("/setup/check-rule", form)
    assert "'warn_days': expected FIELD=VALUE" in html.unescape(ui_admin.get("/setup").text)

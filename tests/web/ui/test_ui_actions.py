"""Handling problems from the web UI: acknowledge, downtime, bulk, recheck, comments."""

from __future__ import annotations

import pytest
from uiweb import Browser
from webapi import Api, wait_for

pytestmark = pytest.mark.integration


def test_ack_from_the_problems_page_moves_it_to_handled_with_the_user_as_author(
    api: Api, ui_operator: Browser
) -> None:
    host, svc = api.host_with_service("Backup")
    api.result(host, svc, 2, summary="backup failed")
    page = ui_operator.get("/problems", host=host)
    assert "backup failed" in page.text
    assert "Handled (acknowledged" not in page.text
    r = ui_operator.act("ack", (host, svc), comment="restoring the quota")
    assert r.status_code == 303
    assert r.headers["location"] == "/problems"
    after = ui_operator.get("/problems", host=host)
    assert "Acknowledged: 1 object" in after.text
    assert "Handled (acknowledged" in after.text
    assert ui_operator.get("/problems", host=host, handled="no").text.count("backup failed") == 0
    ack = api.svc(host, svc)["acknowledgement"]
    assert ack["author"] == ui_operator.user
    assert ack["comment"] == "restoring the quota"
    events = wait_for(lambda: api.events(host=host, type="ack_set"))
    assert events[0]["author"] == ui_operator.user
    log = ui_operator.get("/service", host=host, name=svc).text
    assert "ack set" in log
    assert ui_operator.user in log


def test_an_ack_needs_a_comment(api: Api, ui_operator: Browser) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 1, summary="slow")
    r = ui_operator.act("ack", (host, svc), comment="")
    assert r.status_code == 303
    assert "needs a comment" in ui_operator.get("/problems").text
    assert api.svc(host, svc)["acknowledged"] is False


def test_an_8h_downtime_from_the_host_page(api: Api, ui_operator: Browser) -> None:
    host = api.host()
    api.service(host, "a")
    r = ui_operator.act(
        "downtime", (host, ""), comment="kernel update", duration="8h", include_services="on"
    )
    assert r.status_code == 303
    dts = api.c.get("/api/v1/downtimes", params={"host": host}).json()["items"]
    assert len(dts) == 1
    assert dts[0]["end"] - dts[0]["start"] == pytest.approx(8 * 3600)
    assert dts[0]["author"] == ui_operator.user
    assert dts[0]["include_services"] is True
    page = ui_operator.get("/host", name=host).text
    assert "kernel update" in page
    # and remove it again from the downtimes list
    r = ui_operator.post("/act", {"action": "remove_downtime", "downtime": dts[0]["id"]})
    assert r.status_code == 303
    assert api.c.get("/api/v1/downtimes", params={"host": host}).json()["items"] == []


def test_a_typed_downtime_length_wins_over_the_preset(api: Api, ui_operator: Browser) -> None:
    host = api.host()
    r = ui_operator.act(
        "downtime", (host, ""), comment="move", duration="8h", duration_text="2h30m"
    )
    assert r.status_code == 303
    dts = api.c.get("/api/v1/downtimes", params={"host": host}).json()["items"]
    assert [d["end"] - d["start"] for d in dts] == [pytest.approx(9000)]
    ui_operator.act("downtime", (host, ""), comment="move", duration="8h", duration_text="2 hours")
    page = ui_operator.get("/host", name=host).text
    assert "&#39;2 hours&#39; is not a duration" in page
    assert "2h30m, 1d, 1w" in page


def test_bulk_ack_of_three_problems(api: Api, ui_operator: Browser) -> None:
    targets = []
    for _ in range(3):
        host, svc = api.host_with_service("Disk")
        api.result(host, svc, 2, summary="full")
        targets.append((host, svc))
    r = ui_operator.act("ack", *targets, comment="one ticket for all three")
    assert r.status_code == 303
    assert "Acknowledged: 3 objects" in ui_operator.get("/problems").text
    for host, svc in targets:
        assert api.svc(host, svc)["acknowledgement"]["author"] == ui_operator.user


def test_bulk_reports_what_failed(api: Api, ui_operator: Browser) -> None:
    bad_host, bad_svc = api.host_with_service()
    api.result(bad_host, bad_svc, 0, summary="fine")
    good_host, good_svc = api.host_with_service()
    api.result(good_host, good_svc, 2, summary="broken")
    ui_operator.act("ack", (bad_host, bad_svc), (good_host, good_svc), comment="c")
    text = ui_operator.get("/problems").text
    assert "Acknowledged: 1 object" in text
    assert "no problem to acknowledge" in text


def test_comment_and_recheck(api: Api, ui_operator: Browser) -> None:
    host, svc = api.host_with_service()
    ui_operator.act("comment", (host, svc), comment="looked at it")
    assert "looked at it" in ui_operator.get("/service", host=host, name=svc).text
    ui_operator.act("recheck", (host, svc))
    assert "passive, no active check" in ui_operator.get("/problems").text

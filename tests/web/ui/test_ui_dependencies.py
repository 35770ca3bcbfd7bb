"""A problem caused by another is shown with its cause: in the handled part of the problem
list with a link to the cause, and on its own page (issue 15)."""

from __future__ import annotations

import pytest
from uiweb import Browser
from webapi import Api

pytestmark = pytest.mark.integration


def test_a_consequence_is_handled_and_links_its_cause(api: Api, ui_viewer: Browser) -> None:
    host, _ = api.host_with_service("Kubelet")
    api.service(
        host, "Filesystem", max_check_attempts=1, depends_on=[{"host": host, "service": "Kubelet"}]
    )
    api.result(host, "Filesystem", 3, summary="no stats from the kubelet")
    api.result(host, "Kubelet", 2, summary="kubelet unreachable")

    page = ui_viewer.get("/problems", host=host).text
    handled = page.split('class="divider"', 1)[1]
    assert "no stats from the kubelet" in handled
    assert "caused by" in handled
    assert f"{host}/Kubelet</a>" in handled
    assert "kubelet unreachable" not in handled  # the cause itself is unhandled, above

    fs = ui_viewer.get("/service", host=host, name="Filesystem").text
    assert "Caused by" in fs
    assert "does not notify on its own" in fs
    kubelet = ui_viewer.get("/service", host=host, name="Kubelet").text
    assert f"{host}/Filesystem" in kubelet

"""Self-monitoring of notification channels: CRIT while a channel fails, not exported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "chatops"))
from harness import Harness, until

from lookout.sites.configapply import export_tree

pytestmark = pytest.mark.integration

HOOK = {"name": "hook", "spec": {"type": "webhook", "url": "http://127.0.0.1:9/none"}}


async def test_a_failing_channel_is_a_crit_service_left_out_of_exports(tmp_path: Path) -> None:
    h = Harness(tmp_path, notifications={"self_monitoring": True})
    await h.start()
    try:
        await h.configure([HOOK], [{"name": "all", "channels": ["hook"], "hosts": ["db1"]}])
        await h.service("db1", "Disk /var")
        await h.result("db1", "Disk /var", 2, "98% used")
        engine = h.site.engine
        st = await until(lambda: engine.status.get(("lookout", "Notifications hook")))
        await until(lambda: st.state == 2, what="CRIT while the webhook fails")
        assert "cannot connect" in st.summary or "ConnectError" in st.summary, st.summary
        assert engine.hosts["lookout"].labels == {"lookout/self": "site"}
        tree = await export_tree(h.site)
        assert [x["name"] for x in tree["hosts"]] == ["db1"]
    finally:
        await h.stop()


async def test_self_monitoring_can_be_turned_off(tmp_path: Path) -> None:
    h = Harness(tmp_path, notifications={"self_monitoring": False})
    await h.start()
    try:
        await h.configure([HOOK], [{"name": "all", "channels": ["hook"]}])
        await h.service("db1", "Disk /var")
        await h.result("db1", "Disk /var", 2, "98% used")
        dispatcher = h.site.notifier.dispatcher
        await until(lambda: dispatcher.health.get("hook").failing, what="the webhook failing")
        assert "lookout" not in h.site.engine.hosts
    finally:
        await h.stop()

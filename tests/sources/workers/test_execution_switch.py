"""``[execution] enabled = false`` is about programs run on the site's own machine: with
worker pools, Nagios plugin checks run on the workers, so the site takes them and a worker
runs them; event handlers (which run on the site) stay refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from livepools import WorkerProcess, nats_site, wait_for
from natsserver import NatsServer


def test_a_site_without_execution_hands_nagios_checks_to_its_workers(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    site = nats_site(tmp_path / "site", nats_server.url, execution={"enabled": False})
    site.start()
    worker = WorkerProcess.start(nats_server.url, tmp_path / "worker.log")
    try:
        with site.client() as c:
            line = "/bin/sh -c 'echo \"OK - ran on a worker\"'"
            body = {"name": "fine", "command_line": line}
            c.post("/api/v1/commands", json=body).raise_for_status()
            c.post("/api/v1/hosts", json={"name": "h"}).raise_for_status()
            check = {"type": "nagios", "command": "fine"}
            svc = {"name": "T", "check": check, "check_interval": 1, "max_check_attempts": 1}
            assert c.post("/api/v1/hosts/h/services", json=svc).status_code == 201

            def ran() -> dict[str, Any] | None:
                got: dict[str, Any] = c.get("/api/v1/hosts/h/services/T").json()
                return got if got["summary"] == "OK - ran on a worker" else None

            assert wait_for(ran, within=30)
            handler = {"name": "H", "event_handler": {"command": "fine"}}
            refused = c.post("/api/v1/hosts/h/services", json=handler)
            assert refused.status_code == 422
            assert "execution is disabled on this site" in refused.json()["detail"]
    finally:
        worker.stop()
        site.stop()
    assert site.log is not None
    assert "its Nagios plugin checks run on the worker pools" in site.log.read_text()

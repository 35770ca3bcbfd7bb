"""Schemathesis runs over a live site's OpenAPI document, for tests/web/api/test_fuzz_openapi.py
and bench/fuzz_api.py.

Runs the ``schemathesis`` command line (``st run``) in a subprocess: its coverage phase (the
schema's boundary and invalid values, a fixed set) is only in the run engine, and the fixture
mode of its pytest plugin fails under pytest 9.2 (``Function`` has no ``_nodeid``). The one
check is ``not_a_server_error``: any 5xx answer fails the run, with a curl line to reproduce.

Random names find nothing, so every operation would stop at 404: :func:`seed_site` creates a
host with services and metrics, and the generated ``host``/``service`` values (path, query,
body) are those names ``KNOWN`` of the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from livesite import LiveSite

REVOKE = "/api/v1/tokens/{token_id}"
"""``DELETE`` here can revoke the token of the run itself (see the test module)."""
HOST = "fuzz-host"
SERVICES = ("fuzz-svc", "fuzz svc/2", "fuzz-svc-3")
KNOWN = 0.5
"""Share of generated host and service names that are the seeded ones."""


@dataclass(frozen=True)
class FuzzRun:
    returncode: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self, lines: int = 200) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def seed_site(site: LiveSite) -> None:
    """A host with services, results and metrics, for the run to find. The host is the parent
    of another (so it cannot be deleted: 409), and the run deletes at most some services."""
    with site.client() as admin:
        if admin.get(f"/api/v1/hosts/{HOST}").status_code == 404:
            assert admin.post("/api/v1/hosts", json={"name": HOST}).status_code == 201
            child = {"name": f"{HOST}-child", "parents": [HOST]}
            assert admin.post("/api/v1/hosts", json=child).status_code == 201
        results = []
        for service in SERVICES:
            r = admin.post(f"/api/v1/hosts/{HOST}/services", json={"name": service})
            assert r.status_code in (201, 409), r.text
            results.append({"host": HOST, "service": service, "state": 1, "perfdata": "x=3;2;5"})
        r = admin.post("/api/v1/results", json={"results": results})
        assert r.status_code == 200, r.text


def config_file(directory: Path) -> Path:
    """A ``schemathesis.toml`` that draws host and service names from the seeded ones."""
    lines = [
        f"[dictionaries.hosts]\nvalues = {json.dumps([HOST])}\n",
        f"[dictionaries.services]\nvalues = {json.dumps(SERVICES)}\n",
        "[parameters]",
    ]
    for kind in ("host", "service"):
        for where in ("path", "query", "body", "body.results[*]"):
            lines.append(f'"{where}.{kind}" = {{ dictionary = "{kind}s", probability = {KNOWN} }}')
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fuzz(
    site: LiveSite,
    token: str,
    *,
    max_examples: int = 10,
    seed: int = 16,
    workers: int = 1,
    filters: tuple[str, ...] = (),
    timeout: float = 600,
) -> FuzzRun:
    """Run the coverage and fuzzing phases over every operation (``filters``: extra ``st run``
    options such as ``--exclude-path``) with ``max_examples`` generated cases each."""
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_file(site.dir)),
        "run",
        f"{site.url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error",
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        str(workers),
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--warnings",
        "off",
        *filters,
    ]
    started = time.monotonic()
    done = subprocess.run(  # in the site's directory: the run leaves a .schemathesis cache
        cmd, cwd=site.dir, capture_output=True, text=True, timeout=timeout, check=False
    )
    return FuzzRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)

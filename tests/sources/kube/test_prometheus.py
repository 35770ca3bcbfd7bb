"""The PromQL usage source against a real Prometheus (Debian package) that scrapes the
recorded cAdvisor and kube-state-metrics text, served locally."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubedata import NRI, need_fixtures

from livesite import free_port
from lookout.checks.kube.evaluate import ClusterInput, evaluate
from lookout.checks.kube.memory import Memory
from lookout.sources.kube.errors import BadAnswer, Unreachable
from lookout.sources.kube.prometheus import PrometheusUsage

pytestmark = pytest.mark.integration
PROMETHEUS = shutil.which("prometheus")


@pytest.fixture(scope="module")
def exporter() -> Iterator[int]:
    """Serves /cadvisor and /ksm: the recorded kubelet and kube-state-metrics answers."""
    need_fixtures()
    files = {
        "/cadvisor": NRI / "1_35" / "kubelet" / "metrics" / "cadvisor",
        "/ksm": NRI / "1_35" / "ksm" / "metrics",
    }
    # the recording has no kubelet volume stats; three lines in the kubelet's format
    labels = '{namespace="scraper",persistentvolumeclaim="data"}'
    volume_stats = "".join(
        f"kubelet_volume_stats_{what}_bytes{labels} {v}\n"
        for what, v in (("used", 8e9), ("capacity", 10e9), ("available", 2e9))
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = files.get(self.path)
            if path is None and self.path != "/kubelet":
                self.send_error(404)
                return
            body = path.read_bytes() if path is not None else volume_stats
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def prometheus(exporter: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PROMETHEUS is None:
        pytest.skip("prometheus is not installed (scripts/test-deps.d/kube.sh installs it)")
    tmp = tmp_path_factory.mktemp("prometheus")
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 500ms, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        + "".join(
            f"  - job_name: {job}\n"
            f"    metrics_path: /{job}\n"
            "    honor_timestamps: false\n"  # the recording's own timestamps are months old
            f"    static_configs: [{{targets: ['127.0.0.1:{exporter}']}}]\n"
            for job in ("cadvisor", "ksm", "kubelet")
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_scraped(url, proc, tmp / "prometheus.log")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _wait_scraped(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until both targets were scraped at least twice (rate() needs two samples)."""
    deadline = time.monotonic() + 60
    query = 'count_over_time(up{job=~"cadvisor|ksm|kubelet"}[1m]) >= 2'
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            r = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=2)
            if r.status_code == 200 and len(r.json()["data"]["result"]) == 3:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"prometheus did not scrape in time: {log.read_text()[-2000:]}")


async def test_usage_from_prometheus(prometheus: str) -> None:
    source = PrometheusUsage(prometheus)
    try:
        usage = await source.read()
    finally:
        await source.aclose()
    assert usage.source == "prometheus"
    cpu, mem = usage.pods["kube-system/coredns-7d764666f9-qdcxt"]
    assert cpu == 0.0  # the recording does not change between scrapes: no CPU seconds added
    assert mem == pytest.approx(16_203_776, rel=0.2)
    node = usage.nodes["datagen-1-35"]
    assert node.memory is not None
    assert node.memory > mem
    assert len(usage.pods) >= 15
    data = usage.volumes["scraper/data"]
    assert (data.used, data.capacity, data.available) == (8e9, 10e9, 2e9)


async def test_prometheus_usage_in_the_evaluation(prometheus: str) -> None:
    import msgspec
    from kubeapi import load_items

    from lookout.checks.kube.sections import Node, Pod
    from lookout.checks.kube.view import Objects, key

    objs = Objects()
    for raw in load_items(NRI / "1_35" / "pods.yaml"):
        pod = msgspec.convert(raw, Pod, strict=False)
        objs.pods[key(pod.metadata.namespace, pod.metadata.name)] = pod
    for raw in load_items(NRI / "1_35" / "nodes.yaml"):
        node = msgspec.convert(raw, Node, strict=False)
        objs.nodes[node.metadata.name] = node
    source = PrometheusUsage(prometheus)
    try:
        usage = await source.read()
    finally:
        await source.aclose()
    ev = evaluate(ClusterInput("lab", objs, time.time(), usage=usage), Memory())
    got = {(h, s): o for h, s, o in ev.outcomes}
    mem = got[("k8s:lab:deployment:kube-system:coredns", "Memory")]
    assert "usage 15." in mem.summary
    assert "of limits" in mem.summary
    assert got[("k8s:lab", "Usage source")].summary.startswith("prometheus:")
    assert "working set" in got[("k8s:lab:node:datagen-1-35", "Memory")].summary


async def test_prometheus_errors_are_clear(prometheus: str) -> None:
    source = PrometheusUsage(prometheus)
    try:
        with pytest.raises(BadAnswer, match="parse error"):
            await source.query("sum by (")
    finally:
        await source.aclose()
    gone = PrometheusUsage(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(Unreachable, match="Prometheus"):
            await gone.read()
    finally:
        await gone.aclose()

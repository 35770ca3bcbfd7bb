"""Every pod of every overlay is admitted under the ``restricted`` Pod Security Standard (the
profile's checks written out below, from the Kubernetes documentation) and goes further:
read-only root filesystem with /tmp on an emptyDir, requests and limits, probes on the site's
/healthz and /readyz. The Containerfile's user is the one the pods run as."""

from __future__ import annotations

import re

import pytest
from k8s_manifests import KUBE, OVERLAYS, ROOT, Manifest, build, one, pod_spec

SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
"""Baseline's allowed sysctls (Kubernetes 1.29+); restricted includes baseline."""

RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def restricted_violations(spec: Manifest) -> list[str]:
    """What in a pod spec the ``restricted`` profile (v1.31) refuses, plus our own rules."""
    out: list[str] = []
    pod_sc = spec.get("securityContext", {})
    containers = spec.get("initContainers", []) + spec.get("containers", [])
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            out.append(key)
    for v in spec.get("volumes", []):
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            out.append(f"volume {v['name']}: {kinds}")
    for s in pod_sc.get("sysctls", []):
        if s["name"] not in SAFE_SYSCTLS:
            out.append(f"sysctl {s['name']}")
    if pod_sc.get("runAsUser") == 0:
        out.append("pod runAsUser 0")
    for c in containers:
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("privileged"):
            out.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation not false")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            out.append(f"{name}: capabilities not dropped")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            out.append(f"{name}: capabilities added")
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            out.append(f"{name}: runAsNonRoot")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) in (0, None):
            out.append(f"{name}: no numeric non-root runAsUser")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{name}: seccompProfile {seccomp}")
        if any(p.get("hostPort") for p in c.get("ports", [])):
            out.append(f"{name}: hostPort")
        # ours, beyond the profile
        if sc.get("readOnlyRootFilesystem") is not True:
            out.append(f"{name}: root filesystem writable")
        for kind in ("requests", "limits"):
            if set(c.get("resources", {}).get(kind, {})) != {"cpu", "memory"}:
                out.append(f"{name}: {kind} of cpu and memory")
        tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
            out.append(f"{name}: no emptyDir on /tmp")
    return out


def pods() -> list[tuple[str, str, Manifest]]:
    return [
        (overlay, f"{o['kind']}/{o['metadata']['name']}", spec)
        for overlay in OVERLAYS
        for o in build(overlay)
        if (spec := pod_spec(o)) is not None
    ]


@pytest.mark.parametrize(("overlay", "workload", "spec"), pods(), ids=lambda v: str(v)[:40])
def test_every_pod_is_under_the_restricted_profile(
    overlay: str, workload: str, spec: Manifest
) -> None:
    assert restricted_violations(spec) == [], f"{overlay}: {workload}"
    assert spec.get("automountServiceAccountToken") is False


def test_the_pods_are_the_expected_ones() -> None:
    names = {(overlay, workload) for overlay, workload, _ in pods()}
    assert {w for o, w in names if o == "postgres"} == {
        "StatefulSet/lookout-site",
        "StatefulSet/lookout-nats",
        "Deployment/lookout-worker-default",
        "Deployment/lookout-worker-snmp",
    }
    assert {w for o, w in names if o == "postgres/update"} == {"Job/lookout-update"}


def test_the_check_finds_what_the_profile_refuses() -> None:
    """So that the tests above can fail."""
    site = one(build("sqlite"), "StatefulSet", "lookout-site")["spec"]["template"]["spec"]
    bad = {
        **site,
        "hostNetwork": True,
        "securityContext": {"runAsNonRoot": True},
        "containers": [
            {
                "name": "x",
                "image": "x:1",
                "securityContext": {"capabilities": {"add": ["NET_RAW"]}},
                "resources": {"requests": {"cpu": "1"}},
            }
        ],
    }
    found = restricted_violations(bad)
    for what in (
        "hostNetwork",
        "x: allowPrivilegeEscalation not false",
        "x: capabilities not dropped",
        "x: capabilities added",
        "x: no numeric non-root runAsUser",
        "x: seccompProfile None",
        "x: root filesystem writable",
        "x: requests of cpu and memory",
        "x: limits of cpu and memory",
        "x: no emptyDir on /tmp",
    ):
        assert what in found


def test_the_namespace_enforces_the_restricted_profile() -> None:
    for overlay in ("sqlite", "workers", "postgres"):
        ns = one(build(overlay), "Namespace", "lookout")
        labels = ns["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_the_site_probes_healthz_and_readyz_on_its_http_port() -> None:
    site = one(build("workers"), "StatefulSet", "lookout-site")["spec"]["template"]["spec"]
    (c,) = site["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8080, "agents": 8443}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    settings = one(build("workers"), "ConfigMap", "lookout-site")["data"]
    assert settings["LOOKOUT_LISTEN"].endswith(":8080")
    assert settings["LOOKOUT_AGENT_RECEIVER__LISTEN"].endswith(":8443")
    nats = one(build("workers"), "StatefulSet", "lookout-nats")["spec"]["template"]["spec"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert nats["containers"][0][probe]["httpGet"]["path"].startswith("/healthz")


def containerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Containerfile").read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def test_the_containerfile_pins_its_base_and_runs_lookout_as_the_pods_user() -> None:
    steps = containerfile()
    bases = [arg.split()[0] for op, arg in steps if op == "FROM"]
    assert bases
    assert all(re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", b) for b in bases)
    (user,) = [arg for op, arg in steps if op == "USER"]
    uid = int(user.split(":")[0])
    assert uid > 0
    assert [op for op, _ in steps].index("USER") > max(
        i for i, (op, _) in enumerate(steps) if op in ("RUN", "COPY")
    ), "USER comes after the last step that needs root"
    assert ("ENTRYPOINT", '["lookout"]') in steps
    assert any(op == "RUN" and "monitoring-plugins" in arg for op, arg in steps)
    for overlay, workload, spec in pods():
        if "nats" not in workload:
            assert spec["securityContext"]["runAsUser"] == uid, (overlay, workload)


def test_the_build_context_leaves_the_virtualenv_out() -> None:
    ignored = (ROOT / ".containerignore").read_text().split()
    assert {".git", ".venv"} <= set(ignored)
    assert (KUBE / "journey.Dockerfile").exists()  # the journey image stays its own

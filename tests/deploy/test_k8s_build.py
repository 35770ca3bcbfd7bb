"""deploy/kubernetes: every overlay builds with ``kubectl kustomize`` and every object validates
against the Kubernetes 1.31 OpenAPI schema (kubernetes-validate's bundled, strict JSON schemas:
no network); what the overlays hold and how they fit together."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from k8s_manifests import KUBE, OVERLAYS, ROOT, Manifest, build, kustomize, one, pod_spec

K8S = "1.31.0"


def validate(obj: Manifest) -> None:
    """Raise unless ``obj`` validates strictly (no unknown fields) against the 1.31 schema; an
    object whose kind the schema does not know fails too."""
    kubernetes_validate.validate(obj, K8S, strict=True)


def test_the_overlays_are_the_documented_ones() -> None:
    assert OVERLAYS == ["postgres", "postgres/update", "sqlite", "workers"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_of_every_overlay_validates_against_kubernetes_1_31(overlay: str) -> None:
    objects = build(overlay)
    assert objects
    for obj in objects:
        try:
            validate(obj)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{overlay}: {obj['kind']}/{obj['metadata']['name']}: {where}: {exc}")


def test_the_validator_refuses_a_misspelt_field_and_a_wrong_type() -> None:
    """So that the test above can fail."""
    service = one(build("sqlite"), "Service", "lookout-site")
    typo = {**service, "spec": {**service["spec"], "selectr": {"a": "b"}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(typo)
    wrong = {**service, "spec": {**service["spec"], "ports": [{"port": "http"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(wrong)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate({"apiVersion": "example.org/v1", "kind": "Nothing", "metadata": {"name": "x"}})


def test_every_object_lives_in_the_site_namespace() -> None:
    for overlay in OVERLAYS:
        for obj in build(overlay):
            if obj["kind"] != "Namespace":
                assert obj["metadata"].get("namespace") == "lookout", (overlay, obj["kind"])


def test_the_site_is_one_statefulset_with_its_directory_on_a_volume() -> None:
    for overlay in ("sqlite", "workers", "postgres"):
        site = one(build(overlay), "StatefulSet", "lookout-site")
        # SQLite: one engine per site file; PostgreSQL: the site and its standby
        assert site["spec"]["replicas"] == (2 if overlay == "postgres" else 1)
        (claim,) = site["spec"]["volumeClaimTemplates"]
        container = site["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["serve", "/site"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts[claim["metadata"]["name"]] == "/site"


def test_on_postgres_the_standby_shares_the_site_keys_and_is_never_waited_for() -> None:
    """Two replicas: both make their site directory from the Secret lookout-site-keys (one site
    CA, one sealing key); a standby is never Ready, so no rolling update or ordered start may
    wait for it, and the two prefer different nodes."""
    site = one(build("postgres"), "StatefulSet", "lookout-site")
    spec = site["spec"]
    assert spec["replicas"] == 2
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "OnDelete"}
    pod = spec["template"]["spec"]
    keys = next(v for v in pod["volumes"] if v["name"] == "keys")
    assert keys["secret"]["secretName"] == "lookout-site-keys"
    (init,) = pod["initContainers"]
    assert {"name": "keys", "mountPath": "/keys", "readOnly": True} in init["volumeMounts"]
    script = init["args"][0]
    for copied in ("/keys/ca.key", "/keys/ca.pem", "/keys/kube.key", "/keys/cli.json"):
        assert copied in script
    assert "lookout init" not in script  # the database has its site already
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_postgres_takes_the_database_url_from_a_secret_everywhere_it_is_needed() -> None:
    objects = build("postgres") + build("postgres/update")
    users = []
    for obj in objects:
        spec = pod_spec(obj)
        for c in (spec or {}).get("initContainers", []) + (spec or {}).get("containers", []):
            env = {e["name"]: e for e in c.get("env", [])}
            if "LOOKOUT_DATABASE_URL" in env:
                ref = env["LOOKOUT_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
                assert ref == {"name": "lookout-database", "key": "url"}
                users.append(f"{obj['metadata']['name']}/{c['name']}")
    assert sorted(users) == ["lookout-site/site", "lookout-update/migrate"]
    for overlay in ("sqlite", "workers"):
        assert "lookout-database" not in yaml.safe_dump_all(build(overlay))


def test_the_update_job_runs_lookout_migrate_with_the_sites_image() -> None:
    (job,) = build("postgres/update")
    assert job["kind"] == "Job"
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"] == ["migrate"]
    assert spec["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    site = one(build("postgres"), "StatefulSet", "lookout-site")
    assert container["image"] == site["spec"]["template"]["spec"]["containers"][0]["image"]


def test_images_are_pinned_and_the_same_lookout_image_everywhere() -> None:
    lookout = set()
    for overlay in OVERLAYS:
        for obj in build(overlay):
            spec = pod_spec(obj)
            for c in (spec or {}).get("initContainers", []) + (spec or {}).get("containers", []):
                name, _, tag = c["image"].rpartition(":")
                assert name, c["image"]
                assert tag not in ("", "latest"), c["image"]
                if "lookout" in name:
                    lookout.add(c["image"])
    assert lookout == {"registry.example.org/lookout:0.1.0"}


@pytest.mark.parametrize("overlay", ["workers", "postgres"])
def test_two_worker_pools_run_lookout_worker_against_the_nats_service(overlay: str) -> None:
    objects = build(overlay)
    pools = {}
    for obj in objects:
        if obj["kind"] == "Deployment":
            labels = obj["spec"]["template"]["metadata"]["labels"]
            assert obj["spec"]["selector"]["matchLabels"].items() <= labels.items()
            args = obj["spec"]["template"]["spec"]["containers"][0]["args"]
            assert args[:2] == ["worker", "--pool"]
            assert args[3:] == [
                "--nats",
                "$(LOOKOUT_NATS_URL)",
            ]
            assert labels["lookout/pool"] == args[2]
            assert obj["metadata"]["name"] == f"lookout-worker-{args[2]}"
            pools[args[2]] = obj
    assert sorted(pools) == ["default", "snmp"]
    # the two pools' selectors do not overlap
    default, snmp = (pools[p]["spec"]["selector"]["matchLabels"] for p in ("default", "snmp"))
    assert default != snmp


def test_nats_is_three_routed_jetstream_servers_on_volumes() -> None:
    objects = build("workers")
    nats = one(objects, "StatefulSet", "lookout-nats")
    assert nats["spec"]["replicas"] == 3
    service = nats["spec"]["serviceName"]
    assert one(objects, "Service", service)["spec"]["clusterIP"] == "None"
    conf = one(objects, "ConfigMap", "lookout-nats")["data"]["nats.conf"]
    routes = re.findall(r"nats://([\w.-]+):6222", conf)
    assert routes == [f"lookout-nats-{i}.{service}:6222".rsplit(":", 1)[0] for i in range(3)]
    store = re.search(r"store_dir:\s*(\S+)", conf)
    assert store is not None
    (claim,) = nats["spec"]["volumeClaimTemplates"]
    container = nats["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[store.group(1)] == claim["metadata"]["name"]
    assert container["image"].split(":")[0] == "nats"


def test_the_nats_configuration_is_accepted_by_nats_server(tmp_path: Path) -> None:
    """``nats-server -t`` on the ConfigMap's file, with an auth file as the README makes it."""
    server = shutil.which("nats-server")
    if server is None:
        if os.environ.get("CI"):
            pytest.fail("nats-server is required in CI: scripts/test-deps.d/k8s.sh")
        pytest.skip("nats-server is not installed")
    conf = one(build("workers"), "ConfigMap", "lookout-nats")["data"]["nats.conf"]
    (tmp_path / "nats.conf").write_text(conf)
    (tmp_path / "auth.conf").write_text(readme_block("auth.conf"))
    done = subprocess.run(
        [server, "-c", "nats.conf", "-t"],
        cwd=tmp_path,
        env={"SERVER_NAME": "lookout-nats-0"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Run Lookout on Kubernetes")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def readme_blocks() -> list[str]:
    """The fenced blocks of the README's Kubernetes section, dedented."""
    found = re.findall(r"^( *)```\w*\n(.*?)^\1```", readme_section(), re.S | re.M)
    return [textwrap.dedent(block) for _, block in found]


def readme_block(name: str) -> str:
    """The fenced block whose first line names ``name``."""
    for block in readme_blocks():
        if block.startswith(f"# {name}"):
            return block
    raise AssertionError(f"no block for {name} in the README")


def test_every_secret_the_pods_use_is_created_in_the_readme() -> None:
    created = set(re.findall(r"create secret generic ([\w-]+)", "\n".join(readme_blocks())))
    used = set()
    for overlay in OVERLAYS:
        for obj in build(overlay):
            spec = pod_spec(obj) or {}
            for v in spec.get("volumes", []):
                if "secret" in v:
                    used.add(v["secret"]["secretName"])
                for source in v.get("projected", {}).get("sources", []):
                    if "secret" in source:
                        used.add(source["secret"]["name"])
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        used.add(ref["name"])
    assert used == {
        "lookout-database",
        "lookout-nats-auth",
        "lookout-nats-client",
        "lookout-site-keys",
    }
    assert used <= created


def test_the_readme_applies_paths_that_build() -> None:
    paths = set(re.findall(r"kubectl apply -k (\S+)", "\n".join(readme_blocks())))
    overlays = {
        "deploy/kubernetes/overlays/" + o for o in ("workers", "postgres", "postgres/update")
    }
    assert overlays <= paths
    for path in paths:
        kustomize(ROOT / path)


EXAMPLES = KUBE / "examples"


def test_the_passthrough_examples_send_port_8443_untouched_to_the_agent_service() -> None:
    site = build("sqlite")
    agents = one(site, "Service", "lookout-agents")
    assert agents["spec"]["ports"] == [
        {"name": "agents", "port": 8443, "targetPort": "agents", "protocol": "TCP"}
    ]
    settings = one(site, "ConfigMap", "lookout-site")["data"]
    host = settings["LOOKOUT_AGENT_RECEIVER__PUBLIC_URL"].split("//")[1].split(":")[0]
    assert yaml.safe_load(settings["LOOKOUT_AGENT_RECEIVER__HOSTNAMES"]) == [host]

    gateway = {
        o["kind"]: o for o in yaml.safe_load_all((EXAMPLES / "gateway-api.yaml").read_text())
    }
    (listener,) = [x for x in gateway["Gateway"]["spec"]["listeners"] if x["port"] == 8443]
    assert listener["protocol"] == "TLS"
    assert listener["tls"]["mode"] == "Passthrough"
    assert listener["hostname"] == host
    route = gateway["TLSRoute"]["spec"]
    assert route["parentRefs"][0]["sectionName"] == listener["name"]
    assert route["rules"][0]["backendRefs"] == [{"name": "lookout-agents", "port": 8443}]

    (traefik,) = yaml.safe_load_all((EXAMPLES / "traefik.yaml").read_text())
    assert traefik["spec"]["tls"] == {"passthrough": True}
    assert traefik["spec"]["routes"][0]["match"] == f"HostSNI(`{host}`)"
    assert traefik["spec"]["routes"][0]["services"] == [{"name": "lookout-agents", "port": 8443}]

    ingress, tcp = yaml.safe_load_all((EXAMPLES / "ingress-nginx.yaml").read_text())
    for obj in (ingress, tcp):
        validate(obj)
    assert tcp["data"] == {"8443": "lookout/lookout-agents:8443"}
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "lookout-site", "port": {"number": 8080}}
    assert ingress["spec"]["rules"][0]["host"] == host


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_labels_say_what_each_object_is(overlay: str) -> None:
    """Recommended labels, and no part's labels leaking onto another's objects."""
    for obj in build(overlay):
        labels = obj["metadata"].get("labels", {})
        if obj["kind"] == "Namespace":
            continue
        assert labels.get("app.kubernetes.io/part-of") == "lookout", obj["metadata"]["name"]
        nats = obj["metadata"]["name"].startswith("lookout-nats")
        expected = "nats" if nats else "lookout"
        assert labels.get("app.kubernetes.io/name") == expected, obj["metadata"]["name"]

"""``lookout config export|apply`` and ``lookout import nagios`` against a real site."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from livesite import LiveSite, make_site
from lookout.cli.main import app

pytestmark = pytest.mark.integration

WEB1 = """\
name: web1
address: 127.0.0.1
labels: {team: web}
groups: [linux-servers]
services:
  HTTP:
    check: {type: http, url: "http://127.0.0.1:1/"}
    check_interval: 300
  Disk /:
    params: {warn: 80}
    labels: {fs: root}
"""
DB1 = """\
name: db1
parents: [web1]
services:
  Postgres: {}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    s = make_site(tmp_path_factory.mktemp("config") / "site")
    s.start()
    try:
        yield s
    finally:
        s.stop()


class Cli:
    def __init__(self, site: LiveSite, cache: Path) -> None:
        self.runner = CliRunner(
            env={
                "LOOKOUT_URL": site.url,
                "LOOKOUT_TOKEN": site.token,
                "COLUMNS": "200",
                "NO_COLOR": "1",
                "XDG_CACHE_HOME": str(cache),
                "LOOKOUT_SECRET_HOOK_SECRET": "s3cret",
            }
        )

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args))

    def ok(self, *args: str) -> Result:
        r = self(*args)
        assert r.exit_code == 0, r.output
        return r

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)


@pytest.fixture
def cli(site: LiveSite, tmp_path: Path) -> Cli:
    return Cli(site, tmp_path / "cache")


def write(directory: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def base_tree(directory: Path) -> Path:
    return write(
        directory,
        {
            "hosts/web1.yaml": WEB1,
            "hosts/db1.yaml": DB1,
            "groups.yaml": "host_groups:\n  linux-servers: Linux Servers\n",
            "notifications.yaml": (
                "channels:\n  hook:\n    type: webhook\n    url: https://hooks.invalid/x\n"
                "    secret: env:LOOKOUT_SECRET_HOOK_SECRET\n"
                "rules:\n- name: all-to-hook\n  channels: [hook]\n"
            ),
            "downtimes.yaml": (
                "- host: db1\n  start: 2026-01-04T02:00:00Z\n  end: 2026-01-04T03:00:00Z\n"
                "  recurrence: 0 2 * * 0\n  comment: weekly backup\n"
            ),
        },
    )


def counts(report: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {
        k: (c["create"], c["change"], c["remove"])
        for k, c in report["changes"].items()
        if c["create"] or c["change"] or c["remove"]
    }


def test_apply_is_idempotent_round_trips_and_removes_only_managed_objects(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    tree = base_tree(tmp_path / "tree")
    with site.client() as http:
        http.post("/api/v1/hosts", json={"name": "by-hand"}).raise_for_status()

        dry = cli.json("config", "apply", str(tree), "--dry-run")
        assert counts(dry) == {
            "hosts": (2, 0, 0),
            "services": (3, 0, 0),
            "host_groups": (1, 0, 0),  # the alias of linux-servers
            "channels": (1, 0, 0),
            "rules": (1, 0, 0),
            "downtimes": (1, 0, 0),
        }
        assert http.get("/api/v1/hosts/web1").status_code == 404
        out = cli.ok("config", "apply", str(tree)).stdout
        assert "+ host web1" in out
        assert "applied" in out
        svc = http.get("/api/v1/hosts/web1/services/Disk /").json()
        assert svc["params"] == {"warn": 80}
        assert svc["labels"] == {"fs": "root", "lookout/managed": "config"}
        assert http.get("/api/v1/hosts/db1").json()["parents"] == ["web1"]

        again = cli.json("config", "apply", str(tree))
        assert again["changed"] is False, again
        assert "nothing to change" in cli.ok("config", "apply", str(tree)).stdout

        exported = tmp_path / "exported"
        cli.ok("config", "export", str(exported))
        web1 = (exported / "hosts" / "web1.yaml").read_text()
        assert "lookout/managed" not in web1
        assert "Disk /" in web1
        assert "linux-servers: Linux Servers" in (exported / "groups.yaml").read_text()
        notes = (exported / "notifications.yaml").read_text()
        assert "s3cret" not in notes
        assert "env:LOOKOUT_SECRET_HOOK_SECRET" in notes
        assert (exported / "hosts" / "by-hand.yaml").exists()
        adopted = cli.json("config", "apply", str(exported))  # by-hand is in the tree now
        assert counts(adopted) == {"hosts": (0, 1, 0)}
        assert adopted["changes"]["hosts"]["names"]["change"] == ["by-hand"]
        assert cli.json("config", "apply", str(exported))["changed"] is False

        http.post("/api/v1/hosts", json={"name": "by-hand-2"}).raise_for_status()
        (tree / "hosts" / "db1.yaml").unlink()
        (tree / "downtimes.yaml").write_text("[]\n")
        write(
            tree,
            {
                "hosts/web1.yaml": WEB1.replace("team: web", "team: ops").replace(
                    "  Disk /:\n    params: {warn: 80}\n    labels: {fs: root}\n", ""
                )
            },
        )
        changed = cli.json("config", "apply", str(tree))
        assert counts(changed) == {
            "hosts": (0, 1, 2),  # db1, and by-hand: adopted by the export's apply
            "services": (0, 0, 2),
            "downtimes": (0, 0, 1),
        }
        assert http.get("/api/v1/hosts/db1").status_code == 404
        assert http.get("/api/v1/hosts/by-hand").status_code == 404
        assert http.get("/api/v1/hosts/by-hand-2").status_code == 200  # not managed: kept
        assert http.get("/api/v1/hosts/web1").json()["labels"]["team"] == "ops"


def test_invalid_tree_names_file_and_path_and_changes_nothing(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    tree = write(
        tmp_path / "bad",
        {
            "hosts/ok1.yaml": "name: ok1\n",
            "hosts/bad1.yaml": "name: bad1\nservices:\n  X:\n    check_interval: -1\n",
            "hosts/bad2.yaml": "name: other\n",
            "notifications.yaml": "channels:\n  z:\n    type: webhook\n    url: https://x\n"
            "    secret: plain-text\n",
        },
    )
    r = cli("config", "apply", str(tree))
    assert r.exit_code == 2
    assert "hosts/bad1.yaml: services.X.check_interval" in r.output
    assert "hosts/bad2.yaml: name: 'other' does not match the file name" in r.output
    assert "notifications.yaml: channels.z.spec.secret: secrets do not belong" in r.output
    with site.client() as http:
        assert http.get("/api/v1/hosts/ok1").status_code == 404
    # the site checks what only it can: a parent that is not a host, a bad check
    write(
        tmp_path / "bad3",
        {
            "hosts/a.yaml": "name: a\nparents: [nowhere]\n",
            "hosts/b.yaml": "name: b\ncheck: {type: nope}\n",
        },
    )
    r = cli("config", "apply", str(tmp_path / "bad3"))
    assert r.exit_code == 1, r.output
    assert "hosts/a.yaml: parents: 'nowhere' is not a host" in r.output
    assert "hosts/b.yaml: check.type:" in r.output


def test_rules_name_only_channels_that_exist_after_the_apply(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    """The same check as the API and the UI (``notify.editing``), before anything is written."""
    hook = "channels:\n  a-hook:\n    type: webhook\n    url: https://hooks.invalid/a\n"
    tree = write(
        tmp_path / "missing",
        {"notifications.yaml": hook + "rules:\n- name: to-b\n  channels: [a-hook, b-hook]\n"},
    )
    r = cli("config", "apply", str(tree))
    assert r.exit_code == 1, r.output  # the site refused it
    assert "rules.to-b.channels.1: channel 'b-hook' does not exist" in r.output
    with site.client() as http:
        assert "to-b" not in http.get("/api/v1/notifications/rules").text
        assert "a-hook" not in http.get("/api/v1/notifications/channels").text

    kept = write(
        tmp_path / "kept",
        {"notifications.yaml": hook + "rules:\n- name: to-a\n  channels: [a-hook]\n"},
    )
    cli.ok("config", "apply", str(kept))
    (kept / "notifications.yaml").write_text("channels: {}\n")  # the rule stays, its channel goes
    r = cli("config", "apply", str(kept))
    assert r.exit_code == 1, r.output  # the site refused it
    assert "channel 'a-hook' is used by rule to-a" in r.output
    with site.client() as http:
        assert "a-hook" in http.get("/api/v1/notifications/channels").text


NAGIOS = """\
define host {
    name        tmpl
    check_interval 2
    register    0
}
define host {
    use         tmpl
    host_name   n1
    _RACK       r1
}
define service {
    host_name   n1
    service_description Passive thing
    max_check_attempts 2
}
define command {
    command_name check_x
    command_line /bin/true
}
define escalation {
    foo bar
}
"""


def test_import_nagios_writes_a_tree_and_dry_runs_against_the_site(
    cli: Cli, tmp_path: Path
) -> None:
    cfg = tmp_path / "objects.cfg"
    cfg.write_text(NAGIOS)
    (tmp_path / "nagios.cfg").write_text(f"cfg_file={cfg}\n")
    out = cli.json("import", "nagios", str(tmp_path / "nagios.cfg"), "--out", str(tmp_path / "t"))
    assert out["counts"]["hosts"] == 1
    assert out["counts"]["commands"] == 1
    assert any("objects.cfg:20: define escalation is not translated" in w for w in out["warnings"])
    n1 = (tmp_path / "t" / "hosts" / "n1.yaml").read_text()
    assert "rack: r1" in n1
    assert "check_interval: 120.0" in n1
    text = cli.ok("import", "nagios", str(tmp_path / "nagios.cfg"), "--dry-run").stdout
    assert "warning:" in text
    assert "dry run" in text
    assert "+ host n1" in text


def test_viewer_cannot_apply(site: LiveSite) -> None:
    with httpx.Client(base_url=site.url) as http:
        assert http.post("/api/v1/config/apply", json={}).status_code == 401


def test_commands_are_applied_before_their_checks_and_kept_while_used(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    tree = write(
        tmp_path / "cmds",
        {
            "commands.yaml": "check_dummy: $USER1$/check_dummy $ARG1$ $ARG2$\n",
            "hosts/cmdhost.yaml": (
                "name: cmdhost\nservices:\n  Dummy:\n"
                "    check: {type: nagios, command: check_dummy, args: ['0', fine]}\n"
            ),
        },
    )
    report = cli.json("config", "apply", str(tree))
    assert counts(report)["commands"] == (1, 0, 0)
    with site.client() as http:
        assert http.get("/api/v1/commands/check_dummy").status_code == 200
        svc = http.get("/api/v1/hosts/cmdhost/services/Dummy").json()
        assert svc["check"]["command"] == "check_dummy"
    exported = tmp_path / "exported"
    cli.ok("config", "export", str(exported))
    assert (
        "check_dummy: $USER1$/check_dummy $ARG1$ $ARG2$" in (exported / "commands.yaml").read_text()
    )

    (tree / "commands.yaml").write_text("{}\n")
    r = cli("config", "apply", str(tree))
    assert r.exit_code == 1
    assert "commands.yaml: check_dummy: still used by cmdhost/Dummy" in r.output
    write(
        tree,
        {
            "hosts/cmdhost.yaml": "name: cmdhost\nservices:\n  Dummy:\n"
            "    check: {type: nagios, command: nowhere}\n"
        },
    )
    r = cli("config", "apply", str(tree))
    assert "hosts/cmdhost.yaml: services.Dummy.check.command: no command" in r.output
    (tree / "hosts" / "cmdhost.yaml").write_text("name: cmdhost\n")
    report = cli.json("config", "apply", str(tree))  # the service goes, then the command
    assert counts(report)["commands"] == (0, 0, 1)
    assert cli.json("config", "apply", str(tree))["changed"] is False


def test_debian_sample_imports_into_a_site_and_applies_once(cli: Cli, site: LiveSite) -> None:
    sample = Path("/etc/nagios4/nagios.cfg")
    if not sample.is_file():
        pytest.skip("Debian nagios4 is not installed (scripts/test-deps.d/nagios.sh)")
    report = cli.json("import", "nagios", str(sample))["apply"]
    assert report["changes"]["hosts"]["names"]["create"] == ["localhost"]
    assert report["changes"]["services"]["create"] == 8
    assert report["changes"]["commands"]["create"] >= 100
    again = cli.json("import", "nagios", str(sample))["apply"]
    assert again["changed"] is False, again
    with site.client() as http:
        ping = http.get("/api/v1/hosts/localhost/services/PING").json()
    assert ping["check"]["args"] == ["100.0,20%", "500.0,60%"]
    assert ping["check_interval"] == 300


def test_export_leaves_out_what_data_sources_discovered(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    with site.client() as http:
        http.post(
            "/api/v1/hosts", json={"name": "pod-x", "labels": {"k8s/cluster": "prod"}}
        ).raise_for_status()
        http.post("/api/v1/hosts", json={"name": "agent-host"}).raise_for_status()
        http.post(
            "/api/v1/hosts/agent-host/services",
            json={"name": "CPU", "labels": {"agent.plugin": "cpu"}},
        ).raise_for_status()
        http.post("/api/v1/hosts/agent-host/services", json={"name": "Backup"}).raise_for_status()
    cli.ok("config", "export", str(tmp_path / "out"))
    assert not (tmp_path / "out" / "hosts" / "pod-x.yaml").exists()
    text = (tmp_path / "out" / "hosts" / "agent-host.yaml").read_text()
    assert "Backup" in text
    assert "CPU" not in text


def test_import_of_a_missing_file_says_so(cli: Cli, tmp_path: Path) -> None:
    r = cli("import", "nagios", str(tmp_path / "nope.cfg"), "--out", str(tmp_path / "t"))
    assert r.exit_code == 2
    assert "nope.cfg: cannot read it" in r.output
    (tmp_path / "main.cfg").write_text(f"cfg_file={tmp_path / 'gone.cfg'}\n")
    out = cli.json("import", "nagios", str(tmp_path / "main.cfg"), "--out", str(tmp_path / "t"))
    assert any("gone.cfg does not exist" in w for w in out["warnings"])


def test_event_handlers_are_applied_exported_and_keep_their_command(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    tree = write(
        tmp_path / "handlers",
        {
            "commands.yaml": "restart_app: /bin/echo restart $SERVICESTATE$ $ARG1$\n",
            "hosts/ehhost.yaml": (
                "name: ehhost\nservices:\n  App:\n"
                "    event_handler: {command: restart_app, args: [app]}\n"
            ),
        },
    )
    cli.json("config", "apply", str(tree))
    with site.client() as http:
        svc = http.get("/api/v1/hosts/ehhost/services/App").json()
    assert svc["event_handler"] == {"command": "restart_app", "args": ["app"], "timeout": 30.0}
    assert cli.json("config", "apply", str(tree))["changed"] is False
    exported = tmp_path / "exported"
    cli.ok("config", "export", str(exported))
    assert "restart_app" in (exported / "hosts" / "ehhost.yaml").read_text()
    (tree / "commands.yaml").write_text("{}\n")
    r = cli("config", "apply", str(tree))
    assert "commands.yaml: restart_app: still used by ehhost/App" in r.output
    write(tree, {"hosts/ehhost.yaml": "name: ehhost\nevent_handler: {command: nowhere}\n"})
    r = cli("config", "apply", str(tree))
    assert "hosts/ehhost.yaml: event_handler.command: no command" in r.output


def test_service_dependencies_are_applied_exported_and_checked(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    node = (
        "name: depnode\nservices:\n  Kubelet: {}\n  Filesystem:\n"
        "    depends_on: [{host: depnode, service: Kubelet}]\n"
    )
    tree = write(tmp_path / "deps", {"hosts/depnode.yaml": node})
    cli.json("config", "apply", str(tree))
    with site.client() as http:
        svc = http.get("/api/v1/hosts/depnode/services/Filesystem").json()
    assert svc["depends_on"] == [{"host": "depnode", "service": "Kubelet"}]
    assert cli.json("config", "apply", str(tree))["changed"] is False
    exported = tmp_path / "exported"
    cli.ok("config", "export", str(exported))
    assert "depends_on" in (exported / "hosts" / "depnode.yaml").read_text()
    cyclic = node.replace(
        "  Kubelet: {}\n", "  Kubelet:\n    depends_on: [{host: depnode, service: Filesystem}]\n"
    )
    write(tree, {"hosts/depnode.yaml": cyclic})
    r = cli("config", "apply", str(tree))
    assert r.exit_code != 0
    assert "a cycle" in r.output


TLS_WEB = """\
- name: tls-web
  check_type: tls
  host_labels: {team: rules-web}
  params: {warn_days: 40, crit_days: 20}
"""
TLS_ALL = """\
- name: tls-all
  check_type: tls
  params: {crit_days: 10}
  objects: services
  hosts: [rules-*]
"""
RULES = TLS_WEB + TLS_ALL


def test_check_rules_are_applied_in_order_exported_and_checked(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    host = (
        "name: rules-web1\nlabels: {team: rules-web}\nservices:\n"
        "  Cert:\n    check: {type: tls, port: 1, warn_days: 50}\n"
    )
    tree = write(tmp_path / "rules", {"hosts/rules-web1.yaml": host, "check-rules.yaml": RULES})
    report = cli.json("config", "apply", str(tree))
    assert counts(report)["check_rules"] == (2, 0, 0)
    assert cli.json("config", "apply", str(tree))["changed"] is False
    with site.client() as http:
        svc = http.get("/api/v1/hosts/rules-web1/services/Cert").json()
        assert svc["check_rule"] == "tls-web"
        rules = http.get("/api/v1/check-rules").json()["items"]
        assert [r["name"] for r in rules[:2]] == ["tls-web", "tls-all"]
    exported = tmp_path / "exported"
    cli.ok("config", "export", str(exported))
    text = (exported / "check-rules.yaml").read_text()
    assert "- name: tls-web\n  check_type: tls\n" in text
    assert "warn_days: 40" in text
    assert "check_rules" not in counts(cli.json("config", "apply", str(exported)))

    (tree / "check-rules.yaml").write_text(TLS_ALL + TLS_WEB)
    assert counts(cli.json("config", "apply", str(tree)))["check_rules"] == (0, 2, 0)

    (tree / "check-rules.yaml").write_text(RULES.replace("crit_days: 20", "crit_days: 60"))
    r = cli("config", "apply", str(tree))
    assert r.exit_code == 2, r.output
    assert "check-rules.yaml: tls-web: params.crit_days: Value error, crit_days (60)" in r.output
    (tree / "check-rules.yaml").write_text(
        RULES.replace("warn_days: 40, crit_days: 20", "warn_days: 70, crit_days: 60")
    )
    r = cli("config", "apply", str(tree))
    assert r.exit_code == 1, r.output
    assert "check-rules.yaml: tls-web.params: does not fit rules-web1/Cert" in r.output
    (tree / "check-rules.yaml").write_text("[]\n")
    assert counts(cli.json("config", "apply", str(tree)))["check_rules"] == (0, 0, 2)


def test_group_aliases_are_stored_exported_and_removed_with_the_file_entry(
    cli: Cli, tmp_path: Path
) -> None:
    host = (
        "name: alias-web1\ngroups: [alias-web]\nservices:\n"
        "  HTTP:\n    labels: {service_groups: alias-http}\n"
    )
    groups = (
        "host_groups:\n  alias-web: Web servers\nservice_groups:\n  alias-http: HTTP endpoints\n"
    )
    tree = write(tmp_path / "groups", {"hosts/alias-web1.yaml": host, "groups.yaml": groups})
    report = cli.json("config", "apply", str(tree))  # the whole kind: other aliases go
    assert report["changes"]["host_groups"]["names"]["create"] == ["alias-web"]
    assert report["changes"]["service_groups"]["names"]["create"] == ["alias-http"]
    assert cli.json("config", "apply", str(tree))["changed"] is False
    exported = tmp_path / "exported"
    cli.ok("config", "export", str(exported))
    text = (exported / "groups.yaml").read_text()
    assert "alias-web: Web servers" in text
    assert "alias-http: HTTP endpoints" in text
    (tree / "groups.yaml").write_text(groups.replace("Web servers", "Web"))
    assert counts(cli.json("config", "apply", str(tree)))["host_groups"] == (0, 1, 0)
    (tree / "groups.yaml").write_text("host_groups: {}\nservice_groups: {}\n")
    changed = counts(cli.json("config", "apply", str(tree)))
    assert (changed["host_groups"][2], changed["service_groups"][2]) == (1, 1)


def test_contacts_of_users_the_site_lacks_are_refused_before_anything_is_written(
    cli: Cli, site: LiveSite, tmp_path: Path
) -> None:
    notes = "contacts:\n  ghost-user:\n    groups: [oncall]\n"
    host = "name: contact-host1\n"
    tree = write(
        tmp_path / "contacts", {"notifications.yaml": notes, "hosts/contact-host1.yaml": host}
    )
    r = cli("config", "apply", str(tree))
    assert r.exit_code == 1, r.output
    assert "notifications.yaml: contacts.ghost-user.user: no user 'ghost-user'" in r.output
    with site.client() as http:
        assert http.get("/api/v1/hosts/contact-host1").status_code == 404

"""Write a large Nagios configuration built on Debian's sample templates (nagios4-common):
hosts from ``linux-server`` and ``windows-server``, services on host groups and on single
hosts, service groups, custom variables. Used by the oracle test and ``bench/configcode.py``.

    python tests/configcode/nagiosgen.py DIR --hosts 10000
"""

from __future__ import annotations

import argparse
from pathlib import Path

SAMPLE = Path("/etc/nagios4/objects")
SAMPLE_FILES = ("commands.cfg", "contacts.cfg", "timeperiods.cfg", "templates.cfg")
RACKS = 40


def _host(i: int) -> str:
    windows = i % 10 == 9
    lines = [
        "define host {",
        f"    use                 {'windows-server' if windows else 'linux-server'}",
        f"    host_name           node{i:05d}",
        f"    alias               Node {i}",
        f"    address             10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
        f"    hostgroups          {'+rack' if windows else 'rack'}{i % RACKS:02d}",
        f"    _RACK               r{i % RACKS:02d}",
    ]
    if i % RACKS:
        lines.append(f"    parents             node{i - i % RACKS:05d}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _services() -> str:
    out = [
        "define hostgroup {\n    hostgroup_name windows-servers\n    alias Windows\n}\n",
        "define hostgroup {\n    hostgroup_name all-nodes\n    alias All nodes\n"
        + "    hostgroup_members "
        + ",".join(f"rack{r:02d}" for r in range(RACKS))
        + "\n}\n",
    ]
    out += [
        f"define hostgroup {{\n    hostgroup_name rack{r:02d}\n    alias Rack {r}\n}}\n"
        for r in range(RACKS)
    ]
    checks = [
        ("PING", "check_ping!100.0,20%!500.0,60%", "all-nodes", ""),
        ("Root Partition", "check_local_disk!20%!10%!/", "all-nodes", ""),
        ("Current Load", "check_local_load!5.0,4.0,3.0!10.0,6.0,4.0", "all-nodes", "!rack00"),
        ("SSH", "check_ssh", "all-nodes", "!windows-servers"),
        ("Total Processes", "check_local_procs!250!400!RSZDT", "rack00,rack01", ""),
    ]
    for name, command, groups, exclude in checks:
        groups_line = groups + (f",{exclude}" if exclude else "")
        out.append(
            "define service {\n"
            "    use                 local-service,generic-service\n"
            f"    hostgroup_name      {groups_line}\n"
            f"    service_description {name}\n"
            f"    check_command       {command}\n"
            "    servicegroups       basics\n"
            "}\n"
        )
    out.append(
        "define service {\n    use generic-service\n    host_name node00000,node00001\n"
        "    service_description HTTP\n    check_command check_http\n"
        "    check_interval 2 ; minutes\n}\n"
    )
    out.append("define servicegroup {\n    servicegroup_name basics\n    alias Basics\n}\n")
    return "".join(out)


def write_config(directory: Path, hosts: int) -> Path:
    """``directory/nagios.cfg`` naming the sample files and ``hosts.cfg``/``services.cfg``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "objects").mkdir(exist_ok=True)
    (directory / "objects" / "hosts.cfg").write_text("".join(_host(i) for i in range(hosts)))
    (directory / "objects" / "services.cfg").write_text(_services())
    main = directory / "nagios.cfg"
    lines = [f"cfg_file={SAMPLE / f}" for f in SAMPLE_FILES]
    lines += ["cfg_dir=/etc/nagios-plugins/config", "cfg_dir=objects", "interval_length=60", ""]
    main.write_text("\n".join(lines))
    return main


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--hosts", type=int, default=10_000)
    args = parser.parse_args()
    print(write_config(args.directory, args.hosts))

"""``lookout host add NAME --agent`` (via objects_cmds), ``lookout host agent-token``,
``lookout host deregister`` and ``lookout agent list``: onboarding push agents."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import print_done, print_json, stdout
from lookout.cli.objects_cmds import host_app

agent_app = typer.Typer(
    help="Push agents: list them and the receiver's status.", no_args_is_help=True
)
HostArg = Annotated[str, typer.Argument(help="Host name", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]


def request_token(api: ApiClient, host: str) -> dict[str, Any]:
    answer: dict[str, Any] = api.post(path_of("hosts", host, "agent-token"), {})
    return answer


def print_token(answer: dict[str, Any]) -> None:
    out = stdout()
    left = max(0, answer["expires_at"] - time.time())
    out.print(
        f"Registration token for [bold]{answer['host']}[/] (single use, valid "
        f"{left / 60:.0f} min). Run this on the host:\n"
    )
    out.print(f"  {answer['command']}\n", soft_wrap=True, highlight=False)
    out.print(f"  Site CA: {answer['ca_fingerprint']}", soft_wrap=True, highlight=False)
    if not answer.get("receiver_listening", True):
        out.print(
            "[yellow]warning:[/] the agent receiver is not listening: "
            f"{answer.get('receiver_error')}"
        )


@host_app.command("agent-token")
@api_command
def host_agent_token(api: ApiClient, name: HostArg, as_json: JsonOpt = False) -> None:
    """A new one-time registration token for the host's agent (e.g. after the first expired)."""
    answer = request_token(api, name)
    if as_json:
        print_json(answer)
        return
    print_token(answer)


@host_app.command("deregister")
@api_command
def host_deregister(api: ApiClient, name: HostArg, as_json: JsonOpt = False) -> None:
    """Revoke the host's agent certificates; its pushes are refused at once."""
    answer = api.post(path_of("hosts", name, "agent-deregister"), {})
    if as_json:
        print_json(answer)
        return
    print_done(f"host {name}: {answer['revoked']} agent certificate(s) revoked")


@agent_app.command("list")
@api_command
def agent_list(api: ApiClient, as_json: JsonOpt = False) -> None:
    """Agents that push to this site, and the receiver's address and CA fingerprint."""
    answer = api.get("/agents")
    if as_json:
        print_json(answer)
        return
    rec = answer["receiver"]
    out = stdout()
    state = "listening" if rec["listening"] else f"[red]not listening[/]: {rec['error']}"
    out.print(f"Receiver {rec['url']} ({state}), site CA {rec['ca_fingerprint']}")
    if rec.get("handshake_failures"):
        out.print(
            f"{rec['handshake_failures']} failed TLS handshakes since the start "
            "(a client without this site's CA, or not speaking TLS)"
        )
    fronts = rec.get("workers") or []
    if fronts:
        running = sum(1 for f in fronts if f["running"])
        restarts = sum(f["restarts"] for f in fronts)
        out.print(
            f"TLS fronts: {running} of {len(fronts)} running"
            + (f", {restarts} restarted" if restarts else "")
        )
    table = Table("host", "agent id", "version", "interval", "last push", "certificate until")
    for a in answer["items"]:
        age = a["last_push_age"]
        table.add_row(
            a["host"],
            a["uuid"],
            a["version"] or "-",
            f"{a['interval']:g} s",
            "-" if age is None else f"{age:.0f} s ago" + (" (stale)" if a["stale"] else ""),
            time.strftime("%Y-%m-%d", time.gmtime(a["cert_not_after"])),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")

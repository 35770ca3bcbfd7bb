"""``lookout add-objects FILE``: many hosts and services in one request (``POST /objects``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from lookout.cli.client import LONG_TIMEOUT, ApiClient, api_command
from lookout.cli.format import print_done, print_json, stdout


@api_command
def add_objects(
    api: ApiClient,
    file: Annotated[
        Path, typer.Argument(help="JSON or YAML with 'hosts' and 'services' lists", exists=True)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
) -> None:
    """Create many hosts and services at once; each refused one is named with its place."""
    try:
        text = file.read_text(encoding="utf-8")
        body: Any = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise typer.BadParameter(f"{file}: {exc}", param_hint="FILE") from exc
    if not isinstance(body, dict):
        raise typer.BadParameter(f"{file}: expected a mapping with hosts and services")
    answer = api.post("/objects", body, timeout=LONG_TIMEOUT)
    if as_json:
        print_json(answer)
        return
    made = answer["created"]
    print_done(f"{_count(made['hosts'], 'host')} and {_count(made['services'], 'service')} created")
    for err in answer.get("errors", [])[:20]:
        stdout().print(f"  refused {'.'.join(map(str, err['loc']))}: {err['msg']}", markup=False)
    if answer.get("rejected", 0) > 20:
        stdout().print(f"  … and {answer['rejected'] - 20} more refused (see --json)")


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def register(app: typer.Typer) -> None:
    app.command("add-objects")(add_objects)

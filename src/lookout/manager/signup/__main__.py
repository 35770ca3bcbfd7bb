"""``python -m lookout.manager.signup ROOT``: the sign-up pages of a manager root, as
``lookout sites serve`` starts them (a process of their own: the supervisor stays
single-threaded). Sites are made by the supervisor, over its socket."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import uvicorn

from lookout.config import parse_listen
from lookout.errors import ConfigError
from lookout.manager.root import Root
from lookout.manager.signup.app import make_app
from lookout.manager.signup.flow import Signup
from lookout.manager.signup.handover import hand_over
from lookout.manager.signup.mail import smtp_password
from lookout.manager.signup.store import SignupStore
from lookout.manager.supervisor import client_for

STORE = "signup.db"


def build(root: Root) -> Signup:
    settings = root.settings.signup

    async def create_site(name: str) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            client = client_for(root)
            if client is None:
                raise ConfigError(f"no supervisor runs for {root.path}: lookout sites serve")
            result: dict[str, Any] = client("create", {"name": name})
            return result

        return await asyncio.to_thread(call)

    async def handover(site_dir: Path, email: str, password_hash: str) -> str:
        return await asyncio.to_thread(hand_over, site_dir, email, password_hash)

    return Signup(
        root,
        SignupStore(root.path / STORE),
        settings,
        create_site,
        handover,
        smtp_password(root.path, settings),
    )


def main(argv: list[str]) -> None:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = Root(Path(argv[0]))
    host, port = parse_listen(root.settings.signup.listen)
    uvicorn.run(make_app(build(root)), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])

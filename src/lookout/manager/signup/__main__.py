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
from lookout.manager.signup.handover import connect_sso, hand_over
from lookout.manager.signup.mail import smtp_password
from lookout.manager.signup.provider import AccountProvider, load_key, new_client_secret
from lookout.manager.signup.store import SignupStore, put_client
from lookout.manager.supervisor import client_for

STORE = "signup.db"
KEY_FILE = "oidc-key.json"


def build(root: Root) -> Signup:
    settings = root.settings.signup

    async def create_site(name: str) -> dict[str, Any]:
        return await supervise("create", name)

    async def handover(site_dir: Path, email: str, password_hash: str) -> str:
        return await asyncio.to_thread(hand_over, site_dir, email, password_hash)

    store = SignupStore(root.path / STORE)

    async def connect(site: str, email: str) -> None:
        secret, secret_hash = new_client_secret()
        put_client(store, site, secret_hash)
        await asyncio.to_thread(connect_sso, root.site_dir(site), settings.url, email, secret)
        await supervise("stop", site)  # the site reads [oidc] at start
        await supervise("start", site)

    async def supervise(op: str, name: str) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            client = client_for(root)
            if client is None:
                raise ConfigError(f"no supervisor runs for {root.path}: lookout sites serve")
            result: dict[str, Any] = client(op, {"name": name})
            return result

        return await asyncio.to_thread(call)

    return Signup(
        root,
        store,
        settings,
        create_site,
        handover,
        smtp_password(root.path, settings),
        connect=connect if settings.sso else None,
    )


def provider_of(root: Root, signup: Signup) -> AccountProvider | None:
    settings = root.settings.signup
    if not settings.sso:
        return None
    key = load_key(root.path / "run" / KEY_FILE)
    return AccountProvider(settings.url, root, signup.store, key)


def main(argv: list[str]) -> None:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = Root(Path(argv[0]))
    host, port = parse_listen(root.settings.signup.listen)
    signup = build(root)
    app = make_app(signup, provider_of(root, signup))
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])

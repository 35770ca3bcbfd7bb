"""Texts the UI shows once, on a session's next page: a new API token, an agent's registration
command. Kept in the site database (``ui_shown_once``) sealed with the site key, for at most
``SHOWN_ONCE_SECONDS``, and deleted when shown, so that a restart between the form and the page
does not lose a token that exists nowhere else in clear."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from lookout.storage import uistate
from lookout.storage.vault import Vault

SHOWN_ONCE_SECONDS = 900.0
"""How long a text waits for its page (the redirect after a form comes at once)."""

NEW_TOKEN = "new_token"
REGISTRATION = "registration"


class ShownOnce:
    def __init__(self, db: sa.Engine, vault: Vault, clock: Callable[[], float]) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock

    def put(self, session: str, kind: str, value: Any) -> None:
        """Keep ``value`` (JSON-able) for the next page of ``session`` (a session id hash)."""
        now = self.clock()
        sealed = self.vault.seal(json.dumps(value))
        uistate.put_shown_once(self.db, session, kind, sealed, now, now + SHOWN_ONCE_SECONDS)

    def take(self, session: str, kind: str) -> Any:
        """The value kept for ``session`` (now forgotten), or None."""
        sealed = uistate.take_shown_once(self.db, session, kind, self.clock())
        return None if sealed is None else json.loads(self.vault.open(sealed))

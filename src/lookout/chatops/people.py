"""Who writes to the bot: the Zulip sender, how to mention them, and the Lookout user behind.

Zulip mentions go by name and id (``@**Alice|12**``; ``@_**…**`` mentions without a ping);
an e-mail between ``@**`` is plain text. Users may hide their e-mail from bots (the bot then
sees ``user12@zulip.example.org``), so a Lookout user is found by Zulip user id first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lookout.auth import Role
from lookout.notify.spec import Contact


@dataclass(frozen=True, slots=True)
class Sender:
    """A Zulip user as the bot sees them."""

    user_id: int
    full_name: str
    email: str

    @property
    def mention(self) -> str:
        """A mention that notifies."""
        return f"@**{self.full_name}|{self.user_id}**" if self.full_name else "you"

    @property
    def silent(self) -> str:
        """A mention that shows the name without a notification."""
        return f"@_**{self.full_name}|{self.user_id}**" if self.full_name else "someone"


@dataclass(frozen=True, slots=True)
class Person:
    """The Lookout user a Zulip sender acts as."""

    user: str
    role: Role
    sender: Sender
    groups: tuple[str, ...] = ()
    """The user's contact groups."""


def find_user(
    sender: Sender,
    *,
    linked: str | None,
    user_map: Mapping[str, str],
    contacts: Sequence[Contact],
    emails: Mapping[str, str],
) -> str | None:
    """The Lookout user name of ``sender``: linked by Zulip user id (self-service link), the
    channel's ``user_map`` (by user id or e-mail), a contact's Zulip e-mail, the user's e-mail.
    ``emails`` maps user name → e-mail."""
    if linked is not None:
        return linked
    by_map = user_map.get(str(sender.user_id)) or user_map.get(sender.email)
    if by_map is not None:
        return by_map
    email = sender.email.lower()
    if not email:
        return None
    contact = next((c.user for c in contacts if c.zulip and c.zulip.lower() == email), None)
    if contact is not None:
        return contact
    return next((u for u, e in emails.items() if e and e.lower() == email), None)

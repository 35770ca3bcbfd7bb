"""Who a Zulip sender is in Lookout, and how they are mentioned (pure)."""

from __future__ import annotations

from lookout.chatops.people import Sender, find_user
from lookout.notify.spec import Contact

ALICE = Sender(12, "Alice", "alice@example.org")
HIDDEN = Sender(12, "Alice", "user12@zulip.example.org")
EMAILS = {"alice": "Alice@Example.org", "bob": "bob@example.org"}


def find(sender: Sender, **kw: object) -> str | None:
    args: dict[str, object] = {"linked": None, "user_map": {}, "contacts": [], "emails": EMAILS}
    return find_user(sender, **{**args, **kw})  # type: ignore[arg-type]


def test_mentions_go_by_name_and_id() -> None:
    assert ALICE.mention == "@**Alice|12**"
    assert ALICE.silent == "@_**Alice|12**"


def test_found_by_link_map_contact_or_email_in_that_order() -> None:
    assert find(ALICE) == "alice"  # e-mail, case-insensitive
    assert find(HIDDEN) is None  # a hidden e-mail matches nobody
    assert find(HIDDEN, user_map={"12": "bob"}) == "bob"  # by user id
    assert find(HIDDEN, user_map={"user12@zulip.example.org": "bob"}) == "bob"
    assert find(HIDDEN, linked="bob", user_map={"12": "alice"}) == "bob"  # the link wins
    contacts = [Contact(user="bob", zulip="alice@example.org")]
    assert find(ALICE, contacts=contacts) == "bob"
    assert find(Sender(12, "Alice", ""), contacts=contacts) is None

"""The notifier's tables on SQLite and PostgreSQL: idempotent outbox, cursor, chat claims."""

from __future__ import annotations

import time

import pytest
from notifyrows import row

from lookout.notify.spec import Channel, Contact, Rule
from lookout.notify.store import FAILED, PENDING, SENT, NotifyStore, ObjectState
from lookout.storage import accounts
from lookout.storage.database import migrate, open_database

pytestmark = pytest.mark.integration


def test_outbox_cursor_and_chat_claims(database_url: str) -> None:
    db = open_database(database_url)
    try:
        migrate(db)
        store = NotifyStore(db)
        obj = ObjectState("h", "s", 1, 1, 10.0, [])
        new = store.commit_batch(7, 10.0, [row(1), row(2)], [obj], [])
        assert [d.status for d in new] == [PENDING, PENDING]
        again = store.commit_batch(8, 11.0, [row(1), row(2), row(3)], [], [("h", "s")])
        assert [d.event_id for d in again] == [3]  # the same keys are never stored twice
        assert store.cursor() == 8
        assert store.objects() == {}
        store.mark_attempt([new[0].id])
        store.mark([new[1].id], SENT, sent_at=12.0, external_id="55")
        assert store.fail_interrupted(13.0) == 1
        statuses = {d.event_id: d.status for d in store.deliveries()}
        assert statuses == {1: FAILED, 2: SENT, 3: PENDING}
        assert [d.event_id for d in store.pending()] == [3]

        store.record_message("chat", 55, [("h", "a"), ("h", "b")], "ops", "2 problems", 1.0)
        assert store.message_objects("chat", 55) == [("h", "a"), ("h", "b")]
        assert store.claim_reaction("chat", 55, 10, "check", 2.0)
        assert not store.claim_reaction("chat", 55, 10, "check", 3.0)
        store.record_message("chat", 56, [("h", "a")], "ops", "h / a", 1.0)
        assert store.object_of_topic("chat", "✔ h / a") == ("h", "a")
        store.close_messages("chat", "h", "a")
        assert store.open_messages("chat") == [55]

        accounts.add_user(db, "ann", "operator", time.time(), email="ann@x.org")
        store.put_contact(Contact(user="ann", groups=["dba"], zulip="ann@chat"), 1.0)
        store.put_contact(Contact(user="ann", groups=["ops"]), 2.0)
        assert store.contacts()[0].groups == ["ops"]
        store.put_channel(
            Channel.model_validate(
                {"name": "hook", "spec": {"type": "webhook", "url": "http://x"}}
            ),
            1.0,
            create=True,
        )
        store.put_rule(Rule(name="b", channels=["hook"]), 1.0, position=None, create=True)
        store.put_rule(Rule(name="a", channels=["hook"]), 1.0, position=1, create=True)
        assert [r.name for r in store.rules()] == ["a", "b"]
        assert store.channels()[0].spec.type == "webhook"
    finally:
        db.dispose()

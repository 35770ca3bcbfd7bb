"""Chat-ops that feels native in Zulip (issue 18): mentions that notify, storms that recover as
one, people who hide their e-mail, refusals in private, messages that read well alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from harness import Harness, until, zulip_channel
from zulipserver import ZulipServer

from lookout.engine.inputs import Target

pytestmark = pytest.mark.integration

RULE = {"name": "all-to-chat", "channels": ["chat"]}
TOPIC = "db1 / Disk /var"


async def _setup(h: Harness, zulip: ZulipServer, **extra: object) -> None:
    h.user("alice", "operator", "alice@example.org")
    h.user("victor", "viewer", "victor@example.org")
    await h.configure([zulip_channel(zulip, **extra)], [RULE])
    await h.service("db1", "Disk /var")
    await until(lambda: h.site.chatops.bots["chat"].registrations, what="bot registered")


async def _problem(h: Harness, zulip: ZulipServer) -> dict[str, Any]:
    await h.result("db1", "Disk /var", 2, "98% used")
    msgs = await until(lambda: zulip.stream_messages(TOPIC), what="problem posted")
    await until(lambda: len(msgs[0]["reactions"]) == 5, what="control reactions")
    return msgs[0]


def _said(zulip: ZulipServer, text: str, topic: str | None = None) -> list[dict[str, Any]]:
    return [m for m in zulip.stream_messages(topic) if text in m["content"]]


def test_the_local_server_mentions_as_zulip_does() -> None:
    zulip = ZulipServer()
    alice = zulip.add_user("alice@example.org", "Alice")
    assert zulip.mentions(f"hi @**Alice|{alice.user_id}**") == ({alice.user_id}, set())
    assert zulip.mentions("hi @**Alice**") == ({alice.user_id}, set())
    assert zulip.mentions(f"hi @_**Alice|{alice.user_id}**") == (set(), {alice.user_id})
    assert zulip.mentions("hi @**alice@example.org** and @Alice") == (set(), set())
    assert zulip.mentions("hi @**Alice|999**") == (set(), set())  # the id must match


async def test_problem_message_reads_well_alone(harness: Harness, zulip: ZulipServer) -> None:
    await _setup(harness, zulip)
    msg = await _problem(harness, zulip)
    head, *rest = msg["content"].split("\n")
    assert head == "🔴 **CRIT** · PROBLEM · **Disk /var** on **db1**"
    body = "\n".join(rest)
    assert "98% used" in body
    assert "since <time:" in body  # each reader sees it in their own time zone
    assert "[open in Lookout](http://" in body
    assert "/service?host=db1&name=Disk+%2Fvar)" in body
    assert ":check: acknowledge" in body  # Zulip's name of ✅


async def test_answers_mention_by_name_and_id(harness: Harness, zulip: ZulipServer) -> None:
    await _setup(harness, zulip)
    msg = await _problem(harness, zulip)
    alice = zulip.users["alice@example.org"]
    zulip.post(alice, "monitoring", TOPIC, "@**Lookout** downtime soon", "stream")
    wrong = await until(lambda: _said(zulip, "is not a duration"), what="error answer")
    assert zulip.mentions(wrong[0]["content"]) == ({alice.user_id}, set())  # it pings her
    zulip.add_reaction(alice, msg["id"], "check", "unicode_emoji")
    done = await until(lambda: _said(zulip, "Acknowledged by", TOPIC)[1:], what="confirmation")
    assert zulip.mentions(done[-1]["content"]) == (set(), {alice.user_id})  # named, no ping
    assert "alice@example.org" not in done[-1]["content"]


async def test_refusals_go_privately_and_the_message_keeps_the_truth(
    harness: Harness, zulip: ZulipServer
) -> None:
    await _setup(harness, zulip)
    msg = await _problem(harness, zulip)
    victor = zulip.users["victor@example.org"]
    zulip.add_reaction(victor, msg["id"], "check", "unicode_emoji")
    refusal = await until(lambda: zulip.direct_messages(victor), what="refusal in private")
    assert "viewer" in refusal[0]["content"]
    assert "victor@example.org" not in refusal[0]["content"]
    assert not _said(zulip, "Sorry")  # nothing in the channel
    assert "Acknowledged" not in msg["content"]  # a ✅ count of 2 acknowledges nothing
    # an acknowledgement from elsewhere (the UI, the API) is written into the message too
    await harness.site.actions.acknowledge(
        Target(host="db1", service="Disk /var"), author="alice", comment="on it"
    )
    await until(lambda: "Acknowledged by **alice** in Lookout" in msg["content"], what="edit")
    assert msg["content"].endswith("✅ Acknowledged by **alice** in Lookout: on it")


async def test_message_edits_past_zulips_limit_are_given_up(tmp_path: Any) -> None:
    zulip = ZulipServer(heartbeat=0.5, edit_limit=0.0)
    zulip.add_user("alice@example.org", "Alice")
    zulip.add_user("victor@example.org", "Victor")
    await zulip.start()
    h = Harness(tmp_path)
    await h.start()
    try:
        await _setup(h, zulip)
        msg = await _problem(h, zulip)
        before = msg["content"]
        zulip.add_reaction(zulip.users["alice@example.org"], msg["id"], "check", "unicode_emoji")
        await until(lambda: _said(zulip, "Acknowledged by", TOPIC), what="confirmation")
        assert h.site.engine.status[("db1", "Disk /var")].ack is not None
        assert msg["content"] == before  # Zulip refused the edit; the answer says it
    finally:
        await h.stop()
        await zulip.stop()


async def test_plain_text_mention_in_the_bots_topic(harness: Harness, zulip: ZulipServer) -> None:
    await _setup(harness, zulip)
    await _problem(harness, zulip)
    alice = zulip.users["alice@example.org"]
    zulip.post(alice, "monitoring", "lunch", "@Lookout ack me a sandwich", "stream")
    zulip.post(alice, "monitoring", TOPIC, "@Lookout ack cleaning up", "stream")
    st = harness.site.engine.status[("db1", "Disk /var")]
    await until(lambda: st.ack is not None, what="ack by plain-text mention")
    assert st.ack is not None
    assert st.ack.comment == "cleaning up"
    zulip.post(alice, "monitoring", TOPIC, "@**Lookout** frobnicate", "stream")
    await until(lambda: _said(zulip, "I do not know the command 'frobnicate'"), what="answer")
    assert not zulip.stream_messages("lunch")[1:]  # not the bot's topic: not addressed


async def test_hidden_email_links_by_user_id_with_a_one_time_code(
    harness: Harness, zulip: ZulipServer
) -> None:
    await _setup(harness, zulip)
    zulip.hidden_emails.add("alice@example.org")
    msg = await _problem(harness, zulip)
    alice = zulip.users["alice@example.org"]
    zulip.add_reaction(alice, msg["id"], "check", "unicode_emoji")
    refused = await until(lambda: zulip.direct_messages(alice), what="refusal")
    assert "not linked" in refused[0]["content"]
    assert "`link`" in refused[0]["content"]
    assert f"user{alice.user_id}@" not in refused[0]["content"]
    zulip.post(alice, "", "", "link", "private", to=["bot@zulip.test"])
    sent = await until(lambda: zulip.direct_messages(alice)[1:], what="one-time code")
    code = sent[0]["content"].split("`")[1]
    assert "/profile" in sent[0]["content"]
    store = harness.site.notifier.store
    assert store.redeem_link_code("WRONG", "alice", harness.site.clock()) is None
    assert store.redeem_link_code(code, "alice", harness.site.clock()) == "Alice"
    assert store.redeem_link_code(code, "alice", harness.site.clock()) is None  # once
    # the refused ✅, taken back and given again, acts now
    alice_check = next(r for r in msg["reactions"] if r["user_id"] == alice.user_id)
    msg["reactions"].remove(alice_check)
    zulip.add_reaction(alice, msg["id"], "check", "unicode_emoji")
    st = harness.site.engine.status[("db1", "Disk /var")]
    await until(lambda: st.ack is not None, what="ack once linked")
    assert st.ack is not None
    assert st.ack.author == "alice"


async def test_a_storm_recovers_as_one_in_its_topic(tmp_path: Any, zulip: ZulipServer) -> None:
    h = Harness(tmp_path)
    await h.start()
    try:
        h.user("alice", "operator", "alice@example.org")
        await h.configure([zulip_channel(zulip, group_window=1.0, group_burst=1)], [RULE])
        await until(lambda: h.site.chatops.bots["chat"].registrations, what="bot registered")
        for i in range(12):
            await h.service("k8s", f"Pod api-{i}")
        for i in range(12):
            await h.result("k8s", f"Pod api-{i}", 2, "CrashLoopBackOff")
        bundle = (await until(lambda: _said(zulip, "arrived together"), what="bundle"))[0]
        topic = bundle["subject"]  # the first problem went alone, the 11 others together
        assert re.fullmatch(r"11 problems from \d\d:\d\d UTC #\d+", topic), topic
        assert {m["subject"] for m in zulip.stream_messages()} == {"k8s / Pod api-0", topic}
        await until(lambda: len(bundle["reactions"]) == 5, what="control reactions")
        listed = bundle["content"]
        # one of them acknowledged in the UI: said in the storm's topic, not in a new one
        await h.site.actions.acknowledge(
            Target(host="k8s", service="Pod api-5"), author="alice", comment="looking"
        )
        await until(lambda: _said(zulip, "Acknowledged by **alice**", topic), what="UI ack")
        assert bundle["content"] == listed  # and the bundle is not edited per object
        zulip.add_reaction(zulip.users["alice@example.org"], bundle["id"], "check", "unicode_emoji")
        await until(lambda: "✅ Acknowledged by @_**Alice|12**" in bundle["content"], what="ack")
        for i in range(11):
            await h.result("k8s", f"Pod api-{i}", 0, "Running")

        def recovered(where: str) -> int:
            msgs = zulip.stream_messages(where)
            return sum(m["content"].count("🟢 **OK**") for m in msgs)

        await until(lambda: recovered(topic) == 10, what="10 recoveries in the storm's topic")
        # alone before the storm: its recovery goes to its own topic, even in a bundle
        await until(lambda: recovered("✔ k8s / Pod api-0") == 1, what="api-0 resolved alone")
        assert len(zulip.stream_messages(topic)) <= 5  # bundled, not one message each
        assert not zulip.stream_messages("✔ " + topic)  # one problem of it is still open
        await h.result("k8s", "Pod api-11", 0, "Running")
        resolved = "✔ " + topic
        await until(lambda: _said(zulip, "marked this topic as resolved", resolved), what="✔")
        assert recovered(resolved) == 11
        assert not zulip.stream_messages(topic)  # the whole topic moved
        assert len({m["subject"] for m in zulip.stream_messages()}) == 2  # no new topics
    finally:
        await h.stop()


async def test_outgoing_webhook_refusals_go_privately(harness: Harness, zulip: ZulipServer) -> None:
    await _setup(harness, zulip, webhook_token="t0ken")
    await harness.result("db1", "Disk /var", 2, "98% used")
    await until(lambda: zulip.stream_messages(TOPIC), what="problem posted")
    bot = harness.site.chatops.bots["chat"]
    victor = zulip.users["victor@example.org"]
    message = {
        "type": "stream",
        "subject": TOPIC,
        "sender_id": victor.user_id,
        "sender_full_name": victor.full_name,
        "sender_email": victor.email,
    }
    answer = await bot.on_webhook({"data": "@**Lookout** ack", "message": message})
    assert answer == {"response_not_required": True}  # nothing in the topic
    refusal = zulip.direct_messages(victor)
    assert "viewer" in refusal[0]["content"]
    message["sender_email"] = "nobody@example.org"
    answer = await bot.on_webhook({"data": "@**Lookout** status", "message": message})
    assert "**CRIT**" in answer["content"]

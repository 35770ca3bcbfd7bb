"""The user's path: a problem is posted to Zulip, people act on it by emoji and command."""

from __future__ import annotations

import pytest
from harness import Harness, until, zulip_channel
from zulipserver import ZulipServer

from lookout.storage import audit as audit_store

pytestmark = pytest.mark.integration

RULE = {"name": "all-to-chat", "channels": ["chat"]}


async def _setup(h: Harness, zulip: ZulipServer, **extra: object) -> None:
    h.user("alice", "operator", "alice@example.org")
    h.user("victor", "viewer", "victor@example.org")
    await h.configure([zulip_channel(zulip, **extra)], [RULE])
    await h.service("db1", "Disk /var")
    await until(lambda: h.site.chatops.bots["chat"].registrations, what="bot registered")


async def _problem(h: Harness, zulip: ZulipServer) -> dict[str, object]:
    await h.result("db1", "Disk /var", 2, "98% used")
    msgs = await until(lambda: zulip.stream_messages("db1 / Disk /var"), what="problem posted")
    msg = msgs[0]
    await until(lambda: len(msg["reactions"]) == 5, what="control reactions")  # type: ignore[arg-type]
    return msg


async def test_reaction_8h_sets_a_downtime_by_that_user(harness: Harness, zulip: ZulipServer):
    await _setup(harness, zulip)
    msg = await _problem(harness, zulip)
    assert "CRIT" in msg["content"]  # type: ignore[operator]
    assert "98% used" in msg["content"]  # type: ignore[operator]
    alice = zulip.users["alice@example.org"]
    assert zulip.add_reaction(alice, msg["id"], "eight", "unicode_emoji") is None  # type: ignore[arg-type]
    engine = harness.site.engine
    dts = await until(lambda: list(engine.downtimes.values()), what="downtime")
    assert dts[0].author == "alice"
    assert dts[0].end - dts[0].start == pytest.approx(8 * 3600)
    audited = await until(
        lambda: audit_store.query(harness.site.db, audit_store.Query(kind="downtime")),
        what="audit entry",
    )
    assert (audited[0]["channel"], audited[0]["actor"]) == ("chat", "alice")
    assert audited[0]["address"] == f"zulip user {alice.user_id}"
    replies = await until(
        lambda: [
            m for m in zulip.stream_messages("db1 / Disk /var") if "8h set by" in m["content"]
        ],
        what="confirmation in the topic",
    )
    assert "@_**Alice|12**" in replies[0]["content"]  # named, without a ping


async def test_viewer_is_refused_politely(harness: Harness, zulip: ZulipServer):
    await _setup(harness, zulip)
    msg = await _problem(harness, zulip)
    victor = zulip.users["victor@example.org"]
    zulip.add_reaction(victor, msg["id"], "check", "unicode_emoji")  # type: ignore[arg-type]
    refusal = await until(lambda: zulip.direct_messages(victor), what="refusal")
    assert "viewer" in refusal[0]["content"]
    assert not [m for m in zulip.stream_messages() if "Sorry" in m["content"]]
    assert harness.site.engine.status[("db1", "Disk /var")].ack is None


async def test_queue_expiry_mid_incident_loses_no_action(harness: Harness, zulip: ZulipServer):
    await _setup(harness, zulip)
    msg = await _problem(harness, zulip)
    bot = harness.site.chatops.bots["chat"]
    await zulip.stop()  # the bot cannot poll; its queue is collected meanwhile
    zulip.expire_queue()
    alice = zulip.users["alice@example.org"]
    zulip.add_reaction(alice, msg["id"], "check", "unicode_emoji")  # type: ignore[arg-type]
    await zulip.start()
    st = harness.site.engine.status[("db1", "Disk /var")]
    await until(lambda: st.ack is not None, limit=20, what="ack after reconciliation")
    assert st.ack is not None
    assert st.ack.author == "alice"
    assert bot.registrations >= 2


async def test_commands_in_topic_and_errors(harness: Harness, zulip: ZulipServer):
    await _setup(harness, zulip)
    await _problem(harness, zulip)
    alice = zulip.users["alice@example.org"]
    zulip.post(
        alice, "monitoring", "db1 / Disk /var", "@**Lookout** ack disk being cleaned", "stream"
    )
    st = harness.site.engine.status[("db1", "Disk /var")]
    await until(lambda: st.ack is not None, what="ack by command")
    assert st.ack is not None
    assert st.ack.comment == "disk being cleaned"
    zulip.post(alice, "monitoring", "db1 / Disk /var", "@**Lookout** downtime soon", "stream")
    wrong = await until(
        lambda: [m for m in zulip.stream_messages() if "is not a duration" in m["content"]],
        what="error answer",
    )
    assert "downtime 1h|8h|1d|7d" in wrong[0]["content"]
    for text, answer in (
        ("downtime 99999999999999w", "'99999999999999w' is not a duration"),
        ("downtime 99999999w", "at most 100 years"),
        ("ack \u0000 null byte", "NUL character"),
    ):  # silence before: the end overflowed, or the checkpoint failed later
        zulip.post(alice, "monitoring", "db1 / Disk /var", f"@**Lookout** {text}", "stream")
        await until(
            lambda a=answer: [m for m in zulip.stream_messages() if a in m["content"]],
            what=f"answer to {text!r}",
        )
    zulip.post(alice, "monitoring", "elsewhere", "@**Lookout** status db1/Disk /var", "stream")
    await until(
        lambda: [m for m in zulip.stream_messages("elsewhere") if "**CRIT**" in m["content"]],
        what="status answer",
    )


async def test_recovery_in_same_topic_and_resolved(harness: Harness, zulip: ZulipServer):
    await _setup(harness, zulip)
    await _problem(harness, zulip)
    await harness.result("db1", "Disk /var", 0, "40% used")
    msgs = await until(
        lambda: [
            m for m in zulip.stream_messages("✔ db1 / Disk /var") if "RECOVERY" in m["content"]
        ],
        what="recovery in the resolved topic",
    )
    assert msgs
    assert not zulip.stream_messages("db1 / Disk /var")  # the whole topic moved


async def test_custom_realm_emoji_controls(harness: Harness, zulip: ZulipServer):
    zulip.realm_emoji = {"ack": "101", "dt_1h": "102", "dt_8h": "103", "dt_1d": "104"}
    controls = {
        "ack": {"name": "ack", "type": "realm_emoji"},
        "dt_1h": {"name": "dt_1h", "type": "realm_emoji"},
        "dt_8h": {"name": "dt_8h", "type": "realm_emoji"},
        "dt_1d": {"name": "dt_1d", "type": "realm_emoji"},
        "dt_7d": {"name": "dt_7d", "type": "realm_emoji"},  # not uploaded: Zulip refuses it
    }
    await _setup(harness, zulip, controls=controls)
    await harness.result("db1", "Disk /var", 2, "98% used")
    msgs = await until(lambda: zulip.stream_messages("db1 / Disk /var"), what="problem posted")
    await until(lambda: len(msgs[0]["reactions"]) == 4, what="four custom reactions")
    assert {r["emoji_code"] for r in msgs[0]["reactions"]} == {"101", "102", "103", "104"}
    alice = zulip.users["alice@example.org"]
    zulip.add_reaction(alice, msgs[0]["id"], "ack", "realm_emoji")
    st = harness.site.engine.status[("db1", "Disk /var")]
    await until(lambda: st.ack is not None, what="ack by custom emoji")
    confirmations = await until(
        lambda: [
            m
            for m in zulip.stream_messages("db1 / Disk /var")
            if "Acknowledged" in m["content"] and m is not msgs[0]
        ]
    )
    await until(lambda: harness.site.notifier.dispatcher.backlog == 0)
    assert len(confirmations) == 1  # the bot's confirmation, not a second notification
    # and the problem message itself says so (a reaction count proves nothing)
    assert msgs[0]["content"].endswith("\n✅ Acknowledged by @_**Alice|12**")


async def test_direct_message_commands_are_answered_directly(harness: Harness, zulip: ZulipServer):
    await _setup(harness, zulip)
    await _problem(harness, zulip)
    alice = zulip.users["alice@example.org"]
    zulip.post(alice, "", "", "problems disk", "private", to=["bot@zulip.test"])
    answers = await until(lambda: zulip.direct_messages(alice), what="direct answer")
    assert "db1/Disk /var" in answers[0]["content"]


async def test_operators_act_only_on_their_contact_groups(harness: Harness, zulip: ZulipServer):
    from lookout.domain.objects import ServiceConfig
    from lookout.notify.spec import Contact

    await _setup(harness, zulip)
    site = harness.site
    cfg = ServiceConfig(
        host="db1",
        name="Backup",
        max_check_attempts=1,
        stale_after=0,
        labels={"contact_groups": "dba"},
    )
    await site.save_service(cfg, create=True)
    await harness.result("db1", "Backup", 2, "failed")
    await until(lambda: zulip.stream_messages("db1 / Backup"), what="problem posted")
    alice = zulip.users["alice@example.org"]
    zulip.post(alice, "monitoring", "db1 / Backup", "@**Lookout** ack", "stream")
    refusal = await until(
        lambda: [m for m in zulip.direct_messages(alice) if "contact group(s) dba" in m["content"]],
        what="refusal by contact group, in private",
    )
    assert refusal
    site.notifier.store.put_contact(Contact(user="alice", groups=["dba"]), 0.0)
    zulip.post(alice, "monitoring", "db1 / Backup", "@**Lookout** ack", "stream")
    st = site.engine.status[("db1", "Backup")]
    await until(lambda: st.ack is not None, what="ack once alice is in dba")


async def test_reaction_flow_on_postgresql(tmp_path, pg_url: str, zulip: ZulipServer):  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, database_url=pg_url)
    await h.start()
    try:
        await _setup(h, zulip)
        msg = await _problem(h, zulip)
        alice = zulip.users["alice@example.org"]
        zulip.add_reaction(alice, msg["id"], "one", "unicode_emoji")  # type: ignore[arg-type]
        dts = await until(lambda: list(h.site.engine.downtimes.values()), what="downtime")
        assert dts[0].author == "alice"
        assert dts[0].end - dts[0].start == pytest.approx(3600)
    finally:
        await h.stop()

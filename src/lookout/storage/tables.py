"""The site database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it.

Natural keys (host name, service name) are used throughout: results, actions and the journal
name their objects, so replay needs no id lookups. A host's own status row has ``service = ''``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

hosts = sa.Table(
    "hosts",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("address", sa.String(255), nullable=False, server_default=""),
    sa.Column("labels", JSON, nullable=False),
    sa.Column("parents", JSON, nullable=False),
    sa.Column("groups", JSON, nullable=False),
    sa.Column("check", JSON, nullable=True),
    sa.Column("check_interval", sa.Float, nullable=False),
    sa.Column("retry_interval", sa.Float, nullable=False),
    sa.Column("max_check_attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("event_handler", JSON, nullable=True),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column(
        "host",
        sa.String(255),
        sa.ForeignKey("hosts.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("check", JSON, nullable=True),
    sa.Column("check_interval", sa.Float, nullable=False),
    sa.Column("retry_interval", sa.Float, nullable=False),
    sa.Column("max_check_attempts", sa.Integer, nullable=False),
    sa.Column("stale_after", sa.Float, nullable=False),
    sa.Column("params", JSON, nullable=False),
    sa.Column("labels", JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("event_handler", JSON, nullable=True),
    sa.Column("depends_on", JSON, nullable=True),
)

status = sa.Table(
    "status",
    metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("service", sa.String(255), primary_key=True),
    sa.Column("state", sa.SmallInteger, nullable=False),
    sa.Column("hard", sa.Boolean, nullable=False),
    sa.Column("attempt", sa.SmallInteger, nullable=False),
    sa.Column("last_hard_state", sa.SmallInteger, nullable=False),
    sa.Column("checked", sa.Boolean, nullable=False),
    sa.Column("last_check", sa.Float, nullable=False),
    sa.Column("last_result", sa.Float, nullable=False),
    sa.Column("last_state_change", sa.Float, nullable=False),
    sa.Column("last_hard_state_change", sa.Float, nullable=False),
    sa.Column("last_ok", sa.Float, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("long_output", sa.Text, nullable=False),
    sa.Column("flap_history", sa.String(64), nullable=False),
    sa.Column("flapping", sa.Boolean, nullable=False),
    sa.Column("percent_state_change", sa.Float, nullable=False),
    sa.Column("stale", sa.Boolean, nullable=False),
    sa.Column("host_problem", sa.Boolean, nullable=False),
    sa.Column("ack", JSON, nullable=True),
    sa.Column("metrics", JSON, nullable=False),
)

STATUS_COLUMNS = tuple(c.name for c in status.columns)
"""The status columns in table order (start-up reads them positionally)."""

journal = sa.Table(
    "journal",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
)

checkpoint = sa.Table(
    "checkpoint",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("journal_seq", sa.BigInteger, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("next_id", sa.BigInteger, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False, server_default="0"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("service", sa.String(255), nullable=False),
    sa.Column("state", sa.SmallInteger, nullable=True),
    sa.Column("state_type", sa.String(8), nullable=True),
    sa.Column("attempt", sa.SmallInteger, nullable=True),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("data", JSON, nullable=False),
    sa.Index("ix_events_at", "at"),
    sa.Index("ix_events_object_at", "host", "service", "at"),
)

downtimes = sa.Table(
    "downtimes",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("service", sa.String(255), nullable=False),
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("end", sa.Float, nullable=False),
    sa.Column("fixed", sa.Boolean, nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("include_services", sa.Boolean, nullable=False),
    sa.Column("recurrence", sa.String(120), nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("service", sa.String(255), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("persistent", sa.Boolean, nullable=False),
)

metric_series = sa.Table(
    "metric_series",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("service", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("warn", sa.Float, nullable=True),
    sa.Column("crit", sa.Float, nullable=True),
    sa.Column("min", sa.Float, nullable=True),
    sa.Column("max", sa.Float, nullable=True),
    sa.UniqueConstraint("host", "service", "name", name="uq_metric_series_object_name"),
)

metric_chunk = sa.Table(
    "metric_chunk",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("series_id", sa.BigInteger, nullable=False),
    sa.Column("start_ts", sa.Float, nullable=False),
    sa.Column("end_ts", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_metric_chunk_series_end", "series_id", "end_ts"),
)
"""Raw points of one series written by one flush: ``data`` holds ``count`` little-endian
float64 ``(ts, value)`` pairs sorted by ts, ``start_ts``/``end_ts`` the first and last ts."""

metric_rollup = sa.Table(
    "metric_rollup",
    metadata,
    sa.Column("series_id", sa.BigInteger, primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("ts", sa.Float, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("sum", sa.Float, nullable=False),
    sa.Column("min", sa.Float, nullable=False),
    sa.Column("max", sa.Float, nullable=False),
)

metric_watermark = sa.Table(
    "metric_watermark",
    metadata,
    sa.Column("step", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rolled_until", sa.Float, nullable=False),
)
"""Per rollup step: buckets before ``rolled_until`` are in ``metric_rollup``, later points
only in ``metric_chunk``."""

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("email", sa.String(255), nullable=False, server_default=""),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column(
        "user", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("hash", sa.String(128), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=True),
    sa.Column("revoked_at", sa.Float, nullable=True),
)


# ------------------------------------------------ agents (issue #3, migration 0003)

agent_tokens = sa.Table(
    "agent_tokens",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False, index=True),
    sa.Column("created_by", sa.String(255), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("used_at", sa.Float, nullable=True),
)
"""One-time registration tokens (SHA-256 of the token), bound to a host."""

agent_certs = sa.Table(
    "agent_certs",
    metadata,
    sa.Column("serial", sa.String(40), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("uuid", sa.String(36), nullable=False, index=True),
    sa.Column("host", sa.String(255), nullable=False, index=True),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("not_after", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
    sa.Column("revoked_reason", sa.String(255), nullable=False, server_default=""),
)
"""Agent certificates issued by the site CA: serial, SHA-256 of the DER, agent UUID, host."""

agent_values = sa.Table(
    "agent_values",
    metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Per-host value store of the agent check plugins (last counter values, for rates)."""


# ------------------------------------------------ kubernetes (issue #4, migration 0004)
kube_clusters = sa.Table(
    "kube_clusters",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("server", sa.String(1024), nullable=False),
    sa.Column("ca_data", sa.Text, nullable=False, server_default=""),
    sa.Column("token_encrypted", sa.Text, nullable=True),
    sa.Column("token_file", sa.String(1024), nullable=True),
    sa.Column("client_cert", sa.Text, nullable=False, server_default=""),
    sa.Column("client_key_encrypted", sa.Text, nullable=True),
    sa.Column("insecure", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("options", JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Connected clusters. The token (and a client key) are Fernet-encrypted with the site's
``kube.key``, or ``token_file`` names a file read at each connect; never stored in clear."""

kube_state = sa.Table(
    "kube_state",
    metadata,
    sa.Column("cluster", sa.String(63), primary_key=True),
    sa.Column("memory", sa.LargeBinary, nullable=False),
    sa.Column("vanished", JSON, nullable=False),
    sa.Column("saved_at", sa.Float, nullable=False),
)
"""What a cluster's checks remember between evaluations (since-when timers, restart counters,
readiness changes, fill trends: msgpack of ``checks.kube.memory.Memory``) and when vanished
objects were first missed, saved after every evaluation so a restart changes no verdict."""


# ------------------------------------------------ notifications (issue #5, migration 0005)

notify_channels = sa.Table(
    "notify_channels",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("spec", JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Where notifications go (Zulip, email, webhook, apprise); ``spec`` is the validated model."""

notify_rules = sa.Table(
    "notify_rules",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("spec", JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Notification rules, evaluated in ``position`` order."""

notify_contacts = sa.Table(
    "notify_contacts",
    metadata,
    sa.Column(
        "user", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("groups", JSON, nullable=False),
    sa.Column("zulip", sa.String(255), nullable=False, server_default=""),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Per user: contact groups and the Zulip account (email) that maps to the user."""

notify_cursor = sa.Table(
    "notify_cursor",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)
"""The last event id the notifier has turned into deliveries (one row)."""

notify_deliveries = sa.Table(
    "notify_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("recipient", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("service", sa.String(255), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("due_at", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("external_id", sa.String(64), nullable=False),
    sa.Index("ix_notify_deliveries_status_due", "status", "due_at"),
    sa.Index("ix_notify_deliveries_object", "host", "service"),
)
"""The outbox: every delivery is stored here before it is attempted; ``key`` (idempotency)
makes a replayed event produce no second row."""

notify_objects = sa.Table(
    "notify_objects",
    metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("service", sa.String(255), primary_key=True),
    sa.Column("problem_id", sa.BigInteger, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("last_sent_at", sa.Float, nullable=False),
    sa.Column("recipients", JSON, nullable=False),
)
"""Per object in a notified problem: the problem's event id, the notification number, and who
got it (recovery goes to them)."""

chat_messages = sa.Table(
    "chat_messages",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("service", sa.String(255), primary_key=True),
    sa.Column("stream", sa.String(255), nullable=False),
    sa.Column("topic", sa.String(255), nullable=False),
    sa.Column("posted_at", sa.Float, nullable=False),
    sa.Column("open", sa.Boolean, nullable=False),
    sa.Index("ix_chat_messages_object", "host", "service"),
)
"""Problem messages the bot posted (reactions on them are actions on the object)."""

chat_reactions = sa.Table(
    "chat_reactions",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("emoji", sa.String(64), primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
)
"""Reactions already handled, so a replay (reconciliation after a lost queue) acts once."""

chat_links = sa.Table(
    "chat_links",
    metadata,
    sa.Column("realm", sa.String(255), primary_key=True),
    sa.Column("zulip_user_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column(
        "user", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("full_name", sa.String(255), nullable=False),
    sa.Column("linked_at", sa.Float, nullable=False),
    sa.Index("ix_chat_links_user", "user"),
)
"""Zulip accounts linked to Lookout users by user id (migration 0010): Zulip may hide e-mails."""

chat_link_codes = sa.Table(
    "chat_link_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("realm", sa.String(255), nullable=False),
    sa.Column("zulip_user_id", sa.BigInteger, nullable=False),
    sa.Column("full_name", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
"""One-time codes the bot sent by private message (SHA-256, never the code itself)."""


# ------------------------------------------------ web UI (issue #6, migration 0006)
ui_sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_ui_sessions_user", "user"),
)
"""Web UI log-ins: the SHA-256 of the session cookie (never the cookie itself), the user's role
at log-in, the per-session CSRF token, and when the session ends."""

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_login_failures_key", "key"),
    sa.Index("ix_login_failures_at", "at"),
)
"""Failed web log-ins the throttle counts (``user:NAME``, ``addr:ADDRESS``), kept for its
window, so that a restart does not wipe the slate of someone guessing passwords."""

ui_shown_once = sa.Table(
    "ui_shown_once",
    metadata,
    sa.Column("session", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("sealed", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
"""A text the UI shows once on a session's next page (a new API token, an agent registration
command), sealed with the site key, deleted when shown or expired."""

commands = sa.Table(
    "commands",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("command_line", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

group_aliases = sa.Table(
    "group_aliases",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("alias", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Aliases of host and service groups (migration 0021; ``kind`` host or service). Groups exist
through their members; this only keeps the longer name a group is shown with."""

check_rules = sa.Table(
    "check_rules",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("spec", JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Check rules (migration 0015): parameters for a check type on the checks they match,
evaluated in ``position`` order; ``spec`` is the validated ``CheckRule``."""

alertmanager_silences = sa.Table(
    "alertmanager_silences",
    metadata,
    sa.Column("silence_id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("service", sa.String(255), primary_key=True),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("ends_at", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
"""Silences in Alertmanager tied to Lookout services (migration 0014): ``origin`` lookout, made
for an ack (``reason`` ack) or a downtime (``downtime:<id>``); or alertmanager, a silence made
there that acknowledged the service here (``reason`` silence)."""

# ------------------------------------------------ second factor (issue 13, migration 0016)
user_totp = sa.Table(
    "user_totp",
    metadata,
    sa.Column(
        "user", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sealed_secret", sa.Text, nullable=False),
    sa.Column("confirmed_at", sa.Float, nullable=True),
    sa.Column("last_step", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
)
"""A user's TOTP seed, sealed with the site key (never stored in clear); ``confirmed_at`` is
NULL until the first code was typed; ``last_step`` is the last 30 s step a code was accepted
for, so the same code (or an older one) is refused the second time."""

totp_recovery = sa.Table(
    "totp_recovery",
    metadata,
    sa.Column(
        "user", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("code_hash", sa.String(64), primary_key=True),
)
"""One-time recovery codes (SHA-256 of 80 random bits each; a used one is deleted)."""

remote_sites = sa.Table(
    "remote_sites",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("token_sealed", sa.Text, nullable=False),
    sa.Column("ca_pem", sa.Text, nullable=False),
    sa.Column("allow_http", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
"""Remote sites a central site shows (migration 0017); the token sealed with the site key."""

# ------------------------------------------------ OpenID Connect (issue 13, migration 0018)
oidc_identities = sa.Table(
    "oidc_identities",
    metadata,
    sa.Column("issuer", sa.String(500), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column(
        "user", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_login", sa.Float, nullable=False),
    sa.Index("ix_oidc_identities_user", "user", unique=True),
)
"""Users made by an OpenID Connect log-in: the provider's (issuer, sub) — stable, unlike names
and e-mails — and the Lookout user it became."""

login_links = sa.Table(
    "login_links",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("expires_at", sa.Float, nullable=False),
)
"""One-time log-in links (migration 0019): the site manager's sign-up hands its new user over
to the new site with one. SHA-256 of the token; deleted when used or expired."""

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("object", sa.Text, nullable=False),
    sa.Column("verb", sa.String(32), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Column("prev", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
"""The audit log (migration 0020): written by inserts only (``storage/audit.py``); rows go
only when older than ``audit_retention_days``. ``before``/``after`` are redacted canonical
JSON, stored as text so that the hash over them is what is read back; ``hash`` chains each
row to ``prev``, the hash of the row before it."""

"""Notifications: rules, the durable outbox and the channels (Zulip, email, webhook, apprise)."""

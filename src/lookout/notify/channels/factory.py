"""Build a channel driver from its validated spec (each driver's module, and what it needs —
apprise's hundred plugins, Zulip's API — is imported when a channel of its type is made: a
site without such channels never imports them)."""

from __future__ import annotations

from lookout.notify.channels.base import ChannelContext, ChannelDriver
from lookout.notify.spec import AlertmanagerSpec, AnySpec, EmailSpec, WebhookSpec, ZulipSpec


def make_channel(name: str, spec: AnySpec, ctx: ChannelContext) -> ChannelDriver:
    if isinstance(spec, ZulipSpec):
        from lookout.notify.channels.zulip import ZulipChannel

        return ZulipChannel(name, spec, ctx)
    if isinstance(spec, EmailSpec):
        from lookout.notify.channels.email import EmailChannel

        return EmailChannel(name, spec, ctx)
    if isinstance(spec, WebhookSpec):
        from lookout.notify.channels.webhook import WebhookChannel

        return WebhookChannel(name, spec, ctx)
    if isinstance(spec, AlertmanagerSpec):
        from lookout.notify.channels.alertmanager import AlertmanagerChannel

        return AlertmanagerChannel(name, spec, ctx)
    from lookout.notify.channels.apprise import AppriseChannel

    return AppriseChannel(name, spec, ctx)

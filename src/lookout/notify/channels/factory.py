"""Build a channel driver from its validated spec."""

from __future__ import annotations

from lookout.notify.channels.alertmanager import AlertmanagerChannel
from lookout.notify.channels.apprise import AppriseChannel
from lookout.notify.channels.base import ChannelContext, ChannelDriver
from lookout.notify.channels.email import EmailChannel
from lookout.notify.channels.webhook import WebhookChannel
from lookout.notify.channels.zulip import ZulipChannel
from lookout.notify.spec import AlertmanagerSpec, AnySpec, EmailSpec, WebhookSpec, ZulipSpec


def make_channel(name: str, spec: AnySpec, ctx: ChannelContext) -> ChannelDriver:
    if isinstance(spec, ZulipSpec):
        return ZulipChannel(name, spec, ctx)
    if isinstance(spec, EmailSpec):
        return EmailChannel(name, spec, ctx)
    if isinstance(spec, WebhookSpec):
        return WebhookChannel(name, spec, ctx)
    if isinstance(spec, AlertmanagerSpec):
        return AlertmanagerChannel(name, spec, ctx)
    return AppriseChannel(name, spec, ctx)

"""Email channel: SMTP with STARTTLS or TLS, a plain-text and an HTML part."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from lookout.errors import PermanentFailure, TemporaryFailure
from lookout.notify import render
from lookout.notify.channels.base import ChannelContext
from lookout.notify.model import Outgoing, Sent
from lookout.notify.ratelimit import RateLimiter
from lookout.notify.spec import EmailSpec
from lookout.notify.zulipapi import tls_context


def build(msg: Outgoing, spec: EmailSpec, site: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = f"[{site}] {render.subject(msg)}"
    mail["From"] = spec.sender
    mail["To"] = msg.recipient
    mail["Date"] = formatdate(localtime=False)
    digest = hashlib.sha256(msg.keys[0].encode()).hexdigest()[:32]
    mail["Message-ID"] = f"<{digest}@lookout.{site}>"  # receivers can drop a duplicate
    mail.set_content(render.text(msg))
    mail.add_alternative(render.html_body(msg), subtype="html")
    return mail


class EmailChannel:
    ordered = True
    parallel = 1

    def __init__(self, name: str, spec: EmailSpec, ctx: ChannelContext) -> None:
        self.name = name
        self.spec = spec
        self.ctx = ctx
        self.limiter = RateLimiter(spec.rate_per_minute, ctx.clock)

    async def aclose(self) -> None:
        return None

    async def send(self, msg: Outgoing) -> Sent:
        await self.limiter.acquire()
        s = self.spec
        try:
            await aiosmtplib.send(
                build(msg, s, self.ctx.site_name),
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=s.password or None,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                tls_context=tls_context(s.ca_file) if s.security != "none" else None,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.code}: {exc.message}"
            if 400 <= exc.code < 500:
                raise TemporaryFailure(text) from exc
            raise PermanentFailure(text) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipients refused: {exc.recipients}") from exc
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
            raise TemporaryFailure(f"SMTP {s.host}:{s.port}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            raise PermanentFailure(f"SMTP: {exc}") from exc
        return Sent()

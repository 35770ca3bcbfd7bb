"""The sign-up mails, sent with aiosmtplib to ``[signup]``'s mail server."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from lookout.errors import ConfigError, TemporaryFailure
from lookout.manager.signup.settings import SignupSettings


def smtp_password(root: Path, settings: SignupSettings) -> str | None:
    if not settings.smtp_password_file:
        return None
    path = Path(settings.smtp_password_file)
    path = path if path.is_absolute() else root / path
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"[signup] smtp_password_file: cannot read {path}: {exc.strerror}"
        ) from exc


async def send(
    settings: SignupSettings, password: str | None, to: str, subject: str, body: str
) -> None:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        await aiosmtplib.send(
            msg,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            username=settings.smtp_user or None,
            password=password if settings.smtp_user else None,
            timeout=15,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"the mail to {to} was not sent: {exc}") from exc


def code_mail(code: str, minutes: int) -> tuple[str, str]:
    subject = f"Your Lookout sign-up code: {code}"
    body = (
        f"Your code is {code}\n\n"
        f"Type it on the sign-up page within {minutes} minutes. If you did not ask for it, "
        "ignore this mail: nothing happens without the code.\n"
    )
    return subject, body


def known_mail(site: str) -> tuple[str, str]:
    subject = "Lookout sign-up: you have an account already"
    body = (
        "Someone (you?) asked to sign up for Lookout with this address, which has an account "
        f"already (site {site}). Log in to your site instead; if it was not you, ignore this "
        "mail.\n"
    )
    return subject, body

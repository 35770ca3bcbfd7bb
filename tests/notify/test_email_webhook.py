"""Email against a real SMTP server (aiosmtpd, STARTTLS and TLS with a real certificate);
webhooks against a real HTTP receiver (HMAC signature)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import hashlib
import hmac
import json
import ssl
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from livesite import free_port
from lookout.errors import PermanentFailure, TemporaryFailure
from lookout.notify.channels.base import ChannelContext
from lookout.notify.channels.email import EmailChannel
from lookout.notify.channels.webhook import WebhookChannel, sign
from lookout.notify.clock import FakeClock
from lookout.notify.model import Notification, Outgoing
from lookout.notify.spec import EmailSpec, WebhookSpec
from lookout.notify.store import NotifyStore

pytestmark = pytest.mark.integration

NOTE = Notification(
    kind="problem", host="web1", service="HTTPS", state="CRIT", summary="down", at=1e9
)


def make_cert(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost (the CA the client trusts)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"


def ctx(store: NotifyStore) -> ChannelContext:
    return ChannelContext(store, FakeClock(), site_name="prod")


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_email_over_verified_tls_with_text_and_html(
    tmp_path: Path, store: NotifyStore, security: str
) -> None:
    cert, key = make_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    if security == "starttls":
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True
        )
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_ctx)
    controller.start()
    try:
        spec = EmailSpec(
            host="127.0.0.1",
            port=port,
            security=security,  # type: ignore[arg-type]
            sender="lookout@example.org",
            ca_file=str(cert),
        )
        ch = EmailChannel("mail", spec, ctx(store))
        await ch.send(Outgoing("ops@example.org", [NOTE], ["k1"]))
        (mail,) = inbox.messages
        assert mail["To"] == "ops@example.org"
        assert mail["Subject"] == "[prod] PROBLEM CRIT: web1/HTTPS"
        parts = {
            p.get_content_type(): p.get_payload(decode=True).decode()
            for p in mail.walk()
            if not p.is_multipart()
        }
        assert "down" in parts["text/plain"]
        assert "<h3>" in parts["text/html"]
    finally:
        controller.stop()


async def test_email_refuses_an_untrusted_certificate(tmp_path: Path, store: NotifyStore):
    cert, key = make_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, tls_context=server_ctx)
    controller.start()
    try:
        spec = EmailSpec(host="127.0.0.1", port=port, sender="lookout@example.org")
        with pytest.raises((TemporaryFailure, PermanentFailure)):
            await EmailChannel("mail", spec, ctx(store)).send(Outgoing("a@b.c", [NOTE], ["k"]))
    finally:
        controller.stop()


async def test_webhook_is_signed_and_classifies_failures(store: NotifyStore):
    got: list[tuple[dict[str, str], bytes]] = []
    answers = [200, 503, 400]

    async def receive(request: Request) -> Response:
        got.append((dict(request.headers), await request.body()))
        return Response("", answers[len(got) - 1], headers={"Retry-After": "7"})

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", receive, methods=["POST"])]),
            port=port,
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    try:
        spec = WebhookSpec(url=f"http://127.0.0.1:{port}/hook", secret="s3cret")
        ch = WebhookChannel("hook", spec, ctx(store))
        await ch.send(Outgoing("*", [NOTE], ["key-1"]))
        headers, body = got[0]
        stamp = headers["x-lookout-timestamp"]
        assert headers["x-lookout-signature"] == sign("s3cret", stamp, body)
        expected = hmac.new(b"s3cret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["x-lookout-signature"] == f"sha256={expected}"
        assert headers["idempotency-key"] == "key-1"
        doc = json.loads(body)
        assert doc["version"] == 1
        assert doc["notifications"][0]["host"] == "web1"
        with pytest.raises(TemporaryFailure) as temp:
            await ch.send(Outgoing("*", [NOTE], ["key-2"]))
        assert temp.value.retry_after == 7
        with pytest.raises(PermanentFailure):
            await ch.send(Outgoing("*", [NOTE], ["key-3"]))
        await ch.aclose()
    finally:
        server.should_exit = True
        await task

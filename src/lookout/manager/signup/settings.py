"""``[signup]`` in ``manager.toml``: self-service sign-up on the control plane."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lookout.config import parse_listen


class SignupSettings(BaseModel):
    """Self-service sign-up (issue 13): e-mail, a code by mail, an account, a first site."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False
    )

    enabled: bool = False
    """`lookout sites serve` also serves the sign-up pages."""
    listen: str = "127.0.0.1:8000"
    """HOST:PORT of the sign-up pages."""
    public_url: str = ""
    """URL people reach the sign-up pages at (default: http://<listen>); also the issuer of
    the control plane's OpenID provider."""
    sso: bool = True
    """Sites made by sign-up log their owner in through the control plane's accounts (OpenID
    Connect, the control plane as provider): one log-in for all of a customer's sites."""
    smtp_host: str = "127.0.0.1"
    """The mail server that sends the codes."""
    smtp_port: int = Field(25, ge=1, le=65535)
    """Its port."""
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    """none, starttls, or tls (implicit TLS, usually port 465)."""
    smtp_user: str = ""
    """User name for SMTP authentication (empty: none)."""
    smtp_password_file: str = ""
    """File holding the SMTP password (relative paths: to the root; mode 0600)."""
    mail_from: str = Field("lookout@localhost", min_length=3, max_length=255)
    """Sender address of the code mails."""
    code_seconds: float = Field(600.0, gt=0, le=86400)
    """Seconds a code is good for."""
    code_attempts: int = Field(5, ge=1, le=20)
    """Wrong tries a code allows before it is void."""
    codes_per_address: int = Field(3, ge=1, le=100)
    """Code mails one address gets per hour (more requests are answered alike, mail-less)."""
    requests_per_client: int = Field(20, ge=1, le=10000)
    """Sign-up requests one client address may make per hour (then 429)."""
    sites_per_account: int = Field(3, ge=1, le=1000)
    """Sites one account may have (its first included); /signup/sites makes the others."""
    site_tries_per_account: int = Field(10, ge=1, le=1000)
    """Requests for a further site one account may make per hour (wrong passwords included;
    more are refused alike)."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @property
    def url(self) -> str:
        return (self.public_url or f"http://{self.listen}").rstrip("/")

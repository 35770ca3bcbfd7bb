"""The OpenID Connect relying party of a site: the provider's discovery document and keys, the
authorization request (code flow with PKCE S256, ``state`` and ``nonce``), the code exchange
and the ID token's checks (``oidc_checks.py``). HTTP with httpx; the client secret is read
from its file at start and only ever sent to the token endpoint.

Each started log-in is a :class:`Flow` kept in memory for ten minutes under a hash of its
``state``, taken (so used once) by the callback, and bound to the browser that started it by
a cookie holding a second random value."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from lookout.config import OidcSettings
from lookout.errors import ConfigError
from lookout.web.ui.oidc_checks import Refused, UnknownKey, check_id_token

FLOW_SECONDS = 600.0
MAX_FLOWS = 10_000
"""Log-ins under way at once (each a few hundred bytes for at most ``FLOW_SECONDS``)."""
DISCOVERY_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Flow:
    """A log-in sent to the provider and not back yet."""

    nonce: str
    verifier: str
    binding: str
    next: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the site uses of the provider's discovery document."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    post_secret: bool  # client_secret_post instead of client_secret_basic


def read_secret(site_dir: Path, settings: OidcSettings) -> str | None:
    """The client secret from ``client_secret_file`` (None: a public client)."""
    if not settings.client_secret_file:
        return None
    path = Path(settings.client_secret_file)
    path = path if path.is_absolute() else site_dir / path
    try:
        mode = path.stat().st_mode & 0o077
        secret = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"[oidc] client_secret_file: cannot read {path}: {exc.strerror}") from exc
    if mode:
        raise ConfigError(f"[oidc] client_secret_file: {path} is readable by others; chmod 600 it")
    if not secret:
        raise ConfigError(f"[oidc] client_secret_file: {path} is empty")
    return secret


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class OidcClient:
    def __init__(
        self,
        settings: OidcSettings,
        secret: str | None,
        redirect_uri: str,
        clock: Callable[[], float] = time.time,
        *,
        max_flows: int = MAX_FLOWS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.max_flows = max_flows
        self.transport = transport  # tests: httpx.MockTransport
        self.secret = secret
        self.redirect_uri = redirect_uri
        self.clock = clock
        self._flows: dict[str, Flow] = {}
        self._metadata: tuple[float, Metadata] | None = None
        self._keys: KeySet | None = None

    # ------------------------------------------------------------------ flows
    async def start(self, next_url: str) -> tuple[str, str]:
        """Begin a log-in: the provider's authorization URL and the browser binding value
        (the caller sets it as a cookie)."""
        meta = await self.metadata()
        now = self.clock()
        self._flows = {k: f for k, f in self._flows.items() if f.expires_at > now}
        if len(self._flows) >= self.max_flows:  # anyone may start one: memory stays bounded
            raise Refused("too many log-ins are under way: try again in a few minutes")
        state, binding = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        flow = Flow(
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(64),
            binding=binding,
            next=next_url,
            expires_at=now + FLOW_SECONDS,
        )
        self._flows[_hash(state)] = flow
        scopes = ["openid", *(s for s in self.settings.scopes if s != "openid")]
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "nonce": flow.nonce,
            "code_challenge": _challenge(flow.verifier),
            "code_challenge_method": "S256",
        }
        sep = "&" if urlsplit(meta.authorization_endpoint).query else "?"
        return f"{meta.authorization_endpoint}{sep}{urlencode(query)}", binding

    def take(self, state: str, binding: str | None) -> Flow:
        """The flow of ``state``, now forgotten (a second callback with it is refused)."""
        flow = self._flows.pop(_hash(state), None) if state else None
        if flow is None or flow.expires_at <= self.clock():
            raise Refused("this log-in is unknown, expired or already used: start it again")
        if not binding or not hmac.compare_digest(flow.binding, binding):
            raise Refused("this log-in was started in another browser: start it again here")
        return flow

    async def finish(self, flow: Flow, code: str) -> dict[str, Any]:
        """Exchange ``code`` and check the ID token: the user's claims (userinfo added when the
        groups claim is not in the ID token)."""
        meta = await self.metadata()
        answer = await self._exchange(meta, flow, code)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise Refused("the provider's token answer has no ID token")
        claims = await self._checked(id_token, flow.nonce)
        access = answer.get("access_token")
        if self.settings.groups_claim not in claims and meta.userinfo_endpoint and access:
            extra = await self._userinfo(meta.userinfo_endpoint, str(access))
            if extra.get("sub") != claims["sub"]:
                raise Refused("the provider's userinfo is about another user (sub)")
            claims = {**extra, **claims}
        return claims

    # ------------------------------------------------------------------ provider
    def _client(self) -> httpx.AsyncClient:
        verify: Any = self.settings.ca_file or True
        return httpx.AsyncClient(
            timeout=self.settings.timeout, verify=verify, transport=self.transport
        )

    async def _get_json(self, url: str, what: str, **kw: Any) -> dict[str, Any]:
        try:
            async with self._client() as http:
                r = await http.get(url, **kw)
        except httpx.HTTPError as exc:
            raise Refused(f"the provider cannot be reached for its {what}: {exc}") from exc
        if r.status_code != 200:
            raise Refused(f"the provider answered {r.status_code} for its {what} ({url})")
        try:
            body = r.json()
        except ValueError as exc:
            raise Refused(f"the provider's {what} is not JSON ({url})") from exc
        if not isinstance(body, dict):
            raise Refused(f"the provider's {what} is not a JSON object ({url})")
        return body

    async def metadata(self) -> Metadata:
        now = self.clock()
        if self._metadata is not None and now - self._metadata[0] < DISCOVERY_SECONDS:
            return self._metadata[1]
        issuer = self.settings.issuer
        doc = await self._get_json(f"{issuer}/.well-known/openid-configuration", "discovery")
        if doc.get("issuer") != issuer:
            raise Refused(
                f"the discovery document names issuer {doc.get('issuer')!r}, not {issuer!r}"
            )
        urls = {}
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(key)
            if not isinstance(value, str) or not _safe_url(value):
                raise Refused(f"the discovery document's {key} is missing or not https: {value!r}")
            urls[key] = value
        userinfo = doc.get("userinfo_endpoint")
        methods = doc.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise Refused("the provider does not support PKCE with S256")
        auth = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        meta = Metadata(
            authorization_endpoint=urls["authorization_endpoint"],
            token_endpoint=urls["token_endpoint"],
            jwks_uri=urls["jwks_uri"],
            userinfo_endpoint=userinfo
            if isinstance(userinfo, str) and _safe_url(userinfo)
            else None,
            post_secret="client_secret_basic" not in auth and "client_secret_post" in auth,
        )
        self._metadata = (now, meta)
        return meta

    async def _key_set(self, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            meta = await self.metadata()
            doc = await self._get_json(meta.jwks_uri, "keys (JWKS)")
            public = [
                k
                for k in doc.get("keys", [])
                if isinstance(k, dict) and k.get("use", "sig") == "sig"
            ]
            try:
                self._keys = KeySet.import_key_set({"keys": public})
            except (JoseError, ValueError, TypeError) as exc:
                raise Refused(f"the provider's keys cannot be read: {exc}") from exc
        return self._keys

    async def _checked(self, id_token: str, nonce: str) -> dict[str, Any]:
        """Check the token; a key the site does not know yet makes it fetch the keys again once
        (the provider rotated them). The token came from the token endpoint, not the browser,
        so an unknown key cannot be used to make the site fetch keys at will."""
        try:
            return self._check(id_token, await self._key_set(False), nonce)
        except UnknownKey:
            return self._check(id_token, await self._key_set(True), nonce)

    def _check(self, id_token: str, keys: KeySet, nonce: str) -> dict[str, Any]:
        return check_id_token(
            id_token,
            keys,
            issuer=self.settings.issuer,
            client_id=self.settings.client_id,
            nonce=nonce,
            now=int(self.clock()),
        )

    async def _exchange(self, meta: Metadata, flow: Flow, code: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": flow.verifier,
        }
        extra: dict[str, Any] = {}
        if self.secret is None:
            form["client_id"] = self.settings.client_id
        elif meta.post_secret:
            form.update(client_id=self.settings.client_id, client_secret=self.secret)
        else:
            client_id, secret = _form_encode(self.settings.client_id), _form_encode(self.secret)
            extra["auth"] = httpx.BasicAuth(client_id, secret)
        try:
            async with self._client() as http:
                r = await http.post(
                    meta.token_endpoint,
                    data=form,
                    headers={"Accept": "application/json"},
                    **extra,
                )
        except httpx.HTTPError as exc:
            raise Refused(f"the provider cannot be reached to exchange the code: {exc}") from exc
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200 or not isinstance(body, dict):
            error = (
                body.get("error_description") or body.get("error")
                if isinstance(body, dict)
                else None
            )
            raise Refused(
                f"the provider refused the code ({r.status_code}: {error or 'no reason'})"
            )
        return body

    async def _userinfo(self, url: str, access_token: str) -> dict[str, Any]:
        return await self._get_json(
            url, "userinfo", headers={"Authorization": f"Bearer {access_token}"}
        )


def _form_encode(value: str) -> str:
    """RFC 6749 2.3.1: client id and secret are form-encoded before basic authentication."""
    from urllib.parse import quote_plus

    return quote_plus(value)


def _safe_url(url: str) -> bool:
    parts = urlsplit(url)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    return parts.scheme == "https" or (parts.scheme == "http" and loopback)

"""The control plane as the OpenID provider of its own sites: a customer logs in once here
(the sign-up account's e-mail and password) and reaches their sites through each site's
OpenID Connect log-in (``web/ui/login_oidc.py``), which takes this provider like any other.

Only what those sites use is built: discovery, JWKS (one RSA key, ``ROOT/run/oidc-key.json``,
0600), the authorization endpoint (code flow, PKCE S256 required, exact redirect URI), the
token endpoint (``client_secret_basic``; a code is good once, for a minute) and ID tokens
(RS256) carrying ``email``, ``preferred_username`` and ``groups = ["owner"]`` for the account's
own site. Clients are the signed-up sites: id = site name, secret made at sign-up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_plus, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey

from lookout import auth
from lookout.config import load_settings
from lookout.errors import LookoutError
from lookout.manager.root import Root
from lookout.manager.signup import store as st

CODE_SECONDS = 60.0
SESSION_SECONDS = 12 * 3600.0
ID_TOKEN_SECONDS = 300
OWNER = "owner"
"""The group an account holds in its own site (mapped to admin by the site's role map)."""


class ProviderError(Exception):
    """A request this provider refuses; ``error`` is the OAuth error code."""

    def __init__(self, error: str, why: str) -> None:
        super().__init__(why)
        self.error = error
        self.why = why


def load_key(path: Path) -> RSAKey:
    """The signing key, made (0600) the first time."""
    if path.exists():
        return RSAKey.import_key(json.loads(path.read_text()))
    key = RSAKey.generate_key(
        2048, parameters={"kid": secrets.token_hex(8), "alg": "RS256", "use": "sig"}
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(key.as_dict(private=True), fh)
    return key


@dataclass(frozen=True, slots=True)
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    email: str
    expires_at: float


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class AccountProvider:
    def __init__(
        self,
        issuer: str,
        root: Root,
        store: st.SignupStore,
        key: RSAKey,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.root = root
        self.store = store
        self.key = key
        self.clock = clock
        self._codes: dict[str, Grant] = {}
        self._sessions: dict[str, tuple[str, float]] = {}

    def discovery(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oidc/authorize",
            "token_endpoint": f"{self.issuer}/oidc/token",
            "jwks_uri": f"{self.issuer}/oidc/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["openid", "profile", "email", "groups"],
            "claims_supported": ["sub", "email", "preferred_username", "groups"],
        }

    def jwks(self) -> dict[str, object]:
        return {"keys": [self.key.as_dict(private=False)]}

    # ------------------------------------------------------------------ authorization
    def redirect_uri_of(self, client_id: str) -> str | None:
        """The one redirect URI a site may use: its own callback."""
        if not client_id or st.client_secret_hash(self.store, client_id) is None:
            return None
        try:
            url = load_settings(self.root.site_dir(client_id)).url
        except LookoutError:
            return None
        return f"{url.rstrip('/')}/login/oidc/callback"

    def check_request(self, params: dict[str, str]) -> str:
        """The redirect URI of a well-formed authorization request (else ProviderError, shown
        as a page: a request with a wrong client or redirect URI is never redirected)."""
        redirect = self.redirect_uri_of(params.get("client_id", ""))
        if redirect is None or params.get("redirect_uri") != redirect:
            raise ProviderError("invalid_request", "unknown client or redirect URI")
        if params.get("response_type") != "code":
            raise ProviderError("unsupported_response_type", "only response_type=code")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            raise ProviderError("invalid_request", "PKCE with S256 is required")
        if "openid" not in params.get("scope", "").split():
            raise ProviderError("invalid_scope", "the openid scope is required")
        return redirect

    def session_user(self, cookie: str | None) -> str | None:
        found = self._sessions.get(_hash(cookie)) if cookie else None
        return found[0] if found and found[1] > self.clock() else None

    def log_in(self, email: str, password: str) -> str | None:
        """A session cookie value when the account's password is right."""
        found = st.account(self.store, email)
        if found is None:
            auth.hash_password(password)  # the same time as a wrong password
            return None
        if not auth.verify_password(password, found[0]):
            return None
        cookie = secrets.token_urlsafe(32)
        now = self.clock()
        self._sessions = {k: v for k, v in self._sessions.items() if v[1] > now}
        self._sessions[_hash(cookie)] = (email, now + SESSION_SECONDS)
        return cookie

    def authorize(self, params: dict[str, str], email: str) -> str:
        """The redirect back to the site with a code (or an access_denied error)."""
        redirect = self.check_request(params)
        state = {"state": params["state"]} if params.get("state") else {}
        if params["client_id"] not in st.sites_of(self.store, email):  # every site of theirs
            query = {"error": "access_denied", "error_description": "not your site", **state}
            return f"{redirect}?{urlencode(query)}"
        code = secrets.token_urlsafe(32)
        now = self.clock()
        self._codes = {k: g for k, g in self._codes.items() if g.expires_at > now}
        self._codes[_hash(code)] = Grant(
            client_id=params["client_id"],
            redirect_uri=redirect,
            challenge=params["code_challenge"],
            nonce=params.get("nonce", ""),
            email=email,
            expires_at=now + CODE_SECONDS,
        )
        return f"{redirect}?{urlencode({'code': code, **state})}"

    # ------------------------------------------------------------------ token
    def token(self, form: dict[str, str], authorization: str) -> dict[str, object]:
        client_id = self._client(authorization)
        if form.get("grant_type") != "authorization_code":
            raise ProviderError("unsupported_grant_type", "only authorization_code")
        grant = self._codes.pop(_hash(form.get("code", "")), None)
        if grant is None or grant.expires_at <= self.clock() or grant.client_id != client_id:
            raise ProviderError("invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise ProviderError("invalid_grant", "redirect_uri differs from the request's")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if not verifier or not hmac.compare_digest(challenge, grant.challenge):
            raise ProviderError("invalid_grant", "the code_verifier does not match")
        now = int(self.clock())
        claims = {
            "iss": self.issuer,
            "sub": grant.email,
            "aud": client_id,
            "iat": now,
            "exp": now + ID_TOKEN_SECONDS,
            "email": grant.email,
            "preferred_username": grant.email,
            "groups": [OWNER],
            **({"nonce": grant.nonce} if grant.nonce else {}),
        }
        header = {"alg": "RS256", "kid": self.key.kid}
        return {
            "id_token": jwt.encode(header, claims, self.key),
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": ID_TOKEN_SECONDS,
        }

    def _client(self, authorization: str) -> str:
        """The client id of a request with right ``client_secret_basic`` credentials."""
        scheme, _, value = authorization.partition(" ")
        try:
            pair = base64.b64decode(value, validate=True).decode() if scheme == "Basic" else ""
        except ValueError:
            pair = ""
        client_id, _, secret = pair.partition(":")
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        stored = st.client_secret_hash(self.store, client_id) if client_id else None
        if stored is None or not hmac.compare_digest(stored, _hash(secret)):
            raise ProviderError("invalid_client", "unknown client or wrong secret")
        return client_id


def new_client_secret() -> tuple[str, str]:
    """A client secret and its hash."""
    secret = secrets.token_urlsafe(32)
    return secret, _hash(secret)

"""The control plane's OpenID provider, without HTTP: a code for the account's own site only,
PKCE checked, a code good once, the client's secret checked; its ID token passes the sites'
own checks (``web/ui/oidc_checks.py``)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from joserfc.jwk import KeySet

from lookout import auth
from lookout.manager.root import Root
from lookout.manager.signup.provider import (
    AccountProvider,
    ProviderError,
    load_key,
    new_client_secret,
)
from lookout.manager.signup.store import SignupStore, put_client
from lookout.sites.site import init_site
from lookout.web.ui.oidc_checks import check_id_token

ISSUER = "http://127.0.0.1:8000"
VERIFIER = "a-pkce-verifier-that-is-long-enough-to-count-0123456789"


def _challenge(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def _basic(client: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode()


@pytest.fixture
def provider(root: Root, tmp_path: Path) -> tuple[AccountProvider, str, dict[str, str]]:
    site = init_site(root.site_dir("shop"), listen="127.0.0.1:20999", extra={"site_name": "shop"})
    store = SignupStore(root.path / "signup.db")
    store.add_account("kim@example.org", auth.hash_password("a long password"), "shop", 0.0)
    store.add_account("lee@example.org", auth.hash_password("a long password"), "other", 0.0)
    secret, secret_hash = new_client_secret()
    put_client(store, "shop", secret_hash)
    p = AccountProvider(ISSUER, root, store, load_key(tmp_path / "key.json"))
    params = {
        "client_id": "shop",
        "redirect_uri": f"{site.url}/login/oidc/callback",
        "response_type": "code",
        "scope": "openid email groups",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": _challenge(VERIFIER),
        "code_challenge_method": "S256",
    }
    return p, secret, params


def _code(url: str) -> str:
    return url.split("code=")[1].split("&")[0]


def test_a_code_for_the_own_site_gives_an_id_token_the_site_accepts(
    provider: tuple[AccountProvider, str, dict[str, str]],
) -> None:
    p, secret, params = provider
    assert p.log_in("kim@example.org", "wrong") is None
    assert p.log_in("kim@example.org", "a long password")
    back = p.authorize(params, "kim@example.org")
    assert back.startswith(params["redirect_uri"] + "?code=")
    assert back.endswith("&state=s1")
    form = {
        "grant_type": "authorization_code",
        "code": _code(back),
        "redirect_uri": params["redirect_uri"],
        "code_verifier": VERIFIER,
    }
    with pytest.raises(ProviderError, match="wrong secret"):
        p.token(form, _basic("shop", "not-it"))
    with pytest.raises(ProviderError, match="code_verifier"):
        p.token({**form, "code_verifier": "another"}, _basic("shop", secret))
    with pytest.raises(ProviderError, match="unknown, used or expired"):
        p.token(form, _basic("shop", secret))  # a failed exchange voids the code
    form["code"] = _code(p.authorize(params, "kim@example.org"))
    answer = p.token(form, _basic("shop", secret))
    keys = KeySet.import_key_set(p.jwks())  # type: ignore[arg-type]
    claims = check_id_token(
        str(answer["id_token"]),
        keys,
        issuer=ISSUER,
        client_id="shop",
        nonce="n1",
        now=int(p.clock()),
    )
    assert claims["email"] == "kim@example.org"
    assert claims["groups"] == ["owner"]
    with pytest.raises(ProviderError, match="unknown, used or expired"):
        p.token(form, _basic("shop", secret))  # a code is good once


def test_requests_for_another_site_or_redirect_are_refused(
    provider: tuple[AccountProvider, str, dict[str, str]],
) -> None:
    p, _, params = provider
    assert "error=access_denied" in p.authorize(params, "lee@example.org")
    for change in (
        {"redirect_uri": "https://evil.example/cb"},
        {"client_id": "other"},
        {"code_challenge_method": "plain"},
        {"scope": "email"},
    ):
        with pytest.raises(ProviderError):
            p.check_request({**params, **change})

"""The OpenID Connect client's own rules with the provider played by ``httpx.MockTransport``:
the discovery document must name the configured issuer and https endpoints and offer PKCE
S256; the authorization URL carries PKCE, state and nonce; a state is good once, in the browser
that started it; log-ins under way are bounded."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from lookout.config import OidcSettings
from lookout.web.ui.oidc import OidcClient
from lookout.web.ui.oidc_checks import Refused

ISSUER = "https://id.example.org"
SETTINGS = OidcSettings(issuer=ISSUER, client_id="site", role_map={"ops": "operator"})


def _client(doc: dict[str, Any], **kw: Any) -> OidcClient:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url == f"{ISSUER}/.well-known/openid-configuration"
        return httpx.Response(200, json=doc)

    transport = httpx.MockTransport(answer)
    return OidcClient(SETTINGS, None, "https://site/cb", transport=transport, **kw)


def _doc(**changes: Any) -> dict[str, Any]:
    doc = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/auth",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
        "code_challenge_methods_supported": ["S256"],
    }
    return {**doc, **changes}


def test_the_authorization_url_carries_pkce_state_and_nonce_and_a_state_works_once() -> None:
    client = _client(_doc())
    url, binding = asyncio.run(client.start("/hosts"))
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/auth?")
    assert q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 43
    assert q["scope"].split()[0] == "openid"
    assert q["redirect_uri"] == "https://site/cb"
    assert len(q["state"]) > 40
    assert len(q["nonce"]) > 40
    with pytest.raises(Refused, match="another browser"):
        client.take(q["state"], "another-binding")
    with pytest.raises(Refused, match="already used"):
        client.take(q["state"], binding)  # refused above, and so used up
    url, binding = asyncio.run(client.start("/"))
    state = parse_qs(urlsplit(url).query)["state"][0]
    assert client.take(state, binding).next == "/"
    with pytest.raises(Refused, match="already used"):
        client.take(state, binding)


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        (_doc(issuer="https://other.example.org"), "names issuer"),
        (
            _doc(token_endpoint="http://id.example.org/token"),
            "token_endpoint is missing or not https",
        ),
        (_doc(jwks_uri=None), "jwks_uri is missing"),
        (_doc(code_challenge_methods_supported=["plain"]), "PKCE with S256"),
    ],
    ids=["issuer", "http-endpoint", "no-jwks", "no-s256"],
)
def test_a_wrong_discovery_document_is_refused(doc: dict[str, Any], why: str) -> None:
    with pytest.raises(Refused, match=why):
        asyncio.run(_client(doc).start("/"))


def test_log_ins_under_way_are_bounded() -> None:
    client = _client(_doc(), max_flows=3)
    for _ in range(3):
        asyncio.run(client.start("/"))
    with pytest.raises(Refused, match="too many log-ins"):
        asyncio.run(client.start("/"))

"""The ID token checks, one refusal per token made for it: bad signature, wrong issuer,
wrong audience, expired, wrong nonce, an unknown key, unsigned and HMAC tokens; and the
groups → role mapping."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from lookout.auth import Role
from lookout.web.ui.oidc_checks import (
    Refused,
    UnknownKey,
    check_id_token,
    groups_of,
    role_for,
)

ISSUER = "https://id.example.org"
CLIENT = "lookout-site"
NONCE = "n-0S6_WzA2Mj"
NOW = int(time.time())
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
PUBLIC = KeySet.import_key_set({"keys": [KEY.as_dict(private=False)]})


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "248289761001",
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": NONCE,
        "groups": ["ops"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any], key: RSAKey = KEY, kid: str = "k1") -> str:
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


def _check(token: str) -> dict[str, Any]:
    return check_id_token(token, PUBLIC, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now=NOW)


def test_a_good_token_gives_its_claims() -> None:
    assert _check(_token(_claims()))["sub"] == "248289761001"
    assert _check(_token(_claims(aud=[CLIENT, "other"], azp=CLIENT)))["groups"] == ["ops"]
    assert _check(_token(_claims(exp=NOW - 30)))  # within the clock leeway


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        (_claims(iss="https://evil.example.org"), "'iss' claim is wrong"),
        (_claims(aud="another-client"), "'aud' claim is wrong"),
        (_claims(aud=[CLIENT, "other"]), "other audiences"),
        (_claims(exp=NOW - 3600), "has expired"),
        (_claims(nonce="replayed-nonce"), "'nonce' claim is wrong"),
        (_claims(nonce=None), "lacks a claim"),
        (_claims(sub=None), "lacks a claim"),
    ],
    ids=["issuer", "audience", "azp", "expired", "nonce", "no-nonce", "no-sub"],
)
def test_a_wrong_claim_is_refused(claims: dict[str, Any], why: str) -> None:
    with pytest.raises(Refused, match=why):
        _check(_token(claims))


def test_a_bad_signature_is_refused() -> None:
    with pytest.raises(Refused, match="signature is wrong"):
        _check(_token(_claims(), key=OTHER))  # same kid, another key
    good = _token(_claims())
    head, body, sig = good.split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged["groups"] = ["admins"]
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(Refused, match="signature is wrong"):
        _check(f"{head}.{body}.{sig}")


def test_an_unknown_key_asks_for_the_keys_again() -> None:
    with pytest.raises(UnknownKey, match="'k2'"):
        _check(_token(_claims(), key=OTHER, kid="k2"))


def test_unsigned_and_hmac_tokens_are_refused() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=").decode()
    with pytest.raises(Refused):
        _check(f"{header}.{body}.")
    secret = OctKey.import_key(b"the-client-secret-the-client-secret")
    hmac_token = jwt.encode({"alg": "HS256"}, _claims(), secret)
    with pytest.raises(Refused):
        _check(hmac_token)
    with pytest.raises(Refused, match="not a JWT"):
        _check("garbage")


def test_groups_map_to_the_highest_role() -> None:
    role_map = {"ops": "operator", "admins": "admin", "staff": "viewer"}
    assert role_for(["staff", "ops"], role_map) is Role.OPERATOR
    assert role_for(["admins", "staff"], role_map) is Role.ADMIN
    assert role_for(["marketing"], role_map) is None
    assert groups_of({"groups": "ops"}, "groups") == ["ops"]
    assert groups_of({}, "groups") is None
    with pytest.raises(Refused, match="not a list of group names"):
        groups_of({"groups": [1, 2]}, "groups")

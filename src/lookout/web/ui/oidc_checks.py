"""The checks of an OpenID Connect ID token (OpenID Connect Core 1.0, 3.1.3.7) and the mapping
of the provider's groups to a Lookout role. No I/O: the keys, the expected values and the time
are handed in, so each refusal is tested with a token made for it.

Signatures are checked by joserfc against the provider's published keys (JWKS), with
asymmetric algorithms only (``none`` and HMAC never: an HMAC key would be the client secret,
which this site shares with the provider and so cannot prove the provider signed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from lookout.auth import Role

ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
LEEWAY = 60
"""Seconds of clock difference allowed between this site and the provider."""


class Refused(Exception):
    """An OpenID Connect log-in that must not go through; ``str()`` says why, for the page."""


class UnknownKey(Refused):
    """The token names a key the site does not have (the provider rotated its keys)."""


def kid_of(id_token: str) -> str | None:
    """The ``kid`` of a token's header, read without trusting anything else in it."""
    import base64
    import json

    try:
        head = id_token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError) as exc:
        raise Refused("the ID token is not a JWT") from exc
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def check_id_token(
    id_token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int,
) -> dict[str, Any]:
    """The claims of ``id_token`` once signature, ``iss``, ``aud`` (and ``azp``), ``exp``,
    ``iat`` and ``nonce`` are right; else :class:`Refused` naming what is wrong."""
    kid = kid_of(id_token)
    if kid is not None and not _has_kid(keys, kid):
        raise UnknownKey(f"the ID token is signed with key {kid!r}, which the provider lacks")
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except BadSignatureError as exc:
        raise Refused("the ID token's signature is wrong") from exc
    except JoseError as exc:
        raise Refused(f"the ID token cannot be read: {exc.description or exc.error}") from exc
    except ValueError as exc:
        raise Refused(f"the ID token cannot be read: {exc}") from exc
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise Refused("the ID token has expired") from exc
    except MissingClaimError as exc:
        raise Refused(f"the ID token lacks a claim: {exc.description}") from exc
    except InvalidClaimError as exc:
        raise Refused(f"the ID token's {exc.claim!r} claim is wrong for this site") from exc
    except JoseError as exc:
        raise Refused(f"the ID token is refused: {exc.description or exc.error}") from exc
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        raise Refused("the ID token names other audiences and is not for this site (azp)")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise Refused("the ID token's sub claim is empty")
    return claims


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def role_for(groups: Sequence[str], role_map: Mapping[str, str]) -> Role | None:
    """The highest role any of ``groups`` maps to, or None (no group maps: refused)."""
    roles = [Role(role_map[g]) for g in groups if g in role_map]
    order = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
    return max(roles, key=order.index) if roles else None


def groups_of(claims: Mapping[str, Any], claim: str) -> list[str] | None:
    """The groups in ``claims[claim]`` (a list of strings, or one string), None when absent."""
    value = claims.get(claim)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(g, str) for g in value):
        return list(value)
    raise Refused(f"the {claim!r} claim is not a list of group names")

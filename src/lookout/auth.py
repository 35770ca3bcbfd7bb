"""API tokens and users: roles, hashing, and the in-memory token registry.

Tokens are 256-bit random strings, so a plain SHA-256 is the right hash at rest (a slow password
hash would only slow every request). User passwords use argon2id (scrypt hashes from before
are still verified).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
        return order.index(self) >= order.index(needed)


TOKEN_PREFIX = "lk_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's user and role."""

    user: str
    role: Role
    token_id: int
    expires_at: float | None = None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_argon2 = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash (argon2-cffi's defaults, tuned to OWASP's recommendation)."""
    return _argon2.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Check ``password`` against an argon2 hash, or a scrypt one from before argon2."""
    if stored.startswith("$argon2"):
        try:
            return _argon2.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    calc = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(calc.hex(), digest)


class TokenRegistry:
    """Valid tokens by hash, kept in memory so that authenticating costs one dict lookup."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Principal] = {}

    def put(self, token_hash: str, principal: Principal) -> None:
        self._by_hash[token_hash] = principal

    def revoke(self, token_id: int) -> None:
        for h, p in list(self._by_hash.items()):
            if p.token_id == token_id:
                del self._by_hash[h]

    def revoke_user(self, user: str) -> None:
        for h, p in list(self._by_hash.items()):
            if p.user == user:
                del self._by_hash[h]

    def lookup(self, token: str, now: float) -> Principal | None:
        p = self._by_hash.get(hash_token(token))
        if p is None or (p.expires_at is not None and now >= p.expires_at):
            return None
        return p

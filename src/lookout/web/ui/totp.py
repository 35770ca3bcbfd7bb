"""The TOTP second factor of local users (RFC 6238 via pyotp: 6 digits, 30 s steps, SHA-1, as
every authenticator app reads them).

- The seed (160 random bits) is sealed with the site key (``storage.vault``) before it is
  stored, and shown only while it is being enrolled: as a QR code (an SVG ``data:`` image drawn
  on the server by segno; the UI's CSP allows ``data:`` images but no inline code) and as text.
- A code is accepted for the current step and one step either side (clock drift), and only for
  a step later than the last one accepted (``storage.totp.use_step``): the same code twice is
  refused.
- Ten recovery codes (80 random bits each, ``xxxx-xxxx-xxxx-xxxx``) are shown once and stored
  as SHA-256 hashes; each works once in place of a code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pyotp
import segno
import sqlalchemy as sa

from lookout.storage import totp as rows
from lookout.storage.vault import Vault

STEP = 30
RECOVERY_CODES = 10
State = Literal["off", "enrolling", "on"]


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What an enrolment page shows: the seed as text and as a QR code of its otpauth URI."""

    secret: str
    uri: str
    qr: str  # a data: URI of an SVG image


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalize_recovery(code: str) -> str:
    """Recovery codes are read without dashes, spaces and case."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


class TwoFactor:
    """Enrol, check and reset users' TOTP. Methods do small blocking database work: call them
    from a worker thread on the event loop."""

    def __init__(
        self, db: sa.Engine, vault: Vault, clock: Callable[[], float], issuer: str
    ) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock
        self.issuer = issuer

    def state(self, user: str) -> State:
        row = rows.get(self.db, user)
        if row is None:
            return "off"
        return "on" if row.confirmed else "enrolling"

    def enrolment(self, user: str) -> Enrolment | None:
        """The unconfirmed seed being enrolled, made now if there is none (None: already on)."""
        row = rows.get(self.db, user)
        if row is None:
            rows.start(self.db, user, self.vault.seal(pyotp.random_base32(32)), self.clock())
            row = rows.get(self.db, user)
        if row is None or row.confirmed:
            return None
        secret = self.vault.open(row.sealed_secret)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user, issuer_name=self.issuer)
        qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")
        return Enrolment(secret=secret, uri=uri, qr=qr)

    def confirm(self, user: str, code: str) -> list[str] | None:
        """Turn the factor on with the first code from the app: the new recovery codes (shown
        once), or None when the code is wrong or nothing is being enrolled."""
        row = rows.get(self.db, user)
        if row is None or row.confirmed:
            return None
        step = self._step_of(self.vault.open(row.sealed_secret), code)
        if step is None:
            return None
        codes = new_recovery_codes()
        done = rows.confirm(self.db, user, step, self.clock(), [_hash(c) for c in codes])
        return codes if done else None

    def check(self, user: str, code: str) -> bool:
        """A log-in's second step: a current code not used before, or an unused recovery code."""
        row = rows.get(self.db, user)
        if row is None or not row.confirmed:
            return False
        digits = code.replace(" ", "")
        if len(digits) == 6 and digits.isdigit():
            step = self._step_of(self.vault.open(row.sealed_secret), digits)
            return step is not None and rows.use_step(self.db, user, step)
        recovery = normalize_recovery(code)
        if len(recovery) != 16:
            return False
        return rows.use_recovery(self.db, user, _hash("-".join(_groups(recovery))))

    def new_recovery(self, user: str) -> list[str]:
        """Replace ``user``'s recovery codes (the old ones stop working)."""
        codes = new_recovery_codes()
        rows.replace_recovery(self.db, user, [_hash(c) for c in codes])
        return codes

    def recovery_left(self, user: str) -> int:
        return rows.recovery_left(self.db, user)

    def reset(self, user: str) -> bool:
        return rows.reset(self.db, user)

    def _step_of(self, secret: str, code: str) -> int | None:
        """The time step ``code`` belongs to (now, or one step either side), or None."""
        code = code.replace(" ", "")
        if len(code) != 6 or not code.isdigit():
            return None
        otp = pyotp.TOTP(secret, interval=STEP)
        base = otp.timecode(self.clock())
        for step in (base, base - 1, base + 1):
            if hmac.compare_digest(otp.generate_otp(step), code):
                return step
        return None


def _groups(code: str) -> list[str]:
    return [code[i : i + 4] for i in range(0, 16, 4)]

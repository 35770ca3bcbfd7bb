"""Checking a connection before it is stored: reachable with verified TLS, token accepted,
server version, health, and every permission Lookout needs (SelfSubjectAccessReview)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from lookout.sources.kube.client import KubeClient, Timeouts
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.errors import KubeError
from lookout.sources.kube.resources import Permission, required_permissions


@dataclass
class Verification:
    version: str = ""
    health: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    permissions: list[tuple[Permission, bool, str]] = field(default_factory=list)
    error: str = ""
    """Why the cluster could not be used at all ('' when it could)."""

    @property
    def missing(self) -> list[Permission]:
        return [p for p, ok, _ in self.permissions if not ok]

    @property
    def ok(self) -> bool:
        return not self.error and not self.missing


async def verify(
    creds: Credentials, timeouts: Timeouts = Timeouts(connect=10, read=15)
) -> Verification:
    out = Verification()
    client = KubeClient(creds, timeouts=timeouts)
    try:
        out.version = await client.version()
        for path in ("/readyz", "/livez"):
            out.health[path] = await client.health(path)
        perms = required_permissions()
        answers = await asyncio.gather(*(client.can(p) for p in perms))
        out.permissions = [(p, ok, why) for p, (ok, why) in zip(perms, answers, strict=True)]
    except KubeError as exc:
        out.error = str(exc)
    finally:
        await client.aclose()
    return out

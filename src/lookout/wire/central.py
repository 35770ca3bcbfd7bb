"""What crosses between a central site and its remote sites (issue 12).

A remote answers ``GET /api/v1/changes`` with a :class:`ChangesPage`; the central site decodes
it with these same structs, whose bounds make a hostile or broken remote's answer fail to
decode (with the path of the first bad field) instead of filling the central site's memory or
breaking its pages. ``RemoteIn`` and the ``Central*In`` bodies are the central's own API.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from pydantic import Field, field_validator

from lookout.wire.api import AcknowledgeIn, Body, CommentIn, DowntimeIn, TargetIn

SITE_NAME_RE = r"^[a-z0-9][a-z0-9_-]{0,62}$"
"""A site's name (``site_name``), also the name a central site gives a remote."""

MAX_PAGE_ITEMS = 50_000
"""Most objects (and most removals) in one page of changes."""
MAX_TEXT = 4096
"""Longest summary a central site keeps of a remote object."""

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
When = Annotated[float, msgspec.Meta(ge=0, le=253402300799)]
"""Unix seconds in 1970–9999."""


class RemoteObject(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=False):
    """One host (``service == ""``) or service as a central site shows it."""

    host: Name
    service: Annotated[str, msgspec.Meta(max_length=255)]
    state: Annotated[int, msgspec.Meta(ge=0, le=3)]
    hard: bool
    checked: bool
    summary: Text
    last_check: When
    last_state_change: When
    acknowledged: bool
    in_downtime: bool
    handled: bool
    stale: bool
    flapping: bool
    attempt: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 1

    @property
    def is_host(self) -> bool:
        return self.service == ""


class ChangesPage(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One answer of ``GET /api/v1/changes``.

    ``full``: the page lists every object after ``after`` in name order (a full sync; the
    objects not listed in a full sync's pages are gone); else the objects that changed since
    the cursor given and the objects ``removed`` since. ``more``: ask again with ``cursor``
    (and, in a full sync, ``after`` = the last object listed). ``reset``: the cursor given is
    from another run of the site or too old; start a full sync."""

    site: Annotated[str, msgspec.Meta(pattern=SITE_NAME_RE)]
    cursor: Annotated[str, msgspec.Meta(max_length=64)]
    full: bool
    reset: bool
    more: bool
    caller: Annotated[str, msgspec.Meta(max_length=255)] = ""
    """The user of the token that asked (a central site authors actions ``<who> via <caller>``)."""
    items: Annotated[list[RemoteObject], msgspec.Meta(max_length=MAX_PAGE_ITEMS)] = []
    removed: Annotated[
        list[tuple[Name, Annotated[str, msgspec.Meta(max_length=255)]]],
        msgspec.Meta(max_length=MAX_PAGE_ITEMS),
    ] = []


class RemoteIn(Body):
    """A remote site for this (central) site to show."""

    name: str = Field(pattern=SITE_NAME_RE, description="How this site calls the remote")
    url: str = Field(
        min_length=1, max_length=2048, description="The remote's base URL, e.g. https://dc2:8080"
    )
    token: str = Field(min_length=1, max_length=4096, description="An API token of the remote")
    ca: str = Field(
        "",
        max_length=256 * 1024,
        description="PEM CA certificate(s) the remote's TLS must chain to",
    )
    allow_http: bool = Field(False, description="Allow a plain http:// URL (token in clear)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in ("http", "https") or not rest.strip("/"):
            raise ValueError("expected an http:// or https:// URL with a host")
        if "@" in rest.split("/", 1)[0]:
            raise ValueError("no user or password in the URL: the token is the credential")
        return value.rstrip("/")


class CentralTarget(TargetIn):
    site: str = Field(pattern=SITE_NAME_RE, description="The site that owns the object")


class CentralAcknowledgeIn(AcknowledgeIn):
    site: str = Field(pattern=SITE_NAME_RE, description="The site that owns the object")


class CentralDowntimeIn(DowntimeIn):
    site: str = Field(pattern=SITE_NAME_RE, description="The site that owns the object")


class CentralCommentIn(CommentIn):
    site: str = Field(pattern=SITE_NAME_RE, description="The site that owns the object")

"""No secret reaches the audit log: the one redaction rule against every writable model.

Every field of every model a client writes is walked. A field whose name says it may hold a
secret (password, token, key, secret, credential, header, url…) must either be caught by the
rule or be named in ``NOT_SECRET`` with the reason — so a new secret field cannot slip past
unnoticed. Hypothesis then puts random secrets into the secret fields and checks that none of
them survives ``Entry.payload()``.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from lookout.checks.active.alive import AliveParams
from lookout.checks.active.dns import DnsParams
from lookout.checks.active.http import HttpParams
from lookout.checks.active.nagios import NagiosParams
from lookout.checks.active.ping import PingParams
from lookout.checks.active.promql import PromqlParams
from lookout.checks.active.rules import CheckRule
from lookout.checks.active.tcp import TcpParams
from lookout.checks.active.tls import TlsParams
from lookout.configcode import tree
from lookout.domain import audit
from lookout.notify import spec
from lookout.wire import api, central, clusters

MODELS: list[type[BaseModel]] = [
    api.HostIn,
    api.HostPatch,
    api.ServiceIn,
    api.ServicePatch,
    api.BulkServiceIn,
    api.AcknowledgeIn,
    api.DowntimeIn,
    api.CommentIn,
    api.RemoveCommentIn,
    api.RemoveDowntimeIn,
    api.TokenIn,
    api.UserIn,
    api.CommandIn,
    api.EventHandlerIn,
    clusters.ClusterIn,
    clusters.ClusterPatch,
    spec.ZulipSpec,
    spec.EmailSpec,
    spec.WebhookSpec,
    spec.AppriseSpec,
    spec.AlertmanagerSpec,
    spec.Channel,
    spec.Rule,
    spec.Contact,
    tree.HostEntry,
    tree.CommandEntry,
    tree.ChannelEntry,
    tree.DowntimeEntry,
    HttpParams,
    TcpParams,
    TlsParams,
    DnsParams,
    PingParams,
    AliveParams,
    PromqlParams,
    NagiosParams,
    CheckRule,
    central.RemoteIn,
]
LOOKS_SECRET = re.compile(r"pass|secret|token|key|cred|auth(?!or)|header|url|cookie|cert", re.I)
NOT_SECRET = {
    "url": "a service URL (webhook, Alertmanager, HTTP check): user, password, query and "
    "generated-looking path segments are redacted inside any URL",
    "server_url": "a public URL",
    "prometheus_url": "a service URL, redacted inside like any URL",
    "client_cert": "a certificate is public",
    "ca_file": "a path",
    "token_file": "a path to the token, not the token",
    "verify_certificate": "a switch",
    "ca_cert": "a certificate is public",
    "tls_verify": "a switch",
    "insecure_skip_tls_verify": "a switch",
    "expect_header": "an expected response header",
    "generator_url": "a public URL",
    "sni_hostname": "a host name",
}


def _fields(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def test_every_field_that_may_hold_a_secret_is_redacted_or_named() -> None:
    unclassified = sorted(
        f"{m.__name__}.{name}"
        for m in MODELS
        for name in _fields(m)
        if LOOKS_SECRET.search(name)
        and not audit.SECRET_KEY.search(name)
        and name not in NOT_SECRET
    )
    assert unclassified == []


def test_the_models_declared_secrets_are_caught() -> None:
    declared = [*spec.SECRET_FIELDS, *clusters.CREDENTIALS, "password", "urls", "headers"]
    missed = [
        name for name in declared if name not in NOT_SECRET and not audit.SECRET_KEY.search(name)
    ]
    assert missed == []


def _secret_fields() -> list[tuple[type[BaseModel], str]]:
    return [(m, n) for m in MODELS for n in _fields(m) if audit.SECRET_KEY.search(n)]


SECRET = st.text(string.ascii_letters + string.digits + "+/=_-", min_size=12, max_size=40)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_no_secret_survives_an_entry(data: st.DataObject) -> None:
    secret = "S3cr3t" + data.draw(SECRET)
    fields = _secret_fields()
    assert fields, "no secret fields found in the models"
    model, name = data.draw(st.sampled_from(fields))
    shape = data.draw(st.sampled_from(["plain", "list", "dict"]))
    value: Any = {"plain": secret, "list": [secret], "dict": {"X-Auth": secret}}[shape]
    body = {"name": "x", "spec": {"type": "webhook", name: value}, name: value}
    entry = audit.Entry(
        at=1.0,
        actor="a",
        channel="api",
        address="",
        kind=model.__name__,
        object="o",
        verb="create",
        before={"nested": [body]},
        after=body,
    )
    assert secret not in json.dumps(entry.payload())


URL_SAFE = st.text(string.ascii_letters + string.digits + "_-", min_size=10, max_size=40)
"""Secrets as webhook URLs carry them (URL-safe base64 and the like)."""
URLS = [
    "https://user:{s}@example.org/",
    "https://example.org/hook?token={s}",
    "https://hooks.example.org/services/T1/B2/{s}9",
    "tgram://{s}/12345",
    "--password {s}",
    "check_x --token={s} -H host",
    "fernet:{s}",
    "lk_{s}",
]


@settings(max_examples=60, deadline=None)
@given(secret=URL_SAFE.map(lambda s: "Z9" + s), template=st.sampled_from(URLS))
def test_no_secret_survives_inside_free_text(secret: str, template: str) -> None:
    text = template.format(s=secret)
    redacted = audit.redact({"check": {"args": [text], "command_line": text}, "label": text})
    assert secret not in json.dumps(redacted)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("https://example.org/health", "https://example.org/health"),
        ("10.0.0.5", "10.0.0.5"),
        ("$USER1$/check_disk -w 20% -c 10%", "$USER1$/check_disk -w 20% -c 10%"),
    ],
)
def test_ordinary_values_are_kept(value: str, kept: str) -> None:
    assert audit.redact({"v": value}) == {"v": kept}


def test_a_secret_dict_keeps_its_keys() -> None:
    out = audit.redact({"headers": {"Authorization": "Bearer x", "X-Team": "ops"}})
    assert out == {"headers": {"Authorization": "<redacted>", "X-Team": "<redacted>"}}


def test_chain_detects_a_changed_entry() -> None:
    rows = []
    prev = audit.GENESIS
    for i in range(3):
        p = audit.Entry(
            at=float(i),
            actor="a",
            channel="api",
            address="",
            kind="host",
            object=str(i),
            verb="create",
        ).payload()
        h = audit.chain_hash(prev, p)
        rows.append({**p, "id": i + 1, "prev": prev, "hash": h})
        prev = h
    assert list(audit.verify(iter(rows), audit.GENESIS)) == []
    rows[1]["actor"] = "mallory"
    assert [b.id for b in audit.verify(iter(rows))] == [2]
    del rows[1]
    rows[0]["actor"] = "a"
    assert [b.id for b in audit.verify(iter(rows))] == [3]

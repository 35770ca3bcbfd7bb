"""A connected cluster's settings: the API body (:class:`ClusterIn`) ↔ the stored row, and
every check that can be made before a cluster is stored or changed. The REST API and the web
UI's Setup page both go through here (via :class:`lookout.sites.kube.KubeManager`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pydantic

from lookout.checks.kube.params import validate as validate_params
from lookout.errors import ConfigError, ValidationError
from lookout.sources.kube.credentials import Credentials, read_token_file, url_problem
from lookout.sources.kube.credentials import problems as credential_problems
from lookout.storage.vault import Vault
from lookout.wire.clusters import ClusterIn, ClusterPatch


class Refused(ValidationError):
    """Settings that cannot be used: ``problems`` holds (field, why) for each."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        where = "; ".join(f"{field}: {msg}" if field else msg for field, msg in problems)
        super().__init__(f"invalid request: {where}", (problems[0][0],) if problems else ())
        self.problems = problems


def problems(body: ClusterIn) -> list[tuple[str, str]]:
    """What would fail at the first connect, by field: thresholds, credentials, the token
    file, the Prometheus URL."""
    try:
        validate_params(body.params, body.rules)
    except msgspec.ValidationError as exc:
        return [("params", f"params/rules: {exc}")]
    creds = Credentials(
        server=body.server,
        token=body.token or "",
        ca_data=body.ca_data,
        client_cert=body.client_cert,
        client_key=body.client_key,
    )
    out = credential_problems(creds)
    if body.token_file:
        try:
            read_token_file(Path(body.token_file))
        except ConfigError as exc:
            out.append(("token_file", str(exc)))
    why = url_problem(body.prometheus_url) if body.prometheus_url else None
    if why:
        out.append(("prometheus_url", why))
    return out


def row_of(
    body: ClusterIn, vault: Vault, now: float, created_at: float | None = None
) -> dict[str, Any]:
    """The ``kube_clusters`` row of ``body`` (secrets sealed)."""
    options: dict[str, Any] = {
        "usage": body.usage,
        "prometheus_url": body.prometheus_url,
        "params": body.params,
        "rules": body.rules,
        "pod_hosts": body.pod_hosts,
    }
    if body.interval is not None:
        options["interval"] = body.interval
    return {
        "name": body.name,
        "server": body.server.rstrip("/"),
        "ca_data": body.ca_data,
        "token_encrypted": vault.seal(body.token) if body.token else None,
        "token_file": body.token_file,
        "client_cert": body.client_cert,
        "client_key_encrypted": vault.seal(body.client_key) if body.client_key else None,
        "insecure": body.insecure_skip_tls_verify,
        "options": options,
        "created_at": now if created_at is None else created_at,
        "updated_at": now,
    }


def settings_of(row: dict[str, Any], vault: Vault) -> dict[str, Any]:
    """The :class:`ClusterIn` input that made ``row`` (secrets opened: stays in the site)."""
    opts = row.get("options") or {}
    out: dict[str, Any] = {
        "name": row["name"],
        "server": row["server"],
        "ca_data": row.get("ca_data") or "",
        "insecure_skip_tls_verify": bool(row.get("insecure")),
        "usage": opts.get("usage", "kubelet"),
        "prometheus_url": opts.get("prometheus_url", ""),
        "params": opts.get("params") or {},
        "rules": opts.get("rules") or [],
        "pod_hosts": opts.get("pod_hosts"),
        "interval": opts.get("interval"),
    }
    if row.get("token_encrypted"):
        out["token"] = vault.open(row["token_encrypted"])
    elif row.get("token_file"):
        out["token_file"] = row["token_file"]
    else:
        out["client_cert"] = row.get("client_cert") or ""
        out["client_key"] = vault.open(row["client_key_encrypted"])
    return out


def changed(row: dict[str, Any], patch: ClusterPatch, vault: Vault) -> ClusterIn:
    """``row``'s settings with ``patch`` applied, validated as a new cluster would be:
    :class:`Refused` names every field that is wrong."""
    try:
        body = ClusterIn.model_validate(patch.merged(settings_of(row, vault)))
    except pydantic.ValidationError as exc:
        raise Refused(
            [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        ) from exc
    found = problems(body)
    if found:
        raise Refused(found)
    return body

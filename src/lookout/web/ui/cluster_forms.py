"""The admin's form to change a connected Kubernetes cluster's settings. It builds the same
:class:`ClusterPatch` as ``PATCH /api/v1/kube/clusters/NAME`` and goes through the same
``site.kube.update`` (so the same validation); a refusal shows the form again with each error
next to its field. Secrets are never put back into the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic
import yaml
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Role
from lookout.errors import LookoutError, NotFound, ValidationError
from lookout.sites.kube_settings import Refused
from lookout.web.ui.sessions import Session
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import Missing, admin_page, first, form_of, redirect, render, site_of
from lookout.wire.clusters import ClusterPatch

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Admin = Annotated[Session, Depends(admin_page)]

FIELD_OF = {
    "params": "thresholds",
    "rules": "thresholds",
    "client_cert": "token",
    "client_key": "token",
    "ca_data": "ca",
    "insecure_skip_tls_verify": "ca",
}
"""API field → the form field its error is shown next to (the others have their own)."""


@dataclass
class ClusterForm:
    """What the form shows: the values (never a secret) and the error of each field."""

    name: str
    auth: str
    ca: str
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


def form_of_row(row: dict[str, Any]) -> ClusterForm:
    opts = row.get("options") or {}
    thresholds = {k: opts[k] for k in ("params", "rules") if opts.get(k)}
    pod_hosts = opts.get("pod_hosts")
    values = {
        "server": row["server"],
        "interval": "" if opts.get("interval") is None else f"{opts['interval']:g}",
        "usage": opts.get("usage", "kubelet"),
        "prometheus_url": opts.get("prometheus_url", ""),
        "pod_hosts": ", ".join(f"{k}={v}" for k, v in (pod_hosts or {}).items()),
        "thresholds": yaml.safe_dump(thresholds, sort_keys=False) if thresholds else "",
        "token_file": row.get("token_file") or "",
        "insecure": bool(row.get("insecure")),
    }
    if row.get("token_encrypted"):
        auth = "a token (stored encrypted)"
    elif row.get("token_file"):
        auth = f"the token file {row['token_file']}"
    else:
        auth = "a client certificate"
    ca = "the cluster's CA" if row.get("ca_data") else "the system's CAs"
    return ClusterForm(row["name"], auth, ca, values)


def patch_of(data: dict[str, list[str]], form: ClusterForm) -> dict[str, Any]:
    """The form's fields as a patch body; a field that cannot be read becomes an error in
    ``form.errors`` (and is left out)."""
    values = form.values
    for key in ("server", "interval", "usage", "prometheus_url", "pod_hosts", "thresholds"):
        values[key] = first(data, key)
    values["insecure"] = first(data, "insecure") == "on"
    patch: dict[str, Any] = {
        "server": values["server"],
        "interval": values["interval"] or None,
        "usage": values["usage"],
        "prometheus_url": values["prometheus_url"],
        "insecure_skip_tls_verify": values["insecure"],
        "pod_hosts": _selector(values["pod_hosts"], form),
        **_thresholds(values["thresholds"], form),
    }
    token, token_file = first(data, "token"), first(data, "token_file")
    if token:
        patch["token"] = token
    elif token_file and token_file != values["token_file"]:
        patch["token_file"] = token_file
    values["token_file"] = token_file or values["token_file"]
    ca = first(data, "ca_data")
    if first(data, "system_ca") == "on":
        patch["ca_data"] = ""
    elif ca:
        patch["ca_data"] = ca.replace("\r\n", "\n")
    return patch


def _selector(text: str, form: ClusterForm) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        key, sep, value = part.strip().partition("=")
        if part.strip() and (not sep or not key.strip()):
            form.errors["pod_hosts"] = f"{part.strip()!r} is not KEY=VALUE"
            return None
        if key.strip():
            out[key.strip()] = value.strip()
    return out or None


def _thresholds(text: str, form: ClusterForm) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        form.errors["thresholds"] = f"not YAML: {exc}"
        return {}
    if not isinstance(doc, dict) or set(doc) - {"params", "rules"}:
        form.errors["thresholds"] = "expected a mapping with `params:` and/or `rules:`"
        return {}
    return {"params": doc.get("params") or {}, "rules": doc.get("rules") or []}


def errors_of(problems: list[tuple[str, str]]) -> dict[str, str]:
    """(API field, message) → form field → message (several joined)."""
    out: dict[str, str] = {}
    for api_field, msg in problems:
        where = api_field.split(".")[0]
        key = FIELD_OF.get(where, where) or ("token" if "exactly one of" in msg else "form")
        out[key] = f"{out[key]}; {msg}" if key in out else msg
    return out


async def _row(request: Request, name: str) -> dict[str, Any]:
    try:
        row: dict[str, Any] = await site_of(request).kube.row(name)
    except NotFound as exc:
        raise Missing(str(exc)) from exc
    return row


def _page(request: Request, sess: Session, form: ClusterForm, status: int = 200) -> Response:
    monitor = site_of(request).kube.status(form.name)
    return render(
        request,
        sess,
        "cluster_edit.html",
        status,
        title=f"Cluster {form.name}",
        form=form,
        monitor=monitor,
    )


@router.get("/setup/cluster")
async def edit_cluster(request: Request, sess: Admin, name: str = "") -> Response:
    return _page(request, sess, form_of_row(await _row(request, name)))


@router.post("/setup/cluster")
async def update_cluster(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    form = form_of_row(await _row(request, first(data, "name")))
    body = patch_of(data, form)
    if form.errors:
        return _page(request, sess, form, 422)
    try:
        await site_of(request).kube.update(form.name, ClusterPatch.model_validate(body))
    except pydantic.ValidationError as exc:
        form.errors = errors_of(
            [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        )
        return _page(request, sess, form, 422)
    except Refused as exc:
        form.errors = errors_of(exc.problems)
        return _page(request, sess, form, 422)
    except ValidationError as exc:
        form.errors = errors_of([(str(exc.loc[0]) if exc.loc else "form", str(exc))])
        return _page(request, sess, form, 422)
    except LookoutError as exc:
        form.errors = {"form": str(exc)}
        return _page(request, sess, form, 422)
    sess.flash.append(("ok", f"cluster {form.name} changed; it reconnects with the new settings"))
    return redirect(request, "/setup#clusters")

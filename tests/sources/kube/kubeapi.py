"""A local HTTPS server that speaks the Kubernetes API as documented, for tests.

Real TLS (its own CA, made with ``cryptography``), bearer-token auth (401 for unknown tokens,
403 for verbs a token's role lacks), lists paged with ``limit``/``continue`` (an expired
continue token is a 410), watches streaming newline-delimited JSON with BOOKMARK events and
``410 Gone`` (as HTTP status or as an ERROR event) for too-old resourceVersions, kubelet
``stats/summary`` through the node proxy, Warning events by field selector, and
SelfSubjectAccessReview. Failures can be switched on per path: a status code (500), a hang.

It is fed with the real recorded data in ``../shared/fixtures``: ``kind: List`` YAML and
``*List`` JSON files are converted into proper ``<Kind>List`` answers here (test code), so the
product only ever sees what a real API server sends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from livesite import free_port

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures"
"""``../shared/fixtures`` next to the worktree (read in place, never copied)."""

KIND_TO_RESOURCE = {
    "Node": ("", "nodes"),
    "Namespace": ("", "namespaces"),
    "Pod": ("", "pods"),
    "ResourceQuota": ("", "resourcequotas"),
    "PersistentVolumeClaim": ("", "persistentvolumeclaims"),
    "Event": ("", "events"),
    "Service": ("", "services"),
    "Endpoints": ("", "endpoints"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "ReplicaSet": ("apps", "replicasets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
    "HorizontalPodAutoscaler": ("autoscaling", "horizontalpodautoscalers"),
    "PodDisruptionBudget": ("policy", "poddisruptionbudgets"),
    "PersistentVolume": ("", "persistentvolumes"),
}
RESOURCE_KIND = {res: kind for kind, (_, res) in KIND_TO_RESOURCE.items()}
ALL = "*"


# ---------------------------------------------------------------------- certificates
@dataclass
class Pki:
    ca_pem: str
    cert_file: Path
    key_file: Path


def make_pki(directory: Path, hosts: Iterable[str] = ("127.0.0.1", "localhost")) -> Pki:
    """A CA and a server certificate for ``hosts``, signed by it (files in ``directory``)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeapi-test-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "apiserver.crt", directory / "apiserver.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    return Pki(ca_pem, cert_file, key_file)


# ---------------------------------------------------------------------- fixture loading
def load_items(path: Path) -> list[dict[str, Any]]:
    """Items of a recorded ``kind: List`` YAML or ``*List`` JSON file."""
    text = path.read_text()
    doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    items = doc.get("items") or []
    kind = doc.get("kind", "List")
    if kind.endswith("List") and kind != "List":
        for item in items:
            item.setdefault("kind", kind[: -len("List")])
    return list(items)


# ---------------------------------------------------------------------- the server
@dataclass
class Change:
    rv: int
    type: str
    obj: dict[str, Any]


@dataclass
class KubeApi:
    """The server's state; tests change it while the server runs (thread-safe enough: the
    server reads under ``lock``)."""

    tokens: dict[str, set[str]] = field(default_factory=dict)
    """Token → allowed ``verb resource`` strings (``*`` = everything)."""
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    """Node → kubelet stats/summary JSON."""
    version: str = "v1.35.0"
    readyz: int = 200
    fail: dict[str, int] = field(default_factory=dict)
    """Path → status code to answer instead (e.g. 500)."""
    hang: set[str] = field(default_factory=set)
    """Paths that never answer."""
    gone_as_event: bool = True
    """Too-old watch versions: an ERROR event with code 410 (else an HTTP 410)."""
    bookmark_every: float = 0.2
    rv: int = 1000
    compacted: int = 0
    """Watches from a resourceVersion below this get 410 Gone."""
    history: dict[str, list[Change]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --------------------------------------------------------------- feeding
    def add(self, obj: dict[str, Any], *, record: bool = False) -> None:
        kind = obj.get("kind", "")
        _, res = KIND_TO_RESOURCE.get(kind, ("", kind.lower() + "s"))
        with self.lock:
            self.rv += 1
            meta = obj.setdefault("metadata", {})
            meta["resourceVersion"] = str(self.rv)
            k = _key(meta)
            table = self.objects.setdefault(res, {})
            typ = "MODIFIED" if k in table else "ADDED"
            table[k] = obj
            if record:
                self.history.setdefault(res, []).append(Change(self.rv, typ, obj))

    def add_many(self, items: Iterable[dict[str, Any]]) -> None:
        for obj in items:
            self.add(obj)

    def change(self, obj: dict[str, Any]) -> None:
        """Add or modify an object and tell watchers."""
        self.add(obj, record=True)

    def delete(self, resource: str, namespace: str, name: str) -> None:
        with self.lock:
            obj = self.objects.get(resource, {}).pop(_key({"namespace": namespace, "name": name}))
            self.rv += 1
            obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self.rv)}}
            self.history.setdefault(resource, []).append(Change(self.rv, "DELETED", obj))

    def compact(self) -> None:
        """Forget history: every watch from an older version now gets 410 Gone."""
        with self.lock:
            self.compacted = self.rv + 1
            self.history.clear()

    # --------------------------------------------------------------- HTTP
    def app(self) -> Starlette:
        routes = [
            Route("/version", self._version),
            Route("/readyz", self._health),
            Route("/livez", self._health),
            Route("/api/v1/nodes/{node}/proxy/stats/summary", self._stats),
            Route("/api/v1/nodes/{node}/proxy/healthz", self._kubelet_health),
            Route(
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                self._review,
                methods=["POST"],
            ),
            Route(
                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                self._rules_review,
                methods=["POST"],
            ),
            Route("/api/v1/{resource}", self._collection),
            Route("/apis/{group}/{version}/{resource}", self._collection),
        ]
        return Starlette(routes=routes)

    async def _gate(self, request: Request, verb: str, resource: str) -> Response | None:
        path = request.url.path
        self.requests.append(f"{request.method} {path}?{request.url.query}")
        if path in self.hang:
            await asyncio.sleep(3600)
        if path in self.fail:
            code = self.fail[path]
            return _status(code, "InternalError" if code >= 500 else "Failure", f"injected {code}")
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        allowed = self.tokens.get(token)
        if allowed is None:
            return _status(401, "Unauthorized", "Unauthorized")
        if verb and ALL not in allowed and f"{verb} {resource}" not in allowed:
            return _status(
                403,
                "Forbidden",
                f'{resource} is forbidden: User "system:serviceaccount:lookout:lookout" '
                f'cannot {verb} resource "{resource}" at the cluster scope',
            )
        return None

    async def _version(self, request: Request) -> Response:
        return await self._gate(request, "", "") or JSONResponse(
            {"major": "1", "minor": self.version.split(".")[1], "gitVersion": self.version}
        )

    async def _health(self, request: Request) -> Response:
        denied = await self._gate(request, "", "")
        if denied is not None:
            return denied
        return Response("ok" if self.readyz == 200 else "[-]etcd failed", self.readyz)

    async def _stats(self, request: Request) -> Response:
        node = request.path_params["node"]
        denied = await self._gate(request, "get", "nodes/proxy")
        if denied is not None:
            return denied
        if node not in self.stats:
            return _status(503, "ServiceUnavailable", f"no route to kubelet of node {node}")
        return JSONResponse(self.stats[node])

    async def _kubelet_health(self, request: Request) -> Response:
        node = request.path_params["node"]
        denied = await self._gate(request, "get", "nodes/proxy")
        if denied is not None:
            return denied
        if node not in self.stats:  # a kubelet we have no recording of: unreachable
            return _status(503, "ServiceUnavailable", f"no route to kubelet of node {node}")
        return Response("ok")

    async def _review(self, request: Request) -> Response:
        denied = await self._gate(request, "", "")
        if denied is not None:
            return denied
        body = await request.json()
        attrs = body["spec"]["resourceAttributes"]
        res = attrs["resource"] + (f"/{attrs['subresource']}" if attrs.get("subresource") else "")
        token = request.headers["authorization"].removeprefix("Bearer ").strip()
        allowed = self.tokens[token]
        ok = ALL in allowed or f"{attrs['verb']} {res}" in allowed
        body["status"] = {"allowed": ok, "reason": "" if ok else "no RBAC policy matched"}
        return JSONResponse(body, status_code=201)

    rules_reviews: bool = True
    """Whether SelfSubjectRulesReview is served (else 404, as on servers without it)."""

    async def _rules_review(self, request: Request) -> Response:
        denied = await self._gate(request, "", "")
        if denied is not None:
            return denied
        if not self.rules_reviews:
            return _status(404, "NotFound", "the server could not find the requested resource")
        body = await request.json()
        token = request.headers["authorization"].removeprefix("Bearer ").strip()
        allowed = self.tokens[token]
        if ALL in allowed:
            rules = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
        else:
            rules = [
                {"verbs": [verb], "apiGroups": ["*"], "resources": [res]}
                for verb, _, res in (a.partition(" ") for a in sorted(allowed))
            ]
        body["status"] = {"resourceRules": rules, "nonResourceRules": [], "incomplete": False}
        return JSONResponse(body, status_code=201)

    async def _collection(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        q = request.query_params
        watching = q.get("watch") in ("1", "true")
        denied = await self._gate(request, "watch" if watching else "list", resource)
        if denied is not None:
            return denied
        if resource not in RESOURCE_KIND:
            return _status(
                404, "NotFound", f"the server could not find the requested resource ({resource})"
            )
        if watching:
            return await self._watch(resource, q)
        return self._list(resource, q)

    def _list(self, resource: str, q: Any) -> Response:
        wanted = _selector(q.get("fieldSelector", ""))
        with self.lock:
            items = sorted(
                (k, o)
                for k, o in self.objects.get(resource, {}).items()
                if all(_field(o, f) == v for f, v in wanted.items())
            )
            rv = str(self.rv)
        start = 0
        token = q.get("continue", "")
        if token:
            list_rv, _, offset = token.partition(":")
            if int(list_rv) < self.compacted:
                return _status(410, "Expired", "The provided continue parameter is too old")
            start, rv = int(offset), list_rv
        limit = int(q.get("limit", 0) or 0)
        end = start + limit if limit else len(items)
        page = [obj for _, obj in items[start:end]]
        meta: dict[str, Any] = {"resourceVersion": rv}
        if end < len(items):
            meta["continue"] = f"{rv}:{end}"
        kind = RESOURCE_KIND[resource]
        body = {"kind": f"{kind}List", "apiVersion": "v1", "metadata": meta, "items": page}
        if resource in self.null_items:
            body["items"] = None
        return JSONResponse(body)

    null_items: set[str] = field(default_factory=set)
    """Resources whose list answers ``"items": null`` (as some servers do for empty lists)."""

    async def _watch(self, resource: str, q: Any) -> Response:
        since = int(q.get("resourceVersion") or 0)
        timeout = float(q.get("timeoutSeconds") or 300)
        bookmarks = q.get("allowWatchBookmarks") == "true"
        if since < self.compacted and not self.gone_as_event:
            return _status(410, "Expired", f"too old resource version: {since} ({self.compacted})")

        async def stream() -> Any:
            if since < self.compacted:
                err = {
                    "type": "ERROR",
                    "object": _status_body(410, "Expired", f"too old resource version: {since}"),
                }
                yield json.dumps(err) + "\n"
                return
            sent = since
            deadline = time.monotonic() + timeout
            last_bookmark = time.monotonic()
            while time.monotonic() < deadline:
                with self.lock:
                    fresh = [c for c in self.history.get(resource, []) if c.rv > sent]
                    gone = self.compacted > sent
                if gone and not fresh:
                    err = {
                        "type": "ERROR",
                        "object": _status_body(410, "Expired", f"too old resource version: {sent}"),
                    }
                    yield json.dumps(err) + "\n"
                    return
                for c in fresh:
                    yield json.dumps({"type": c.type, "object": c.obj}) + "\n"
                    sent = c.rv
                if bookmarks and time.monotonic() - last_bookmark > self.bookmark_every:
                    last_bookmark = time.monotonic()
                    sent = max(sent, self.rv)
                    kind = RESOURCE_KIND[resource]
                    bm = {
                        "kind": kind,
                        "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(sent)},
                    }
                    yield json.dumps({"type": "BOOKMARK", "object": bm}) + "\n"
                await asyncio.sleep(0.02)

        return StreamingResponse(stream(), media_type="application/json")


def _key(meta: dict[str, Any]) -> str:
    ns = meta.get("namespace") or ""
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def _selector(text: str) -> dict[str, str]:
    """``a.b=x,c=y`` → {path: value} (equality field selectors only)."""
    return dict(part.split("=", 1) for part in text.split(",") if "=" in part)


def _field(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


def _status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _status(code: int, reason: str, message: str) -> Response:
    return JSONResponse(_status_body(code, reason, message), status_code=code)


# ---------------------------------------------------------------------- running it
@dataclass
class Running:
    api: KubeApi
    url: str
    pki: Pki


@dataclass
class _Thread:
    server: uvicorn.Server
    thread: threading.Thread


def serve(
    api: KubeApi, tmp: Path, hosts: Iterable[str] = ("127.0.0.1", "localhost")
) -> Iterator[Running]:
    """Run ``api`` over HTTPS on a free port in a thread (its certificate names ``hosts``);
    yields while it runs."""
    pki = make_pki(tmp / "pki", hosts)
    port = free_port()
    config = uvicorn.Config(
        api.app(),
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(pki.cert_file),
        ssl_keyfile=str(pki.key_file),
        log_level="critical",  # open watch streams are cancelled at shutdown: not an error
        lifespan="off",
        timeout_graceful_shutdown=0,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("kubeapi test server did not start")
        time.sleep(0.01)
    try:
        yield Running(api, f"https://127.0.0.1:{port}", pki)
    finally:
        server.should_exit = True
        thread.join(timeout=5)

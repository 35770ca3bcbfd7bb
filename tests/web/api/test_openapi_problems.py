"""The OpenAPI document names every error the API answers with, and the answers match it.

Each real answer below is validated against the schema its operation documents for its status
(JSON Schema 2020-12, as OpenAPI 3.1 uses): a generated client that trusts the document can
read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
from webapi import SMALL_BATCH, SMALL_BODY, Api, unique

from livesite import LiveSite

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
METHODS = ("get", "post", "put", "patch", "delete")
NO_TOKEN = {("post", "/api/v1/notifications/zulip/{channel}")}
"""Operations that take no bearer token (Zulip's webhook checks the bot's own)."""
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def doc(site: LiveSite) -> dict[str, Any]:
    r = httpx.get(f"{site.url}/api/v1/openapi.json")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def documented(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The response object ``path``/``method`` documents for ``status``."""
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path}: {status} not documented"
    return resolve(doc, responses[str(status)])


def check_answer(doc: dict[str, Any], method: str, path: str, resp: httpx.Response) -> None:
    """``resp`` has a documented status, media type and headers, and its body validates."""
    answer = documented(doc, method, path, resp.status_code)
    media = resp.headers["content-type"].split(";")[0]
    content = answer.get("content", {})
    assert media in content, f"{resp.status_code}: {media} not in {list(content)}"
    schema = {**content[media]["schema"], "components": doc["components"]}
    jsonschema_rs.Draft202012Validator(schema).validate(resp.json())
    for name, header in answer.get("headers", {}).items():
        if header.get("required"):
            assert name in resp.headers, name


# ---------------------------------------------------------------------- the document
def test_problem_schema_names_what_problems_send(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"errors", "accepted", "rejected"} <= set(problem["properties"])
    field = schemas["FieldError"]
    assert set(field["required"]) == {"loc", "msg"}
    assert {"type", "index"} <= set(field["properties"])
    assert "HTTPValidationError" not in json.dumps(doc)  # FastAPI's 422, which is never sent


def test_every_operation_documents_its_problems(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        codes = set(op["responses"])
        where = f"{method.upper()} {path}"
        assert {"401", "429", "503"} <= codes, where
        if op.get("parameters") or "requestBody" in op:
            assert "422" in codes, where
            assert "404" in codes or path == "/api/v1/results", where  # unknown hosts: 207
        if "requestBody" in op:
            assert "413" in codes, where
        if method != "get" and path != "/api/v1/results":
            assert "409" in codes, where
        for code in codes - {"200", "201", "204", "207"}:
            content = documented(doc, method, path, int(code))["content"]
            assert list(content) == [PROBLEM], (where, code)
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        if (method, path) not in NO_TOKEN:
            assert op["security"] == [{"bearer": []}], where


def test_retry_after_and_www_authenticate_are_documented(doc: dict[str, Any]) -> None:
    responses = doc["components"]["responses"]
    assert responses["TooManyRequests"]["headers"]["Retry-After"]["required"] is True
    assert "Retry-After" in responses["Unavailable"]["headers"]
    assert "WWW-Authenticate" in responses["Unauthorized"]["headers"]


def test_roles_above_viewer_document_403(doc: dict[str, Any]) -> None:
    ops = doc["paths"]
    assert "403" in ops["/api/v1/hosts"]["post"]["responses"]  # admin
    assert "403" in ops["/api/v1/notifications/test"]["post"]["responses"]  # operator
    assert "403" in ops["/api/v1/results"]["post"]["responses"]  # operator
    assert "403" not in ops["/api/v1/hosts"]["get"]["responses"]  # any token may read


def test_results_route_is_documented(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/api/v1/results"]["post"]
    assert {"200", "207", "413", "422"} <= set(op["responses"])
    body = op["requestBody"]["content"]["application/json"]["schema"]
    refs = {branch["$ref"].rsplit("/", 1)[1] for branch in body["anyOf"]}
    assert refs == {"ResultBatch", "ResultIn"}
    assert set(doc["components"]["schemas"]["ResultIn"]["required"]) == {"host", "state"}
    for code in ("200", "207"):
        schema = op["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ResultsAnswer"}


# ---------------------------------------------------------------------- real answers
def test_real_problems_match_the_document(
    doc: dict[str, Any], site: LiveSite, api: Api, admin: httpx.Client, viewer: httpx.Client
) -> None:
    host = api.host("doc")
    cases: list[tuple[str, str, httpx.Response]] = [
        ("get", "/api/v1/hosts", httpx.get(f"{site.url}/api/v1/hosts")),
        ("post", "/api/v1/hosts", viewer.post("/api/v1/hosts", json={"name": unique()})),
        ("get", "/api/v1/hosts/{host}", admin.get(f"/api/v1/hosts/{unique('ghost')}")),
        ("post", "/api/v1/hosts", admin.post("/api/v1/hosts", json={"name": host})),
        ("post", "/api/v1/hosts", admin.post("/api/v1/hosts", json={"name": 5})),
        ("get", "/api/v1/hosts", admin.get("/api/v1/hosts", params={"limit": 0})),
        ("get", "/api/v1/hosts", admin.get("/api/v1/hosts", params={"state": "purple"})),
        ("post", "/api/v1/hosts", admin.post("/api/v1/hosts", content=b"{", headers=JSON)),
        ("post", "/api/v1/hosts", admin.post("/api/v1/hosts", content=b"\xff", headers=JSON)),
        ("delete", "/api/v1/tokens/{token_id}", admin.delete("/api/v1/tokens/abc")),
    ]
    expected = [401, 403, 404, 409, 422, 422, 422, 422, 400, 422]
    assert [resp.status_code for *_, resp in cases] == expected, [r.text for *_, r in cases]
    for method, path, resp in cases:
        check_answer(doc, method, path, resp)
    assert "WWW-Authenticate" in cases[0][2].headers


def test_real_results_answers_match_the_document(
    doc: dict[str, Any], site: LiveSite, api: Api, admin: httpx.Client, viewer: httpx.Client
) -> None:
    host, svc = api.host_with_service()
    good = {"host": host, "service": svc, "state": 0}
    bad = {"host": host, "service": svc, "state": "purple"}
    answers = [
        admin.post("/api/v1/results", json={"results": [good]}),
        admin.post("/api/v1/results", json=good),
        admin.post("/api/v1/results", json={"results": [good, bad]}),
        admin.post("/api/v1/results", json={"results": [bad]}),
        admin.post("/api/v1/results", content=b"not json"),
        viewer.post("/api/v1/results", json=good),
        httpx.post(f"{site.url}/api/v1/results", json=good),
    ]
    assert [r.status_code for r in answers] == [200, 200, 207, 422, 422, 403, 401]
    for resp in answers:
        check_answer(doc, "post", "/api/v1/results", resp)
    assert answers[2].json()["errors"][0]["index"] == 1


def test_real_413_answers_match_the_document(doc: dict[str, Any], small_site: LiveSite) -> None:
    with small_site.client() as small:
        big = {"name": "x" * SMALL_BODY}
        too_many = {"results": [{"host": "h", "state": 0}] * (SMALL_BATCH + 1)}
        answers = [
            ("post", "/api/v1/hosts", small.post("/api/v1/hosts", json=big)),
            ("post", "/api/v1/results", small.post("/api/v1/results", json=big)),
            ("post", "/api/v1/results", small.post("/api/v1/results", json=too_many)),
        ]
    for method, path, resp in answers:
        assert resp.status_code == 413, resp.text
        check_answer(doc, method, path, resp)

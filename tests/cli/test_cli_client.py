"""Where the CLI finds its site, and how API answers become results or ApiError."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lookout.cli.client import ApiClient, ApiError, Connection, path_of, resolve_connection
from lookout.cli.main import app
from lookout.errors import ConfigError

CONN = Connection(url="http://site.test", token="lk_secret")


def _site(tmp_path: Path, url: str = "http://from-file", token: str = "lk_file") -> Path:
    (tmp_path / "cli.json").write_text(json.dumps({"url": url, "token": token}))
    return tmp_path


def _resolve(
    tmp_path: Path,
    *,
    url: str | None = None,
    token: str | None = None,
    site: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Connection:
    return resolve_connection(
        url=url, token=token, site=site, env=env or {}, cwd=cwd or tmp_path / "elsewhere"
    )


def test_flags_win_over_env_and_env_over_the_site_file(tmp_path: Path) -> None:
    site = _site(tmp_path)
    env = {"LOOKOUT_URL": "http://from-env", "LOOKOUT_TOKEN": "lk_env"}
    assert _resolve(tmp_path, site=site) == Connection("http://from-file", "lk_file")
    assert _resolve(tmp_path, site=site, env=env) == Connection("http://from-env", "lk_env")
    assert _resolve(tmp_path, site=site, env=env, url="http://flag", token="lk_flag") == (
        Connection("http://flag", "lk_flag")
    )
    mixed = _resolve(tmp_path, site=site, env={"LOOKOUT_TOKEN": "lk_env"}, url="http://flag")
    assert mixed == Connection("http://flag", "lk_env")


def test_cli_json_of_the_current_directory_is_the_default(tmp_path: Path) -> None:
    here = _site(tmp_path)
    assert _resolve(tmp_path, cwd=here) == Connection("http://from-file", "lk_file")


def test_nothing_configured_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--site DIR"):
        _resolve(tmp_path)
    with pytest.raises(ConfigError, match="no token for http://x"):
        _resolve(tmp_path, url="http://x")
    with pytest.raises(ConfigError, match="not found"):
        _resolve(tmp_path, site=tmp_path / "missing")
    (tmp_path / "cli.json").write_text("{broken")
    with pytest.raises(ConfigError, match="cannot read"):
        _resolve(tmp_path, site=tmp_path)


def test_commands_without_a_site_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"LOOKOUT_URL": None, "LOOKOUT_TOKEN": None})
    result = runner.invoke(app, ["problems"])
    assert result.exit_code == 2
    assert "no site to talk to" in result.stderr


def test_bad_durations_are_usage_errors() -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(app, ["events", "--since", "2x", "--url", "http://x", "--token", "t"])
    assert result.exit_code == 2
    assert "'2x' is not a duration" in result.stderr
    assert "2h30m, 1d, 1w" in result.stderr


def _client(handler: httpx.MockTransport) -> ApiClient:
    return ApiClient(CONN, transport=handler)


def test_requests_carry_the_token_and_drop_unset_values() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"total": 0, "items": []})

    with _client(httpx.MockTransport(handler)) as api:
        api.get("/services", {"problems": "true", "host": None, "state": ["crit", "warn"]})
        api.post("/hosts", {"name": "h", "address": None})
    get, post = seen
    assert get.headers["authorization"] == "Bearer lk_secret"
    assert str(get.url) == "http://site.test/api/v1/services?problems=true&state=crit&state=warn"
    assert json.loads(post.content) == {"name": "h"}


def test_urls_with_the_api_prefix_and_names_with_slashes() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(204)

    conn = Connection(url="http://site.test/api/v1/", token="t")
    with ApiClient(conn, transport=httpx.MockTransport(handler)) as api:
        api.delete(path_of("hosts", "web 1", "services", "disk /var"))
    assert urls == ["http://site.test/api/v1/hosts/web%201/services/disk%20%2Fvar"]


def test_problem_details_become_api_errors() -> None:
    problem = {
        "type": "about:blank",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "invalid request",
        "errors": [{"loc": ["labels", "a b"], "msg": "bad"}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            422, json=problem, headers={"content-type": "application/problem+json"}
        )

    with _client(httpx.MockTransport(handler)) as api, pytest.raises(ApiError) as caught:
        api.post("/hosts", {"name": "h"})
    assert (caught.value.detail, caught.value.status, caught.value.exit_code) == (
        "invalid request",
        422,
        1,
    )
    assert [str(e) for e in caught.value.errors] == ["labels.a b: bad"]


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        (httpx.Response(503, json={"detail": "not ready: starting"}), "not ready: starting"),
        (httpx.Response(502, text="Bad Gateway from proxy"), "HTTP 502: Bad Gateway from proxy"),
    ],
)
def test_server_failures_exit_3(response: httpx.Response, detail: str) -> None:
    with _client(httpx.MockTransport(lambda _: response)) as api, pytest.raises(ApiError) as e:
        api.get("/hosts")
    assert (e.value.detail, e.value.exit_code) == (detail, 3)


def test_unreachable_sites_exit_3() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _client(httpx.MockTransport(handler)) as api, pytest.raises(ApiError) as caught:
        api.get("/hosts")
    assert caught.value.status is None
    assert caught.value.exit_code == 3
    assert "cannot reach http://site.test: connection refused" in str(caught.value)

"""How the CLI reaches a site: where the URL and token come from, and one small HTTP client.

Exceptions::

    ConfigError (lookout.errors)   nothing (or something broken) tells us which site to use → exit 2
    ApiError                       the request failed
      status 4xx                   the site refused it (detail + field errors)             → exit 1
      status 5xx / None            the site is unreachable or failing                      → exit 3
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Annotated, Any, Concatenate, NoReturn, ParamSpec, cast
from urllib.parse import quote

import httpx
import typer

from lookout import __version__
from lookout.cli.format import print_error
from lookout.errors import ConfigError

CLI_FILE = "cli.json"
"""Written by ``lookout init`` into the site directory: ``{"url", "token"}``."""
API_PREFIX = "/api/v1"
TIMEOUT = 30.0
"""Seconds to wait for the site to answer."""
LONG_TIMEOUT = 600.0
"""Seconds to wait for requests that carry a whole configuration (``config apply``,
``add-objects``): 100,000 services take ~15 s on a quiet machine, more on a busy one."""

P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Connection:
    url: str
    token: str


@dataclass(frozen=True, slots=True)
class FieldError:
    loc: list[str | int]
    msg: str

    def __str__(self) -> str:
        where = ".".join(map(str, self.loc))
        return f"{where}: {self.msg}" if where else self.msg


class ApiError(Exception):
    """A request failed. ``status`` is None when the site did not answer at all."""

    def __init__(
        self, detail: str, status: int | None = None, errors: list[FieldError] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.errors = errors or []

    @property
    def exit_code(self) -> int:
        return 1 if self.status is not None and 400 <= self.status < 500 else 3


# ---------------------------------------------------------------------- connection
def resolve_connection(
    *,
    url: str | None,
    token: str | None,
    site: Path | None,
    env: Mapping[str, str],
    cwd: Path,
) -> Connection:
    """Each of URL and token from, in order: the flag, ``LOOKOUT_URL``/``LOOKOUT_TOKEN``, the
    ``cli.json`` of ``--site`` (or of the current directory, when it has one)."""
    url = url or env.get("LOOKOUT_URL") or None
    token = token or env.get("LOOKOUT_TOKEN") or None
    if url is None or token is None:
        stored = _stored(site, cwd)
        url = url or stored.get("url")
        token = token or stored.get("token")
    if not url:
        raise ConfigError(
            "no site to talk to: give --site DIR (a site made by `lookout init`), --url and "
            "--token, or set LOOKOUT_URL and LOOKOUT_TOKEN"
        )
    if not token:
        raise ConfigError(f"no token for {url}: give --token or set LOOKOUT_TOKEN")
    return Connection(url=url, token=token)


def _stored(site: Path | None, cwd: Path) -> dict[str, str]:
    if site is None:
        path = cwd / CLI_FILE
        return _read_cli_file(path) if path.is_file() else {}
    path = site / CLI_FILE
    if not path.is_file():
        raise ConfigError(f"--site {site}: {path} not found (is it a site made by `lookout init`?)")
    return _read_cli_file(path)


def _read_cli_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object with url and token")
    return {k: v for k, v in data.items() if k in ("url", "token") and isinstance(v, str)}


# ---------------------------------------------------------------------- client
def path_of(*parts: str) -> str:
    """``("hosts", "web 1")`` → ``/hosts/web%201``: every part quoted, '/' included."""
    return "/" + "/".join(quote(p, safe="") for p in parts)


class ApiClient:
    """The REST API v1 of one site; every failure comes out as :class:`ApiError`."""

    def __init__(
        self,
        conn: Connection,
        *,
        transport: httpx.BaseTransport | None = None,
        channel: str = "cli",
    ) -> None:
        """``channel``: what the site's audit log says the changes came through (``cli``;
        ``import`` for ``lookout import nagios``)."""
        base = conn.url.rstrip("/").removesuffix(API_PREFIX) + API_PREFIX
        self.url = conn.url
        self._http = httpx.Client(
            base_url=base,
            headers={
                "Authorization": f"Bearer {conn.token}",
                "User-Agent": f"lookout-cli/{__version__}",
                "X-Lookout-Client": channel,
            },
            timeout=TIMEOUT,
            transport=transport,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=_clean(params or {}))

    def post(self, path: str, body: Mapping[str, Any], timeout: float = TIMEOUT) -> Any:
        return self._call("POST", path, json=_clean(body), timeout=timeout)

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        """Send ``body`` as it is: ``null`` resets a setting (e.g. "no check")."""
        return self._call("PATCH", path, json=dict(body))

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._call("PUT", path, json=_clean(body))

    def delete(self, path: str) -> None:
        self._call("DELETE", path)

    def stream_to(self, path: str, out: IO[bytes], params: Mapping[str, Any] | None = None) -> int:
        """Write a streamed answer to ``out`` as it comes; the bytes written."""
        try:
            with self._http.stream("GET", path, params=_clean(params or {})) as response:
                if response.is_error:
                    response.read()
                    raise problem_of(response)
                size = 0
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    size += len(chunk)
                return size
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach {self.url}: {exc or type(exc).__name__}") from exc

    def get_text(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """An answer that is not JSON (CSV) as text."""
        return self._request("GET", path, params=_clean(params or {})).text

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach {self.url}: {exc or type(exc).__name__}") from exc
        if response.is_error:
            raise problem_of(response)
        return response

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"{method} {path}: the answer is not JSON", response.status_code
            ) from exc


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop unset (None) values so the site applies its own defaults."""
    return {k: v for k, v in values.items() if v is not None}


def problem_of(response: httpx.Response) -> ApiError:
    """An error answer (problem+json, or anything else) → :class:`ApiError`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip()[:500] or response.reason_phrase
        return ApiError(f"HTTP {response.status_code}: {text}", response.status_code)
    detail = str(body.get("detail") or body.get("title") or f"HTTP {response.status_code}")
    errors = [
        FieldError(loc=list(e.get("loc") or []), msg=str(e.get("msg", "")))
        for e in body.get("errors") or []
        if isinstance(e, dict)
    ]
    return ApiError(detail, response.status_code, errors)


# ---------------------------------------------------------------------- commands
SiteOpt = Annotated[
    Path | None,
    typer.Option(
        "--site",
        help="Site directory: use its cli.json (default: ./cli.json)",
        rich_help_panel="Connection",
        show_default=False,
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Site URL (or env LOOKOUT_URL)",
        rich_help_panel="Connection",
        show_default=False,
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="API token (or env LOOKOUT_TOKEN)",
        rich_help_panel="Connection",
        show_default=False,
    ),
]
_CONNECTION_PARAMS = (
    inspect.Parameter("site", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=SiteOpt),
    inspect.Parameter("url", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=UrlOpt),
    inspect.Parameter("token", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=TokenOpt),
)


def api_command(func: Callable[Concatenate[ApiClient, P], None]) -> Callable[P, None]:
    """Give a command ``--site``/``--url``/``--token``, hand it a connected :class:`ApiClient`
    as first argument, and turn failures into a message on stderr and an exit code."""

    @functools.wraps(func)
    def command(*args: P.args, **kwargs: P.kwargs) -> None:
        options = cast(dict[str, Any], kwargs)
        site: Path | None = options.pop("site", None)
        url: str | None = options.pop("url", None)
        token: str | None = options.pop("token", None)
        try:
            conn = resolve_connection(
                url=url, token=token, site=site, env=os.environ, cwd=Path.cwd()
            )
        except ConfigError as exc:
            _fail(str(exc), [], 2)
        with ApiClient(conn) as api:
            try:
                func(api, *args, **kwargs)
            except ApiError as exc:
                _fail(str(exc), [str(e) for e in exc.errors], exc.exit_code)

    own = list(inspect.signature(func, eval_str=True).parameters.values())[1:]
    signature = inspect.Signature([*own, *_CONNECTION_PARAMS], return_annotation=None)
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    return command


def _fail(message: str, details: list[str], code: int) -> NoReturn:
    print_error(message, details)
    raise typer.Exit(code)

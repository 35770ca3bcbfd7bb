"""Validating service check configs (what the API turns into 422) and dispatching checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from lookout.checks.active import CheckContext
from lookout.checks.active.http import HttpParams
from lookout.checks.active.registry import (
    check_config_schema,
    check_types,
    run_check,
    validate_check_config,
)
from lookout.checks.active.tcp import TcpParams


def error_locs(config: object) -> list[tuple[int | str, ...]]:
    """Where validating ``config`` failed, in order."""
    with pytest.raises(ValidationError) as caught:
        validate_check_config(config)
    return [error["loc"] for error in caught.value.errors()]


def test_tcp_config_with_defaults() -> None:
    config = validate_check_config({"type": "tcp", "port": 8080})

    assert config == TcpParams(port=8080, host=None, timeout=10.0, warn=None, crit=None)


def test_http_config_as_in_the_api() -> None:
    config = validate_check_config(
        {"type": "http", "url": "https://example.com/", "expect_status": [200, 301], "warn": 1}
    )

    assert isinstance(config, HttpParams)
    assert config.expect_status == (200, 301)
    assert config.verify_tls is True


def test_configs_are_frozen_and_hashable() -> None:
    config = validate_check_config({"type": "tcp", "port": 22})

    assert hash(config) == hash(TcpParams(port=22))
    with pytest.raises(ValidationError):
        config.port = 23  # type: ignore[misc]


@pytest.mark.parametrize(
    ("config", "locs"),
    [
        ({"port": 80}, [("type",)]),
        ({"type": "ftp", "port": 21}, [("type",)]),
        ({"type": ["tcp"]}, [("type",)]),
        ({"type": "tcp"}, [("port",)]),
        ({"type": "tcp", "port": 70000}, [("port",)]),
        ({"type": "tcp", "port": 80, "bogus": 1}, [("bogus",)]),
        ({"type": "tcp", "port": 80, "timeout": 0}, [("timeout",)]),
        ({"type": "tcp", "port": 80, "warn": 5, "crit": 1}, [("crit",)]),
        ({"type": "tcp", "port": 80, "host": ""}, [("host",)]),
        ({"type": "http", "url": "ftp://example.com/"}, [("url",)]),
        ({"type": "http", "url": "http:///no-host"}, [("url",)]),
        ({"type": "http", "url": "http://example.com/", "port": 80}, [("port",)]),
        ({"type": "http", "url": "http://example.com/", "tls": True}, [("tls",)]),
        ({"type": "http", "path": "health"}, [("path",)]),
        ({"type": "http", "expect_status": [200, 99]}, [("expect_status", 1)]),
        ({"type": "http", "expect_status": []}, [("expect_status",)]),
        ({"type": "http", "contains": ""}, [("contains",)]),
        ({"type": "http", "verify_tls": "maybe", "warn": -1}, [("warn",), ("verify_tls",)]),
        ("tcp:80", [()]),
    ],
)
def test_errors_carry_field_paths(config: object, locs: list[tuple[int | str, ...]]) -> None:
    assert error_locs(config) == locs


def test_errors_name_the_value_and_what_was_expected() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_check_config({"type": "ftp"})

    error: dict[str, Any] = json.loads(caught.value.json())[0]
    assert error["msg"].startswith("Input should be 'tcp' or 'http'")
    assert error["input"] == "ftp"


def test_types_and_schema_list_every_check() -> None:
    schema = check_config_schema()

    assert check_types()[:2] == ("tcp", "http")
    assert {"tcp", "http", "nagios"} <= set(check_types())
    assert set(schema["discriminator"]["mapping"]) == set(check_types())


async def test_run_check_dispatches_on_the_type(
    check_context: CheckContext, http_base: str
) -> None:
    outcome = await run_check(HttpParams(url=f"{http_base}/status/204"), "10.0.0.1", check_context)

    assert outcome.summary.startswith("HTTP OK - 204 No Content - 0 bytes in ")


@pytest.mark.parametrize(
    "config",
    [
        {"type": "tls", "port": 465},
        {"type": "tls", "port": 587, "starttls": "smtp", "warn_days": 21, "crit_days": 7},
        {"type": "dns", "name": "example.org", "record_type": "MX", "server": "192.0.2.53"},
        {"type": "ping", "count": 3, "rta": [100, 300], "pl": [20, 60]},
        {"type": "alive", "ports": [22, 3389]},
    ],
)
def test_builtin_network_checks_validate(config: dict[str, Any]) -> None:
    parsed = validate_check_config(config)

    assert parsed.type == config["type"]
    assert {"tls", "dns", "ping", "alive"} <= set(check_types())


def test_builtin_network_check_errors_carry_field_paths() -> None:
    assert error_locs({"type": "tls", "starttls": "ftp"}) == [("starttls",)]
    assert error_locs({"type": "dns", "record_type": "ANY"}) == [("record_type",)]
    assert error_locs({"type": "ping", "pl": [50]}) == [("pl", 1)]

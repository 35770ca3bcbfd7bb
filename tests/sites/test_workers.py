"""Which pool runs a check: labels, then [nats] pools by command or check type, then default."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lookout.checks.active.nagios import NagiosParams
from lookout.checks.active.registry import ActiveCheckConfig
from lookout.checks.active.tcp import TcpParams
from lookout.config import validate_settings
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.errors import ConfigError
from lookout.sites.workers import PoolRules
from lookout.sources.active.runner import CheckJob


def rules(host_labels: dict[str, str], service_labels: dict[str, str]) -> PoolRules:
    host = HostConfig(name="sw1", labels=host_labels)
    service = ServiceConfig(host="sw1", name="Uplink", labels=service_labels)
    settings = validate_settings(
        {"nats": {"pools": ["check_snmp=snmp", "http=web", "nagios=plugins"]}}, env=False
    )
    site: Any = SimpleNamespace(
        settings=settings,
        engine=SimpleNamespace(hosts={"sw1": host}, services={("sw1", "Uplink"): service}),
    )
    return PoolRules(site)


def job(config: ActiveCheckConfig, service: str = "Uplink") -> CheckJob:
    return CheckJob("sw1", service, config, "10.0.0.1")


SNMP = NagiosParams(command="check_snmp")


@pytest.mark.parametrize(
    ("host_labels", "service_labels", "config", "pool"),
    [
        ({}, {}, SNMP, "snmp"),  # by command name
        ({}, {}, NagiosParams(command="check_ssh"), "plugins"),  # by check type
        ({}, {}, TcpParams(port=22), "default"),
        ({"lookout/pool": "dc2"}, {}, SNMP, "dc2"),  # the host's label wins over settings
        ({"lookout/pool": "dc2"}, {"lookout/pool": "windows"}, SNMP, "windows"),
    ],
)
def test_the_pool_of_a_check(
    host_labels: dict[str, str], service_labels: dict[str, str], config: Any, pool: str
) -> None:
    assert rules(host_labels, service_labels).pool_for(job(config)) == pool


def test_a_host_check_takes_the_host_label() -> None:
    assert rules({"lookout/pool": "dc2"}, {}).pool_for(job(SNMP, service="")) == "dc2"


def test_a_label_that_is_no_pool_name_says_so() -> None:
    with pytest.raises(ValueError, match="label lookout/pool = 'DC 2' is not a pool name"):
        rules({"lookout/pool": "DC 2"}, {}).pool_for(job(SNMP))


def test_pools_in_settings_are_check_equals_pool() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_settings({"nats": {"pools": ["check_snmp", "http=Web"]}}, env=False)
    assert len(caught.value.problems) == 1
    assert "expected check=pool" in caught.value.problems[0]
    assert "'check_snmp'" in caught.value.problems[0]

"""Real HTTP against ``lookout serve`` subprocesses, shared to keep the suite fast.

One site serves every test under ``tests/web`` (tests create uniquely named hosts, so they do
not see each other's objects); a second one with small request limits is started alongside it.
Both start in parallel threads: starting a server is the expensive part.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from webapi import Api, site_pair

from livesite import LiveSite


@pytest.fixture(scope="session")
def _sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveSite]]:
    with site_pair(tmp_path_factory.mktemp("web")) as sites:
        yield sites


@pytest.fixture(scope="session")
def site(_sites: dict[str, LiveSite]) -> LiveSite:
    """The shared site (default request limits)."""
    return _sites["main"]


@pytest.fixture(scope="session")
def small_site(_sites: dict[str, LiveSite]) -> LiveSite:
    """A site with ``max_request_bytes = SMALL_BODY`` and ``max_results_per_request = 5``."""
    return _sites["small"]


@pytest.fixture(scope="session")
def admin(site: LiveSite) -> Iterator[httpx.Client]:
    with site.client() as client:
        yield client


@pytest.fixture(scope="session")
def api(site: LiveSite, admin: httpx.Client) -> Api:
    return Api(site, admin)


@pytest.fixture(scope="session")
def viewer(site: LiveSite, api: Api) -> Iterator[httpx.Client]:
    with site.client(api.token("viewer")) as client:
        yield client


@pytest.fixture(scope="session")
def operator(site: LiveSite, api: Api) -> Iterator[httpx.Client]:
    with site.client(api.token("operator")) as client:
        yield client

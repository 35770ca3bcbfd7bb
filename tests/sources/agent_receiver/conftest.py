"""The module-scoped agent site (helpers in ``agentsite.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agentsite import AgentSite, start_agent_site


@pytest.fixture(scope="module")
def agent_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentSite]:
    """One site for the module: small limits so the refusals are reachable."""
    s = start_agent_site(
        tmp_path_factory.mktemp("agentsite"),
        max_push_bytes=300_000,
        max_pushes_per_minute=5,
        missed_intervals=2,
    )
    try:
        yield s
    finally:
        s.site.stop()

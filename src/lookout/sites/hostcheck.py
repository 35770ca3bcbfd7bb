"""The default host check: hosts with an address, no check of their own and no agent get the
built-in ``alive`` check (ping, else TCP), unless the site turns that off
(``default_host_check = "none"``).

Hosts fed by something else keep no host check: agent hosts (the ``lookout/agent`` label or a
registered agent), hosts of data sources (Kubernetes, self-monitoring, Alertmanager), hosts
labelled ``lookout/passive``, and hosts that got a host result from elsewhere (a passive
submission: the last host result is not an alive check's). A check rule for ``alive`` sets the
default check's params like those of any other.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from lookout.domain.objects import HostConfig
from lookout.engine.status import Status

DEFAULT_CHECK: dict[str, Any] = {"type": "alive"}
PASSIVE_LABEL = "lookout/passive"
"""A host with this label keeps no default host check (its host results are submitted)."""
FED_LABELS = ("lookout/agent", "k8s/cluster", "lookout/self", "lookout/source", PASSIVE_LABEL)
"""Labels of hosts whose host state comes from an agent or a data source."""
OWN_SUMMARIES = ("ALIVE ", "Check timed out after ", "Check crashed: ")
"""How the summaries of the default check start (``ALIVE UP - …``, or the runner's own)."""


def eligible(cfg: HostConfig, agents: Container[str]) -> bool:
    """Whether ``cfg`` gets the default host check (the site's setting aside)."""
    return (
        cfg.check is None
        and bool(cfg.address)
        and not any(label in cfg.labels for label in FED_LABELS)
        and cfg.name not in agents
    )


def fed_elsewhere(st: Status | None) -> bool:
    """The host's last host result did not come from the default check (a passive result)."""
    return st is not None and st.last_check > 0 and not st.summary.startswith(OWN_SUMMARIES)


def default_check(
    cfg: HostConfig, enabled: bool, agents: Container[str], status: Mapping[Any, Status]
) -> dict[str, Any] | None:
    """The check the host runs by default now (None: none)."""
    if not enabled or not eligible(cfg, agents):
        return None
    if fed_elsewhere(status.get((cfg.name, ""))):
        return None
    return DEFAULT_CHECK

"""SaaS mode's start-time check (issue 13): every object of a site against the allow-list.

The doors (API, UI, configuration as code) refuse to create what is not allowed with a 403
(``Site.refuse_check``, ``Site.refuse_handler``, ``Site.save_command``, ``notify.editing``);
this check finds what is there already — made before SaaS mode was turned on, or restored
from a backup — so that the site refuses to start and says what to remove.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lookout.config import SaasSettings


def violations(saas: SaasSettings, site: Any, channels: list[Any], commands: int) -> list[str]:
    """What ``site`` holds that SaaS mode does not allow, one line each."""
    if not saas.enabled:
        return []
    out = list(_objects(saas, site))
    for ch in channels:
        why = saas.refusal("channel", ch.spec.type)
        if why:
            out.append(f"notification channel {ch.name}: {why}")
    if commands:
        out.append(f"{commands} command definition(s): they run programs (lookout command remove)")
    return out


def check_refusal(saas: SaasSettings, check: dict[str, Any] | None) -> str | None:
    """Why a stored check may not run in SaaS mode (None: it may)."""
    if check is None or not saas.enabled:
        return None
    return saas.refusal("check", check.get("type"))


def disallowed_checks(saas: SaasSettings, site: Any) -> list[tuple[str, str, str]]:
    """(host, service, why) of every object whose check may not run ("" for a host)."""
    out = [(h.name, "", check_refusal(saas, h.check)) for h in site.engine.hosts.values()]
    out += [(s.host, s.name, check_refusal(saas, s.check)) for s in site.engine.services.values()]
    return [(h, s, why) for h, s, why in out if why]


def _objects(saas: SaasSettings, site: Any) -> Iterator[str]:
    objects = [(h.name, h) for h in site.engine.hosts.values()]
    objects += [(f"{s.host}/{s.name}", s) for s in site.engine.services.values()]
    for where, cfg in objects:
        if cfg.check is not None:
            why = saas.refusal("check", cfg.check.get("type"))
            if why:
                yield f"{where}: {why}"
        if cfg.event_handler is not None:
            yield f"{where}: an event handler runs a program"

"""Pure: which host and service an alert is, and the result it gives.

An alert's identity is its label set. The host comes from the first of the configured host
labels the alert carries; the service name is the ``alertname`` followed by the labels that
tell alerts of one name on one host apart (all but the host label, ``severity`` and
``alertname``), so an alert that changes severity stays one service.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from lookout.config import AlertmanagerSettings
from lookout.domain import values
from lookout.domain.results import CheckResult
from lookout.wire.alertmanager import LabelSet, Webhook, WebhookAlert

SOURCE_LABEL = "lookout/source"
SOURCE = "alertmanager"
PARAMS_KEY = "alertmanager"
"""Where a service's params keep the alert: labels, fingerprint, generator URL, group key."""
STATES = {"OK": 0, "WARN": 1, "CRIT": 2, "UNKNOWN": 3}
NOT_IN_NAME = frozenset({"alertname", "severity"})


@dataclass(frozen=True, slots=True)
class AlertService:
    """One alert as a Lookout service and the result it brings."""

    host: str
    service: str
    params: dict[str, Any]
    result: CheckResult


def host_of(labels: LabelSet, cfg: AlertmanagerSettings) -> tuple[str, str]:
    """(host name, the label it came from, "" for the fallback host)."""
    for key in cfg.host_labels:
        value = labels.get(key, "").strip()
        if key == "instance":
            value = _without_port(value)
        if value and values.name_problem(value, host=True) is None:
            return value, key
    return cfg.fallback_host, ""


def _without_port(instance: str) -> str:
    """``node1:9100`` → ``node1``, ``[::1]:9100`` → ``::1``; a URL or bare name stays."""
    if instance.startswith("["):
        return instance[1:].partition("]")[0]
    host, sep, port = instance.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else instance


def service_of(labels: LabelSet, host_label: str) -> str:
    """``alertname`` plus the labels that set this alert apart, cut with a hash if too long."""
    extra = [
        f"{k}={v}" for k, v in sorted(labels.items()) if k not in NOT_IN_NAME and k != host_label
    ]
    base = labels.get("alertname", "").strip() or "alert"
    name = f"{base} {', '.join(extra)}" if extra else base
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    name = " ".join("".join(c if c.isprintable() else " " for c in name).split())
    if len(name) > 200:
        name = f"{name[:188].rstrip()} …{digest}"
    if values.name_problem(name, host=False) is not None:  # e.g. an alertname of "."
        name = f"alert {digest}"
    return name


def state_of(alert: WebhookAlert, cfg: AlertmanagerSettings) -> int:
    if alert.status == "resolved":
        return 0
    severity = alert.labels.get("severity", "").lower()
    return STATES[cfg.state_names().get(severity, cfg.other_severity)]


def _summary(alert: WebhookAlert) -> str:
    a = alert.annotations
    text = a.get("summary") or a.get("description") or a.get("message") or ""
    name = alert.labels.get("alertname", "alert")
    head = f"{name} {alert.status}" + (f": {text}" if text else "")
    return head[: values.MAX_SUMMARY]


def _long_output(alert: WebhookAlert, webhook: Webhook) -> str:
    lines = []
    a = alert.annotations
    if a.get("summary") and a.get("description"):
        lines.append(a["description"])
    lines += [f"{k}: {v}" for k, v in sorted(a.items()) if k not in ("summary", "description")]
    lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
    if alert.generator_url:
        lines.append(f"source: {alert.generator_url}")
    if alert.fingerprint:
        lines.append(f"fingerprint: {alert.fingerprint}")
    if webhook.external_url:
        lines.append(f"alertmanager: {webhook.external_url}")
    return "\n".join(lines)[: values.MAX_LONG_OUTPUT]


def params_of(alert: WebhookAlert, webhook: Webhook) -> dict[str, Any]:
    return {
        PARAMS_KEY: {
            "labels": dict(sorted(alert.labels.items())),
            "fingerprint": alert.fingerprint,
            "generator_url": alert.generator_url,
            "group_key": webhook.group_key,
            "receiver": webhook.receiver,
            "external_url": webhook.external_url,
        }
    }


def alert_services(webhook: Webhook, cfg: AlertmanagerSettings) -> list[AlertService]:
    """Every alert of ``webhook`` as a service and its result (checked when it arrives: the
    engine's order is the order of arrival)."""
    out = []
    for alert in webhook.alerts:
        host, label = host_of(alert.labels, cfg)
        service = service_of(alert.labels, label)
        result = CheckResult(
            host=host,
            service=service,
            state=state_of(alert, cfg),
            summary=_summary(alert),
            long_output=_long_output(alert, webhook),
        )
        out.append(AlertService(host, service, params_of(alert, webhook), result))
    return out

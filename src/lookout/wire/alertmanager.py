"""What Alertmanager sends and answers (webhook payload version 4, API v2), as validated models.

The models accept every field Alertmanager sends (unknown ones are ignored, so a newer
Alertmanager still gets through) but refuse a body that is not a webhook notification: a
missing or mistyped field is a 422 naming its path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lookout.wire.api import storable

LabelSet = dict[str, str]


class _Lenient(BaseModel):
    """Fields we do not know are ignored; values must be storable (no NUL, finite numbers)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(cls.__name__, data)


class WebhookAlert(_Lenient):
    """One alert of a webhook notification."""

    status: Literal["firing", "resolved"]
    labels: LabelSet = Field(min_length=1, max_length=256)
    annotations: LabelSet = {}
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL", max_length=4096)
    fingerprint: str = Field("", max_length=64)


class Webhook(_Lenient):
    """A webhook notification (``version: "4"``): one aggregation group's alerts."""

    version: Literal["4"]
    group_key: str = Field("", alias="groupKey")
    truncated_alerts: int = Field(0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: LabelSet = Field({}, alias="groupLabels")
    common_labels: LabelSet = Field({}, alias="commonLabels")
    common_annotations: LabelSet = Field({}, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL")
    alerts: list[WebhookAlert] = Field(max_length=10_000)


class Matcher(BaseModel):
    """A silence matcher (API v2)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str
    value: str
    is_regex: bool = Field(False, alias="isRegex")
    is_equal: bool = Field(True, alias="isEqual")


class SilenceStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")

    state: Literal["active", "pending", "expired"]


class Silence(BaseModel):
    """A silence as ``GET /api/v2/silences`` lists it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    matchers: list[Matcher]
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy")
    comment: str = ""
    status: SilenceStatus


class AlertStatus(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    state: str
    silenced_by: list[str] = Field([], alias="silencedBy")


class GettableAlert(BaseModel):
    """An alert as ``GET /api/v2/alerts`` lists it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    labels: LabelSet
    fingerprint: str = ""
    status: AlertStatus


def rfc3339(at: float) -> str:
    """Unix seconds as Alertmanager writes times (UTC, milliseconds)."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def postable_silence(
    matchers: LabelSet, *, starts: float, ends: float, author: str, comment: str
) -> dict[str, Any]:
    """The body of ``POST /api/v2/silences`` matching exactly the label set ``matchers``."""
    return {
        "matchers": [
            {"name": k, "value": v, "isRegex": False, "isEqual": True}
            for k, v in sorted(matchers.items())
        ],
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends),
        "createdBy": author,
        "comment": comment or "-",
    }

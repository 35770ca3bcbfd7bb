"""Bodies of the Kubernetes cluster API (``/api/v1/kube/clusters``): what connects a cluster
(:class:`ClusterIn`) and what changes one (:class:`ClusterPatch`). A patch is merged into the
cluster's settings and the result validated by :class:`ClusterIn` again: one set of rules for
creating and changing, with errors at the same field paths."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from lookout.wire.api import Body, Interval

CREDENTIALS = ("token", "token_file", "client_cert", "client_key")
"""One credential is used: giving any of these in a patch replaces the stored one."""


class ClusterIn(Body):
    name: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    server: str = Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$", max_length=1024)
    token: str | None = Field(None, min_length=1, max_length=16384)
    """A bearer token (stored encrypted; never returned)."""
    token_file: str | None = Field(None, min_length=1, max_length=1024)
    """Or a file on the site's machine holding the token (read at each connect)."""
    ca_data: str = ""
    """PEM of the cluster CA ('' = system trust store)."""
    client_cert: str = ""
    client_key: str = ""
    insecure_skip_tls_verify: bool = False
    interval: Interval | None = Field(None, ge=1, le=86400)
    """Seconds (or "5m") between full reads of the cluster (1 s to a day; default: the site's
    setting)."""
    usage: Literal["kubelet", "prometheus", "none"] = "kubelet"
    prometheus_url: str = Field("", pattern=r"^(https?://\S+)?$", validate_default=True)
    params: dict[str, Any] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    pod_hosts: dict[str, str] | None = None
    """Label selector: matching pods get their own host ({} = every pod)."""

    @model_validator(mode="after")
    def _one_credential(self) -> ClusterIn:
        given = [
            bool(self.token),
            bool(self.token_file),
            bool(self.client_cert and self.client_key),
        ]
        if sum(given) != 1:
            raise ValueError(
                "give exactly one of token, token_file, or client_cert with client_key"
            )
        return self

    @field_validator("ca_data")
    @classmethod
    def _pem(cls, pem: str) -> str:
        if pem and "BEGIN CERTIFICATE" not in pem:
            raise _error("ca_data must be PEM (-----BEGIN CERTIFICATE-----)")
        return pem

    @field_validator("prometheus_url")
    @classmethod
    def _prometheus_for_usage(cls, url: str, info: ValidationInfo) -> str:
        """A field check (not a model one), so that it is reported with the other fields'."""
        if info.data.get("usage") == "prometheus" and not url:
            raise _error("usage 'prometheus' needs prometheus_url")
        return url


SETTINGS = tuple(f for f in ClusterIn.model_fields if f != "name")
"""What a patch may change: everything but the name."""


class ClusterPatch(Body):
    """The settings to change; the others stay. ``null`` resets ``interval`` (to the site's)
    and ``pod_hosts`` (no pod hosts). Types are checked here, the rules by :class:`ClusterIn`
    on the merged settings."""

    server: str | None = None
    token: str | None = None
    token_file: str | None = None
    ca_data: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool | None = None
    interval: Interval | None = None
    usage: str | None = None
    prometheus_url: str | None = None
    params: dict[str, Any] | None = None
    rules: list[dict[str, Any]] | None = None
    pod_hosts: dict[str, str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        details: list[InitErrorDetails] = [
            {
                "type": _error(_why_not(key)),
                "loc": (key,),
                "input": data[key],
            }
            for key in data
            if key not in cls.model_fields
        ]
        if details:
            raise PydanticValidationError.from_exception_data(cls.__name__, details)
        return data

    def merged(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``settings`` (a :class:`ClusterIn` input) with this patch applied."""
        changes = self.model_dump(exclude_unset=True)
        out = dict(settings)
        if any(changes.get(k) for k in CREDENTIALS):
            for key in CREDENTIALS:
                out.pop(key, None)
        for key, value in changes.items():
            if value is None and key not in ("interval", "pod_hosts"):
                continue  # null: leave as it is
            out[key] = value
        return out


def _error(msg: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", "{msg}", {"msg": msg})


def _why_not(key: str) -> str:
    if key == "name":
        return "a cluster's name cannot be changed (remove it and connect it again)"
    return f"unknown setting {key!r}; a cluster's settings are: {', '.join(SETTINGS)}"

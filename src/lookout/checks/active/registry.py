"""All active check types: validate a service's check config, run a check by its config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, assert_never

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import InitErrorDetails

from lookout.checks.active import (
    CheckContext,
    Outcome,
    alive,
    dns,
    http,
    nagios,
    ping,
    promql,
    tcp,
    tls,
)
from lookout.checks.active.alive import AliveParams
from lookout.checks.active.dns import DnsParams
from lookout.checks.active.http import HttpParams
from lookout.checks.active.nagios import NagiosParams
from lookout.checks.active.ping import PingParams
from lookout.checks.active.promql import PromqlParams
from lookout.checks.active.tcp import TcpParams
from lookout.checks.active.tls import TlsParams

ActiveCheckConfig = Annotated[
    TcpParams
    | HttpParams
    | NagiosParams
    | TlsParams
    | DnsParams
    | PingParams
    | AliveParams
    | PromqlParams,
    Field(discriminator="type"),
]
"""A service's active check config; ``type`` picks the check."""

_Model = (
    type[TcpParams]
    | type[HttpParams]
    | type[NagiosParams]
    | type[TlsParams]
    | type[DnsParams]
    | type[PingParams]
    | type[AliveParams]
    | type[PromqlParams]
)
_MODELS: dict[str, _Model] = {
    "tcp": TcpParams,
    "http": HttpParams,
    "nagios": NagiosParams,
    "tls": TlsParams,
    "dns": DnsParams,
    "ping": PingParams,
    "alive": AliveParams,
    "promql": PromqlParams,
}
_ADAPTER: TypeAdapter[ActiveCheckConfig] = TypeAdapter(ActiveCheckConfig)


def check_types() -> tuple[str, ...]:
    """The known values of ``type``."""
    return tuple(_MODELS)


def check_config_schema() -> dict[str, Any]:
    """JSON schema of ``ActiveCheckConfig`` (for the API docs)."""
    return _ADAPTER.json_schema()


def validate_check_config(config: object) -> ActiveCheckConfig:
    """Parse a check config such as ``{"type": "tcp", "port": 8080}``.

    Raises ``pydantic.ValidationError`` whose error locations are paths inside ``config``
    (``("port",)``, ``("expect_status", 0)``), without the union tag pydantic would add.
    """
    if not isinstance(config, Mapping):
        return _ADAPTER.validate_python(config)
    kind = config.get("type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise _bad_type(config)
    return model.model_validate(config)


def _bad_type(config: Mapping[Any, Any]) -> ValidationError:
    detail: InitErrorDetails
    if "type" not in config:
        detail = {"type": "missing", "loc": ("type",), "input": dict(config)}
    else:
        expected = " or ".join(repr(name) for name in _MODELS)
        ctx = {"expected": expected}
        detail = {"type": "literal_error", "loc": ("type",), "input": config["type"], "ctx": ctx}
    return ValidationError.from_exception_data("ActiveCheckConfig", [detail])


async def run_check(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
    """Run the check that ``config`` describes against ``address``."""
    match config:
        case TcpParams():
            return await tcp.run(config, address, ctx)
        case HttpParams():
            return await http.run(config, address, ctx)
        case NagiosParams():
            return await nagios.run(config, address, ctx)
        case TlsParams():
            return await tls.run(config, address, ctx)
        case DnsParams():
            return await dns.run(config, address, ctx)
        case PingParams():
            return await ping.run(config, address, ctx)
        case AliveParams():
            return await alive.run(config, address, ctx)
        case PromqlParams():
            return await promql.run(config, address, ctx)
        case _:
            assert_never(config)

"""What can go wrong talking to a cluster::

KubeError                 any failure; ``status`` is the HTTP status or None
  Unreachable             no answer: connection refused, TLS failure, timeout (status None)
  ApiStatus               the API server answered with an error status
    Unauthorized          401: the token is wrong or expired
    Forbidden             403: RBAC denies this verb on this resource
    Gone                  410: the resourceVersion is too old → relist
    ServerError           5xx
  BadAnswer               the answer is not what the API documents (not JSON, wrong shape)
"""

from __future__ import annotations

from lookout.errors import LookoutError


class KubeError(LookoutError):
    status: int | None = None

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(KubeError):
    pass


class ApiStatus(KubeError):
    pass


class Unauthorized(ApiStatus):
    pass


class Forbidden(ApiStatus):
    pass


class Gone(ApiStatus):
    pass


class ServerError(ApiStatus):
    pass


class BadAnswer(KubeError):
    pass


def for_status(status: int, message: str) -> ApiStatus:
    cls: type[ApiStatus] = {401: Unauthorized, 403: Forbidden, 410: Gone}.get(status, ApiStatus)
    if status >= 500:
        cls = ServerError
    return cls(message, status)

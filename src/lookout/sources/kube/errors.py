"""What can go wrong talking to a cluster::

KubeError                 any failure; ``status`` is the HTTP status or None
  Unreachable             no answer: connection refused, timeout (status None)
    TlsFailure            the TLS handshake failed: certificate not trusted, expired, other name
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
    request: str = ""
    """The request that failed (``GET /version``), for advice that names what was refused."""

    def __init__(self, message: str, status: int | None = None, request: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.request = request


class Unreachable(KubeError):
    pass


class TlsFailure(Unreachable):
    """``reason`` is OpenSSL's (``unable to get local issuer certificate``); ``code`` its
    X.509 verification code (0 when the handshake failed for another reason)."""

    def __init__(self, message: str, reason: str, code: int = 0, request: str = "") -> None:
        super().__init__(message, None, request)
        self.reason = reason
        self.code = code


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


def for_status(status: int, message: str, request: str = "") -> ApiStatus:
    cls: type[ApiStatus] = {401: Unauthorized, 403: Forbidden, 410: Gone}.get(status, ApiStatus)
    if status >= 500:
        cls = ServerError
    return cls(message, status, request)

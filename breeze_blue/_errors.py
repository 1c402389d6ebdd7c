"""The exception hierarchy, and the one function that turns an HTTP error into it.

Every error the SDK raises on purpose is a ``BreezeBlueError``. Errors the API sent are
``APIError`` subclasses chosen by the envelope's ``code``, falling back to the HTTP status
for a code this version does not know; transport failures are ``APIConnectionError``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import httpx

from ._core.parsing import parse_retry_after

__all__ = [
    "ERRORS_BY_CODE",
    "ERRORS_BY_STATUS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BreezeBlueError",
    "GenerationFailedError",
    "GenerationNotReadyError",
    "IncompleteDownloadError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "connection_error",
    "could_not_connect",
    "error_class_for",
    "error_from_response",
    "foreign_transport_error",
]


class BreezeBlueError(Exception):
    """Base class of every error this SDK raises on purpose.

    Examples:
        >>> try:
        ...     audio = client.history.download_audio("hist_01haudio")
        ... except BreezeBlueError as err:
        ...     print("could not download:", err)
    """


class APIError(BreezeBlueError):
    """The API answered with an error status.

    Attributes:
        status_code: The HTTP status, for example ``404``.
        code: The envelope's ``error.code`` (``"RESOURCE_NOT_FOUND"``), or ``None`` when the
            body was not a valid envelope.
        message: The envelope's human-readable message, or a summary of the raw body.
        request_id: The request's identifier, to quote to support, when the server gave one.
        headers: The response headers.
        request: The request that failed, with the API key removed from its headers.
        retry_after: Seconds the server asked to wait before trying again, from
            ``Retry-After`` (delta-seconds or an HTTP-date), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        request_id: str | None = None,
        headers: httpx.Headers | None = None,
        request: httpx.Request | None = None,
    ) -> None:
        self.message: str = message
        self.status_code: int = status_code
        self.code: str | None = code
        self.request_id: str | None = request_id
        self.headers: httpx.Headers = headers if headers is not None else httpx.Headers()
        self.request: httpx.Request | None = request
        # Read once, now: an HTTP-date is measured against the moment the response arrived.
        self.retry_after: float | None = parse_retry_after(self.headers.get("retry-after"))
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields: the default pickling (args only) could not rebuild them.
        # retry_after travels as it is: rebuilt later, an HTTP-date would be measured again.
        return (
            _rebuild,
            (type(self), self.message, self.status_code, self.code, self.request_id, self.headers),
            {"retry_after": self.retry_after},
        )

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message}" if self.code else self.message]
        parts.append(f"(status {self.status_code}")
        if self.request_id:
            parts[-1] += f", request_id {self.request_id}"
        parts[-1] += ")"
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


def _rebuild(
    cls: type[APIError],
    message: str,
    status_code: int,
    code: str | None,
    request_id: str | None,
    headers: httpx.Headers,
) -> APIError:
    return cls(message, status_code=status_code, code=code, request_id=request_id, headers=headers)


class BadRequestError(APIError):
    """400 or 416 ``INVALID_REQUEST``: the request was malformed, or (416) its ``Range``
    cannot be satisfied, for example because it starts beyond the end of the audio."""


class AuthenticationError(APIError):
    """401 ``UNAUTHENTICATED``: the API key is missing or invalid."""


class PermissionDeniedError(APIError):
    """403 ``PERMISSION_DENIED``: the key may not access this history item."""


class NotFoundError(APIError):
    """404 ``RESOURCE_NOT_FOUND``: the audio does not exist or is no longer available."""


class GenerationNotReadyError(APIError):
    """409 ``GENERATION_NOT_READY``: the history item is still running.

    ``retry_after`` says how many seconds the server asked to wait before trying again.

    Attributes:
        waited: With ``download_audio(..., wait=True)``, how long the SDK polled before
            giving up, in seconds; ``None`` without ``wait``.
        polls: With ``wait=True``, how many times the SDK asked again before giving up.
    """

    waited: float | None = None
    polls: int = 0


class GenerationFailedError(APIError):
    """422 ``GENERATION_FAILED``: the generation failed and will never become ready."""


class RateLimitError(APIError):
    """429 ``RATE_LIMITED``: too many requests; ``retry_after`` says how long to wait."""


class InternalServerError(APIError):
    """A 5xx status (``INTERNAL_ERROR``, ``SERVICE_UNAVAILABLE``): the server failed."""


class APIConnectionError(BreezeBlueError):
    """The request or the response body could not travel: refused, reset, cut short.

    The underlying ``httpx`` exception is chained as ``__cause__``.

    Attributes:
        request: The request that failed, with the API key removed from its headers, or
            ``None``.
    """

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None):
        self.request: httpx.Request | None = request
        super().__init__(message)


class IncompleteDownloadError(APIConnectionError):
    """The body ended before ``content-length`` bytes arrived: the audio is truncated.

    ``save()`` retries these by itself.

    Attributes:
        received: How many bytes of the body arrived.
        expected: How many bytes ``content-length`` announced.
    """

    def __init__(self, received: int, expected: int, *, request: httpx.Request | None = None):
        self.received: int = received
        self.expected: int = expected
        super().__init__(
            f"audio body ended after {received} of {expected} bytes; the download is incomplete",
            request=request,
        )


class APITimeoutError(APIConnectionError):
    """The server did not answer (or stopped sending) within the client's timeout."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ):
        super().__init__(message, request=request)


ERRORS_BY_CODE: Mapping[str, type[APIError]] = {
    "INVALID_REQUEST": BadRequestError,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "RESOURCE_NOT_FOUND": NotFoundError,
    "GENERATION_NOT_READY": GenerationNotReadyError,
    "GENERATION_FAILED": GenerationFailedError,
    "RATE_LIMITED": RateLimitError,
    "INTERNAL_ERROR": InternalServerError,
    "SERVICE_UNAVAILABLE": InternalServerError,
}

ERRORS_BY_STATUS: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: GenerationNotReadyError,
    422: GenerationFailedError,
    429: RateLimitError,
}


def connection_error(
    exc: httpx.RequestError, request: httpx.Request | None = None
) -> APIConnectionError:
    """The SDK's error for a failed connection (raise it ``from exc``).

    ``request`` (already redacted) also replaces the httpx exception's own, which still
    carries the API key and would otherwise travel along as ``__cause__.request``.
    """
    if request is not None:
        exc.request = request
    if _timed_out(exc):
        return APITimeoutError(f"Request timed out: {exc}", request=request)
    return APIConnectionError(f"Connection error: {type(exc).__name__}: {exc}", request=request)


def could_not_connect(error: BaseException) -> bool:
    """Whether a failed request never reached the server: refused, unresolvable, unroutable.

    A hang-up or a timeout while reading says the server is there; this says it is not.
    Under httpx-aiohttp, which reports every aiohttp connection error as ``ConnectTimeout``,
    only aiohttp's connector errors count.
    """
    cause = error.__cause__
    if not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
        return False
    inner = cause.__cause__
    if inner is not None and type(inner).__module__.startswith("aiohttp"):
        return "Connector" in type(inner).__name__
    return True


def foreign_transport_error(exc: BaseException) -> httpx.TransportError | None:
    """An aiohttp error that httpx-aiohttp passed through untranslated, as httpx's own.

    ``None`` for anything else. The result chains nothing: aiohttp's error keeps the
    request's headers, API key included.
    """
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None or not isinstance(exc, aiohttp.ClientError):
        return None
    return httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}")


def _timed_out(exc: httpx.RequestError) -> bool:
    if not isinstance(exc, httpx.TimeoutException):
        return False
    # httpx-aiohttp reports every aiohttp connection error as a ConnectTimeout, a server
    # that hung up included; only a real timeout underneath is reported as one.
    cause = exc.__cause__
    from_aiohttp = cause is not None and type(cause).__module__.startswith("aiohttp")
    return not from_aiohttp or isinstance(cause, TimeoutError)


def error_class_for(status_code: int, code: str | None) -> type[APIError]:
    """The exception class for an error response: by ``code`` first, then by status."""
    if code is not None and code in ERRORS_BY_CODE:
        return ERRORS_BY_CODE[code]
    if status_code in ERRORS_BY_STATUS:
        return ERRORS_BY_STATUS[status_code]
    if status_code >= 500:
        return InternalServerError
    return APIError


def error_from_response(
    *,
    status_code: int,
    headers: httpx.Headers,
    code: str | None,
    message: str,
    request_id: str | None,
    request: httpx.Request | None = None,
) -> APIError:
    """Build the typed error for an error response whose body has already been parsed."""
    cls = error_class_for(status_code, code)
    return cls(
        message,
        status_code=status_code,
        code=code,
        request_id=request_id,
        headers=headers,
        request=request,
    )

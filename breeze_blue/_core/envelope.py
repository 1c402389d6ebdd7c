"""An error response's (capped) body turned into the SDK's typed error."""

from __future__ import annotations

import httpx

from .._api import read_envelope
from .._errors import APIError, error_from_response
from .request import redact

__all__ = ["MAX_ERROR_BODY", "parse_error"]

# An error body is read only up to this size: a misbehaving proxy's endless page must not
# fill memory, and a real envelope is a few hundred bytes.
MAX_ERROR_BODY = 64 * 1024


def parse_error(response: httpx.Response, body: bytes) -> APIError:
    """The typed error for a non-success ``response`` whose (capped) ``body`` was read.

    Any body is accepted: a valid envelope gives its code, message and request id; an
    empty, HTML or malformed body gives the class for the status and a readable message.
    Text from the server is made printable, so an error can always be logged or shown.
    """
    code, message, request_id = read_envelope(body)
    message = _printable(message or "") or _describe_body(response, body)
    return error_from_response(
        status_code=response.status_code,
        headers=response.headers,
        code=_identifier(code),
        message=message,
        request_id=_identifier(request_id) or _identifier(response.headers.get("x-request-id")),
        request=redact(response.request),
    )


def _identifier(value: object) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= 200 and value.isascii() and value.isprintable():
        return value
    return None


def _printable(text: str, limit: int = 500) -> str:
    # Escape sequences, NUL or lone surrogates from a server must not reach a terminal or log.
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _describe_body(response: httpx.Response, body: bytes) -> str:
    reason = response.reason_phrase or "error"
    text = _printable(body.decode("utf-8", errors="replace"), limit=200)
    if not text:
        return f"HTTP {response.status_code} {reason} (empty body)"
    if "html" in response.headers.get("content-type", "").lower() or text.startswith("<"):
        return f"HTTP {response.status_code} {reason} (HTML page, not an API error)"
    return f"HTTP {response.status_code} {reason}: {text}"

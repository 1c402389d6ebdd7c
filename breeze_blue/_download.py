"""The download operation without I/O: building its request and reading its errors.

This is the only module that imports the generated low-level client (``_breeze_blue_api``):
the URL template and the error envelope come from the spec through it, so a change to
``openapi.yaml`` reaches the facade in one place. Sending, reading and (later) retrying are
left to the sync and async clients, which share everything here.
"""

from __future__ import annotations

import importlib
import json
import re
from functools import cache
from types import ModuleType
from typing import Any

import httpx

from ._errors import APIError, error_from_response

__all__ = [
    "API_KEY_HEADER",
    "MAX_ERROR_BODY",
    "audio_path",
    "build_request",
    "known_error_codes",
    "parse_error",
    "redact",
    "validate_history_item_id",
]

API_KEY_HEADER = "xi-api-key"
# An error body is read only up to this size: a misbehaving proxy's endless page must not
# fill memory, and a real envelope is a few hundred bytes.
MAX_ERROR_BODY = 64 * 1024
# The spec's maxLength and pattern for a history item id.
MAX_ID_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# The generated package is imported on first use, not with breeze_blue: it pulls in attrs
# and its models, which would add a third to `import breeze_blue`'s own cost.
@cache
def _operation() -> ModuleType:
    return importlib.import_module("_breeze_blue_api.api.history.download_history_audio")


@cache
def _models() -> ModuleType:
    return importlib.import_module("_breeze_blue_api.models")


def known_error_codes() -> frozenset[str]:
    """The codes the spec names (the facade's code -> exception table must match them)."""
    return frozenset(code.value for code in _models().KnownErrorCode)


def validate_history_item_id(history_item_id: object) -> str:
    """Check an id before any request is made; return it unchanged.

    Raises:
        TypeError: it is not a ``str``.
        ValueError: it is empty, only whitespace, longer than the spec allows, holds
            control characters, or
            ``.``/``..`` (which URL normalisation would turn into another path, whatever the
            encoding).
    """
    if not isinstance(history_item_id, str):
        raise TypeError(
            f"history_item_id must be a str, not {type(history_item_id).__name__}; "
            'for example client.history.download_audio("hist_01haudio")'
        )
    if not history_item_id.strip():
        raise ValueError("history_item_id must not be empty or only whitespace")
    if len(history_item_id) > MAX_ID_LENGTH:
        raise ValueError(
            f"history_item_id is {len(history_item_id)} characters long; "
            f"identifiers have at most {MAX_ID_LENGTH}"
        )
    if _CONTROL.search(history_item_id):
        raise ValueError("history_item_id must not contain control characters")
    if history_item_id in {".", ".."}:
        raise ValueError(f"history_item_id {history_item_id!r} is not a valid identifier")
    return history_item_id


def audio_path(history_item_id: str) -> str:
    """The request path, with the id percent-encoded as exactly one path segment."""
    path = _operation()._get_kwargs(history_item_id=history_item_id)["url"]
    assert isinstance(path, str)
    return path


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    *,
    base_url: httpx.URL,
    history_item_id: str,
    headers: dict[str, str],
    timeout: httpx.Timeout | None,
) -> httpx.Request:
    """The download request for ``history_item_id`` (validated first), ready to send."""
    validate_history_item_id(history_item_id)
    # Join the raw, already-encoded path so the encoded `/` (%2F) in an id stays encoded.
    raw_path = base_url.raw_path.rstrip(b"/") + audio_path(history_item_id).encode("ascii")
    url = base_url.copy_with(raw_path=raw_path)
    return http.build_request(
        "GET",
        url,
        headers=headers,
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
    )


def redact(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` fit to keep on an exception: the API key is not in it."""
    headers = httpx.Headers(request.headers)
    if API_KEY_HEADER in headers:
        headers[API_KEY_HEADER] = "[redacted]"
    return httpx.Request(request.method, request.url, headers=headers)


def parse_error(response: httpx.Response, body: bytes) -> APIError:
    """The typed error for a non-success ``response`` whose (capped) ``body`` was read.

    Any body is accepted: a valid envelope gives its code, message and request id; an
    empty, HTML or malformed body gives the class for the status and a readable message.
    Text from the server is made printable, so an error can always be logged or shown.
    """
    code, message, request_id = _read_envelope(body)
    message = _printable(message or "") or _describe_body(response, body)
    return error_from_response(
        status_code=response.status_code,
        headers=response.headers,
        code=code,
        message=message,
        request_id=request_id or _identifier(response.headers.get("x-request-id")),
        request=redact(response.request),
    )


def _read_envelope(body: bytes) -> tuple[str | None, str | None, str | None]:
    try:
        data: Any = json.loads(body)
        # The generated model trusts its input (it would read a list of pairs as a dict).
        if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
            return None, None, None
        models = _models()
        detail = models.ErrorEnvelope.from_dict(data).error
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None, None, None
    # An unknown code stays a plain str: the set is open by design.
    code = detail.code.value if isinstance(detail.code, models.KnownErrorCode) else detail.code
    message = detail.message if isinstance(detail.message, str) else None
    request_id = detail.request_id if isinstance(detail.request_id, str) else None
    return _identifier(code), message, _identifier(request_id)


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

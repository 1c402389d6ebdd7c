"""The download request: the id checked, the request built, and the key kept off errors."""

from __future__ import annotations

import re
from typing import Any, Protocol

import httpx

from .._api import audio_path

__all__ = [
    "API_KEY_HEADER",
    "MAX_ID_LENGTH",
    "RequestBuilder",
    "build_request",
    "hide_key",
    "redact",
    "validate_history_item_id",
]

API_KEY_HEADER = "xi-api-key"
# The spec's maxLength and pattern for a history item id.
MAX_ID_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RequestBuilder(Protocol):
    """``httpx.Client.build_request`` (or the async client's): merges the client's defaults."""

    def __call__(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        headers: httpx.Headers | dict[str, str],
        timeout: Any,
    ) -> httpx.Request: ...


def validate_history_item_id(history_item_id: object) -> str:
    """Check an id before any request is made; return it unchanged.

    Raises:
        TypeError: it is not a ``str``.
        ValueError: it is empty, only whitespace, longer than the spec allows, holds
            control characters, or ``.``/``..`` (which URL normalisation would turn into
            another path, whatever the encoding).
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


def build_request(
    build: RequestBuilder,
    *,
    base_url: httpx.URL,
    history_item_id: str,
    headers: dict[str, str],
    timeout: httpx.Timeout | None,
) -> httpx.Request:
    """The download request for ``history_item_id`` (validated first), ready to send."""
    validate_history_item_id(history_item_id)
    # The path is already encoded (an id's `/` is %2F, and stays so): joined as text, the
    # URL is parsed once, by httpx, as a plain httpx user's would be.
    url = str(base_url).rstrip("/") + audio_path(history_item_id)
    return build(
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


def hide_key(error: BaseException) -> None:
    """Redact the key from every request kept on an error chained to ``error``.

    httpx keeps the request it failed on, API key included, on its exceptions (aiohttp
    keeps its headers in ``request_info``); ours chain them as ``__cause__``, where a
    traceback printer or error tracker would find the key.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, httpx.RequestError | httpx.HTTPStatusError):
            try:
                original = exc.request
            except RuntimeError:  # no request attached
                original = None
            if original is not None and API_KEY_HEADER in original.headers:
                exc.request = redact(original)
        _redact_request_info(exc)
        todo += [exc.__cause__, exc.__context__]


def _redact_request_info(exc: BaseException) -> None:
    # aiohttp's errors (under DefaultAioHttpClient) keep the request's headers on a
    # `request_info` named tuple; replaced, never imported for, so aiohttp stays optional.
    info: Any = getattr(exc, "request_info", None)
    headers = getattr(info, "headers", None)
    if headers is None or not hasattr(info, "_replace"):
        return
    if any(name.lower() == API_KEY_HEADER for name in headers):
        safe = {
            name: "[redacted]" if name.lower() == API_KEY_HEADER else value
            for name, value in headers.items()
        }
        exc.request_info = info._replace(headers=safe)  # type: ignore[attr-defined]

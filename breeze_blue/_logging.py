"""The ``breeze_blue`` logger: request lines, statuses, retries and polls, never the key.

Silent by default, like any library. ``BREEZE_LOG=info`` or ``BREEZE_LOG=debug`` attaches a
stderr handler when the first client is built; applications that configure ``logging``
themselves just set the ``breeze_blue`` logger's level.
"""

from __future__ import annotations

import logging
import os

import httpx

__all__ = ["configure_from_env", "log_request", "log_response", "logger"]

logger = logging.getLogger("breeze_blue")

# Headers worth seeing when debugging a download; anything else (the API key above all) is
# never logged, whatever its name.
_LOGGED_HEADERS = (
    "accept-ranges",
    "content-disposition",
    "content-length",
    "content-range",
    "content-type",
    "etag",
    "if-range",
    "last-modified",
    "location",
    "range",
    "retry-after",
    "retry-after-ms",
    "user-agent",
    "x-breeze-api-key-id",
)
_configured = False


def configure_from_env() -> None:
    """Honour ``BREEZE_LOG`` once per process (``info`` or ``debug``; anything else: off)."""
    global _configured  # noqa: PLW0603 (once per process, by design)
    if _configured:
        return
    _configured = True
    level = {"info": logging.INFO, "debug": logging.DEBUG}.get(
        os.environ.get("BREEZE_LOG", "").strip().lower()
    )
    if level is None:
        return
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)


def _allowed(headers: httpx.Headers) -> str:
    return ", ".join(f"{name}: {headers[name]}" for name in _LOGGED_HEADERS if name in headers)


def log_request(request: httpx.Request, *, attempt: int, redirects: int) -> None:
    """INFO: the request line; DEBUG: its allow-listed headers."""
    if not logger.isEnabledFor(logging.INFO):
        return
    logger.info(
        "%s %s (attempt %d%s)",
        request.method,
        request.url,
        attempt + 1,
        f", redirect {redirects}" if redirects else "",
    )
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("request headers: %s", _allowed(request.headers))


def log_response(response: httpx.Response) -> None:
    """INFO: the status line; DEBUG: the allow-listed headers."""
    if not logger.isEnabledFor(logging.INFO):
        return
    logger.info("%d %s from %s", response.status_code, response.reason_phrase, response.url)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("response headers: %s", _allowed(response.headers))

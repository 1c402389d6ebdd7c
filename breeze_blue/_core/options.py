"""Client options, checked once and shared by the sync and async clients."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import httpx

from .._errors import BreezeBlueError
from .._logging import configure_from_env
from .._version import __version__
from .flow import RetryPolicy, Settings, is_loopback

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "make_settings",
]

DEFAULT_BASE_URL = "https://api.breeze.blue"
# A whole minute to start a large download, but a dead server is noticed in ten seconds.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONNECTIONS = 20
USER_AGENT = f"breeze-blue-python/{__version__}"


def _resolve_api_key(api_key: str | None) -> str:
    source = "api_key"
    if api_key is None:
        api_key, source = os.environ.get("BREEZE_API_KEY"), "BREEZE_API_KEY"
    elif not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
    if not api_key:
        raise BreezeBlueError(
            "No API key: pass BreezeBlue(api_key=...) or set the BREEZE_API_KEY "
            "environment variable."
        )
    # Never echo the key itself: the message may end up in a log.
    if not api_key.isascii() or not api_key.isprintable() or any(c.isspace() for c in api_key):
        raise ValueError(
            f"{source} contains whitespace, control or non-ASCII characters; "
            "check for a stray newline or quote where the key was copied from"
        )
    return api_key


def _resolve_base_url(base_url: str | httpx.URL | None, *, allow_insecure_http: bool) -> httpx.URL:
    if base_url is None:
        base_url = os.environ.get("BREEZE_BASE_URL") or DEFAULT_BASE_URL
    try:
        url = httpx.URL(str(base_url))
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"base_url {str(base_url)!r} is not a valid URL") from exc
    if url.userinfo:
        raise ValueError("base_url must not contain a user name or password")
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(
            f"base_url must be an http:// or https:// URL with a host, not {str(base_url)!r}"
        )
    if url.query or url.fragment:
        raise ValueError(f"base_url must not have a query or fragment: {str(base_url)!r}")
    if url.scheme == "http" and not is_loopback(url) and not allow_insecure_http:
        raise ValueError(
            f"refusing to send the API key in clear text to {url.host!r} over http://; "
            "use https://, or pass allow_insecure_http=True if you really mean it"
        )
    return url


def _resolve_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout < math.inf
    ):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return httpx.Timeout(float(timeout), connect=min(float(timeout), 10.0))


def _resolve_max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a whole number >= 0, not {max_retries!r}")
    return max_retries


def make_settings(
    *,
    api_key: str | None,
    base_url: str | httpx.URL | None,
    timeout: float | httpx.Timeout | None,
    default_timeout: bool,
    max_retries: int,
    allow_insecure_http: bool,
    clock: Callable[[], float] | None,
    user_agent: bool,
) -> Settings:
    """Check every option (no network) and freeze them into the download's settings.

    ``timeout=None`` means the SDK's default timeout when ``default_timeout``, else the
    caller's own ``httpx`` client's.
    """
    configure_from_env()
    if timeout is None:
        resolved_timeout = DEFAULT_TIMEOUT if default_timeout else None
    else:
        resolved_timeout = _resolve_timeout(timeout)
    headers = {"accept": "audio/*, application/json"}
    if user_agent:
        headers["user-agent"] = USER_AGENT
    return Settings(
        base_url=_resolve_base_url(base_url, allow_insecure_http=allow_insecure_http),
        api_key=_resolve_api_key(api_key),
        headers=headers,
        timeout=resolved_timeout,
        policy=RetryPolicy(max_retries=_resolve_max_retries(max_retries)),
        clock=clock or time.time,
    )

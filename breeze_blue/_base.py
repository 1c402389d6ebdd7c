"""What the sync and async clients share: options, copies, the connection pool's ownership."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

import httpx

from ._options import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, make_settings
from ._policy import Settings

__all__ = ["UNSET", "BaseClient"]

UNSET: Any = object()

HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
SleepT = TypeVar("SleepT")


class BaseClient(Generic[HttpT, SleepT]):
    """Options and pool handling common to ``BreezeBlue`` and ``AsyncBreezeBlue``."""

    _http_class: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]
    _default_sleep: ClassVar[Callable[..., Any]]

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        http_client: HttpT | None = None,
        allow_insecure_http: bool = False,
        sleep: SleepT | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, self._http_class):
            raise TypeError(
                f"http_client must be an {self._http_class.__module__.split('.')[0]}."
                f"{self._http_class.__name__}, not {type(http_client).__name__}"
            )
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValueError(f"max_connections must be a whole number, not {max_connections!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        # Everything but the key, which lives only in the settings (kept out of reprs).
        self._options: dict[str, Any] = {
            "base_url": base_url,
            # A caller's own client keeps its own timeouts.
            "timeout": timeout if http_client is None else None,
            "max_retries": max_retries,
            "allow_insecure_http": allow_insecure_http,
            "clock": clock,
            "user_agent": http_client is None
            or http_client.headers.get("user-agent", "").startswith("python-httpx/"),
        }
        self._settings: Settings = make_settings(api_key=api_key, **self._options)
        self._sleep: SleepT = (
            sleep if sleep is not None else cast(SleepT, type(self)._default_sleep)
        )
        # A DefaultAioHttpClient is made for the SDK client it is given to: closed with it.
        aiohttp = sys.modules.get("breeze_blue._aiohttp")
        self._owns_http = http_client is None or (
            aiohttp is not None and isinstance(http_client, aiohttp.DefaultAioHttpClient)
        )
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http: HttpT = http_client if http_client is not None else self._new_http(limits)
        self._bind()

    def _new_http(self, limits: httpx.Limits) -> HttpT:
        """The HTTP client the SDK creates when the caller brings none."""
        return self._http_class(limits=limits)  # type: ignore[return-value]

    def _bind(self) -> None:
        """Attach the resources (``history``) to this client."""
        raise NotImplementedError

    @property
    def base_url(self) -> httpx.URL:
        """The API's address requests are sent to."""
        return self._settings.base_url

    @property
    def max_retries(self) -> int:
        """How often a failed request is tried again."""
        return self._settings.policy.max_retries

    def with_options(
        self,
        *,
        api_key: str = UNSET,
        base_url: str | httpx.URL = UNSET,
        timeout: float | httpx.Timeout = UNSET,
        max_retries: int = UNSET,
        allow_insecure_http: bool = UNSET,
    ) -> Self:
        """A copy with some options changed, sharing this client's connection pool.

        Closing the copy leaves the pool open; close the original when done.

        Example:
            >>> patient = client.with_options(max_retries=5, timeout=300)
        """
        changes = {
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "allow_insecure_http": allow_insecure_http,
        }
        copy = object.__new__(type(self))
        copy._options = self._options | {k: v for k, v in changes.items() if v is not UNSET}
        # The key as resolved (from the environment, maybe), unless a new one is given.
        key = self._settings.api_key if api_key is UNSET else api_key
        copy._settings = make_settings(api_key=key, **copy._options)
        copy._sleep = self._sleep
        copy._owns_http = False
        copy._http = self._http
        copy._bind()
        return copy

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={str(self.base_url)!r}, "
            f"max_retries={self.max_retries})"
        )

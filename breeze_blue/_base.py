"""What the sync and async clients share: options, copies, the connection pool's ownership."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

import httpx

from ._core.flow import Settings
from ._core.options import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RETRIES, make_settings

__all__ = ["UNSET", "BaseClient"]


class _Unset:
    """The default of an option ``with_options()`` leaves as it is."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

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
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_connections: int | None = None,
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
        if max_connections is not None and http_client is not None:
            raise ValueError(
                "max_connections sizes the SDK's own pool, and an http_client brings its own: "
                "give it limits=httpx.Limits(max_connections=...) instead"
            )
        if max_connections is None:
            max_connections = DEFAULT_MAX_CONNECTIONS
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValueError(f"max_connections must be a whole number, not {max_connections!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self._settings: Settings = make_settings(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            # The SDK's default timeout on its own pool; a caller's client keeps its own.
            default_timeout=http_client is None,
            max_retries=max_retries,
            allow_insecure_http=allow_insecure_http,
            clock=clock,
            user_agent=http_client is None
            or http_client.headers.get("user-agent", "").startswith("python-httpx/"),
        )
        self._allow_insecure_http = allow_insecure_http
        self._clock = clock
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
        self._http: HttpT = (
            http_client if http_client is not None else cast(HttpT, self._http_class(limits=limits))
        )
        self._bind()

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

        An argument left out keeps this client's value: ``UNSET``, the default in the
        signature, stands for "not given". Closing the copy leaves the pool open; close the
        original when done.

        Examples:
            >>> patient = client.with_options(max_retries=5, timeout=300)
        """
        settings = self._settings

        def pick(given: Any, current: Any) -> Any:
            return current if given is UNSET else given

        # Built through __init__, so a copy is checked exactly as a new client is; the key
        # as resolved (from the environment, maybe) unless a new one is given.
        copy = type(self)(
            pick(api_key, settings.api_key),
            base_url=pick(base_url, settings.base_url),
            timeout=pick(timeout, settings.timeout),
            max_retries=pick(max_retries, settings.policy.max_retries),
            http_client=self._http,
            allow_insecure_http=pick(allow_insecure_http, self._allow_insecure_http),
            sleep=self._sleep,
            clock=self._clock,
        )
        copy._owns_http = False  # the pool stays this client's to close
        return copy

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={str(self.base_url)!r}, "
            f"max_retries={self.max_retries})"
        )

"""``BreezeBlue``, the synchronous client, and its ``history`` resource."""

from __future__ import annotations

import os
from types import TracebackType

import httpx

from ._audio import Audio, transport_error
from ._download import API_KEY_HEADER, MAX_ERROR_BODY, build_request, parse_error
from ._errors import BreezeBlueError
from ._version import __version__

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "BreezeBlue", "History"]

DEFAULT_BASE_URL = "https://api.breeze.blue"
# A whole minute to start a large download, but a dead server is noticed in ten seconds.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
USER_AGENT = f"breeze-blue-python/{__version__}"


def _resolve_api_key(api_key: str | None) -> str:
    if api_key is None:
        api_key = os.environ.get("BREEZE_API_KEY")
    if not api_key:
        raise BreezeBlueError(
            "No API key: pass BreezeBlue(api_key=...) or set the BREEZE_API_KEY "
            "environment variable."
        )
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
    # Never echo the key itself: the message may end up in a log.
    if not api_key.isascii() or not api_key.isprintable() or any(c.isspace() for c in api_key):
        raise ValueError(
            "api_key contains whitespace, control or non-ASCII characters; "
            "check for a stray newline or quote where it was copied from"
        )
    return api_key


def _resolve_base_url(base_url: str | httpx.URL | None) -> httpx.URL:
    if base_url is None:
        base_url = os.environ.get("BREEZE_BASE_URL") or DEFAULT_BASE_URL
    try:
        url = httpx.URL(str(base_url))
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"base_url {str(base_url)!r} is not a valid URL") from exc
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(
            f"base_url must be an http:// or https:// URL with a host, not {str(base_url)!r}"
        )
    if url.query or url.fragment:
        raise ValueError(f"base_url must not have a query or fragment: {str(base_url)!r}")
    return url


def _resolve_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return httpx.Timeout(float(timeout), connect=min(float(timeout), 10.0))


class History:
    """Operations on history items: ``client.history``."""

    def __init__(self, client: BreezeBlue) -> None:
        self._client = client

    def download_audio(self, history_item_id: str) -> Audio:
        """Download the audio of a completed history item.

        The request is sent now and its status checked before this returns; only the body
        is left to stream, through the returned :class:`Audio`.

        Args:
            history_item_id: History item identifier returned by generation responses or
                ``GET /v1/history``. Any string is sent as exactly one path segment.

        Raises:
            TypeError, ValueError: the id is not a non-empty ``str`` (no request is sent).
            NotFoundError: the audio does not exist or is no longer available.
            GenerationNotReadyError: the item is still running; see ``retry_after``.
            GenerationFailedError: the generation failed and will never be ready.
            AuthenticationError, PermissionDeniedError, RateLimitError, InternalServerError,
            APIError: the other errors of the API.
            APIConnectionError, APITimeoutError: the request could not be completed.

        Example:
            >>> audio = client.history.download_audio("hist_01haudio")
            >>> save(audio, Path("history.mp3"))
        """
        client = self._client
        request = build_request(
            client._http,
            base_url=client.base_url,
            history_item_id=history_item_id,
            headers=client._headers,
            timeout=client._timeout,
        )
        try:
            response = client._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc
        if response.status_code == 200:
            return Audio(response, history_item_id=history_item_id)
        try:
            body = _read_capped(response)
        except httpx.TransportError:
            body = b""
        finally:
            response.close()
        raise parse_error(response, body)


def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= MAX_ERROR_BODY:
            break
    return bytes(body[:MAX_ERROR_BODY])


class BreezeBlue:
    """The Breeze Blue API client.

    Args:
        api_key: Your Breeze Developer API key; ``None`` reads ``BREEZE_API_KEY``.
        base_url: The API's address; ``None`` reads ``BREEZE_BASE_URL``, else
            ``https://api.breeze.blue``.
        timeout: Seconds to wait for the server (a number, or an ``httpx.Timeout``).
            Ignored when you pass ``http_client``, whose own settings are kept.
        http_client: Your own ``httpx.Client`` (proxies, custom transports). The SDK never
            changes its settings and never closes it.

    Raises:
        BreezeBlueError: no API key was given or found in the environment.
        ValueError: the key, URL or timeout is malformed.

    Example:
        >>> from breeze_blue import BreezeBlue, save
        >>> with BreezeBlue() as client:  # reads BREEZE_API_KEY
        ...     save(client.history.download_audio("hist_01haudio"), "history.mp3")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.Client | None = None,
    ) -> None:
        key = _resolve_api_key(api_key)
        self.base_url: httpx.URL = _resolve_base_url(base_url)
        """The API's address requests are sent to."""
        self._headers = {API_KEY_HEADER: key, "accept": "audio/*, application/json"}
        if http_client is None:
            self._timeout: httpx.Timeout | None = _resolve_timeout(timeout)
            self._http = httpx.Client(headers={"user-agent": USER_AGENT})
            self._owns_http = True
        else:
            if not isinstance(http_client, httpx.Client):
                raise TypeError(
                    f"http_client must be an httpx.Client, not {type(http_client).__name__}"
                )
            self._timeout = None
            self._http = http_client
            self._owns_http = False
            if http_client.headers.get("user-agent", "").startswith("python-httpx/"):
                self._headers["user-agent"] = USER_AGENT
        self.history = History(self)
        """History items: ``client.history.download_audio(...)``."""

    def close(self) -> None:
        """Close the connection pool (only if the client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> BreezeBlue:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BreezeBlue(base_url={str(self.base_url)!r})"

"""``Audio``: a successful download whose body has not been read yet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from ._errors import BreezeBlueError, IncompleteDownloadError, connection_error
from ._parsing import parse_content_disposition

__all__ = [
    "AsyncAudio",
    "AsyncReopen",
    "Audio",
    "Reopen",
    "astream_body",
    "content_length",
    "expected_length",
    "stream_body",
]

Reopen = Callable[[Mapping[str, str], int], httpx.Response]
"""Ask again for the same audio, with extra headers (``Range``), as retry number N."""
AsyncReopen = Callable[[Mapping[str, str], int], Awaitable[httpx.Response]]


def content_length(headers: httpx.Headers) -> int | None:
    """``content-length`` as an int, or ``None`` when absent or malformed."""
    value = headers.get("content-length", "")
    ok = value.isascii() and value.isdigit() and len(value) <= 20
    return int(value) if ok else None


def expected_length(response: httpx.Response) -> int | None:
    """How many body bytes must arrive for the body to be complete, when that is known."""
    # With a content-encoding, content-length counts encoded bytes, not what we are given.
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        return None
    return content_length(response.headers)


def _raw_ok(response: httpx.Response) -> bool:
    # Without a content-encoding the raw bytes are the audio: iter_raw skips httpx's decoder
    # and re-chunking, a measurable share of a loopback download's CPU time. (A response
    # already read in full, as mock transports give, only offers iter_bytes.)
    identity = response.headers.get("content-encoding", "identity").lower() == "identity"
    return identity and not response.is_stream_consumed


def _broken(exc: Exception, received: int, expected: int | None) -> BreezeBlueError:
    """The SDK's error for a body that could not be read to its end."""
    if isinstance(exc, httpx.StreamClosed):
        return BreezeBlueError("this Audio was closed before it was read")
    if expected is not None and received < expected:
        return IncompleteDownloadError(received, expected)
    assert isinstance(exc, httpx.RequestError)
    return connection_error(exc)


def _check_complete(received: int, expected: int | None) -> None:
    if expected is not None and received != expected:
        raise IncompleteDownloadError(received, expected)


def stream_body(response: httpx.Response, chunk_size: int | None = None) -> Iterator[bytes]:
    """The body of ``response`` as it arrives, as typed errors if it breaks off; then closes it."""
    expected = expected_length(response)
    chunks = response.iter_raw(chunk_size) if _raw_ok(response) else response.iter_bytes(chunk_size)
    received = 0
    try:
        for chunk in chunks:
            received += len(chunk)
            yield chunk
    except (httpx.StreamClosed, httpx.RequestError) as exc:  # RequestError: also undecodable
        raise _broken(exc, received, expected) from exc
    finally:
        response.close()
    _check_complete(received, expected)


async def astream_body(
    response: httpx.Response, chunk_size: int | None = None
) -> AsyncIterator[bytes]:
    """:func:`stream_body` for an async response."""
    expected = expected_length(response)
    raw = _raw_ok(response)
    chunks = response.aiter_raw(chunk_size) if raw else response.aiter_bytes(chunk_size)
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            yield chunk
    except (httpx.StreamClosed, httpx.RequestError) as exc:
        raise _broken(exc, received, expected) from exc
    finally:
        await response.aclose()
    _check_complete(received, expected)


class _AudioBase:
    """Metadata of a downloaded history item's audio, shared by the sync and async kinds."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        history_item_id: str,
        reopen: Any = None,
        max_retries: int = 0,
    ) -> None:
        self._response = response
        # Metadata stays that of the first answer, even after save() resumed with a 206.
        self._headers = response.headers
        self._history_item_id = history_item_id
        self._reopen = reopen
        self._max_retries = max_retries
        self._started = False

    @property
    def history_item_id(self) -> str:
        """The id this audio was downloaded for."""
        return self._history_item_id

    @property
    def headers(self) -> httpx.Headers:
        """All response headers."""
        return self._headers

    @property
    def content_type(self) -> str | None:
        """The media type, for example ``"audio/mpeg"`` (parameters dropped), or ``None``."""
        value = self._headers.get("content-type")
        if not value:
            return None
        return value.split(";", 1)[0].strip().lower() or None

    @property
    def filename(self) -> str | None:
        """The server's suggested filename from ``content-disposition``, made safe, or ``None``."""
        return parse_content_disposition(self._headers.get("content-disposition"))

    @property
    def api_key_id(self) -> str | None:
        """The public id of the API key that authenticated the request (never the key)."""
        value: str | None = self._headers.get("x-breeze-api-key-id")
        return value

    @property
    def content_length(self) -> int | None:
        """The body's size in bytes when the server said it, else ``None``."""
        return content_length(self._headers)

    @property
    def closed(self) -> bool:
        """Whether the connection has been released."""
        return self._response.is_closed

    def _take_response(self) -> httpx.Response:
        """For save(): the response to read, once."""
        self._claim()
        return self._response

    def _claim(self) -> None:
        if self._started:
            raise BreezeBlueError(
                "this audio has already been read; download it again to read it twice"
            )
        self._started = True

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(history_item_id={self._history_item_id!r}, "
            f"content_type={self.content_type!r}, content_length={self.content_length!r})"
        )


class Audio(_AudioBase):
    """The audio of a history item: metadata now, bytes as you read them.

    ``download_audio()`` returns it once the server has answered ``200``; the body then
    streams from the open connection. Read it once, with :meth:`iter_bytes`, :meth:`read`
    or :func:`breeze_blue.save`; the connection is released when the body is fully read,
    when :meth:`close` is called, or when a ``with`` block ends.

    Example:
        >>> with client.history.download_audio("hist_01haudio") as audio:
        ...     print(audio.content_type, audio.content_length)
        ...     for chunk in audio.iter_bytes():
        ...         sink.write(chunk)
    """

    _reopen: Reopen | None

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Yield the body as it arrives (or in ``chunk_size`` pieces).

        A connection that drops, or a body shorter than ``content-length``, raises
        :class:`~breeze_blue.APIConnectionError` (:class:`~breeze_blue.IncompleteDownloadError`
        when bytes are missing) rather than ending quietly: truncated audio is never mistaken
        for complete audio. :func:`~breeze_blue.save` goes further and resumes by itself.
        """
        self._claim()
        return stream_body(self._response, chunk_size)

    def read(self) -> bytes:
        """The whole body at once. Prefer :func:`breeze_blue.save` for large audio."""
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        """Release the connection without reading the rest of the body."""
        self._response.close()

    def _swap(self, response: httpx.Response) -> httpx.Response:
        """For save(): carry on with a fresh response (a resume), closing the old one."""
        self._response.close()
        self._response = response
        return response

    def __enter__(self) -> Audio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncAudio(_AudioBase):
    """The audio of a history item, from :class:`~breeze_blue.AsyncBreezeBlue`.

    The same metadata as :class:`Audio`; read the body once with :meth:`aiter_bytes`,
    :meth:`read` or :func:`breeze_blue.asave`.

    Example:
        >>> async with await client.history.download_audio("hist_01haudio") as audio:
        ...     async for chunk in audio.aiter_bytes():
        ...         sink.write(chunk)
    """

    _reopen: AsyncReopen | None

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Yield the body as it arrives; a broken body raises, as :meth:`Audio.iter_bytes`."""
        self._claim()
        return astream_body(self._response, chunk_size)

    async def read(self) -> bytes:
        """The whole body at once. Prefer :func:`breeze_blue.asave` for large audio."""
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        """Release the connection without reading the rest of the body."""
        await self._response.aclose()

    async def _swap(self, response: httpx.Response) -> httpx.Response:
        """For asave(): carry on with a fresh response (a resume), closing the old one."""
        await self._response.aclose()
        self._response = response
        return response

    async def __aenter__(self) -> AsyncAudio:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

"""``Audio``: a successful download whose body has not been read yet."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import TracebackType

import httpx

from ._errors import BreezeBlueError, IncompleteDownloadError, connection_error
from ._parsing import parse_content_disposition

__all__ = ["Audio", "Reopen", "content_length", "expected_length", "stream_body"]

Reopen = Callable[[Mapping[str, str], int], httpx.Response]
"""Ask again for the same audio, with extra headers (``Range``), as retry number N."""


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


def stream_body(response: httpx.Response, chunk_size: int | None = None) -> Iterator[bytes]:
    """The body of ``response`` as it arrives, as typed errors if it breaks off; then closes it."""
    expected = expected_length(response)
    # Without a content-encoding the raw bytes are the audio: iter_raw skips httpx's decoder
    # and re-chunking, a measurable share of a loopback download's CPU time.
    # (A response already read in full, as mock transports give, only has iter_bytes.)
    identity = response.headers.get("content-encoding", "identity").lower() == "identity"
    raw = identity and not response.is_stream_consumed
    chunks = response.iter_raw(chunk_size) if raw else response.iter_bytes(chunk_size)
    received = 0
    try:
        for chunk in chunks:
            received += len(chunk)
            yield chunk
    except httpx.StreamClosed as exc:
        raise BreezeBlueError("this Audio was closed before it was read") from exc
    except httpx.RequestError as exc:  # transport failures, and undecodable bodies
        if expected is not None and received < expected:
            raise IncompleteDownloadError(received, expected) from exc
        raise connection_error(exc) from exc
    finally:
        response.close()
    if expected is not None and received != expected:
        raise IncompleteDownloadError(received, expected)


class Audio:
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

    def __init__(
        self,
        response: httpx.Response,
        *,
        history_item_id: str,
        reopen: Reopen | None = None,
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

    def _take_response(self) -> httpx.Response:
        """For save(): the response to read, once."""
        self._claim()
        return self._response

    def _swap(self, response: httpx.Response) -> httpx.Response:
        """For save(): carry on with a fresh response (a resume), closing the old one."""
        self._response.close()
        self._response = response
        return response

    def _claim(self) -> None:
        if self._started:
            raise BreezeBlueError(
                "this Audio has already been read; download it again to read it twice"
            )
        self._started = True

    def __enter__(self) -> Audio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Audio(history_item_id={self._history_item_id!r}, content_type={self.content_type!r}, "
            f"content_length={self.content_length!r})"
        )

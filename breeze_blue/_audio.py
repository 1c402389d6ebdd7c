"""``Audio``: a successful download whose body has not been read yet."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

import httpx

from ._errors import APIConnectionError, APITimeoutError, BreezeBlueError
from ._parsing import parse_content_disposition

__all__ = ["Audio", "transport_error"]


def transport_error(exc: httpx.TransportError) -> APIConnectionError:
    """The SDK's error for a failure of the connection itself (raise it ``from exc``)."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out: {exc}")
    return APIConnectionError(f"Connection error: {type(exc).__name__}: {exc}")


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

    def __init__(self, response: httpx.Response, *, history_item_id: str) -> None:
        self._response = response
        self._history_item_id = history_item_id
        self._started = False

    @property
    def history_item_id(self) -> str:
        """The id this audio was downloaded for."""
        return self._history_item_id

    @property
    def headers(self) -> httpx.Headers:
        """All response headers."""
        return self._response.headers

    @property
    def content_type(self) -> str | None:
        """The media type, for example ``"audio/mpeg"`` (parameters dropped), or ``None``."""
        value = self._response.headers.get("content-type")
        if not value:
            return None
        return value.split(";", 1)[0].strip().lower() or None

    @property
    def filename(self) -> str | None:
        """The server's suggested filename from ``content-disposition``, made safe, or ``None``."""
        return parse_content_disposition(self._response.headers.get("content-disposition"))

    @property
    def api_key_id(self) -> str | None:
        """The public id of the API key that authenticated the request (never the key)."""
        value: str | None = self._response.headers.get("x-breeze-api-key-id")
        return value

    @property
    def content_length(self) -> int | None:
        """The body's size in bytes when the server said it, else ``None``."""
        value = self._response.headers.get("content-length", "")
        return int(value) if value.isascii() and value.isdigit() else None

    @property
    def closed(self) -> bool:
        """Whether the connection has been released."""
        return self._response.is_closed

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Yield the body as it arrives (or in ``chunk_size`` pieces).

        A connection that drops, or a body shorter than ``content-length``, raises
        :class:`~breeze_blue.APIConnectionError` rather than ending quietly, so truncated
        audio is never mistaken for complete audio.
        """
        if self._started:
            raise BreezeBlueError(
                "this Audio has already been read; download it again to read it twice"
            )
        self._started = True
        expected = (
            self.content_length if not self._response.headers.get("content-encoding") else None
        )
        received = 0
        try:
            for chunk in self._response.iter_bytes(chunk_size):
                received += len(chunk)
                yield chunk
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc
        finally:
            self._response.close()
        if expected is not None and received != expected:
            raise APIConnectionError(
                f"audio body ended after {received} of {expected} bytes; the download is incomplete"
            )

    def read(self) -> bytes:
        """The whole body at once. Prefer :func:`breeze_blue.save` for large audio."""
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        """Release the connection without reading the rest of the body."""
        self._response.close()

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

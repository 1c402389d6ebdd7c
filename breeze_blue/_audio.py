"""``Audio`` and ``AsyncAudio``: a successful download whose body has not been read yet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType

import httpx

from ._core.parsing import content_length, parse_content_disposition
from ._stream import Body, astream_body, stream_body

__all__ = ["AsyncAudio", "Audio", "body_of"]


def body_of(audio: Audio | AsyncAudio) -> Body:
    """The body behind ``audio``, for ``save()``/``asave()`` to read and pick up again."""
    return audio._body


class _AudioBase:
    """Metadata of a downloaded history item's audio, shared by the sync and async kinds."""

    def __init__(self, body: Body) -> None:
        self._body = body

    @property
    def history_item_id(self) -> str:
        """The id this audio was downloaded for."""
        return self._body.history_item_id

    @property
    def headers(self) -> httpx.Headers:
        """All response headers: of the first answer or, if ``save()`` (``asave()`` for
        an ``AsyncAudio``) had to start the download over, of the answer it started over
        with (a resume's ``206`` leaves them as they were)."""
        return self._body.headers

    @property
    def content_type(self) -> str | None:
        """The media type, for example ``"audio/mpeg"`` (parameters dropped), or ``None``."""
        value = self.headers.get("content-type")
        if not value:
            return None
        return value.split(";", 1)[0].strip().lower() or None

    @property
    def filename(self) -> str | None:
        """The server's suggested filename from ``content-disposition``, made safe, or ``None``."""
        return parse_content_disposition(self.headers.get("content-disposition"))

    @property
    def api_key_id(self) -> str | None:
        """The public id of the API key that authenticated the request (never the key)."""
        value: str | None = self.headers.get("x-breeze-api-key-id")
        return value

    @property
    def content_length(self) -> int | None:
        """The body's size in bytes when the server said it, else ``None``."""
        return content_length(self.headers)

    @property
    def closed(self) -> bool:
        """Whether the connection has been released."""
        return self._body.response.is_closed

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(history_item_id={self.history_item_id!r}, "
            f"content_type={self.content_type!r}, content_length={self.content_length!r})"
        )


class Audio(_AudioBase):
    """The audio of a history item: metadata now, bytes as you read them.

    You do not make one:
    [`client.history.download_audio()`][breeze_blue.History.download_audio] returns it
    once the server has answered ``200``; the body then streams from the open connection.
    Read it once, with ``iter_bytes()``, ``read()`` or [`save`][breeze_blue.save]; the
    connection is released when the body is fully read, when ``close()`` is called, or
    when a ``with`` block ends.

    Examples:
        >>> import hashlib
        >>> digest = hashlib.sha256()  # anything that takes the bytes as they arrive
        >>> with client.history.download_audio("hist_01haudio") as audio:
        ...     print(audio.content_type, audio.content_length)
        ...     for chunk in audio.iter_bytes():
        ...         digest.update(chunk)
        audio/wav 70604
    """

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Yield the body as it arrives (or in ``chunk_size`` pieces).

        A connection that drops, or a body shorter than ``content-length``, raises
        [`APIConnectionError`][breeze_blue.APIConnectionError]
        ([`IncompleteDownloadError`][breeze_blue.IncompleteDownloadError] when bytes are
        missing) rather than ending quietly: truncated audio is never mistaken for complete
        audio. [`save`][breeze_blue.save] goes further and resumes by itself.
        """
        return stream_body(self._body.claim(), chunk_size)

    def read(self) -> bytes:
        """The whole body at once. Prefer [`save`][breeze_blue.save] for large audio."""
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        """Release the connection without reading the rest of the body."""
        self._body.response.close()

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
    """The audio of a history item, from [`AsyncBreezeBlue`][breeze_blue.AsyncBreezeBlue].

    You do not make one:
    [`await client.history.download_audio()`][breeze_blue.AsyncHistory.download_audio]
    returns it. The same metadata as [`Audio`][breeze_blue.Audio]; read the body once with
    ``aiter_bytes()``, ``read()`` or [`asave`][breeze_blue.asave], or release the
    connection with ``aclose()`` or an ``async with`` block.

    Examples:
        >>> import hashlib
        >>> digest = hashlib.sha256()  # anything that takes the bytes as they arrive
        >>> async with await client.history.download_audio("hist_01haudio") as audio:
        ...     async for chunk in audio.aiter_bytes():
        ...         digest.update(chunk)
    """

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Yield the body as it arrives; a broken body raises, as ``Audio.iter_bytes()`` does."""
        return astream_body(self._body.claim(), chunk_size)

    async def read(self) -> bytes:
        """The whole body at once. Prefer [`asave`][breeze_blue.asave] for large audio."""
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        """Release the connection without reading the rest of the body."""
        await self._body.response.aclose()

    async def __aenter__(self) -> AsyncAudio:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

"""Reading an audio body: typed errors when it breaks, and picking it up again.

``Body`` is what an ``Audio`` holds: the open response and the way to ask for the same
audio again. ``Audio.iter_bytes()`` reads it once with ``stream_body()``; ``save()`` reads
it with ``recovering_chunks()``, which follows the sans-I/O ``Recovery`` to resume or
restart a broken download. The ``a``-prefixed twins are the same for asyncio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx

from ._core.parsing import expected_length
from ._core.request import hide_key, redact
from ._core.resume import Recovery
from ._errors import (
    APIConnectionError,
    BreezeBlueError,
    IncompleteDownloadError,
    connection_error,
    foreign_transport_error,
)

__all__ = [
    "RESTART",
    "AsyncReopen",
    "Body",
    "Piece",
    "Reopen",
    "arecovering_chunks",
    "astream_body",
    "recovering_chunks",
    "stream_body",
]

Reopen = Callable[[Mapping[str, str], int], httpx.Response]
"""Ask again for the same audio, with extra headers (``Range``), as retry number N."""
AsyncReopen = Callable[[Mapping[str, str], int], Awaitable[httpx.Response]]

RESTART = None
"""Yielded by ``recovering_chunks()`` when what was written so far must be thrown away."""
Piece = bytes | bytearray | memoryview | None
"""What a writer is given: a chunk to write, or ``RESTART``."""


class Body:
    """The not-yet-read body of a download, and how to ask for the same audio again.

    ``headers`` are those of the answer being read: the first one, even after a resume was
    answered ``206``, or the one a restart began the audio again with.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        history_item_id: str,
        reopen: Reopen | AsyncReopen | None = None,
        max_retries: int = 0,
    ) -> None:
        self.response = response
        self.headers = response.headers
        self.history_item_id = history_item_id
        self.reopen: Callable[..., Any] | None = reopen
        self.max_retries = max_retries
        self._claimed = False

    def claim(self) -> httpx.Response:
        """The response to read, once; a second reader gets a clear error."""
        if self._claimed:
            raise BreezeBlueError(
                "this audio has already been read; download it again to read it twice"
            )
        self._claimed = True
        return self.response

    def recovery(self, *, restartable: bool) -> Recovery:
        """The retry-by-retry decisions for saving this body."""
        retries = self.max_retries if self.reopen is not None else 0
        return Recovery(
            self.headers,
            max_retries=retries,
            restartable=restartable,
            history_item_id=self.history_item_id,
        )


def _response(answer: object) -> httpx.Response:
    assert isinstance(answer, httpx.Response)
    return answer


def _raw_ok(response: httpx.Response) -> bool:
    # Without a content-encoding the raw bytes are the audio: iter_raw skips httpx's decoder
    # and re-chunking. (A response already read in full, as mock transports give, only
    # offers iter_bytes.)
    identity = response.headers.get("content-encoding", "identity").lower() == "identity"
    return identity and not response.is_stream_consumed


def _broken(
    exc: Exception, response: httpx.Response, received: int, expected: int | None
) -> BreezeBlueError:
    """The SDK's error for a body that could not be read to its end, the key kept off it."""
    if isinstance(exc, httpx.StreamClosed):
        return BreezeBlueError("this Audio was closed before it was read")
    request = redact(response.request)
    error: BreezeBlueError
    if expected is not None and received < expected:
        error = IncompleteDownloadError(received, expected, request=request)
    else:
        assert isinstance(exc, httpx.RequestError)
        error = connection_error(exc, request)
    hide_key(exc)
    return error


def _check_complete(response: httpx.Response, received: int, expected: int | None) -> None:
    if expected is not None and received != expected:
        raise IncompleteDownloadError(received, expected, request=redact(response.request))


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
        raise _broken(exc, response, received, expected) from exc
    finally:
        response.close()
    _check_complete(response, received, expected)


async def astream_body(
    response: httpx.Response, chunk_size: int | None = None
) -> AsyncIterator[bytes]:
    """``stream_body()`` for an async response."""
    expected = expected_length(response)
    raw = _raw_ok(response)
    chunks = response.aiter_raw(chunk_size) if raw else response.aiter_bytes(chunk_size)
    received = 0
    foreign: httpx.TransportError | None = None
    try:
        async for chunk in chunks:
            received += len(chunk)
            yield chunk
    except (httpx.StreamClosed, httpx.RequestError) as exc:
        raise _broken(exc, response, received, expected) from exc
    except Exception as exc:
        foreign = foreign_transport_error(exc)
        if foreign is None:
            raise
    finally:
        await response.aclose()
    if foreign is not None:  # raised out here, so aiohttp's error is not its __context__
        raise _broken(foreign, response, received, expected) from foreign
    _check_complete(response, received, expected)


def recovering_chunks(body: Body, *, restartable: bool) -> Iterator[bytes | None]:
    """The whole audio's chunks, asking again when the body breaks off (up to max_retries).

    Yields ``RESTART`` when the answer starts the audio over: the caller throws away
    what it wrote. Raises the last error once retries are spent.
    """
    response = body.claim()
    recovery = body.recovery(restartable=restartable)
    written = 0
    while True:
        try:
            for chunk in stream_body(response):
                written += len(chunk)
                yield chunk
            return
        except APIConnectionError as exc:  # IncompleteDownloadError too
            broken: Exception = exc
        asked = recovery.ask(written, broken)
        while True:
            assert body.reopen is not None  # else recovery.ask() raised
            response = body.response = _response(body.reopen(asked, recovery.retries - 1))
            step = recovery.judge(asked, response, written, broken)
            if step != "ask again":
                break
            response.close()
            asked = recovery.ask(0, broken)
        if step == "restart":
            body.headers = response.headers  # the audio now saved is this answer's
            if written:
                written = 0
                yield RESTART


async def arecovering_chunks(body: Body, *, restartable: bool) -> AsyncIterator[bytes | None]:
    """``recovering_chunks()`` for asyncio."""
    response = body.claim()
    recovery = body.recovery(restartable=restartable)
    written = 0
    while True:
        try:
            async for chunk in astream_body(response):
                written += len(chunk)
                yield chunk
            return
        except APIConnectionError as exc:
            broken: Exception = exc
        asked = recovery.ask(written, broken)
        while True:
            assert body.reopen is not None  # else recovery.ask() raised
            response = body.response = _response(await body.reopen(asked, recovery.retries - 1))
            step = recovery.judge(asked, response, written, broken)
            if step != "ask again":
                break
            await response.aclose()
            asked = recovery.ask(0, broken)
        if step == "restart":
            body.headers = response.headers
            if written:
                written = 0
                yield RESTART

"""``asave()``: :func:`breeze_blue.save` for asyncio, its writes kept off the event loop.

Separate from ``_save`` so that ``import breeze_blue`` does not pay for asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import BinaryIO, cast, overload

from ._audio import AsyncAudio, astream_body
from ._errors import APIConnectionError
from ._resume import pick_up, resume_headers
from ._save import (
    Progress,
    _checked,
    _chunks,
    _create_temp,
    _destination,
    _fsync_directory,
    _is_writable_file,
    _keep_mode,
)
from ._sink import FileSink, ObjectSink, Sink

__all__ = ["asave"]

AsyncAudioSource = (
    AsyncAudio | bytes | bytearray | memoryview | Iterable[bytes] | AsyncIterable[bytes]
)

# Writes leave the event loop in batches of about this size: one thread hop per chunk would
# cost more than the write itself, while a batch keeps the loop free for other downloads.
_BATCH = 1024 * 1024


@overload
async def asave(
    audio: AsyncAudioSource, path: str | os.PathLike[str], *, progress: Progress | None = None
) -> Path: ...
@overload
async def asave(
    audio: AsyncAudioSource, path: BinaryIO, *, progress: Progress | None = None
) -> None: ...


async def asave(
    audio: AsyncAudioSource,
    path: str | os.PathLike[str] | BinaryIO,
    *,
    progress: Progress | None = None,
) -> Path | None:
    """:func:`save` for asyncio, with the same guarantees; file writes run off the event loop.

    Example:
        >>> audio = await client.history.download_audio("hist_01haudio")
        >>> await asave(audio, Path("history.mp3"))
        PosixPath('history.mp3')
    """
    try:
        if _is_writable_file(path):
            sink: Sink = ObjectSink(cast(BinaryIO, path))
            await _afill(audio, sink, progress)
            await asyncio.to_thread(sink.finish)
            return None
        destination = await asyncio.to_thread(
            _destination, audio, cast("str | os.PathLike[str]", path)
        )
        fd, temp = await asyncio.to_thread(_create_temp, destination)
        try:
            file_sink = FileSink(fd)
            try:
                await asyncio.to_thread(_keep_mode, fd, destination)
                await _afill(audio, file_sink, progress)
                await asyncio.to_thread(file_sink.finish)
            finally:
                # Waits at most for one fdatasync in flight: the descriptor must outlive it.
                file_sink.close()
                os.close(fd)
            await asyncio.to_thread(os.replace, temp, destination)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        await asyncio.to_thread(_fsync_directory, destination.parent)
    finally:
        if isinstance(audio, AsyncAudio):
            await audio.aclose()
    return destination


class _OffLoopWriter:
    """Gathers chunks and writes each batch in a worker thread while the next one arrives."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._batch: list[bytes] = []
        self._size = 0
        self._pending: asyncio.Future[None] | None = None
        self._total = 0

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        # A mutable buffer is copied: the caller may refill it while the thread writes.
        self._batch.append(chunk if isinstance(chunk, bytes) else bytes(chunk))
        self._size += len(chunk)
        self._total += len(chunk)
        if self._size >= _BATCH:
            await self._hand_over()

    def report(self, progress: Progress | None) -> None:
        if progress:
            progress(self._total)

    async def drain(self) -> None:
        await self._hand_over()
        await self._wait()

    async def _hand_over(self) -> None:
        await self._wait()
        if self._batch:
            batch, self._batch, self._size = self._batch, [], 0
            self._pending = asyncio.ensure_future(asyncio.to_thread(self._write_all, batch))

    async def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    def _write_all(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self._sink.write(chunk)


async def _afill(audio: AsyncAudioSource, sink: Sink, progress: Progress | None) -> None:
    writer = _OffLoopWriter(sink)
    if isinstance(audio, AsyncAudio):
        await _adownload_into(audio, sink, writer, progress)
        return
    if isinstance(audio, bytes | bytearray | memoryview | str) or not hasattr(audio, "__aiter__"):
        for chunk in _chunks(cast("bytes | Iterable[bytes]", audio)):
            await writer.write(_checked(chunk))
            writer.report(progress)
    else:
        async for chunk in cast(AsyncIterable[bytes], audio):
            await writer.write(_checked(chunk))
            writer.report(progress)
    await writer.drain()


async def _adownload_into(
    audio: AsyncAudio, sink: Sink, writer: _OffLoopWriter, progress: Progress | None
) -> None:
    """:func:`_download_into` with awaits."""
    response = audio._take_response()
    written = 0
    retry = 0
    while True:
        try:
            async for chunk in astream_body(response):
                await writer.write(chunk)
                written += len(chunk)
                if progress:
                    progress(written)
            await writer.drain()
            return
        except APIConnectionError as broken:
            await writer.drain()
            if audio._reopen is None or retry >= audio._max_retries:
                raise
            error = broken
        ranged = resume_headers(audio.headers, written)
        response = await audio._swap(await audio._reopen(ranged, retry))
        retry += 1
        step = pick_up(
            audio.headers,
            ranged,
            response,
            written,
            restartable=sink.restartable,
            history_item_id=audio.history_item_id,
        )
        if step == "resume":
            continue
        if step is None:
            await response.aclose()
            raise error
        await asyncio.to_thread(sink.restart)
        written = 0
        if progress:
            progress(0)

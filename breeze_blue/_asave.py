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
from ._sink import BatchWriter, FileSink, GiveBack, ObjectSink, Sink

__all__ = ["asave"]

AsyncAudioSource = (
    AsyncAudio | bytes | bytearray | memoryview | Iterable[bytes] | AsyncIterable[bytes]
)


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
    """A :class:`BatchWriter` awaited from the event loop, counting what it was given."""

    def __init__(self, sink: Sink) -> None:
        self._writer = BatchWriter(sink)
        self._total = 0

    async def write(
        self, chunk: bytes | bytearray | memoryview, give_back: GiveBack | None = None
    ) -> None:
        self._total += len(chunk)
        if not self._writer.add(chunk, give_back):
            return
        if (oldest := self._writer.hand_over()) is not None:
            await asyncio.wrap_future(oldest)

    def report(self, progress: Progress | None) -> None:
        if progress:
            progress(self._total)

    async def drain(self) -> None:
        """Return once everything given so far is written; raise the first write error."""
        for pending in self._writer.drain(small_here=False):  # the loop never writes
            await asyncio.wrap_future(pending)

    def close(self) -> None:
        """Stop the writer thread (see :meth:`BatchWriter.stop`)."""
        self._writer.stop()


async def _afill(audio: AsyncAudioSource, sink: Sink, progress: Progress | None) -> None:
    writer = _OffLoopWriter(sink)
    try:
        await _afill_with(audio, sink, writer, progress)
    finally:
        writer.close()


async def _afill_with(
    audio: AsyncAudioSource, sink: Sink, writer: _OffLoopWriter, progress: Progress | None
) -> None:
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

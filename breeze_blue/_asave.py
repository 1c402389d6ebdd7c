"""``asave()``: ``breeze_blue.save()`` for asyncio, its writes kept off the event loop.

Separate from ``_save`` so that ``import breeze_blue`` does not pay for asyncio.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TypeAlias, TypeVar, cast, overload

from ._async_client import require_asyncio
from ._audio import AsyncAudio, body_of
from ._files.atomic import AtomicFile
from ._files.sinks import BatchWriter, FileSink, ObjectSink
from ._save import Progress, Writable, checked_chunk, chunks_of, destination_for, is_file_object
from ._stream import RESTART, Piece, arecovering_chunks

__all__ = ["asave"]

T = TypeVar("T")

AsyncAudioSource: TypeAlias = (
    AsyncAudio | bytes | bytearray | memoryview | Iterable[bytes] | AsyncIterable[bytes]
)
"""What ``asave()`` writes: an [`AsyncAudio`][breeze_blue.AsyncAudio] from
``download_audio()``, bytes (``bytes``, ``bytearray``, ``memoryview``), or any iterable or
async iterable of ``bytes`` chunks."""


@overload
async def asave(
    audio: AsyncAudioSource, path: str | os.PathLike[str], *, progress: Progress | None = None
) -> Path: ...
@overload
async def asave(
    audio: AsyncAudioSource, path: Writable, *, progress: Progress | None = None
) -> None: ...


async def asave(
    audio: AsyncAudioSource,
    path: str | os.PathLike[str] | Writable,
    *,
    progress: Progress | None = None,
) -> Path | None:
    """[`save`][breeze_blue.save] for asyncio, with the same guarantees and errors; file
    writes run off the event loop.

    Args:
        audio: An [`AsyncAudio`][breeze_blue.AsyncAudio] from ``download_audio()`` (closed
            when done), bytes, or any iterable or async iterable of ``bytes`` chunks.
        path: As for [`save`][breeze_blue.save]: a file path, an existing directory, or
            any object with a binary ``write()`` (then ``None`` is returned).
        progress: As for [`save`][breeze_blue.save]: called with the number of bytes
            written so far, after every chunk.

    Raises:
        BreezeBlueError: the event loop is not asyncio (uvloop counts as asyncio), e.g.
            trio; raised before anything is read or written.

    Examples:
        >>> audio = await client.history.download_audio("hist_01haudio")
        >>> await asave(audio, Path("history.wav"))
        PosixPath('history.wav')
    """
    require_asyncio("asave()")
    try:
        if is_file_object(path):
            sink = ObjectSink(cast(Writable, path))
            await _afill(audio, sink, progress)
            await _in_thread(sink.finish)
            return None
        destination = await asyncio.to_thread(
            destination_for, audio, cast("str | os.PathLike[str]", path)
        )
        target = AtomicFile(destination)
        if isinstance(audio, AsyncAudio) and (audio.content_length or WHOLE + 1) <= WHOLE:
            await _save_whole(audio, target, progress)
            return destination
        try:
            file_sink = FileSink(await _in_thread(target.open))
            try:
                await _afill(audio, file_sink, progress)
                await _in_thread(file_sink.finish)
            finally:
                # Waits at most for one fdatasync in flight: the descriptor must outlive it.
                file_sink.close()
            await _in_thread(target.commit)
        except BaseException:
            target.discard()
            raise
    finally:
        if isinstance(audio, AsyncAudio):
            await audio.aclose()
    return destination


WHOLE = 1024 * 1024
"""Audio up to this size is read whole, then written and synced in one worker-thread hop.

A file written as it arrives costs a writer thread, its batches' hand-overs and a hop per
step (open, sync, rename); for the many small files of a bulk download those dominate.
"""


async def _save_whole(audio: AsyncAudio, target: AtomicFile, progress: Progress | None) -> None:
    body = bytearray()
    async for piece in arecovering_chunks(body_of(audio), restartable=True):
        if piece is RESTART:
            body.clear()
        else:
            body += piece
        if progress:
            progress(len(body))
    try:
        await _in_thread(lambda: _write_whole(target, body))
        await _in_thread(target.commit)
    except BaseException:
        target.discard()  # cancelled between the two: the temporary file must not stay
        raise


def _write_whole(target: AtomicFile, body: bytearray) -> None:
    """Create the temporary file, write ``body`` and make it durable (not yet renamed)."""
    try:
        sink = FileSink(target.open())
        try:
            sink.write_batch([bytes(body)])
            sink.finish()
        finally:
            sink.close()
    except BaseException:
        target.discard()
        raise


async def _pieces(audio: AsyncAudioSource, sink: FileSink | ObjectSink) -> AsyncIterator[Piece]:
    """What to write, in order; ``RESTART`` when the sink must start over."""
    if isinstance(audio, AsyncAudio):
        async for piece in arecovering_chunks(body_of(audio), restartable=sink.restartable):
            yield piece
    elif isinstance(audio, bytes | bytearray | memoryview | str) or not hasattr(audio, "__aiter__"):
        for chunk in chunks_of(cast("bytes | Iterable[bytes]", audio)):
            yield checked_chunk(chunk)
    else:
        async for chunk in cast(AsyncIterable[bytes], audio):
            yield checked_chunk(chunk)


async def _afill(
    audio: AsyncAudioSource, sink: FileSink | ObjectSink, progress: Progress | None
) -> None:
    # Writes go to a thread of the writer's own while the loop reads on; at most a few
    # batches wait, so memory stays flat however slow the disk.
    writer = BatchWriter(sink)
    written = 0
    try:
        async for piece in _pieces(audio, sink):
            if piece is RESTART:
                await _drain(writer)
                await _in_thread(sink.restart)
                written = 0
            else:
                written += len(piece)
                if writer.add(piece) and (oldest := writer.hand_over()) is not None:
                    await asyncio.wrap_future(oldest)
            if progress:
                progress(written)
        await _drain(writer)
    finally:
        writer.stop()


async def _in_thread(work: Callable[[], T]) -> T:
    """``work()`` in a worker thread; if cancelled meanwhile, still wait for it to end.

    The thread cannot be stopped, and the file it works on is closed (and its descriptor
    number handed out again) as soon as the cancellation reaches ``asave()``'s cleanup:
    a write or sync still running then could land in another file.
    """
    running = asyncio.get_running_loop().run_in_executor(None, work)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            result = await asyncio.shield(running)
        except asyncio.CancelledError as exc:
            if running.done():
                raise
            cancelled = exc  # go on waiting for the thread, then be cancelled
            continue
        except BaseException:
            if cancelled is not None:
                raise cancelled from None
            raise
        if cancelled is not None:
            raise cancelled
        return result


async def _drain(writer: BatchWriter) -> None:
    """Return once everything given so far is written; raise the first write error."""
    for pending in writer.drain(small_here=False):  # the event loop itself never writes
        await asyncio.wrap_future(pending)

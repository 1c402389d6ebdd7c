"""Where ``save()`` writes: a file descriptor written directly, or a caller's file object."""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

__all__ = ["FileSink", "ObjectSink", "Sink", "ThreadedSink"]

# Chunks from the network arrive in 64 KiB pieces and are written as they are (no copy);
# smaller ones (a caller's iterable of tiny chunks) are gathered to spare system calls.
_SMALL = 16 * 1024
_GATHER = 1024 * 1024
# Every this many bytes a helper thread makes what was written so far durable (fdatasync),
# so the disk works while the download goes on and the final fsync finds almost nothing
# left. Measured on this project's machines (benchmarks/results.md): asking the kernel to
# start writeback with posix_fadvise from the download thread still left ~0.6 s of a
# 512 MiB fsync at the end; syncing from a helper thread left ~0.02 s.
_SYNC_STEP = 8 * 1024 * 1024
# Writes handed to a writer thread (ThreadedSink, asave) go in batches of about this size:
# a long body's chunks of up to 1 MiB one by one, small chunks gathered. AHEAD batches at
# most wait while one is being written.
BATCH = 512 * 1024
AHEAD = 2


class FileSink:
    """Writes to a file descriptor we own, making it durable while the data arrives."""

    restartable = True

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = bytearray()
        self._written = 0  # bytes handed to the kernel
        self._signalled = 0  # _written when the flusher was last woken
        self._flusher: _Flusher | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write all of ``data`` (gathered first if it is small)."""
        if len(data) < _SMALL:
            self._pending += data
            if len(self._pending) >= _GATHER:
                self._flush_pending()
            return
        if self._pending:
            self._flush_pending()
        self._write_all(data)

    def restart(self) -> None:
        """Throw away everything written so far."""
        self._pending.clear()
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self._written = self._signalled = 0

    def finish(self) -> None:
        """Write what is gathered and make the whole file durable (fsync)."""
        self._flush_pending()
        flusher, self._flusher = self._flusher, None
        if flusher is not None and (error := flusher.stop()) is not None:
            raise error
        os.fsync(self._fd)

    def close(self) -> None:
        """Stop the flusher thread, if any, before the descriptor is closed."""
        if self._flusher is not None:
            flusher, self._flusher = self._flusher, None
            flusher.stop()

    def _flush_pending(self) -> None:
        if self._pending:
            self._write_all(self._pending)
            self._pending = bytearray()

    def _write_all(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            done = os.write(self._fd, view)
            view = view[done:]
        self._written += len(data)
        if self._written - self._signalled >= _SYNC_STEP:
            if self._flusher is None:  # only large files pay for a thread
                self._flusher = _Flusher(self._fd)
            self._flusher.wake()
            self._signalled = self._written


class _Flusher:
    """A thread that fdatasyncs a file whenever woken, until stopped."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._wanted = threading.Event()
        self._stopping = False
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="breeze-blue-flusher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wanted.set()

    def stop(self) -> OSError | None:
        """Stop after the fdatasync in flight, if any; return the error it met."""
        self._stopping = True
        self._wanted.set()
        self._thread.join()
        return self._error

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            try:
                os.fdatasync(self._fd)
            except OSError as exc:  # reported by stop(); the final fsync would meet it too
                self._error = exc
                return


class ThreadedSink:
    """A :class:`FileSink` written by a thread of its own, so that the next chunk is read
    from the network while this one is written.

    Reading and writing in one thread, each stall of the disk stopped the reading too: a
    512 MiB ``save()`` took 1.06 x curl-then-``sync``, and 0.86 x with the writes in a
    thread, as ``asave()`` does (one 9-round session of whole processes, interleaved). Up to
    ``AHEAD`` batches wait while one is written, so memory stays bounded. An error of a
    write is raised by a later ``write()`` or by ``finish()``.
    """

    restartable = True

    def __init__(self, sink: FileSink) -> None:
        self._sink = sink
        self._batch: list[bytes] = []
        self._size = 0
        self._pending: deque[Future[None]] = deque()
        self._thread: ThreadPoolExecutor | None = None  # made by the second batch

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` (copied if it is mutable); wait only while the queue is full."""
        self._batch.append(data if isinstance(data, bytes) else bytes(data))
        self._size += len(data)
        if self._size >= BATCH:
            self._hand_over()

    def restart(self) -> None:
        """Throw away everything written so far (after what is queued is written)."""
        self._drain()
        self._sink.restart()

    def finish(self) -> None:
        """Write what is queued, then make the file durable."""
        self._drain()
        self._sink.finish()

    def close(self) -> None:
        """Stop the thread before the descriptor is closed: one batch at most finishes."""
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None
        self._pending.clear()
        self._sink.close()

    def _hand_over(self) -> None:
        batch, self._batch, self._size = self._batch, [], 0
        if not batch:
            return
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="breeze-blue-writer")
        self._pending.append(self._thread.submit(self._write_all, batch))
        while len(self._pending) > AHEAD:
            self._pending.popleft().result()

    def _drain(self) -> None:
        if self._thread is None:  # a small file: no thread for it
            batch, self._batch, self._size = self._batch, [], 0
            self._write_all(batch)
            return
        self._hand_over()
        while self._pending:
            self._pending.popleft().result()

    def _write_all(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self._sink.write(chunk)


class ObjectSink:
    """Writes to a caller's binary file object, in place (not atomically)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        try:
            self._start: int | None = file.tell() if file.seekable() else None
        except (OSError, ValueError):
            self._start = None

    @property
    def restartable(self) -> bool:
        """Whether a broken download can start over: only in a seekable file."""
        return self._start is not None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` to the file object."""
        self._file.write(data)

    def restart(self) -> None:
        """Go back to where writing began and drop what followed."""
        assert self._start is not None
        self._file.seek(self._start)
        self._file.truncate()

    def close(self) -> None:
        """Nothing to stop: writes go straight to the file object."""

    def finish(self) -> None:
        """Flush the file object's buffer (durability is the caller's business)."""
        flush = getattr(self._file, "flush", None)
        if callable(flush):
            flush()


Sink = FileSink | ThreadedSink | ObjectSink

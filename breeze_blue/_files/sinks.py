"""Where ``save()`` writes: a file descriptor written directly, or a caller's file object."""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["BATCH", "BatchWriter", "FileSink", "ObjectSink", "ThreadedSink"]

# A helper thread makes what was written so far durable (fdatasync) while the download
# goes on, so the disk works alongside the network and the final fsync finds little left.
# The first sync comes early, so a file of a few MiB overlaps too; the step then doubles up
# to a ceiling, so a long file is not synced ever more often. A thread, because a hint to
# the kernel (posix_fadvise) from the download thread left most of the work to the end.
_FIRST_SYNC = 1024 * 1024
_SYNC_STEP = 8 * 1024 * 1024
# Writes handed to a writer thread (ThreadedSink, asave) go in batches of about this size.
# AHEAD batches at most wait while one is being written: enough that a short stall of the
# disk does not stop the reading, few enough that memory stays flat.
BATCH = 512 * 1024
AHEAD = 4
_IOV_MAX = 1024  # the fewest buffers one writev takes on the platforms that have it


class FileSink:
    """Writes to a file descriptor we own, making it durable while the data arrives."""

    restartable = True

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._written = 0  # bytes handed to the kernel
        self._signalled = 0  # _written when the flusher was last woken
        self._step = _FIRST_SYNC  # bytes between wake-ups, doubling up to _SYNC_STEP
        self._flusher: _Flusher | None = None

    def restart(self) -> None:
        """Throw away everything written so far."""
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self._written = self._signalled = 0
        self._step = _FIRST_SYNC

    def finish(self) -> None:
        """Make the whole file durable (fsync)."""
        flusher, self._flusher = self._flusher, None
        if flusher is not None and (error := flusher.stop()) is not None:
            raise error
        os.fsync(self._fd)

    def close(self) -> None:
        """Stop the flusher thread, if any, before the descriptor is closed."""
        if self._flusher is not None:
            flusher, self._flusher = self._flusher, None
            flusher.stop()

    def write_batch(self, chunks: list[bytes]) -> None:
        """Write ``chunks`` in order, in as few system calls as the platform allows.

        Chunks come from the network as they are (no copy), or a caller's small ones as a
        batch: one writev per batch, not a write per chunk, which would cost a system call
        for every 16 KiB that aiohttp hands over.
        """
        writev = getattr(os, "writev", None)
        if writev is None or len(chunks) > _IOV_MAX:
            # Windows, or many tiny chunks (a caller's iterable): one copy, one write.
            self._write_all(b"".join(chunks))
            return
        views = [memoryview(chunk) for chunk in chunks if chunk]
        first = 0
        while first < len(views):
            done = writev(self._fd, views[first : first + _IOV_MAX])
            while done:
                size = len(views[first])
                if done < size:
                    views[first] = views[first][done:]
                    break
                done -= size
                first += 1
        self._wrote(sum(map(len, chunks)))

    def _write_all(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            done = os.write(self._fd, view)
            view = view[done:]
        self._wrote(len(data))

    def _wrote(self, size: int) -> None:
        self._written += size
        if self._written - self._signalled >= self._step:
            if self._flusher is None:  # only files past the first step pay for a thread
                self._flusher = _Flusher(self._fd)
            self._flusher.wake()
            self._signalled = self._written
            self._step = min(2 * self._step, _SYNC_STEP)


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


class BatchWriter:
    """Batches of chunks written to a sink in order by a thread of its own, so that the
    next chunk is read from the network while one is written.

    Reading and writing in one thread, each stall of the disk would stop the reading too;
    and one thread of its own, rather than a task per batch, is never idle through a round
    trip. Up to ``AHEAD`` batches wait while one is written, so memory stays bounded. The
    caller waits on the futures this returns (blocking or awaiting).
    """

    def __init__(self, sink: FileSink | ObjectSink) -> None:
        self._sink = sink
        self._batch: list[bytes] = []
        self._size = 0
        self._pending: deque[Future[None]] = deque()
        self._thread: ThreadPoolExecutor | None = None  # made by the first batch handed over

    def add(self, data: bytes | bytearray | memoryview) -> bool:
        """Add ``data`` to the batch (copied if it is mutable); True once the batch is full."""
        if not isinstance(data, bytes):
            data = bytes(data)  # the caller may change or reuse it before the thread writes
        self._batch.append(data)
        self._size += len(data)
        return self._size >= BATCH

    def hand_over(self) -> Future[None] | None:
        """Queue the batch for the thread; returns a write to wait for if too many queue."""
        batch, self._batch, self._size = self._batch, [], 0
        if batch:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="breeze-blue-writer")
            self._pending.append(self._thread.submit(self._write_all, batch))
        return self._pending.popleft() if len(self._pending) > AHEAD else None

    def drain(self, *, small_here: bool) -> list[Future[None]]:
        """Queue what is left; returns every write still to wait for, oldest first.

        With ``small_here``, a file that never filled a batch is written in the calling
        thread instead of starting one for it.
        """
        if small_here and self._thread is None:
            batch, self._batch, self._size = self._batch, [], 0
            self._write_all(batch)
            return []
        if (oldest := self.hand_over()) is not None:
            self._pending.appendleft(oldest)
        pending, self._pending = list(self._pending), deque()
        return pending

    def stop(self) -> None:
        """Stop the thread; a batch being written finishes, queued ones are dropped.

        Blocks for at most one batch's write: the caller closes the file next, and no
        write may reach a descriptor number the system has handed out again.
        """
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None
        self._pending.clear()

    def _write_all(self, batch: list[bytes]) -> None:
        self._sink.write_batch(batch)


class ThreadedSink:
    """A ``FileSink`` written through a ``BatchWriter``, for ``save()``.

    An error of a write is raised by a later ``write()`` or by ``finish()``.
    """

    restartable = True

    def __init__(self, sink: FileSink) -> None:
        self._sink = sink
        self._writer = BatchWriter(sink)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; wait only while the queue is full."""
        if self._writer.add(data) and (oldest := self._writer.hand_over()) is not None:
            oldest.result()

    def restart(self) -> None:
        """Throw away everything written so far (after what is queued is written)."""
        self._drain()
        self._sink.restart()

    def finish(self) -> None:
        """Write what is queued, then make the file durable."""
        self._drain()
        self._sink.finish()

    def close(self) -> None:
        """Stop the writer thread, then the sink's own, before the descriptor is closed."""
        self._writer.stop()
        self._sink.close()

    def _drain(self) -> None:
        for pending in self._writer.drain(small_here=True):
            pending.result()


class ObjectSink:
    """Writes to a caller's binary file object, in place (not atomically)."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self._start = _start_of(file)

    @property
    def restartable(self) -> bool:
        """Whether a broken download can start over: only in a seekable file."""
        return self._start is not None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` to the file object."""
        self._file.write(data)

    def write_batch(self, chunks: list[bytes]) -> None:
        """Write ``chunks`` in order, one ``write()`` each."""
        for chunk in chunks:
            self._file.write(chunk)

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


def _start_of(file: object) -> int | None:
    """Where writing begins, if the file can go back there; a plain writer cannot."""
    seekable, tell = getattr(file, "seekable", None), getattr(file, "tell", None)
    others = (getattr(file, name, None) for name in ("seek", "truncate"))
    if not callable(seekable) or not callable(tell) or not all(map(callable, others)):
        return None
    try:
        start = tell() if seekable() else None
    except (OSError, ValueError):
        return None
    return start if isinstance(start, int) else None

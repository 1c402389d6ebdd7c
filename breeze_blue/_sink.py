"""Where ``save()`` writes: a file descriptor written directly, or a caller's file object."""

from __future__ import annotations

import os
from typing import BinaryIO

__all__ = ["FileSink", "ObjectSink", "Sink"]

# Chunks from the network arrive in 64 KiB pieces and are written as they are (no copy);
# smaller ones (a caller's iterable of tiny chunks) are gathered to spare system calls.
_SMALL = 16 * 1024
_GATHER = 1024 * 1024
# Every this many bytes the kernel is asked to start writing the finished range to disk,
# so the final fsync finds little left to do instead of the whole file.
_WRITEBACK_STEP = 8 * 1024 * 1024


class FileSink:
    """Writes to a file descriptor we own, starting disk writeback as the data arrives."""

    restartable = True

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = bytearray()
        self._written = 0  # bytes handed to the kernel
        self._hinted = 0  # bytes whose writeback has been started

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
        self._written = self._hinted = 0

    def finish(self) -> None:
        """Write what is gathered and make the whole file durable (fsync)."""
        self._flush_pending()
        os.fsync(self._fd)

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
        if self._written - self._hinted >= _WRITEBACK_STEP:
            # DONTNEED on dirty pages starts their writeback without waiting for it (Linux),
            # and drops them from the cache once written: the download never competes with a
            # huge final flush, nor fills the page cache.
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(
                    self._fd, self._hinted, self._written - self._hinted, os.POSIX_FADV_DONTNEED
                )
            self._hinted = self._written


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

    def finish(self) -> None:
        """Flush the file object's buffer (durability is the caller's business)."""
        flush = getattr(self._file, "flush", None)
        if callable(flush):
            flush()


Sink = FileSink | ObjectSink

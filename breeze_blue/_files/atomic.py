"""A file that appears at its name complete, or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; stale temporary files are then left alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["AtomicFile", "remove_if_stale", "temp_prefix"]


class AtomicFile:
    """A temporary file beside ``destination``, renamed over it only once it is complete.

    ``open()`` creates the temporary file (keeping an existing destination's permissions);
    ``commit()`` closes it and renames it into place, then makes the rename durable;
    ``discard()`` removes it. Until ``commit()`` the destination is exactly what it was.
    Each step blocks briefly on the disk: ``asave()`` runs them in a worker thread.

    Examples:
        ```python
        target = AtomicFile(Path("history.mp3"))
        fd = target.open()
        try:
            os.write(fd, data)
            os.fsync(fd)
            target.commit()
        except BaseException:
            target.discard()
            raise
        ```
    """

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self._temp: Path | None = None
        self._fd: int | None = None

    def open(self) -> int:
        """Create the temporary file; returns its descriptor, open for writing."""
        self._fd, self._temp = _create_temp(self.destination)
        # Replacing a file keeps its permissions: a private file must stay private.
        with contextlib.suppress(FileNotFoundError):
            os.chmod(self._fd, stat.S_IMODE(os.stat(self.destination).st_mode))
        return self._fd

    def close(self) -> None:
        """Close the descriptor (idempotent); the file stays until commit or discard."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def commit(self) -> None:
        """Rename over the destination, close, and make the rename itself durable."""
        assert self._temp is not None, "open() first"
        if fcntl is None:
            self.close()  # Windows cannot rename a file that is open
        # Renamed while still open, and so still locked: a cleanup in another process
        # never takes the finished file for one a killed download left.
        os.replace(self._temp, self.destination)
        self._temp = None
        self.close()
        _fsync_directory(self.destination.parent)

    def discard(self) -> None:
        """Remove the temporary file, if any, and close it; the destination is untouched."""
        if fcntl is None:
            self.close()  # Windows cannot remove a file that is open
        temp, self._temp = self._temp, None
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        self.close()


def temp_prefix(name: str) -> str:
    """The part of a destination's name its temporary files start with (after the dot).

    At most 64 bytes of the name (not characters: filesystems count bytes), so a name near
    the 255-byte limit still leaves room for the suffix.
    """
    return os.fsencode(name)[:64].decode("utf-8", errors="ignore")


def _create_temp(destination: Path) -> tuple[int, Path]:
    # os.open with 0o666 lets the umask decide the final permissions, as for any new file
    # (mkstemp would leave 0o600); O_EXCL makes the name ours alone.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    prefix = temp_prefix(destination.name)
    for _ in range(100):
        temp = destination.with_name(f".{prefix}.{secrets.token_hex(4)}.part")
        try:
            fd = os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
        if _hold(fd):
            return fd, temp
        os.close(fd)  # a cleanup took it for stale between create and lock: make another
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", str(destination))


def _hold(fd: int) -> bool:
    """Lock a new temporary file for as long as this process has it open.

    The lock is how ``remove_if_stale()`` tells a file being written from one that a killed
    process left: the kernel drops it when its holder dies, even by ``kill -9``. False if
    a cleanup removed the file before the lock was taken.
    """
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        return True  # a filesystem without locks (some NFS): the file is simply not reaped
    return os.fstat(fd).st_nlink > 0


def remove_if_stale(path: Path) -> bool:
    """Remove ``path`` if it is a temporary file no living process holds; True if removed.

    Never removes anything where locks are not available, so a file being written is never
    taken for stale.
    """
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held: its writer is alive
        # Removed while locked, so a writer that just created it sees st_nlink 0 in _hold.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return True
    finally:
        os.close(fd)


def _fsync_directory(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

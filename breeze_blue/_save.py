"""``save()``: write audio to a file so that the file is either complete or untouched."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from ._audio import Audio
from ._parsing import extension_for, safe_filename

__all__ = ["save"]

# Each write hands the kernel at least this much, whatever size the chunks arrive in.
_WRITE_BUFFER = 1024 * 1024


def save(
    audio: Audio | bytes | bytearray | memoryview | Iterable[bytes],
    path: str | os.PathLike[str],
) -> Path:
    """Write ``audio`` to ``path`` atomically and return the path written.

    The bytes stream into a temporary file beside the destination, which is flushed to
    disk (``fsync``) and then renamed over ``path`` in one step. If anything fails on the
    way (a dropped connection, a full disk, Ctrl-C) the destination is left exactly as it
    was and the temporary file is removed. Memory use does not grow with the audio's size.

    Args:
        audio: An :class:`Audio` from ``download_audio()`` (closed when done), ``bytes``,
            or any iterable of ``bytes`` chunks.
        path: A file path, or an existing directory: then the file is named from the
            server's suggested filename, else from the history item id and media type
            (``hist_01haudio.mp3``).

    Raises:
        FileNotFoundError: the destination's folder does not exist.
        ValueError: ``path`` is a directory but ``audio`` carries no name to use.
        APIConnectionError: the download broke off; nothing was written.
        OSError: the file could not be written (permissions, disk full).

    Example:
        >>> audio = client.history.download_audio("hist_01haudio")
        >>> save(audio, Path("history.mp3"))
        PosixPath('history.mp3')
    """
    try:
        destination = _destination(audio, path)
        chunks = _chunks(audio)
        _write_atomically(destination, chunks)
    finally:
        if isinstance(audio, Audio):
            audio.close()
    return destination


def _destination(audio: object, path: str | os.PathLike[str]) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    destination = Path(path)
    if str(path) == "":
        raise ValueError("path must not be empty")
    if destination.is_dir():
        if not isinstance(audio, Audio):
            raise ValueError(
                f"{destination} is a directory and raw bytes carry no filename; "
                "pass a file path instead"
            )
        name = audio.filename or audio.history_item_id + extension_for(audio.content_type)
        # The id came from the caller and may hold anything; keep the name inside the folder.
        safe = safe_filename(name)
        if safe is None:
            raise ValueError(
                f"no usable filename for history item {audio.history_item_id!r} in "
                f"{destination}; pass a file path instead"
            )
        destination = destination / safe
    parent = destination.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, f"cannot save: folder {str(parent)!r} does not exist", str(parent)
        )
    return destination


def _chunks(audio: Audio | bytes | bytearray | memoryview | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(audio, Audio):
        return audio.iter_bytes()
    if isinstance(audio, bytes | bytearray | memoryview):
        return (bytes(audio),)
    if isinstance(audio, str):
        raise TypeError("audio must be bytes, not str")
    return audio


def _write_atomically(destination: Path, chunks: Iterable[bytes]) -> None:
    fd, temp = _create_temp(destination)
    try:
        with os.fdopen(fd, "wb", buffering=_WRITE_BUFFER) as file:
            for chunk in chunks:
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise TypeError(f"audio chunks must be bytes, not {type(chunk).__name__}")
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, destination)
    except BaseException:
        # BaseException: Ctrl-C in the middle of a download must not leave a .part file.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_directory(destination.parent)


def _create_temp(destination: Path) -> tuple[int, Path]:
    # os.open with 0o666 lets the umask decide the final permissions, as for any new file
    # (mkstemp would leave 0o600); O_EXCL makes the name ours alone.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    # At most 64 bytes of the name (not characters: filesystems count bytes), so a name near
    # the 255-byte limit still leaves room for the suffix.
    prefix = os.fsencode(destination.name)[:64].decode("utf-8", errors="ignore")
    for _ in range(100):
        temp = destination.with_name(f".{prefix}.{secrets.token_hex(4)}.part")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", str(destination))


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

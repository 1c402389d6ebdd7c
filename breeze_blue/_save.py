"""``save()``: write audio to a file so that the file is either complete or untouched."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO, cast, overload

from ._audio import Audio, _AudioBase, stream_body
from ._errors import APIConnectionError
from ._parsing import extension_for, safe_filename
from ._resume import pick_up, resume_headers
from ._sink import FileSink, ObjectSink, Sink, ThreadedSink

AudioSource = Audio | bytes | bytearray | memoryview | Iterable[bytes]
Progress = Callable[[int], object]
"""Called with the number of bytes saved so far (back to 0 if a download starts over)."""

__all__ = ["Progress", "save"]


@overload
def save(
    audio: AudioSource, path: str | os.PathLike[str], *, progress: Progress | None = None
) -> Path: ...
@overload
def save(audio: AudioSource, path: BinaryIO, *, progress: Progress | None = None) -> None: ...


def save(
    audio: AudioSource,
    path: str | os.PathLike[str] | BinaryIO,
    *,
    progress: Progress | None = None,
) -> Path | None:
    """Write ``audio`` to ``path`` atomically and return the path written.

    The bytes stream into a temporary file beside the destination, which is flushed to
    disk (``fsync``) and then renamed over ``path`` in one step. If anything fails on the
    way (a full disk, Ctrl-C, a download that broke off for good) the destination is left
    exactly as it was and the temporary file is removed. Memory use does not grow with the
    audio's size.

    A download that breaks off is picked up again by itself, up to the client's
    ``max_retries``: from where it stopped when the server supports ranges for this audio
    (``Accept-Ranges: bytes`` with an ``ETag`` or ``Last-Modified``), else from the start.

    Args:
        audio: An :class:`Audio` from ``download_audio()`` (closed when done), ``bytes``,
            or any iterable of ``bytes`` chunks.
        path: A file path; or an existing directory, and the file is named from the
            server's suggested filename, else from the history item id and media type
            (``hist_01haudio.mp3``); or a binary file object open for writing (written in
            place, so not atomically; ``None`` is returned).
        progress: Called with the number of bytes written so far, after every chunk (and
            with ``0`` if a broken download has to start over). The command line draws its
            progress bar with it.

    Raises:
        FileNotFoundError: the destination's folder does not exist.
        ValueError: ``path`` is a directory but ``audio`` carries no name to use.
        APIConnectionError: the download broke off and could not be resumed.
        OSError: the file could not be written (permissions, disk full).

    Example:
        >>> audio = client.history.download_audio("hist_01haudio")
        >>> save(audio, Path("history.mp3"))
        PosixPath('history.mp3')
    """
    try:
        if _is_writable_file(path):
            sink = ObjectSink(cast(BinaryIO, path))
            _fill(audio, sink, progress)
            sink.finish()
            return None
        destination = _destination(audio, cast("str | os.PathLike[str]", path))
        _write_atomically(destination, lambda sink: _fill(audio, sink, progress))
    finally:
        if isinstance(audio, Audio):
            audio.close()
    return destination


def _is_writable_file(path: object) -> bool:
    return not isinstance(path, str | os.PathLike) and callable(getattr(path, "write", None))


def _fill(audio: AudioSource, sink: Sink, progress: Progress | None) -> None:
    if isinstance(audio, Audio):
        _download_into(audio, sink, progress)
        return
    written = 0
    for chunk in _chunks(audio):
        sink.write(_checked(chunk))
        written += len(chunk)
        if progress:
            progress(written)


def _checked(chunk: object) -> bytes | bytearray | memoryview:
    if not isinstance(chunk, bytes | bytearray | memoryview):
        raise TypeError(f"audio chunks must be bytes, not {type(chunk).__name__}")
    return chunk


def _download_into(audio: Audio, sink: Sink, progress: Progress | None) -> None:
    """Stream ``audio`` into ``sink``, resuming or restarting a broken download."""
    response = audio._take_response()
    written = 0
    retry = 0
    while True:
        try:
            for chunk in stream_body(response):
                sink.write(chunk)
                written += len(chunk)
                if progress:
                    progress(written)
            return
        except APIConnectionError as broken:
            if audio._reopen is None or retry >= audio._max_retries:
                raise
            error = broken
        # Ask again: from where it broke off if the audio can be resumed, else whole.
        ranged = resume_headers(audio.headers, written)
        response = audio._swap(audio._reopen(ranged, retry))
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
            response.close()
            raise error
        sink.restart()
        written = 0
        if progress:
            progress(0)


def _destination(audio: object, path: str | os.PathLike[str]) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    destination = Path(path)
    if str(path) == "":
        raise ValueError("path must not be empty")
    if destination.is_dir():
        if not isinstance(audio, _AudioBase):
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


def _chunks(audio: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(audio, bytes | bytearray | memoryview):
        return (bytes(audio),)
    if isinstance(audio, str):
        raise TypeError("audio must be bytes, not str")
    return audio


def _write_atomically(destination: Path, fill: Callable[[ThreadedSink], None]) -> None:
    fd, temp = _create_temp(destination)
    try:
        sink = ThreadedSink(FileSink(fd))
        try:
            _keep_mode(fd, destination)
            fill(sink)
            sink.finish()
        finally:
            sink.close()
            os.close(fd)
        os.replace(temp, destination)
    except BaseException:
        # BaseException: Ctrl-C in the middle of a download must not leave a .part file.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_directory(destination.parent)


def _keep_mode(fd: int, destination: Path) -> None:
    # Replacing a file keeps its permissions: a private file must stay private.
    with contextlib.suppress(FileNotFoundError):
        os.chmod(fd, stat.S_IMODE(os.stat(destination).st_mode))


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

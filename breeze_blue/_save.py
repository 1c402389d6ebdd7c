"""``save()``: write audio to a file so that the file is either complete or untouched."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, TypeAlias, cast, overload

from ._audio import AsyncAudio, Audio, body_of
from ._core.parsing import extension_for, safe_filename
from ._files.atomic import AtomicFile
from ._files.folder import names_a_folder
from ._files.sinks import FileSink, ObjectSink, ThreadedSink
from ._stream import RESTART, Piece, recovering_chunks


class Writable(Protocol):
    """What ``save()`` and ``asave()`` also write to: anything with a binary ``write()``.

    An open binary file, a socket file, a pipe, an ``io.BytesIO``. It is written in place, not
    atomically; a broken download starts over in it only if it can also ``seek`` and
    ``truncate``.
    """

    def write(self, data: bytes, /) -> object:
        """Take the next chunk of the audio."""


AudioSource: TypeAlias = Audio | bytes | bytearray | memoryview | Iterable[bytes]
"""What ``save()`` writes: an [`Audio`][breeze_blue.Audio] from ``download_audio()``, bytes
(``bytes``, ``bytearray``, ``memoryview``), or any iterable of ``bytes`` chunks."""
Progress: TypeAlias = Callable[[int], object]
"""Called with the number of bytes saved so far (back to 0 if a download starts over)."""

__all__ = [
    "AudioSource",
    "Progress",
    "Writable",
    "checked_chunk",
    "chunks_of",
    "destination_for",
    "is_file_object",
    "save",
]


@overload
def save(
    audio: AudioSource, path: str | os.PathLike[str], *, progress: Progress | None = None
) -> Path: ...
@overload
def save(audio: AudioSource, path: Writable, *, progress: Progress | None = None) -> None: ...


def save(
    audio: AudioSource,
    path: str | os.PathLike[str] | Writable,
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
    ``max_retries`` times: from where it stopped when the server supports ranges for this
    audio (``Accept-Ranges: bytes`` with an ``ETag`` or ``Last-Modified``), else from the
    start. Each time, the request asking again has the client's retries of its own.

    Args:
        audio: An [`Audio`][breeze_blue.Audio] from ``download_audio()`` (closed when done),
            bytes (``bytes``, ``bytearray``, ``memoryview``), or any iterable of ``bytes``
            chunks.
        path: A file path (``str`` or ``os.PathLike``); or an existing directory, and the
            file is named from the server's suggested filename, else from the history item
            id and media type (``hist_01haudio.wav`` for the reference server's WAV item);
            or any object with a binary ``write()``, such as a file open for writing
            (written in place, so not atomically; ``None`` is returned). A broken download
            starts over in a file object only if it can ``seek`` and ``truncate``; else it
            can only be resumed.
        progress: Called with the number of bytes written so far, after every chunk (and
            with ``0`` if a broken download has to start over). The command line draws its
            progress bar with it.

    Raises:
        FileNotFoundError: the destination's folder does not exist (also for a ``str``
            ending in ``/``, which names a folder, never a file).
        ValueError: ``path`` is a directory but ``audio`` carries no name to use.
        APIConnectionError: the download broke off and could not be resumed.
        OSError: the file could not be written (permissions, disk full).

    Examples:
        >>> audio = client.history.download_audio("hist_01haudio")
        >>> save(audio, Path("history.wav"))
        PosixPath('history.wav')
    """
    try:
        if is_file_object(path):
            sink = ObjectSink(cast(Writable, path))
            _fill(audio, sink, progress)
            sink.finish()
            return None
        destination = destination_for(audio, cast("str | os.PathLike[str]", path))
        target = AtomicFile(destination)
        fd = target.open()
        try:
            threaded = ThreadedSink(FileSink(fd))
            try:
                _fill(audio, threaded, progress)
                threaded.finish()
            finally:
                threaded.close()  # the writer thread stops before the descriptor closes
            target.commit()
        except BaseException:
            # BaseException: Ctrl-C in the middle of a download must not leave a .part file.
            target.discard()
            raise
    finally:
        if isinstance(audio, Audio):
            audio.close()
    return destination


def is_file_object(path: object) -> bool:
    """Whether ``path`` is a writable file object rather than a path."""
    return not isinstance(path, str | os.PathLike) and callable(getattr(path, "write", None))


def _fill(audio: AudioSource, sink: ThreadedSink | ObjectSink, progress: Progress | None) -> None:
    written = 0
    pieces: Iterable[Piece]
    if isinstance(audio, Audio):
        pieces = recovering_chunks(body_of(audio), restartable=sink.restartable)
    else:
        pieces = (checked_chunk(chunk) for chunk in chunks_of(audio))
    for chunk in pieces:
        if chunk is RESTART:
            sink.restart()
            written = 0
        else:
            sink.write(chunk)
            written += len(chunk)
        if progress:
            progress(written)


def checked_chunk(chunk: object) -> bytes | bytearray | memoryview:
    """``chunk`` itself if it is bytes-like; a ``TypeError`` otherwise."""
    if not isinstance(chunk, bytes | bytearray | memoryview):
        raise TypeError(f"audio chunks must be bytes, not {type(chunk).__name__}")
    return chunk


def destination_for(audio: object, path: str | os.PathLike[str]) -> Path:
    """The file to write: ``path``, or a safe name inside it when it is a folder."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    destination = Path(path)
    if str(path) == "":
        raise ValueError("path must not be empty")
    # Else a missing "downloads/" would silently become a file called "downloads".
    if isinstance(path, str) and names_a_folder(path) and not destination.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"cannot save: folder {path!r} does not exist", path)
    if destination.is_dir():
        if not isinstance(audio, Audio | AsyncAudio):
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


def chunks_of(audio: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterable[bytes]:
    """The chunks of raw ``audio``: bytes as one chunk, an iterable as it is."""
    if isinstance(audio, bytes | bytearray | memoryview):
        return (bytes(audio),)
    if isinstance(audio, str):
        raise TypeError("audio must be bytes, not str")
    return audio

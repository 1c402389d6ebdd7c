"""The folder ``download_many()`` fills: finding complete files, clearing what a kill left."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from .._core.names import EXTENSIONS
from .atomic import remove_if_stale

__all__ = [
    "find_complete",
    "ignores_case",
    "look_for_complete",
    "names_a_folder",
    "prepare_folder",
    "remove_other_copies",
    "remove_stale_temps",
]

# What AtomicFile names its temporary files: ".{name, at most 64 bytes}.{8 hex}.part". Only
# names an item's file could have are considered (a stem's characters; an extension, unless
# the name was cut at 64 bytes), so a user's own files in the folder are never touched.
_TEMP = re.compile(r"\.([A-Za-z0-9_.%-]+)\.[0-9a-f]{8}\.part")


def names_a_folder(path: str) -> bool:
    """Whether ``path`` ends with a path separator, so names a folder and never a file.

    ``Path("downloads/")`` is ``Path("downloads")``: the caller must ask before converting.
    """
    return path.endswith(("/", os.sep) + ((os.altsep,) if os.altsep else ()))


def prepare_folder(directory: str | os.PathLike[str]) -> Path:
    """The folder as a ``Path``, created (with its parents) if it is missing.

    Raises ``NotADirectoryError`` or ``FileExistsError`` if something else has that name.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {str(folder)!r}")
    return folder


def ignores_case(folder: Path) -> bool:
    """Whether the filesystem under ``folder`` takes ``A`` and ``a`` for one name.

    Asked of the filesystem itself (macOS and Windows usually ignore case, Linux does not,
    and one machine can mount both), by making a file and looking for it in capitals.
    """
    probe = folder / f".breeze-case-{secrets.token_hex(4)}"
    probe.touch(exist_ok=False)
    try:
        return (folder / probe.name.upper()).exists()
    finally:
        with contextlib.suppress(FileNotFoundError):
            probe.unlink()


def find_complete(folder: Path, stem: str) -> Path | None:
    """The item's file under any extension, if there is one; the newest, if several.

    Files appear at their final name only once complete (they are written atomically), so
    a file there is a finished download. A directory of that name is not. Raises
    ``OSError`` for a name the filesystem refuses (too long for it, not permitted).
    """
    newest: tuple[float, Path] | None = None
    for extension in EXTENSIONS:
        path = folder / (stem + extension)
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if not os.path.isdir(path) and (newest is None or info.st_mtime > newest[0]):
            newest = (info.st_mtime, path)
    return None if newest is None else newest[1]


def look_for_complete(folder: Path, stem: str) -> Path | OSError | None:
    """``find_complete()``, with the ``OSError`` returned: that item fails, not the run."""
    try:
        return find_complete(folder, stem)
    except OSError as exc:
        return exc


def remove_other_copies(folder: Path, stem: str, kept: Path) -> None:
    """Remove the item's files under other extensions than ``kept``'s.

    An item overwritten in another media type must not stay as a second copy.
    """
    for extension in EXTENSIONS:
        other = folder / (stem + extension)
        if other != kept:
            with contextlib.suppress(FileNotFoundError):
                other.unlink()


def remove_stale_temps(folder: Path) -> int:
    """Remove the temporary files killed downloads left in ``folder``; returns how many.

    A temporary file a living process is writing (another shard's job in the same folder)
    is locked, and kept.
    """
    removed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMP.fullmatch(entry.name)
            if match is None or not entry.is_file(follow_symlinks=False):
                continue
            prefix = match[1]
            if not (prefix.endswith(EXTENSIONS) or len(prefix) == 64):
                continue
            if remove_if_stale(Path(entry.path)):
                removed += 1
    return removed

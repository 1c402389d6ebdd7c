"""File names for ``download_many()`` and the deterministic shard of an id: pure functions.

An item's file is ``{stem}{extension}``. The stem is the id itself when it is made only of
letters, digits, ``-``, ``_`` and ``.`` (not leading); any other byte of its UTF-8 is written
``%XX``, so the name is reversible (``id_for_stem()``), never a path, and the same on
every run: a rerun finds what an earlier one saved. Two more bytes are escaped where they
would make trouble: the first letter of a Windows device name (``con`` is ``%63on``), and,
in a folder that ignores case (macOS, Windows), every capital letter, so that ``Hist_A`` and
``hist_a`` cannot land in one file. Escapes use capital hex digits and ``%`` itself is
always escaped, so escaped names cannot collide either.
"""

from __future__ import annotations

import hashlib
import string
from urllib.parse import unquote

from .parsing import extension_for

__all__ = [
    "EXTENSIONS",
    "MAX_NAME_BYTES",
    "file_name",
    "file_stem",
    "id_for_stem",
    "in_shard",
    "validate_shard",
]

EXTENSIONS = (".mp3", ".wav", ".flac", ".aac", ".opus", ".pcm", ".bin")
"""Every extension an item's file may have: a file under any of them is the item's."""

MAX_NAME_BYTES = 255
"""The longest file name common filesystems (ext4, APFS, NTFS) allow, in bytes."""

_SAFE = frozenset((string.ascii_letters + string.digits + "-_.").encode())
_SAFE_FOLDED = _SAFE - frozenset(string.ascii_uppercase.encode())
_LONGEST_EXTENSION = max(len(extension) for extension in EXTENSIONS)
# Names Windows keeps for devices, whatever their extension or case.
_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"{kind}{n}" for kind in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3"]
)


def file_stem(history_item_id: str, *, fold_case: bool = False) -> str:
    """The id as a file name without extension: reversible, and never a path.

    ``fold_case``: the folder ignores case, so capital letters are escaped too.
    Raises ``ValueError`` when even the longest extension would not fit in
    ``MAX_NAME_BYTES``: an id is either always or never storable, whatever its type.

    Examples:
        >>> file_stem("hist_01haudio"), file_stem("../etc/passwd"), file_stem("con")
        ('hist_01haudio', '%2E.%2Fetc%2Fpasswd', '%63on')
        >>> file_stem("Hist_A", fold_case=True)
        '%48ist_%41'
    """
    safe = _SAFE_FOLDED if fold_case else _SAFE
    raw = history_item_id.encode("utf-8", errors="surrogatepass")
    # Windows reads "nul.x.mp3" as the device too: the name up to its first dot counts.
    device = history_item_id.split(".", 1)[0].rstrip(" ").upper() in _DEVICES
    stem = "".join(
        chr(byte)
        if byte in safe and not (index == 0 and (byte == ord(".") or device))
        else f"%{byte:02X}"
        for index, byte in enumerate(raw)
    )
    if len(stem) + _LONGEST_EXTENSION > MAX_NAME_BYTES:
        raise ValueError(
            f"history item id of {len(history_item_id)} characters cannot be a file name: "
            f"encoded it is {len(stem)} bytes, and a name may have at most "
            f"{MAX_NAME_BYTES - _LONGEST_EXTENSION} before its extension"
        )
    return stem


def id_for_stem(stem: str) -> str:
    """The id a stem was made from (the inverse of ``file_stem()``)."""
    return unquote(stem, errors="surrogatepass")


def file_name(stem: str, media_type: str | None) -> str:
    """``{stem}{extension}``, the extension from the media type (``.bin`` for others)."""
    return stem + extension_for(media_type)


def validate_shard(shard: object) -> tuple[int, int] | None:
    """``shard`` checked: ``None``, or ``(K, N)`` with ``1 <= K <= N``."""
    if shard is None:
        return None
    if (
        not isinstance(shard, tuple)
        or len(shard) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in shard)
    ):
        raise TypeError(f"shard must be a (K, N) tuple of ints, not {shard!r}")
    k, n = shard
    if not 1 <= k <= n:
        raise ValueError(f"shard (K, N) needs 1 <= K <= N, not {shard!r}")
    return k, n


def in_shard(history_item_id: str, shard: tuple[int, int]) -> bool:
    """Whether the id belongs to shard ``(K, N)``: stable across processes and machines.

    The share is decided by the SHA-256 of the id's UTF-8 bytes (never Python's
    ``hash()``, which differs per process), so N jobs given the same list and K = 1..N
    cover every id exactly once.

    Examples:
        >>> sum(in_shard("hist_01haudio", (k, 4)) for k in range(1, 5))
        1
    """
    k, n = shard
    digest = hashlib.sha256(history_item_id.encode("utf-8", errors="surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1

"""Parsers for the headers the SDK reads: ``Retry-After``, ``content-disposition``, lengths.

They take whatever a server (or a proxy in front of it) sent and never raise: garbage in
gives ``None`` out, so a bad header can never turn a good response into a crash.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import unquote

import httpx

__all__ = [
    "ContentRange",
    "content_length",
    "expected_length",
    "extension_for",
    "parse_content_disposition",
    "parse_content_range",
    "parse_retry_after",
    "safe_filename",
]

# At most 20 digits: int() refuses very long digit strings, and no file is that large.
_CONTENT_RANGE = re.compile(r"bytes\s+(\d{1,20})-(\d{1,20})/(\d{1,20}|\*)", re.ASCII)


class ContentRange(NamedTuple):
    """The part a ``206`` carries: bytes ``start`` to ``end`` inclusive, of ``total``."""

    start: int
    end: int
    total: int | None


def parse_content_range(value: str | None) -> ContentRange | None:
    """A ``content-range`` value (``bytes 0-99/1000``), or ``None`` if absent or malformed.

    Examples:
        >>> parse_content_range("bytes 1000-8191/8192")
        ContentRange(start=1000, end=8191, total=8192)
    """
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if not match:
        return None
    start, end = int(match[1]), int(match[2])
    if end < start:
        return None
    return ContentRange(start, end, None if match[3] == "*" else int(match[3]))


def content_length(headers: httpx.Headers) -> int | None:
    """``content-length`` as an int, or ``None`` when absent or malformed."""
    value = headers.get("content-length", "")
    ok = value.isascii() and value.isdigit() and len(value) <= 20
    return int(value) if ok else None


def expected_length(response: httpx.Response) -> int | None:
    """How many body bytes must arrive for the body to be complete, when that is known."""
    # With a content-encoding, content-length counts encoded bytes, not what we are given.
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        return None
    return content_length(response.headers)


_FOUR_DIGIT_YEAR = re.compile(r"(?<![0-9:])([0-9]{4})(?![0-9:])")
_DELTA_SECONDS = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or ``None`` if it is absent or unusable.

    Accepts delta-seconds (``"5"``, ``"1.5"``) and the three HTTP-date forms of RFC 9110; a
    date in the past gives ``0.0``.

    Examples:
        >>> parse_retry_after("2.5")
        2.5
        >>> parse_retry_after("soon") is None
        True
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    # The standard library reads a four-digit year below 100 as a two-digit one (0050 ->
    # 2050); any such date is long past.
    year = _FOUR_DIGIT_YEAR.search(text)
    if year and int(year[1]) < 1970:
        return 0.0
    try:
        when = parsedate_to_datetime(text)
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    try:
        # An HTTP-date is always GMT; a naive result comes from the asctime form.
        seconds = when.timestamp() if when.tzinfo else when.replace(tzinfo=UTC).timestamp()
    except (ValueError, OverflowError, OSError):
        return None
    delay = seconds - now()
    if not math.isfinite(delay):
        return None
    return max(0.0, delay)


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(
    rf"""\s*;\s*(?P<name>{_TOKEN})\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^;\s"]*))""",
    re.DOTALL,
)
_EXT_VALUE = re.compile(r"(?P<charset>[A-Za-z0-9!#$%&+^_`{}~-]*)'[A-Za-z0-9-]*'(?P<value>.*)")


def parse_content_disposition(value: str | None) -> str | None:
    """The filename a ``content-disposition`` header suggests, made safe, or ``None``.

    ``filename*`` (RFC 5987/6266, percent-encoded with a charset) wins over ``filename``.
    The result is always a bare name (see ``safe_filename()``).

    Examples:
        >>> parse_content_disposition('attachment; filename="../../etc/passwd"')
        'passwd'
        >>> parse_content_disposition("attachment; filename*=UTF-8''caf%C3%A9.mp3")
        'café.mp3'
    """
    if not value:
        return None
    params: dict[str, str] = {}
    # Skip the disposition type, then read `; name=value` pairs until one does not parse.
    rest = value.split(";", 1)[1] if ";" in value else ""
    rest = ";" + rest
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if not match:
            break
        name = match.group("name").lower()
        quoted = match.group("quoted")
        raw = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group("token")
        params.setdefault(name, raw)
        pos = match.end()

    candidates: list[str] = []
    extended = params.get("filename*")
    if extended is not None:
        decoded = _decode_ext_value(extended)
        if decoded is not None:
            candidates.append(decoded)
    if "filename" in params:
        candidates.append(params["filename"])
    for candidate in candidates:
        name = safe_filename(candidate)
        if name is not None:
            return name
    return None


def _decode_ext_value(value: str) -> str | None:
    match = _EXT_VALUE.fullmatch(value)
    if not match:
        return None
    charset = match.group("charset") or "utf-8"
    try:
        return unquote(match.group("value"), encoding=charset, errors="strict")
    except (LookupError, UnicodeDecodeError, ValueError):
        return None


_SUPERSCRIPT_DIGITS = "\u00b9\u00b2\u00b3"
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "123456789" + _SUPERSCRIPT_DIGITS]
)
# Characters Windows refuses in names; `:` would also make "C:x" a drive-relative path.
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_EDGE_JUNK = re.compile(r"^[\s.]+|[\s.]+$")
_MAX_NAME_BYTES = 200  # below every common filesystem's 255, leaving room for temp suffixes


def safe_filename(name: str) -> str | None:
    """Reduce a server-suggested name to a safe base name, or ``None`` if nothing is left.

    Drops any directory part (``/`` or ``\\``), control characters, characters Windows
    forbids (``:`` included, so no drive letter survives), leading and trailing dots and
    spaces; renames Windows device names (``CON`` → ``_CON``) and shortens very long names
    while keeping the extension. The result can only ever name a file inside the chosen
    folder, on any platform.

    Examples:
        >>> safe_filename("..\\\\..\\\\boot.ini")
        'boot.ini'
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _WINDOWS_FORBIDDEN.sub("_", name)
    # Leading dots would hide the file; trailing ones Windows drops, merging two names.
    name = _EDGE_JUNK.sub("", name)
    if name.split(".", 1)[0].rstrip().upper() in _WINDOWS_RESERVED:
        name = "_" + name
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        if not dot or len(ext) > 16:
            stem, ext = name, ""
        keep = _MAX_NAME_BYTES - len(ext.encode("utf-8")) - (1 if ext else 0)
        stem = stem.encode("utf-8")[:keep].decode("utf-8", errors="ignore")
        stem = _EDGE_JUNK.sub("", stem)
        name = f"{stem}.{ext}" if ext and stem else stem or ext
    if not name:
        return None
    return name


_EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/flac": ".flac",
    "audio/aac": ".aac",
    "audio/opus": ".opus",
    "audio/pcm": ".pcm",
}


def extension_for(content_type: str | None) -> str:
    """The usual file extension for an audio media type (``".mp3"``), or ``".bin"``."""
    if not content_type:
        return ".bin"
    media_type = content_type.split(";", 1)[0].strip().lower()
    return _EXTENSIONS.get(media_type, ".bin")

"""What the reference server knows about a history item, and the bytes it serves."""

from __future__ import annotations

import array
import hashlib
import io
import math
import sys
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache

from .._core.parsing import extension_for

__all__ = [
    "AUDIO_MEDIA_TYPES",
    "ErrorReply",
    "Item",
    "Ready",
    "default_items",
    "failed",
    "pattern_bytes",
    "running",
    "tone_wav",
]

AUDIO_MEDIA_TYPES = (
    "audio/mpeg",
    "audio/wav",
    "audio/flac",
    "audio/aac",
    "audio/opus",
    "audio/pcm",
)
"""The six media types the API serves audio in, as ``Ready(media_type=...)`` takes them."""
_BLOCK = 64 * 1024


def pattern_bytes(seed: str, size: int) -> Iterator[bytes]:
    """Deterministic, incompressible bytes in 64 KiB blocks, made as they are needed.

    Every block differs (a misplaced or repeated block changes the SHA-256), and the whole
    never sits in memory, so items of any size can be served and checked.
    """
    for index, start in enumerate(range(0, size, _BLOCK)):
        length = min(_BLOCK, size - start)
        yield hashlib.shake_128(f"{seed}:{index}".encode()).digest(length)


@dataclass(frozen=True)
class Ready:
    """A completed item whose audio can be downloaded.

    Give either ``body`` or ``size``.

    Attributes:
        media_type: The ``content-type`` the audio is served with.
        body: The exact bytes to serve.
        size: Serve this many deterministic bytes instead
            ([`pattern_bytes()`][breeze_blue.testing.pattern_bytes]), made as they are sent
            and never held in memory.
        filename: The name suggested in ``content-disposition``; ``None``: the id and the
            extension of ``media_type``.
        cut_after: Drop the connection after this many body bytes while still announcing
            the full ``content-length``: a broken download. ``None``: send it all.
        ranges: Advertise ``Accept-Ranges: bytes`` with an ``ETag`` and ``Last-Modified``,
            and answer ``Range`` requests with ``206``.
    """

    media_type: str = "audio/mpeg"
    body: bytes | None = None
    size: int | None = None
    filename: str | None = None
    cut_after: int | None = None
    ranges: bool = False

    @property
    def length(self) -> int:
        """The full size in bytes, as announced in ``content-length``."""
        return len(self.body) if self.body is not None else (self.size or 0)

    def chunks(self, seed: str) -> Iterator[bytes]:
        """The body, in the blocks the server writes."""
        if self.body is not None:
            for start in range(0, len(self.body), _BLOCK):
                yield self.body[start : start + _BLOCK]
        else:
            yield from pattern_bytes(seed, self.size or 0)

    def sha256(self, seed: str) -> str:
        """The SHA-256 (hex) of the full body, for tests to compare a download against."""
        digest = hashlib.sha256()
        for chunk in self.chunks(seed):
            digest.update(chunk)
        return digest.hexdigest()

    def etag(self, item_id: str) -> str:
        """The strong validator the server sends when ``ranges`` is on."""
        tag = hashlib.sha256(f"{item_id}:{self.length}:{self.media_type}".encode()).hexdigest()
        return f'"{tag[:20]}"'

    def suggested_filename(self, item_id: str) -> str:
        """The name sent in ``content-disposition``."""
        return self.filename or item_id + extension_for(self.media_type)


@dataclass(frozen=True)
class ErrorReply:
    """An item the server answers with an error envelope (or a raw body, if given)."""

    status: int
    """The HTTP status, for example ``404``."""
    code: str
    """The envelope's ``error.code``, for example ``"RESOURCE_NOT_FOUND"``."""
    message: str
    """The envelope's ``error.message``."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra response headers, for example ``{"retry-after": "2"}``."""
    raw_body: bytes | None = None
    """A body sent as it is instead of the envelope (an HTML error page, say)."""
    raw_content_type: str = "text/html; charset=utf-8"
    """The ``content-type`` of ``raw_body``."""


def running(retry_after: str | None = "2") -> ErrorReply:
    """An item still being generated: ``409 GENERATION_NOT_READY`` with ``Retry-After``."""
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return ErrorReply(
        409,
        "GENERATION_NOT_READY",
        "The history item is still running; retry after the Retry-After interval.",
        headers,
    )


def failed() -> ErrorReply:
    """An item whose generation failed: ``422 GENERATION_FAILED``."""
    return ErrorReply(422, "GENERATION_FAILED", "The history item generation failed.")


Item = Ready | ErrorReply
"""What a history item is to the server: audio to serve, or an error to answer with."""


@cache
def tone_wav(seconds: float = 1.6, rate: int = 22050) -> bytes:
    """A short WAV (16-bit mono) of three rising chimes: real audio any player can play."""
    samples = array.array("h")
    notes = (523.25, 659.25, 783.99)  # C5, E5, G5
    per_note = int(rate * seconds / len(notes))
    for frequency in notes:
        for n in range(per_note):
            t = n / rate
            # A quick attack and an exponential decay sound like a struck chime, not a beep.
            envelope = min(1.0, t * 200) * math.exp(-4.0 * t)
            value = envelope * (
                0.7 * math.sin(2 * math.pi * frequency * t)
                + 0.2 * math.sin(4 * math.pi * frequency * t)
            )
            samples.append(int(value * 30000))
    if sys.byteorder == "big":
        samples.byteswap()
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return out.getvalue()


def default_items() -> dict[str, Item]:
    """The catalogue a new [`ReferenceServer`][breeze_blue.testing.ReferenceServer] starts with.

    ``hist_01haudio`` is the documentation's example (a playable WAV); ``hist_<type>`` is
    ready in each media type (``hist_mpeg`` … ``hist_pcm``); the others answer each row of
    the error catalogue, ``hist_cut`` drops the connection mid-body.
    """
    items: dict[str, Item] = {
        "hist_01haudio": Ready(media_type="audio/wav", body=tone_wav()),
    }
    for media_type in AUDIO_MEDIA_TYPES:
        subtype = media_type.split("/")[1]
        items[f"hist_{subtype}"] = Ready(media_type=media_type, size=4 * 1024 + 17)
    items.update(
        {
            "hist_running": running("2"),
            "hist_running_date": running("Wed, 21 Oct 2099 07:28:00 GMT"),
            "hist_failed": failed(),
            "hist_invalid": ErrorReply(400, "INVALID_REQUEST", "The request is malformed."),
            "hist_forbidden": ErrorReply(
                403, "PERMISSION_DENIED", "The API key may not access this history item."
            ),
            "hist_rate_limited": ErrorReply(
                429,
                "RATE_LIMITED",
                "Too many requests; retry after the Retry-After interval.",
                {"retry-after": "7"},
            ),
            "hist_internal": ErrorReply(
                500, "INTERNAL_ERROR", "The server failed to handle the request."
            ),
            "hist_unavailable": ErrorReply(
                503,
                "SERVICE_UNAVAILABLE",
                "The service is temporarily unavailable; retry after the Retry-After interval.",
                {"retry-after": "30"},
            ),
            "hist_large": Ready(media_type="audio/mpeg", size=8 * 1024 * 1024),
            "hist_cut": Ready(media_type="audio/mpeg", size=1024 * 1024, cut_after=256 * 1024),
        }
    )
    return items

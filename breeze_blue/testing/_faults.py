"""Faults the reference server can inject, one per request, to test a client's recovery."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ChangeValidator",
    "Drop",
    "Fault",
    "Hangup",
    "IgnoreRange",
    "PartialContent",
    "Redirect",
    "Stall",
    "Trickle",
]


@dataclass(frozen=True)
class Drop:
    """Send the headers and ``after`` body bytes, then cut the connection.

    Attributes:
        after: How many body bytes to send before the cut.
        reset: ``True``: abort the connection (TCP RST), like a crashed peer; ``False``:
            close it cleanly, which leaves a body shorter than its ``content-length``.
    """

    after: int
    reset: bool = False


@dataclass(frozen=True)
class Stall:
    """Stop sending for a while: in the middle of the body, or before the headers.

    Attributes:
        seconds: How long to stop sending, in seconds.
        after: How many body bytes to send first (``0``: stop right after the headers);
            ``None``: stop before the headers.
    """

    seconds: float
    after: int | None = 0


@dataclass(frozen=True)
class Redirect:
    """Answer with a redirect instead of the audio.

    Attributes:
        location: Where to redirect to: the ``location`` header, sent as it is.
        status: The HTTP status to answer with, a ``3xx``.
    """

    location: str
    status: int = 302


@dataclass(frozen=True)
class Trickle:
    """Send the body a little at a time: slow but whole.

    Attributes:
        chunk: How many bytes to send at a time.
        delay: Seconds to wait after each chunk.
    """

    chunk: int = 16 * 1024
    delay: float = 0.002


@dataclass(frozen=True)
class IgnoreRange:
    """Answer a ``Range`` request with the whole body (``200``), as some servers do."""


@dataclass(frozen=True)
class ChangeValidator:
    """Serve the item under a new ``ETag``: the audio changed since the first request.

    A ``Range`` request with the old validator in ``If-Range`` then gets the whole new audio
    (``200``), as RFC 9110 says.

    Attributes:
        ignore_if_range: Answer such a request with the part it asked for instead (``206``
            under the new ``ETag``), as a server that ignores ``If-Range`` would.
    """

    ignore_if_range: bool = False


@dataclass(frozen=True)
class PartialContent:
    """Answer a request for the whole audio with ``206`` and only its last part, as a
    misbehaving proxy or cache might.

    Attributes:
        start: The offset of the first byte sent, as the ``content-range`` says.
    """

    start: int


@dataclass(frozen=True)
class Hangup:
    """Close the connection without answering at all."""


Fault = Drop | Stall | Redirect | Trickle | IgnoreRange | ChangeValidator | PartialContent | Hangup
"""Any of the faults ``ReferenceServer.inject()`` takes."""

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

    ``reset=True`` aborts it (TCP RST) like a crashed peer; ``False`` closes it cleanly,
    which leaves a body shorter than its ``content-length``.
    """

    after: int
    reset: bool = False


@dataclass(frozen=True)
class Stall:
    """Stop sending for ``seconds`` after ``after`` body bytes (``None``: before the headers)."""

    seconds: float
    after: int | None = 0


@dataclass(frozen=True)
class Redirect:
    """Answer with a redirect (``status``) to ``location`` instead."""

    location: str
    status: int = 302


@dataclass(frozen=True)
class Trickle:
    """Send the body ``chunk`` bytes at a time, ``delay`` seconds apart: slow but whole."""

    chunk: int = 16 * 1024
    delay: float = 0.002


@dataclass(frozen=True)
class IgnoreRange:
    """Answer a ``Range`` request with the whole body (``200``), as some servers do."""


@dataclass(frozen=True)
class ChangeValidator:
    """Serve the item under a new ``ETag``: the audio changed since the first request.

    A ``Range`` request with the old validator in ``If-Range`` then gets the whole new audio
    (``200``), as RFC 9110 says; with ``ignore_if_range=True`` it gets the part it asked for
    (``206`` under the new ``ETag``), as a server that ignores ``If-Range`` would send.
    """

    ignore_if_range: bool = False


@dataclass(frozen=True)
class PartialContent:
    """Answer a request for the whole audio with ``206`` and only the bytes from ``start``,
    as a misbehaving proxy or cache might."""

    start: int


@dataclass(frozen=True)
class Hangup:
    """Close the connection without answering at all."""


Fault = Drop | Stall | Redirect | Trickle | IgnoreRange | ChangeValidator | PartialContent | Hangup
"""Any of the faults ``ReferenceServer.inject()`` takes."""

"""Deciding how to pick up a broken download again (no I/O; shared by sync and async)."""

from __future__ import annotations

import re
from typing import Literal

import httpx

from ._audio import content_length
from ._logging import logger

__all__ = ["continues", "pick_up", "resume_headers"]

# At most 20 digits: int() refuses very long digit strings, and no file is that large.
_CONTENT_RANGE = re.compile(r"bytes\s+(\d{1,20})-(\d{1,20})/(\d{1,20}|\*)", re.ASCII)


def resume_headers(original: httpx.Headers, offset: int) -> dict[str, str]:
    """``Range`` + ``If-Range`` to fetch the rest from ``offset``; ``{}`` to start over.

    Resuming needs the first response to have said ``Accept-Ranges: bytes`` and given a
    validator, so the server can tell us (with a ``200``) if the audio changed meanwhile.
    A weak ``ETag`` cannot be used with ``If-Range``; ``Last-Modified`` then serves.
    """
    if offset <= 0 or original.get("accept-ranges", "").strip().lower() != "bytes":
        return {}
    etag = original.get("etag", "").strip()
    validator = etag if etag and not etag.startswith("W/") else original.get("last-modified")
    if not validator:
        return {}
    return {"range": f"bytes={offset}-", "if-range": validator}


def continues(original: httpx.Headers, response: httpx.Response, offset: int) -> bool:
    """Whether ``response`` is the rest of the same audio, starting exactly at ``offset``."""
    if response.status_code != 206:
        return False
    match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    if not match:
        return False
    start, end, total = int(match[1]), int(match[2]), match[3]
    full = content_length(original)
    if start != offset or end < start:
        return False
    if full is not None and (total == "*" or int(total) != full or end != full - 1):
        return False
    for validator in ("etag", "last-modified"):
        before, after = original.get(validator), response.headers.get(validator)
        if before and after and before != after:
            return False
    return True


def pick_up(
    original: httpx.Headers,
    ranged: dict[str, str],
    response: httpx.Response,
    offset: int,
    *,
    restartable: bool,
    history_item_id: str,
) -> Literal["resume", "restart"] | None:
    """After asking again for a broken download: append, start over, or give up (``None``).

    ``ranged`` is what :func:`resume_headers` gave for ``offset``; the sync and async saves
    both decide here, so they cannot disagree on what a retried answer means.
    """
    if ranged and continues(original, response, offset):
        logger.info("resuming %s at byte %d", history_item_id, offset)
        return "resume"
    if response.status_code != 200 or not restartable:
        return None
    logger.info("restarting %s from the first byte", history_item_id)
    return "restart"

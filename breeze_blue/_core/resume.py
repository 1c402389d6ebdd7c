"""Picking a broken download up again, decided without I/O (shared by save and asave).

After a body breaks off, ``Recovery`` says what to ask for (the rest with ``Range`` +
``If-Range``, or the whole audio again) and what the answer means: append it, start the
file over, or ask again for the whole audio. The sync and async saves both follow it, so
they cannot disagree on what a retried answer means.
"""

from __future__ import annotations

from typing import Literal

import httpx

from .._logging import logger
from .parsing import content_length, parse_content_range

__all__ = ["Recovery", "Step", "continues", "resume_headers"]

Step = Literal["resume", "restart", "ask again"]
"""Append the answer; start the file over with it; or drop it and ask for the whole audio."""


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
    part = parse_content_range(response.headers.get("content-range"))
    if part is None or part.start != offset:
        return False
    full = content_length(original)
    if full is not None and (part.total != full or part.end != full - 1):
        return False
    for validator in ("etag", "last-modified"):
        before, after = original.get(validator), response.headers.get(validator)
        if before and after and before != after:
            return False
    return True


class Recovery:
    """How one saved body is picked up after it breaks off, retry by retry.

    Args:
        original: The headers of the first answer (its length and validators).
        max_retries: How often the audio may be asked for again, whatever the reason.
        restartable: Whether the destination can be emptied to start over.
        history_item_id: For the log.

    Examples:
        ```python
        recovery = Recovery(audio.headers, max_retries=2, restartable=True, history_item_id=id)
        headers = recovery.ask(written, broken)  # raises `broken` once retries are spent
        step = recovery.judge(headers, answer, written, broken)  # "resume", "restart", ...
        ```
    """

    def __init__(
        self,
        original: httpx.Headers,
        *,
        max_retries: int,
        restartable: bool,
        history_item_id: str,
    ) -> None:
        self._original = original
        self._max_retries = max_retries
        self._restartable = restartable
        self._id = history_item_id
        self.retries = 0
        """How many times the audio has been asked for again."""

    def ask(self, written: int, broken: Exception) -> dict[str, str]:
        """The headers to ask again with, having ``written`` bytes; raises ``broken`` if spent.

        ``{}`` asks for the whole audio (to start over); else ``Range`` + ``If-Range``. A
        destination that cannot start over is not asked for the whole audio at all.
        """
        asked = resume_headers(self._original, written)
        if self.retries >= self._max_retries or not (asked or self._restartable or not written):
            raise broken  # spent, or only starting over could help and it cannot
        self.retries += 1
        return asked

    def judge(
        self, asked: dict[str, str], response: httpx.Response, written: int, broken: Exception
    ) -> Step:
        """What the answer to ``ask()``'s headers means; raises ``broken`` to give up.

        After a ``"restart"``, the answer's headers are the original the next break is
        resumed against.
        """
        if asked and continues(self._original, response, written):
            logger.info("resuming %s at byte %d", self._id, written)
            return "resume"
        if written and not self._restartable:
            raise broken
        # Asked for the whole audio, the answer is the whole audio: download_flow never
        # returns a part for a request without Range.
        if response.status_code == 200 or not asked:
            logger.info("restarting %s from the first byte", self._id)
            self._original = response.headers  # later resumes continue this version
            return "restart"
        # A 206 that does not continue our copy: the server ignored If-Range and the audio
        # changed, or it sent another part. Only the whole audio can help now.
        logger.info("%s: the part sent does not continue the download; asking again", self._id)
        return "ask again"

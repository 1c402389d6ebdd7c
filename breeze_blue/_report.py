"""What ``download_many()`` reports: one ``DownloadResult`` per id, and the totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["DownloadReport", "DownloadResult"]


@dataclass(frozen=True)
class DownloadResult:
    """How one history item of a ``download_many()`` call ended.

    Attributes:
        history_item_id: The id as it was given.
        status: ``"saved"`` (downloaded now), ``"skipped"`` (a complete file for it was
            already there: no request was made) or ``"failed"``.
        path: The file, for ``"saved"`` and ``"skipped"``; ``None`` for ``"failed"``.
        size: Bytes written, for ``"saved"``.
        media_type: The audio's media type, for ``"saved"``.
        error: The typed exception, for ``"failed"``
            ([`NotFoundError`][breeze_blue.NotFoundError],
            [`GenerationNotReadyError`][breeze_blue.GenerationNotReadyError], ``ValueError``
            for an id that cannot be a file name, ...).

    Examples:
        >>> report = client.history.download_many(["hist_mpeg", "hist_missing"], "backup")
        >>> for result in report.failed:
        ...     print(result.history_item_id, type(result.error).__name__, result.error)
    """

    history_item_id: str
    status: Literal["saved", "skipped", "failed"]
    path: Path | None = None
    size: int | None = None
    media_type: str | None = None
    error: BaseException | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """Whether the item's audio is on disk (saved now or skipped as complete)."""
        return self.status != "failed"


@dataclass(frozen=True)
class DownloadReport:
    """The outcome of a ``download_many()`` call.

    Attributes:
        results: One [`DownloadResult`][breeze_blue.DownloadResult] per distinct id, in
            input order.
        bytes: Bytes written by this call (skipped files not counted).
        elapsed: Seconds the call took.
        rate_limited: How many ``429`` answers the call received.

    Examples:
        >>> ids = ["hist_mpeg", "hist_wav", "hist_missing"]
        >>> report = client.history.download_many(ids, "backup/")
        >>> print(len(report.saved), len(report.skipped), len(report.failed))
        2 0 1
    """

    results: Sequence[DownloadResult]
    bytes: int
    elapsed: float
    rate_limited: int

    @property
    def saved(self) -> list[DownloadResult]:
        """The results with status ``"saved"``, in input order."""
        return [r for r in self.results if r.status == "saved"]

    @property
    def skipped(self) -> list[DownloadResult]:
        """The results with status ``"skipped"``, in input order."""
        return [r for r in self.results if r.status == "skipped"]

    @property
    def failed(self) -> list[DownloadResult]:
        """The results with status ``"failed"``, in input order."""
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """Whether every item was saved or skipped."""
        return all(r.status != "failed" for r in self.results)

"""How ``download_many()`` schedules its items, written once for threads and for tasks.

:class:`Pacer` is the one rate-limit gate all workers share, and the concurrency that adapts
to the server: it halves on a ``429`` and climbs back by one after as many good answers as
it allows at once. :class:`Plan` is the bookkeeping: ids taken in lazily, duplicates and
other shards' ids dropped, items waiting for a generation parked without a slot, results
kept in input order. Neither does I/O or waits: the drivers (``_bulk.py``, ``_abulk.py``)
ask them what to do and carry it out with threads or with tasks.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike  # a type, for checking arguments: the core still does no I/O
from pathlib import Path

from .._report import DownloadReport, DownloadResult
from .flow import Flow
from .names import file_stem, in_shard, validate_shard
from .request import validate_history_item_id

__all__ = [
    "MAX_CONCURRENCY",
    "BulkOptions",
    "Job",
    "Pacer",
    "Plan",
    "bulk_options",
    "failed",
    "max_parked",
    "validate_concurrency",
]


MAX_CONCURRENCY = 256
"""More downloads at once than any API tier allows; each is a thread in the sync client."""


def validate_concurrency(concurrency: object) -> int:
    """``concurrency`` checked: an int from 1 to :data:`MAX_CONCURRENCY`."""
    if not isinstance(concurrency, int) or isinstance(concurrency, bool):
        raise TypeError(f"concurrency must be an int, not {concurrency!r}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be from 1 to {MAX_CONCURRENCY}, not {concurrency}")
    return concurrency


def max_parked(concurrency: int) -> int:
    """How many items may wait for their generation before no new id is read.

    Each keeps its suspended download; without a bound, a list of running generations
    would be read in whole while they wait.
    """
    return max(64, 8 * concurrency)


class Pacer:
    """The shared gate and the adaptive limit on requests in flight.

    A worker asks :meth:`wait_time` before each request: ``None`` means go (then it calls
    :meth:`start`, and :meth:`release` when the request and its body are done), a number
    means the gate is closed for that long, ``math.inf`` that every slot is taken.

    The limit halves on a ``429`` (never below 1) and climbs back by one after as many good
    answers as it allows at once. The level that drew the ``429`` is remembered: climbing to
    it again takes :attr:`patience` times longer, and each ``429`` there doubles that, so a
    server's fixed limit is probed now and then instead of on every climb. Passing that level
    cleanly forgets it (the server may have raised its limit).

    Example (one worker's turn, as the drivers take it)::

        while (delay := pacer.wait_time(clock())) is not None:
            wait(delay)  # woken early when a slot frees
        epoch = pacer.start()
        ...  # on a 429: pacer.throttled(epoch, retry_after, clock(), halve=True)
        pacer.release()
    """

    PATIENCE = 4
    MAX_PATIENCE = 64

    def __init__(self, concurrency: int) -> None:
        self.maximum = concurrency
        self.limit = concurrency
        self.in_flight = 0
        self.gate_until = 0.0
        self.rate_limited = 0
        self.ceiling = math.inf
        """The lowest limit that drew a 429 and has not been passed cleanly since."""
        self.patience = self.PATIENCE
        self._epoch = 0
        self._good = 0

    def wait_time(self, now: float) -> float | None:
        """``None`` if a request may start now; else how long to wait (``inf``: a slot)."""
        if now < self.gate_until:
            return self.gate_until - now
        if self.in_flight >= self.limit:
            return math.inf
        return None

    def start(self) -> int:
        """Take a slot; returns the epoch to hand back to :meth:`throttled`."""
        self.in_flight += 1
        return self._epoch

    def release(self) -> None:
        """Give the slot back."""
        self.in_flight -= 1

    def saw_rate_limit(self) -> None:
        """Count a ``429`` answer, whether or not the gate handles it (for the report)."""
        self.rate_limited += 1

    def succeeded(self) -> None:
        """A good answer: enough of them in a row, and one more request may fly."""
        self._good += 1
        probing = self.limit + 1 >= self.ceiling
        if self._good < self.limit * (self.patience if probing else 1):
            return
        self._good = 0
        if self.limit >= self.ceiling:
            # A whole round at the level that once drew a 429, without one: forget it.
            self.ceiling = math.inf
            self.patience = max(self.PATIENCE, self.patience // 2)
        self.limit = min(self.maximum, self.limit + 1)

    def throttled(self, epoch: int, delay: float, now: float, *, halve: bool) -> None:
        """The server said "not now, for ``delay`` seconds": close the gate for everyone.

        ``halve`` (a ``429``) also halves the limit, once per wave: requests that were
        already in flight when the first ``429`` came belong to the same epoch and do not
        halve it again.
        """
        self.gate_until = max(self.gate_until, now + max(0.0, delay))
        if halve and epoch == self._epoch:
            self._epoch += 1
            self._good = 0
            if self.limit >= self.ceiling:
                self.patience = min(self.MAX_PATIENCE, self.patience * 2)
            self.ceiling = min(self.ceiling, self.limit)
            self.limit = max(1, self.limit // 2)


def failed(history_item_id: str, error: BaseException) -> DownloadResult:
    """A failed result that keeps the typed error but not its traceback.

    A traceback holds the frames of the download, and they the responses and requests: kept
    for thousands of failed items they would make memory grow with every failure.
    """
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return DownloadResult(history_item_id, "failed", error=error)


@dataclass
class Job:
    """One item on its way: where it stands in the input, and its suspended flow if any."""

    index: int
    history_item_id: str
    stem: str
    flow: Flow | None = None
    """The download flow, kept across a park (waiting for a generation)."""
    due: float = 0.0
    throttles: int = 0
    """How many times the gate turned this item back; past a bound the flow decides."""


@dataclass
class Plan:
    """The bookkeeping of one ``download_many()`` call (no I/O, no waiting).

    Each input id goes through :meth:`prepare` (duplicates and other shards' ids dropped,
    malformed ids refused) and, once the driver has looked on disk, :meth:`settle` (skipped,
    or a job to download). :meth:`finish` records a job's result in its input position;
    :meth:`park`/:meth:`due` keep items that wait for a generation out of the slots.
    """

    directory: Path
    shard: tuple[int, int] | None
    overwrite: bool
    fold_case: bool = False
    """The folder ignores case: capital letters in ids are escaped in file names."""
    results: list[DownloadResult | None] = field(default_factory=list)
    bytes: int = 0
    _seen: set[str] = field(default_factory=set)
    _parked: list[tuple[float, int, Job]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def prepare(self, history_item_id: object) -> Job | DownloadResult | None:
        """The first look at an input id, without the disk.

        ``None``: nothing to do (a duplicate, or another shard's); a failed
        :class:`DownloadResult`: the id is not one; a :class:`Job`: look for its file
        (unless :attr:`overwrite`). Either goes to :meth:`settle` next, in input order.
        """
        if not isinstance(history_item_id, str):
            shown = repr(history_item_id)
            error = TypeError(f"history item id must be a str, not {shown}")
            return DownloadResult(shown, "failed", error=error)
        if history_item_id in self._seen:
            return None
        if self.shard is not None and not in_shard(history_item_id, self.shard):
            return None
        self._seen.add(history_item_id)
        try:
            validate_history_item_id(history_item_id)
            stem = file_stem(history_item_id, fold_case=self.fold_case)
        except (TypeError, ValueError) as exc:
            return DownloadResult(history_item_id, "failed", error=exc)
        return Job(-1, history_item_id, stem)

    def settle(
        self, prepared: Job | DownloadResult, found: Path | OSError | None = None
    ) -> Job | DownloadResult:
        """Record what :meth:`prepare` gave, in input order: a result, or the job to run.

        A job is skipped if a complete file was ``found``; ``found`` may be the ``OSError``
        looking raised (a name the filesystem refuses): that item fails, not the run.
        """
        if isinstance(prepared, DownloadResult):
            return self._record(prepared)
        if isinstance(found, OSError):
            return self._record(failed(prepared.history_item_id, found))
        if found is not None and not self.overwrite:
            return self._record(DownloadResult(prepared.history_item_id, "skipped", path=found))
        prepared.index = len(self.results)
        self.results.append(None)
        return prepared

    def _record(self, result: DownloadResult) -> DownloadResult:
        self.results.append(result)
        return result

    def finish(self, job: Job, result: DownloadResult) -> None:
        """Record a downloaded item's result in its input position."""
        job.flow = None  # its frames, and the responses they hold, are not needed any more
        self.results[job.index] = result
        if result.status == "saved" and result.size is not None:
            self.bytes += result.size

    def park(self, job: Job, due: float) -> None:
        """Keep a job that waits for its generation until ``due``, holding no slot."""
        job.due = due
        heapq.heappush(self._parked, (due, next(self._order), job))

    def due(self, now: float) -> Job | None:
        """A parked job whose time has come, if any."""
        if self._parked and self._parked[0][0] <= now:
            return heapq.heappop(self._parked)[2]
        return None

    @property
    def parked(self) -> int:
        """How many jobs wait for their generation."""
        return len(self._parked)

    def next_due(self) -> float | None:
        """When the first parked job is due, or ``None``."""
        return self._parked[0][0] if self._parked else None

    def report(self, elapsed: float, rate_limited: int) -> DownloadReport:
        """The final report (every admitted job must have finished)."""
        results = [r for r in self.results if r is not None]
        assert len(results) == len(self.results), "a job did not finish"
        return DownloadReport(
            results=results, bytes=self.bytes, elapsed=elapsed, rate_limited=rate_limited
        )


@dataclass(frozen=True)
class BulkOptions:
    """The checked arguments of a ``download_many()`` call."""

    concurrency: int
    shard: tuple[int, int] | None


def bulk_options(
    ids: object,
    directory: object,
    concurrency: object,
    wait_timeout: object,
    on_item: object,
    shard: object,
) -> BulkOptions:
    """Check ``download_many()``'s arguments before anything is sent or created."""
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        raise TypeError(
            f"ids must be an iterable of history item ids (a list, a generator), not {ids!r}"
        )
    if not isinstance(directory, str | PathLike):
        raise TypeError(f"directory must be a path, not {directory!r}")
    if isinstance(wait_timeout, bool) or not isinstance(wait_timeout, int | float):
        raise TypeError(f"wait_timeout must be a number of seconds, not {wait_timeout!r}")
    if not wait_timeout >= 0:
        raise ValueError(f"wait_timeout must be a number of seconds >= 0, not {wait_timeout!r}")
    if on_item is not None and not callable(on_item):
        raise TypeError(f"on_item must be callable, not {on_item!r}")
    return BulkOptions(validate_concurrency(concurrency), validate_shard(shard))

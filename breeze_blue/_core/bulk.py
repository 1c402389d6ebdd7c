"""How ``download_many()`` schedules its items, written once for threads and for tasks.

``Pacer`` is the one rate-limit gate all workers share, and the concurrency that adapts
to the server: it halves on a ``429`` and climbs back by one after as many good answers as
it allows at once. ``Plan`` is the bookkeeping: ids taken in lazily, duplicates and
other shards' ids dropped, items waiting for a generation parked without a slot, results
kept in input order. Neither does I/O or waits: the drivers (``_bulk.py``, ``_abulk.py``)
ask them what to do and carry it out with threads or with tasks.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from os import PathLike  # a type, for checking arguments: the core still does no I/O
from pathlib import Path
from typing import cast

import httpx

from .._errors import APIConnectionError, AuthenticationError, RateLimitError, could_not_connect
from .._report import DownloadReport, DownloadResult
from .flow import Flow, Settings, backoff_delay, server_delay
from .names import file_stem, in_shard, validate_shard
from .request import validate_history_item_id

__all__ = [
    "MAX_CONCURRENCY",
    "THROTTLES_PER_RETRY",
    "BulkOptions",
    "Gatekeeper",
    "Job",
    "Pacer",
    "Plan",
    "Slot",
    "bulk_options",
    "bulk_settings",
    "failed",
    "max_parked",
    "unreachable_after",
    "validate_concurrency",
]


MAX_CONCURRENCY = 256
"""More downloads at once than any API tier allows; each is a thread in the sync client."""


def validate_concurrency(concurrency: object) -> int:
    """``concurrency`` checked: an int from 1 to ``MAX_CONCURRENCY``."""
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

    A worker asks ``wait_time()`` before each request: ``None`` means go (then it calls
    ``start()``, and ``release()`` when the request and its body are done), a number
    means the gate is closed for that long, ``math.inf`` that every slot is taken.

    The limit halves on a ``429`` (never below 1) and climbs back by one after as many good
    answers as it allows at once. The level that drew the ``429`` is remembered: climbing to
    it again takes ``patience`` times longer, and each ``429`` there doubles that, so a
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
        """Take a slot; returns the epoch to hand back to ``throttled()``."""
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


THROTTLES_PER_RETRY = 3
"""The gate turns one item back up to this many times its client's ``max_retries``: a
wave of ``429`` answers hits an item more than once while the limit comes down. Past that,
the item's own retries decide (``max_retries=0`` keeps meaning no retry at all)."""


def unreachable_after(concurrency: int) -> int:
    """Items in a row that could not connect, with no answer between, before the run stops."""
    return max(16, 2 * concurrency)


def bulk_settings(settings: Settings, client_timeout: httpx.Timeout) -> Settings:
    """The client's settings for a bulk run: no limit on waiting for a pooled connection.

    The pacer already bounds the downloads in flight; a ``concurrency`` above the pool's
    size must make workers wait their turn, not fail with a pool timeout.
    """
    timeout = settings.timeout or client_timeout
    unbounded = httpx.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.write, pool=None
    )
    return replace(settings, timeout=unbounded)


class Slot:
    """Whether a job holds one of the pacer's slots, and the epoch it took it in."""

    __slots__ = ("epoch", "held")

    def __init__(self) -> None:
        self.held = False
        self.epoch = 0


class Gatekeeper:
    """Everything the workers of one run share about the server, decided without I/O.

    The ``Pacer`` (the gate and the limit), whether the server has answered yet, how
    many items in a row could not connect; and from these, when a request may go, what an
    answer means for everyone, and which errors stop the run. The drivers hold their own
    lock around every call.

    Example (a worker's request, as the drivers make it)::

        while (delay := keeper.admit(slot, clock())) is not None:
            wait(delay)
        outcome = send(request)
        if (delay := keeper.answer(outcome, job, slot, clock())) is not None:
            release(slot)  # and ask again: admit() waits for the gate
    """

    def __init__(self, concurrency: int, settings: Settings) -> None:
        self.pacer = Pacer(concurrency)
        self.settings = settings
        self.concurrency = concurrency
        self.answered = False
        self.unreachable = 0

    def admit(self, slot: Slot, now: float) -> float | None:
        """``None``: send now (``slot`` is held, the gate open); else how long to wait first.

        A slot taken before the gate closed (a resume, a redirect) is given back: every
        request waits for the gate.
        """
        if slot.held:
            if now >= self.pacer.gate_until:
                return None
            self.release(slot)
        delay = self.pacer.wait_time(now)
        if delay is None:
            slot.epoch = self.pacer.start()
            slot.held = True
        return delay

    def release(self, slot: Slot) -> None:
        """Give a held slot back."""
        if slot.held:
            self.pacer.release()
            slot.held = False

    def answer(self, outcome: object, job: Job, slot: Slot, now: float) -> float | None:
        """Book what a request got; the wait before asking again through the gate, or
        ``None`` to hand ``outcome`` to the item's flow.

        A ``429`` (with or without ``Retry-After``) or a ``503`` with one closes the gate
        for every worker, whatever the item does next. The item asks again through the
        gate unless it was turned back too often (``THROTTLES_PER_RETRY``) or asked to
        wait longer than the policy's ``max_retry_after`` (60 s): then its flow decides (a
        retry, or the typed error, which ``failed()`` may find stops the run).
        """
        delay = self._throttle_delay(outcome)
        if isinstance(outcome, httpx.Response):
            self.answered = True
            self.unreachable = 0
            if outcome.status_code == 429:
                self.pacer.saw_rate_limit()
            elif delay is None:
                self.pacer.succeeded()
        if delay is None:
            return None
        halve = isinstance(outcome, httpx.Response) and outcome.status_code == 429
        self.pacer.throttled(slot.epoch, delay, now, halve=halve)
        policy = self.settings.policy
        if job.throttles >= THROTTLES_PER_RETRY * policy.max_retries:
            return None
        if delay > policy.max_retry_after:
            return None
        job.throttles += 1
        return delay

    def _throttle_delay(self, outcome: object) -> float | None:
        if not isinstance(outcome, httpx.Response) or outcome.status_code not in (429, 503):
            return None
        asked = server_delay(outcome.headers, now=self.settings.clock)
        if asked is None and outcome.status_code == 429:
            asked = backoff_delay(self.settings.policy, 0)
        return asked

    def failed(self, exc: BaseException) -> bool:
        """Book an item's error; whether it stops the whole run (it would be every item's).

        A refused key; a server that never answered, or stopped answering for
        ``unreachable_after()`` items in a row; a ``429`` asking to wait longer than the
        retry policy's ``max_retry_after`` (60 s), which every item would meet.
        """
        if isinstance(exc, AuthenticationError):
            return True
        if isinstance(exc, APIConnectionError) and could_not_connect(exc):
            self.unreachable += 1
            return not self.answered or self.unreachable >= unreachable_after(self.concurrency)
        if isinstance(exc, RateLimitError):
            return (exc.retry_after or 0.0) > self.settings.policy.max_retry_after
        return False


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
    throttles: int = 0
    """How many times the gate turned this item back; past a bound the flow decides."""


@dataclass
class Plan:
    """The bookkeeping of one ``download_many()`` call (no I/O, no waiting).

    Each input id goes through ``prepare()`` (duplicates and other shards' ids dropped,
    malformed ids refused) and, once the driver has looked on disk, ``settle()`` (skipped,
    or a job to download). ``finish()`` records a job's result in its input position;
    ``park()``/``due()`` keep items that wait for a generation out of the slots.
    """

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
        ``DownloadResult``: the id is not one; a ``Job``: look for its file
        (unless ``overwrite``). Either goes to ``settle()`` next, in input order.
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
        """Record what ``prepare()`` gave, in input order: a result, or the job to run.

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
    """The checked arguments of a ``download_many()`` call, as both drivers take them."""

    concurrency: int
    overwrite: bool
    wait: bool
    wait_timeout: float
    on_item: Callable[[DownloadResult], object] | None
    shard: tuple[int, int] | None


def bulk_options(
    ids: object,
    directory: object,
    *,
    concurrency: object,
    overwrite: bool,
    wait: bool,
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
    return BulkOptions(
        concurrency=validate_concurrency(concurrency),
        overwrite=overwrite,
        wait=wait,
        wait_timeout=float(wait_timeout),
        on_item=cast("Callable[[DownloadResult], object] | None", on_item),
        shard=validate_shard(shard),
    )

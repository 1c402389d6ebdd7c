"""``BreezeBlue.history.download_many()``: many items on a bounded pool of threads.

The schedule is the sans-I/O core's (``_core.bulk``): one ``Gatekeeper`` shared
by every worker (the gate, the adaptive limit, what stops a run), and a ``Plan`` of
the ids. The caller's thread
reads the ids (lazily, a few ahead of the workers), looks for files already complete, and
calls ``on_item``; the workers download over the client's one HTTP connection pool.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import httpx

from ._audio import Audio
from ._client import drive_sync, read_capped, send_once
from ._core.bulk import BulkOptions, Gatekeeper, Job, Plan, Slot, bulk_settings, failed, max_parked
from ._core.flow import Flow, ReadBody, Settings, backoff_delay, download_flow
from ._core.names import file_name
from ._errors import BreezeBlueError
from ._files.folder import (
    ignores_case,
    look_for_complete,
    remove_other_copies,
    remove_stale_temps,
)
from ._report import DownloadReport, DownloadResult
from ._save import save
from ._stream import Body

__all__ = ["Parked", "Stopped", "ThreadedRun"]

_POLL = 0.5  # how often a waiting caller's thread wakes, so Ctrl-C is seen everywhere


class Parked(Exception):
    """A job waiting for its generation until ``due`` (monotonic time), holding no slot.

    Raised by a worker's sleep in place of waiting: the flow stays suspended at its sleep,
    and is driven on from there when the job is due.
    """

    def __init__(self, due: float) -> None:
        super().__init__(due)
        self.due = due


class Stopped(Exception):
    """The run is stopping (a fatal error or an interrupt): drop this job."""


class ThreadedRun:
    """One ``download_many()`` call on threads (see ``History.download_many()``)."""

    def __init__(
        self,
        http: httpx.Client,
        settings: Settings,
        sleep: Callable[[float], None],
        folder: Path,
        options: BulkOptions,
    ) -> None:
        self._http = http
        self._settings = bulk_settings(settings, http.timeout)
        self._options = options
        self._keeper = Gatekeeper(options.concurrency, self._settings)
        # Real waits are made on the condition, so that stopping cuts them short; a sleep
        # the caller gave the client (a test's fake) is honoured as it is.
        self._sleep = None if sleep is time.sleep else sleep
        self._folder = folder
        self._plan = Plan(options.shard, options.overwrite)
        self._max_parked = max_parked(options.concurrency)
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._done: deque[tuple[Job, DownloadResult]] = deque()
        self._closed = False
        self._active = 0
        self._stopping: BaseException | None = None

    # ---- the caller's thread

    def run(self, ids: Iterable[object]) -> DownloadReport:
        """Download every id; returns the report, or raises what stops every item."""
        started = time.monotonic()
        remove_stale_temps(self._folder)
        self._plan.fold_case = ignores_case(self._folder)
        workers = [
            threading.Thread(target=self._work, name=f"breeze-blue-download-{n}", daemon=True)
            for n in range(self._options.concurrency)
        ]
        for worker in workers:
            worker.start()
        try:
            self._feed(ids)
            self._drain_until_done()
        except BaseException as exc:
            # Ctrl-C, or on_item raising: no new work; downloads in flight finish, and
            # their files are complete or their temporary files removed.
            self._stop(exc)
            for worker in workers:
                worker.join()
            if not isinstance(exc, KeyboardInterrupt) or self._options.on_item is None:
                raise
            # What finished while winding down is on disk: the caller hears of it.
            with contextlib.suppress(BaseException):
                self._deliver_done()
            raise
        for worker in workers:
            worker.join()
        if self._stopping is not None:
            raise self._stopping
        return self._plan.report(time.monotonic() - started, self._keeper.pacer.rate_limited)

    def _stop(self, exc: BaseException) -> None:
        with self._cond:
            if self._stopping is None:
                self._stopping = exc
            self._cond.notify_all()

    def _feed(self, ids: Iterable[object]) -> None:
        for history_item_id in ids:
            prepared = self._plan.prepare(history_item_id)
            if prepared is None:
                continue
            found = self._look(prepared.stem) if isinstance(prepared, Job) else None
            admitted = self._plan.settle(prepared, found)
            if isinstance(admitted, DownloadResult):
                self._deliver(admitted)
                continue
            while True:
                self._deliver_done()
                with self._cond:
                    if self._stopping is not None:
                        return
                    room = len(self._queue) < self._options.concurrency
                    if room and self._plan.parked < self._max_parked:
                        self._queue.append(admitted)
                        self._cond.notify_all()
                        break
                    if not self._done:
                        self._cond.wait(_POLL)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _look(self, stem: str) -> Path | OSError | None:
        return None if self._options.overwrite else look_for_complete(self._folder, stem)

    def _drain_until_done(self) -> None:
        while True:
            self._deliver_done()
            with self._cond:
                if self._stopping is not None or self._finished():
                    return
                if not self._done:
                    self._cond.wait(_POLL)

    def _finished(self) -> bool:
        return (
            self._closed
            and not self._queue
            and not self._done
            and self._active == 0
            and self._plan.parked == 0
        )

    def _deliver_done(self) -> None:
        while True:
            with self._cond:
                if not self._done:
                    return
                job, result = self._done.popleft()
            self._plan.finish(job, result)
            self._deliver(result)

    def _deliver(self, result: DownloadResult) -> None:
        if self._options.on_item is not None:
            self._options.on_item(result)

    # ---- the workers

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping is not None:
                        return
                    job = self._plan.due(time.monotonic())
                    if job is None and self._queue:
                        job = self._queue.popleft()
                        self._cond.notify_all()  # room in the queue for the feeder
                    if job is not None:
                        self._active += 1
                        break
                    if self._closed and not self._queue and self._plan.parked == 0:
                        return
                    next_due = self._plan.next_due()
                    self._cond.wait(
                        None if next_due is None else max(0.0, next_due - time.monotonic())
                    )
            outcome: DownloadResult | Parked | None
            try:
                outcome = self._run_job(job)
            except Stopped:
                outcome = None
            except BaseException as exc:  # what fails every item (or a bug) stops the run
                outcome = None
                self._stop(exc)
            with self._cond:
                self._active -= 1
                if isinstance(outcome, Parked):
                    self._plan.park(job, outcome.due)
                elif outcome is not None:
                    self._done.append((job, outcome))
                self._cond.notify_all()

    def _run_job(self, job: Job) -> DownloadResult | Parked:
        slot = Slot()
        try:
            if job.flow is None:
                job.flow = download_flow(
                    self._http.build_request,
                    self._settings,
                    job.history_item_id,
                    wait=self._options.wait,
                    wait_timeout=self._options.wait_timeout,
                )
            response = self._drive(job, job.flow, slot, parkable=True)
            if isinstance(response, Parked):
                return response
            return self._save(job, response, slot)
        except (BreezeBlueError, OSError, ValueError, TypeError) as exc:
            with self._cond:
                fatal = self._keeper.failed(exc)
            if fatal or self._http.is_closed:
                raise
            return failed(job.history_item_id, exc)
        finally:
            if slot.held:
                self._release(slot)

    def _save(self, job: Job, response: httpx.Response, slot: Slot) -> DownloadResult:
        def reopen(headers: Mapping[str, str], retry: int) -> httpx.Response:
            if slot.held:
                self._release(slot)  # no slot is held while backing off
            self._pause(backoff_delay(self._settings.policy, retry))
            flow = download_flow(
                self._http.build_request,
                self._settings,
                job.history_item_id,
                extra_headers=headers,
            )
            again = self._drive(job, flow, slot, parkable=False)
            assert isinstance(again, httpx.Response)
            return again

        audio = Audio(
            Body(
                response,
                history_item_id=job.history_item_id,
                reopen=reopen,
                max_retries=self._settings.policy.max_retries,
            )
        )
        path = self._folder / file_name(job.stem, audio.content_type)
        if path.is_dir():
            audio.close()
            raise IsADirectoryError(f"a folder has the item's file name: {str(path)!r}")
        save(audio, path)
        if self._options.overwrite:
            remove_other_copies(self._folder, job.stem, path)
        return DownloadResult(
            job.history_item_id,
            "saved",
            path=path,
            size=path.stat().st_size,
            media_type=audio.content_type,
        )

    def _drive(
        self, job: Job, flow: Flow, slot: Slot, *, parkable: bool
    ) -> httpx.Response | Parked:
        """Run a flow's I/O through the shared gate; returns the response holding a slot."""
        last: list[object] = [None]

        def send(request: httpx.Request) -> object:
            last[0] = self._send(job, request, slot)
            return last[0]

        def sleep(seconds: float) -> None:
            if slot.held:
                self._release(slot)
            answer = last[0]
            if parkable and isinstance(answer, httpx.Response) and answer.status_code == 409:
                raise Parked(time.monotonic() + seconds)
            self._pause(seconds)

        try:
            return drive_sync(flow, send, sleep)
        except Parked as parked:
            return parked

    def _send(self, job: Job, request: httpx.Request, slot: Slot) -> object:
        while True:
            self._acquire(slot)
            outcome = send_once(self._http, request)
            with self._cond:
                delay = self._keeper.answer(outcome, job, slot, time.monotonic())
                self._cond.notify_all()  # the gate may have closed: waiters re-check
            if delay is None:
                return outcome  # the flow decides: the audio, an error, or its own retry
            assert isinstance(outcome, httpx.Response)
            read_capped(ReadBody(outcome))
            self._release(slot)

    def _acquire(self, slot: Slot) -> None:
        """Hold a slot with the gate open: every request waits for the gate, a held slot too."""
        with self._cond:
            while True:
                if self._stopping is not None:
                    raise Stopped
                held = slot.held
                delay = self._keeper.admit(slot, time.monotonic())
                if held and not slot.held:
                    self._cond.notify_all()  # a slot was given back
                if delay is None:
                    return
                self._cond.wait(None if math.isinf(delay) else delay)

    def _release(self, slot: Slot) -> None:
        with self._cond:
            self._keeper.release(slot)
            self._cond.notify_all()

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, cut short (with ``Stopped``) if the run stops."""
        if self._sleep is not None:
            self._sleep(seconds)
            return
        deadline = time.monotonic() + seconds
        with self._cond:
            while self._stopping is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)
            raise Stopped

"""``AsyncBreezeBlue.history.download_many()``: many items on a bounded set of tasks.

The twin of ``_bulk.py`` (threads), over the same sans-I/O schedule (``_core.bulk``):
one ``Gatekeeper`` shared by the tasks (the gate, the adaptive limit, what stops a
run) and one ``Plan`` of the ids. What differs is only how to wait and how to write.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path

import httpx

from ._asave import asave
from ._async_client import aread_capped, asend_once, drive_async
from ._audio import AsyncAudio
from ._bulk import Parked, Stopped
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
from ._stream import Body

__all__ = ["TaskRun"]

# Ids are looked for on disk this many at a time, in a worker thread: the event loop never
# blocks on a long run of files that are already there.
_BATCH = 32


class TaskRun:
    """One ``download_many()`` call on asyncio tasks (see ``AsyncHistory.download_many``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        sleep: Callable[[float], Awaitable[None]],
        folder: Path,
        options: BulkOptions,
    ) -> None:
        self._http = http
        self._settings = bulk_settings(settings, http.timeout)
        self._options = options
        self._keeper = Gatekeeper(options.concurrency, self._settings)
        # Real waits are made on the condition, so that stopping cuts them short; a sleep
        # the caller gave the client (a test's fake) is honoured as it is.
        self._sleep = None if sleep is asyncio.sleep else sleep
        self._folder = folder
        self._plan = Plan(options.shard, options.overwrite)
        self._max_parked = max_parked(options.concurrency)
        self._cond = asyncio.Condition()
        self._queue: deque[Job] = deque()
        self._closed = False
        self._stopping: BaseException | None = None

    async def run(self, ids: Iterable[object]) -> DownloadReport:
        """Download every id; returns the report, or raises what stops every item."""
        started = time.monotonic()
        await asyncio.to_thread(remove_stale_temps, self._folder)
        self._plan.fold_case = await asyncio.to_thread(ignores_case, self._folder)
        workers = [asyncio.create_task(self._work()) for _ in range(self._options.concurrency)]
        try:
            await self._feed(ids)
            await asyncio.gather(*workers)
        except BaseException as exc:
            # Cancelled, or on_item raised: the downloads in flight are cancelled too, and
            # asave() removes their temporary files.
            self._stopping = self._stopping or exc
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if self._stopping is not None:
            raise self._stopping
        return self._plan.report(time.monotonic() - started, self._keeper.pacer.rate_limited)

    async def _stop(self, exc: BaseException) -> None:
        async with self._cond:
            if self._stopping is None:
                self._stopping = exc
            self._cond.notify_all()

    async def _feed(self, ids: Iterable[object]) -> None:
        batch: list[Job | DownloadResult] = []
        for history_item_id in ids:
            prepared = self._plan.prepare(history_item_id)
            if prepared is not None:
                batch.append(prepared)
            if len(batch) >= _BATCH:
                if not await self._admit(batch):
                    return
                batch = []
            elif prepared is None:
                await asyncio.sleep(0)  # a long run of duplicates must not hold the loop
        if batch and not await self._admit(batch):
            return
        async with self._cond:
            self._closed = True
            self._cond.notify_all()

    async def _admit(self, batch: list[Job | DownloadResult]) -> bool:
        """Settle a batch in input order and queue its jobs; False once stopping."""
        jobs = [item for item in batch if isinstance(item, Job)]
        looks = await asyncio.to_thread(lambda: {id(job): self._look(job.stem) for job in jobs})
        for item in batch:
            admitted = self._plan.settle(item, looks.get(id(item)))
            if isinstance(admitted, DownloadResult):
                self._deliver(admitted)
                continue
            async with self._cond:
                await self._cond.wait_for(
                    lambda: (
                        self._stopping is not None
                        or (
                            len(self._queue) < self._options.concurrency
                            and self._plan.parked < self._max_parked
                        )
                    )
                )
                if self._stopping is not None:
                    return False
                self._queue.append(admitted)
                self._cond.notify_all()
        return True

    def _look(self, stem: str) -> Path | OSError | None:
        return None if self._options.overwrite else look_for_complete(self._folder, stem)

    def _deliver(self, result: DownloadResult) -> None:
        if self._options.on_item is not None:
            self._options.on_item(result)

    async def _work(self) -> None:
        while True:
            async with self._cond:
                while True:
                    if self._stopping is not None:
                        return
                    job = self._plan.due(time.monotonic())
                    if job is None and self._queue:
                        job = self._queue.popleft()
                        self._cond.notify_all()  # room in the queue for the feeder
                    if job is not None:
                        break
                    if self._closed and not self._queue and self._plan.parked == 0:
                        return
                    next_due = self._plan.next_due()
                    await self._wait(None if next_due is None else next_due - time.monotonic())
            try:
                outcome = await self._run_job(job)
                if isinstance(outcome, DownloadResult):
                    self._plan.finish(job, outcome)
                    self._deliver(outcome)
            except Stopped:
                continue
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # a fatal error, on_item raising, or a bug
                await self._stop(exc)
                return
            async with self._cond:
                if isinstance(outcome, Parked):
                    self._plan.park(job, outcome.due)
                self._cond.notify_all()

    async def _wait(self, timeout: float | None) -> None:
        """Wait on the condition (held), at most ``timeout`` seconds."""
        if timeout is None:
            await self._cond.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, timeout)):
                await self._cond.wait()

    async def _run_job(self, job: Job) -> DownloadResult | Parked:
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
            response = await self._drive(job, job.flow, slot, parkable=True)
            if isinstance(response, Parked):
                return response
            return await self._save(job, response, slot)
        except (BreezeBlueError, OSError, ValueError, TypeError) as exc:
            if self._keeper.failed(exc) or self._http.is_closed:
                raise
            return failed(job.history_item_id, exc)
        finally:
            if slot.held:
                await self._release(slot)

    async def _save(self, job: Job, response: httpx.Response, slot: Slot) -> DownloadResult:
        async def reopen(headers: Mapping[str, str], retry: int) -> httpx.Response:
            if slot.held:
                await self._release(slot)  # no slot is held while backing off
            await self._pause(backoff_delay(self._settings.policy, retry))
            flow = download_flow(
                self._http.build_request,
                self._settings,
                job.history_item_id,
                extra_headers=headers,
            )
            again = await self._drive(job, flow, slot, parkable=False)
            assert isinstance(again, httpx.Response)
            return again

        audio = AsyncAudio(
            Body(
                response,
                history_item_id=job.history_item_id,
                reopen=reopen,
                max_retries=self._settings.policy.max_retries,
            )
        )
        path = self._folder / file_name(job.stem, audio.content_type)
        if await asyncio.to_thread(path.is_dir):
            await audio.aclose()
            raise IsADirectoryError(f"a folder has the item's file name: {str(path)!r}")
        await asave(audio, path)
        if self._options.overwrite:
            await asyncio.to_thread(remove_other_copies, self._folder, job.stem, path)
        size = (await asyncio.to_thread(path.stat)).st_size
        return DownloadResult(
            job.history_item_id, "saved", path=path, size=size, media_type=audio.content_type
        )

    async def _drive(
        self, job: Job, flow: Flow, slot: Slot, *, parkable: bool
    ) -> httpx.Response | Parked:
        """Run a flow's I/O through the shared gate; returns the response holding a slot."""
        last: list[object] = [None]

        async def send(request: httpx.Request) -> object:
            last[0] = await self._send(job, request, slot)
            return last[0]

        async def sleep(seconds: float) -> None:
            if slot.held:
                await self._release(slot)
            answer = last[0]
            if parkable and isinstance(answer, httpx.Response) and answer.status_code == 409:
                raise Parked(time.monotonic() + seconds)
            await self._pause(seconds)

        try:
            return await drive_async(flow, send, sleep)
        except Parked as parked:
            return parked

    async def _send(self, job: Job, request: httpx.Request, slot: Slot) -> object:
        while True:
            await self._acquire(slot)
            outcome = await asend_once(self._http, request)
            async with self._cond:
                delay = self._keeper.answer(outcome, job, slot, time.monotonic())
                self._cond.notify_all()  # the gate may have closed: waiters re-check
            if delay is None:
                return outcome  # the flow decides: the audio, an error, or its own retry
            assert isinstance(outcome, httpx.Response)
            await aread_capped(ReadBody(outcome))
            await self._release(slot)

    async def _acquire(self, slot: Slot) -> None:
        """Hold a slot with the gate open: every request waits for the gate, a held slot too."""
        async with self._cond:
            while True:
                if self._stopping is not None:
                    raise Stopped
                held = slot.held
                delay = self._keeper.admit(slot, time.monotonic())
                if held and not slot.held:
                    self._cond.notify_all()  # a slot was given back
                if delay is None:
                    return
                await self._wait(None if math.isinf(delay) else delay)

    async def _release(self, slot: Slot) -> None:
        async with self._cond:
            self._keeper.release(slot)
            self._cond.notify_all()

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, cut short (with ``Stopped``) if the run stops."""
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        deadline = time.monotonic() + seconds
        async with self._cond:
            while self._stopping is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                await self._wait(left)
            raise Stopped

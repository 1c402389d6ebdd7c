"""``AsyncBreezeBlue.history.download_many()``: many items on a bounded set of tasks.

The twin of ``_bulk.py`` (threads), over the same sans-I/O schedule (:mod:`._core.bulk`):
one :class:`Pacer` shared by the tasks, one :class:`Plan` of the ids. Changes to how items
are scheduled go there, not here; what differs is only how to wait and how to write.
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
from ._async_client import aread_capped
from ._audio import AsyncAudio
from ._bulk import Parked, Slot, Stopped, throttle_delay
from ._core.bulk import Job, Pacer, Plan, failed
from ._core.flow import (
    Flow,
    ReadBody,
    Send,
    Settings,
    Sleep,
    backoff_delay,
    client_closed,
    download_flow,
    unusable_redirect,
)
from ._core.names import EXTENSIONS, file_name
from ._errors import (
    APIConnectionError,
    AuthenticationError,
    BreezeBlueError,
    foreign_transport_error,
)
from ._files.folder import find_complete, remove_stale_temps
from ._report import DownloadReport, DownloadResult
from ._stream import Body

__all__ = ["TaskRun"]


class TaskRun:
    """One ``download_many()`` call on asyncio tasks (see ``AsyncHistory.download_many``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        sleep: Callable[[float], Awaitable[None]],
        folder: Path,
        *,
        concurrency: int,
        overwrite: bool,
        wait: bool,
        wait_timeout: float,
        shard: tuple[int, int] | None,
        on_item: Callable[[DownloadResult], object] | None,
    ) -> None:
        self._http = http
        self._settings = settings
        self._sleep = sleep
        self._folder = folder
        self._concurrency = concurrency
        self._overwrite = overwrite
        self._wait_ready = wait
        self._wait_timeout = wait_timeout
        self._on_item = on_item
        self._plan = Plan(folder, shard, overwrite)
        self._pacer = Pacer(concurrency)
        self._cond = asyncio.Condition()
        self._queue: deque[Job] = deque()
        self._closed = False
        self._stopping: BaseException | None = None
        self._answered = False  # has the server answered any request of this run yet?

    async def run(self, ids: Iterable[object]) -> DownloadReport:
        """Download every id; returns the report, or raises what stops every item."""
        started = time.monotonic()
        await asyncio.to_thread(remove_stale_temps, self._folder)
        workers = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]
        try:
            await self._feed(ids)
            await asyncio.gather(*workers)
        except BaseException:
            # Cancelled, or on_item raised: the downloads in flight are cancelled too, and
            # asave() removes their temporary files.
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if self._stopping is not None:
            raise self._stopping
        return self._plan.report(time.monotonic() - started, self._pacer.rate_limited)

    async def _feed(self, ids: Iterable[object]) -> None:
        for history_item_id in ids:
            admitted = self._plan.admit(history_item_id, exists=self._find_complete)
            if admitted is None:
                continue
            if isinstance(admitted, DownloadResult):
                self._deliver(admitted)
                continue
            async with self._cond:
                await self._cond.wait_for(
                    lambda: self._stopping is not None or len(self._queue) < self._concurrency
                )
                if self._stopping is not None:
                    return
                self._queue.append(admitted)
                self._cond.notify_all()
        async with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _find_complete(self, stem: str) -> Path | None:
        return find_complete(self._folder, stem)

    def _deliver(self, result: DownloadResult) -> None:
        if self._on_item is not None:
            self._on_item(result)

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
            except Stopped:
                continue
            except BaseException as exc:  # a 401 (or a bug) stops every item
                async with self._cond:
                    if self._stopping is None:
                        self._stopping = exc
                    self._cond.notify_all()
                if isinstance(exc, asyncio.CancelledError):
                    raise
                return
            async with self._cond:
                if isinstance(outcome, Parked):
                    self._plan.park(job, outcome.due)
                self._cond.notify_all()
            if isinstance(outcome, DownloadResult):
                self._plan.finish(job, outcome)
                self._deliver(outcome)

    async def _wait(self, timeout: float | None) -> None:
        """Wait on the condition (held), at most ``timeout`` seconds."""
        if timeout is None:
            await self._cond.wait()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._cond.wait(), max(0.0, timeout))

    async def _run_job(self, job: Job) -> DownloadResult | Parked:
        slot = Slot()
        try:
            if job.flow is None:
                job.flow = download_flow(
                    self._http.build_request,
                    self._settings,
                    job.history_item_id,
                    wait=self._wait_ready,
                    wait_timeout=self._wait_timeout,
                )
            response = await self._drive(job, job.flow, slot, parkable=True)
            if isinstance(response, Parked):
                return response
            return await self._save(job, response, slot)
        except AuthenticationError:
            raise  # the key is refused: every other item would fail the same way
        except APIConnectionError as exc:
            if not self._answered:
                raise  # no answer yet from this base URL at all: a wrong or unreachable host
            return failed(job.history_item_id, exc)
        except (BreezeBlueError, OSError, ValueError, TypeError) as exc:
            return failed(job.history_item_id, exc)
        finally:
            if slot.held:
                await self._release(slot)

    async def _save(self, job: Job, response: httpx.Response, slot: Slot) -> DownloadResult:
        async def reopen(headers: Mapping[str, str], retry: int) -> httpx.Response:
            await self._sleep(backoff_delay(self._settings.policy, retry))
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
        await asave(audio, path)
        self._pacer.succeeded()
        if self._overwrite:
            await asyncio.to_thread(self._remove_other_extensions, job.stem, path)
        size = (await asyncio.to_thread(path.stat)).st_size
        return DownloadResult(
            job.history_item_id, "saved", path=path, size=size, media_type=audio.content_type
        )

    def _remove_other_extensions(self, stem: str, kept: Path) -> None:
        # Overwritten in another media type: the old file must not stay as a second copy.
        for extension in EXTENSIONS:
            other = self._folder / (stem + extension)
            if other != kept:
                with contextlib.suppress(FileNotFoundError):
                    other.unlink()

    async def _drive(
        self, job: Job, flow: Flow, slot: Slot, *, parkable: bool
    ) -> httpx.Response | Parked:
        """Run a flow's I/O through the shared gate; returns the response holding a slot."""
        answer: object = None
        last: object = None
        while True:
            try:
                action = flow.send(answer)
            except StopIteration as done:
                response: httpx.Response = done.value
                return response
            if isinstance(action, Send):
                answer = last = await self._send(job, action, slot)
            elif isinstance(action, Sleep):
                if slot.held:
                    await self._release(slot)
                if parkable and isinstance(last, httpx.Response) and last.status_code == 409:
                    return Parked(time.monotonic() + action.seconds)
                await self._sleep(action.seconds)
                answer = None
            else:
                answer = await aread_capped(action)

    async def _send(self, job: Job, action: Send, slot: Slot) -> object:
        while True:
            if not slot.held:
                await self._acquire(slot)
            if self._http.is_closed:
                raise client_closed()
            outcome: object
            try:
                outcome = await self._http.send(action.request, stream=True, follow_redirects=False)
            except httpx.RequestError as exc:
                outcome = exc
            except httpx.InvalidURL as exc:
                raise unusable_redirect(exc) from exc
            except Exception as exc:  # an aiohttp error httpx-aiohttp did not translate
                outcome = foreign_transport_error(exc)
                if outcome is None:
                    raise
            if isinstance(outcome, httpx.Response):
                self._answered = True
            if isinstance(outcome, httpx.Response) and outcome.status_code == 429:
                self._pacer.saw_rate_limit()
            delay = throttle_delay(outcome, self._settings, job)
            if delay is None:
                return outcome
            assert isinstance(outcome, httpx.Response)
            await aread_capped(ReadBody(outcome))
            job.throttles += 1
            async with self._cond:
                self._pacer.throttled(
                    slot.epoch, delay, time.monotonic(), halve=outcome.status_code == 429
                )
                self._pacer.release()
                slot.held = False
                self._cond.notify_all()

    async def _acquire(self, slot: Slot) -> None:
        async with self._cond:
            while True:
                if self._stopping is not None:
                    raise Stopped
                delay = self._pacer.wait_time(time.monotonic())
                if delay is None:
                    break
                await self._wait(None if math.isinf(delay) else delay)
            slot.epoch = self._pacer.start()
            slot.held = True

    async def _release(self, slot: Slot) -> None:
        async with self._cond:
            self._pacer.release()
            slot.held = False
            self._cond.notify_all()

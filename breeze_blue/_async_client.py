"""``AsyncBreezeBlue``: the same client for asyncio, running the same download policy."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

import httpx
import sniffio

from ._audio import AsyncAudio
from ._base import BaseClient
from ._core.bulk import bulk_options
from ._core.envelope import MAX_ERROR_BODY
from ._core.flow import (
    Flow,
    ReadBody,
    Send,
    Sleep,
    backoff_delay,
    client_closed,
    download_flow,
    unusable_redirect,
)
from ._errors import BreezeBlueError, foreign_transport_error
from ._files.folder import prepare_folder
from ._report import DownloadReport, DownloadResult
from ._stream import Body

__all__ = [
    "AsyncBreezeBlue",
    "AsyncHistory",
    "aread_capped",
    "asend_once",
    "drive_async",
    "require_asyncio",
    "run_async",
]


def require_asyncio(what: str) -> None:
    """Refuse, clearly and before any request, an event loop the SDK does not run on.

    The async side waits and writes files with asyncio (uvloop included); under trio it
    would fail half-way, at its first retry or write.
    """
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        library = "no event loop"
    if library != "asyncio":
        raise BreezeBlueError(
            f"{what} runs on asyncio (uvloop included), not {library}; under trio, run the "
            "synchronous BreezeBlue in a thread (trio.to_thread.run_sync)"
        )


async def run_async(
    flow: Flow, http: httpx.AsyncClient, sleep: Callable[[float], Awaitable[None]]
) -> httpx.Response:
    """Carry out a download flow's I/O requests with awaits (see ``run_sync``)."""
    return await drive_async(flow, lambda request: asend_once(http, request), sleep)


async def drive_async(
    flow: Flow,
    send: Callable[[httpx.Request], Awaitable[object]],
    sleep: Callable[[float], Awaitable[None]],
) -> httpx.Response:
    """Carry out a flow's requests with the given ``send`` and ``sleep`` (see ``drive_sync``)."""
    answer: object = None
    while True:
        try:
            action = flow.send(answer)
        except StopIteration as done:
            response: httpx.Response = done.value
            return response
        if isinstance(action, Send):
            answer = await send(action.request)
        elif isinstance(action, Sleep):
            await sleep(action.seconds)
            answer = None
        else:
            answer = await aread_capped(action)


async def asend_once(
    http: httpx.AsyncClient, request: httpx.Request
) -> httpx.Response | httpx.RequestError:
    """Send a flow's request (streaming); a transport failure is the answer, not raised."""
    if http.is_closed:
        raise client_closed()
    try:
        return await http.send(request, stream=True, follow_redirects=False)
    except httpx.RequestError as exc:
        return exc
    except httpx.InvalidURL as exc:
        raise unusable_redirect(exc) from exc
    except Exception as exc:  # an aiohttp error httpx-aiohttp did not translate
        translated = foreign_transport_error(exc)
        if translated is None:
            raise
        return translated


async def aread_capped(action: ReadBody) -> bytes:
    """``read_capped`` for an async response."""
    body = bytearray()
    try:
        async for chunk in action.response.aiter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY:
                break
    except (httpx.HTTPError, httpx.StreamError):
        pass  # an error body cut short or garbled is still an error; what arrived is enough
    except Exception as exc:
        if foreign_transport_error(exc) is None:
            raise
    finally:
        await action.response.aclose()
    return bytes(body[:MAX_ERROR_BODY])


class AsyncHistory:
    """Operations on history items: ``client.history``."""

    def __init__(self, client: AsyncBreezeBlue) -> None:
        self._client = client

    async def download_audio(
        self, history_item_id: str, *, wait: bool = False, wait_timeout: float = 300.0
    ) -> AsyncAudio:
        """Download the audio of a history item; see
        [`History.download_audio`][breeze_blue.History.download_audio].

        Examples:
            >>> audio = await client.history.download_audio("hist_01haudio", wait=True)
            >>> await asave(audio, Path("history.wav"))
            PosixPath('history.wav')
        """
        require_asyncio("AsyncBreezeBlue")
        client = self._client
        flow = download_flow(
            client._http.build_request,
            client._settings,
            history_item_id,
            wait=wait,
            wait_timeout=wait_timeout,
        )
        response = await run_async(flow, client._http, client._sleep)

        async def reopen(headers: Mapping[str, str], retry: int) -> httpx.Response:
            await client._sleep(backoff_delay(client._settings.policy, retry))
            again = download_flow(
                client._http.build_request,
                client._settings,
                history_item_id,
                extra_headers=headers,
            )
            return await run_async(again, client._http, client._sleep)

        return AsyncAudio(
            Body(
                response,
                history_item_id=history_item_id,
                reopen=reopen,
                max_retries=client._settings.policy.max_retries,
            )
        )

    async def download_many(
        self,
        ids: Iterable[str],
        directory: str | os.PathLike[str],
        *,
        concurrency: int = 8,
        overwrite: bool = False,
        wait: bool = False,
        wait_timeout: float = 300.0,
        on_item: Callable[[DownloadResult], object] | None = None,
        shard: tuple[int, int] | None = None,
    ) -> DownloadReport:
        """Download many history items into a folder; see
        [`History.download_many`][breeze_blue.History.download_many].

        The downloads run as up to ``concurrency`` tasks on this event loop; ``on_item`` is
        called in the loop. Cancelling the call cancels the downloads in flight, and their
        temporary files are removed: run it again to pick up where it stopped.

        Examples:
            >>> ids = ["hist_mpeg", "hist_wav"]
            >>> report = await client.history.download_many(ids, "backup", concurrency=16)
            >>> report.ok, report.bytes
            (True, 8226)
        """
        require_asyncio("AsyncBreezeBlue")
        from ._abulk import TaskRun  # noqa: PLC0415 (only bulk downloads pay for it)

        options = bulk_options(
            ids, directory, concurrency=concurrency, overwrite=overwrite, wait=wait,
            wait_timeout=wait_timeout, on_item=on_item, shard=shard,
        )  # fmt: skip
        client = self._client
        if client._http.is_closed:
            raise client_closed()
        folder = await asyncio.to_thread(prepare_folder, directory)
        run = TaskRun(
            client._http,
            client._settings,
            client._sleep,
            folder,
            options,
        )
        return await run.run(ids)


class AsyncBreezeBlue(BaseClient[httpx.AsyncClient, Callable[[float], Awaitable[None]]]):
    """The Breeze Blue API client for asyncio.

    Takes the same arguments as [`BreezeBlue`][breeze_blue.BreezeBlue], described there,
    and behaves the same: same environment variables, errors, retries, waiting, redirect
    and key rules. Many downloads can run at once on one client; ``max_connections`` bounds
    how many connections they use. Two arguments differ in type:

    Args:
        http_client: Your own ``httpx.AsyncClient``, used as it is and never closed, as
            with ``BreezeBlue``; or a
            [`DefaultAioHttpClient`][breeze_blue.DefaultAioHttpClient], which is closed with
            this client.
        sleep: How the client waits, an async function (``asyncio.sleep``); tests pass a
            fake, with ``clock``, so that retries take no real time.

    Examples:
        >>> async with AsyncBreezeBlue() as client:
        ...     audio = await client.history.download_audio("hist_01haudio")
        ...     await asave(audio, Path("history.wav"))
        PosixPath('history.wav')
    """

    _http_class = httpx.AsyncClient
    _default_sleep = asyncio.sleep
    history: AsyncHistory
    """History items: ``await client.history.download_audio(...)``."""

    # As BreezeBlue's: the base class's __init__ runs, this gives its concrete types.
    if TYPE_CHECKING:

        def __init__(
            self,
            api_key: str | None = None,
            *,
            base_url: str | httpx.URL | None = None,
            timeout: float | httpx.Timeout | None = None,
            max_retries: int = 2,
            max_connections: int | None = None,
            http_client: httpx.AsyncClient | None = None,
            allow_insecure_http: bool = False,
            sleep: Callable[[float], Awaitable[None]] | None = None,
            clock: Callable[[], float] | None = None,
        ) -> None: ...

    def _bind(self) -> None:
        self.history = AsyncHistory(self)

    async def aclose(self) -> None:
        """Close the connection pool (only if the client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncBreezeBlue:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

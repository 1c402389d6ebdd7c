"""``BreezeBlue``, the synchronous client, and its ``history`` resource."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from ._audio import Audio
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
from ._files.folder import prepare_folder
from ._report import DownloadReport, DownloadResult
from ._stream import Body

__all__ = ["BreezeBlue", "History", "drive_sync", "read_capped", "run_sync", "send_once"]


def run_sync(flow: Flow, http: httpx.Client, sleep: Callable[[float], None]) -> httpx.Response:
    """Carry out a download flow's I/O requests with blocking calls."""
    return drive_sync(flow, lambda request: send_once(http, request), sleep)


def drive_sync(
    flow: Flow, send: Callable[[httpx.Request], object], sleep: Callable[[float], None]
) -> httpx.Response:
    """Carry out a flow's requests with the given ``send`` and ``sleep``.

    ``download_many`` passes its own, which wait for the shared gate; an exception from
    either leaves the flow suspended where it was, to be driven on later.
    """
    answer: object = None
    while True:
        try:
            action = flow.send(answer)
        except StopIteration as done:
            response: httpx.Response = done.value
            return response
        if isinstance(action, Send):
            answer = send(action.request)
        elif isinstance(action, Sleep):
            sleep(action.seconds)
            answer = None
        else:
            answer = read_capped(action)


def send_once(http: httpx.Client, request: httpx.Request) -> httpx.Response | httpx.RequestError:
    """Send a flow's request (streaming); a transport failure is the answer, not raised."""
    if http.is_closed:
        raise client_closed()
    try:
        # Redirects are the policy's: it decides where the API key may go.
        return http.send(request, stream=True, follow_redirects=False)
    except httpx.RequestError as exc:
        return exc
    except httpx.InvalidURL as exc:
        raise unusable_redirect(exc) from exc


def read_capped(action: ReadBody) -> bytes:
    """Read at most the error-body cap of a response and close it; a broken body is not raised."""
    body = bytearray()
    try:
        for chunk in action.response.iter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY:
                break
    except (httpx.HTTPError, httpx.StreamError):
        pass  # an error body cut short or garbled is still an error; what arrived is enough
    finally:
        action.response.close()
    return bytes(body[:MAX_ERROR_BODY])


class History:
    """Operations on history items: ``client.history``."""

    def __init__(self, client: BreezeBlue) -> None:
        self._client = client

    def download_audio(
        self, history_item_id: str, *, wait: bool = False, wait_timeout: float = 300.0
    ) -> Audio:
        """Download the audio of a history item.

        The request is sent now and its status checked before this returns; only the body
        is left to stream, through the returned [`Audio`][breeze_blue.Audio]. Connection
        failures, timeouts and 408, 429, 500, 502, 503 and 504 answers are retried
        (``max_retries``), honouring ``Retry-After``; an answer asking to wait longer than
        the SDK waits (60 s) is raised at once.

        Args:
            history_item_id: History item identifier returned by generation responses or
                ``GET /v1/history``. Any string is sent as exactly one path segment.
            wait: If the item is still generating, poll (as ``Retry-After`` says, about
                every second otherwise) until it is ready instead of raising at once.
            wait_timeout: With ``wait=True``, give up after this many seconds.

        Raises:
            TypeError: the id is not a ``str``, or ``wait_timeout`` not a number (nothing
                is sent).
            ValueError: the id is empty, too long, holds control characters or is ``.`` or
                ``..``; or ``wait_timeout`` is negative (nothing is sent).
            NotFoundError: the audio does not exist or is no longer available.
            GenerationNotReadyError: the item is still running (``retry_after``; with
                ``wait=True``, it still was after ``wait_timeout``: see ``waited``).
            GenerationFailedError: the generation failed and will never be ready.
            AuthenticationError: the API key is missing or invalid.
            PermissionDeniedError: the key may not access this history item.
            RateLimitError: the server still limited the rate once retries were spent.
            InternalServerError: the server still failed once retries were spent.
            APIError: any other error of the API, once retries are spent.
            APIConnectionError: the request could not be completed
                ([`APITimeoutError`][breeze_blue.APITimeoutError], a subclass, when it timed
                out).

        Examples:
            >>> audio = client.history.download_audio("hist_01haudio", wait=True)
            >>> save(audio, Path("history.wav"))
            PosixPath('history.wav')
        """
        client = self._client
        flow = download_flow(
            client._http.build_request,
            client._settings,
            history_item_id,
            wait=wait,
            wait_timeout=wait_timeout,
        )
        response = run_sync(flow, client._http, client._sleep)

        def reopen(headers: Mapping[str, str], retry: int) -> httpx.Response:
            client._sleep(backoff_delay(client._settings.policy, retry))
            again = download_flow(
                client._http.build_request,
                client._settings,
                history_item_id,
                extra_headers=headers,
            )
            return run_sync(again, client._http, client._sleep)

        return Audio(
            Body(
                response,
                history_item_id=history_item_id,
                reopen=reopen,
                max_retries=client._settings.policy.max_retries,
            )
        )

    def download_many(
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
        """Download the audio of many history items into a folder, restartably.

        Each item is saved atomically as ``{id}{extension}`` (the extension from its media
        type: ``.mp3``, ``.wav``, ``.flac``, ``.aac``, ``.opus``, ``.pcm``, else ``.bin``); an
        id that is not a safe file name is ``%XX``-encoded, never used as a path (capital
        letters too, in a folder that ignores case). A file
        already there for an id, under any of these extensions, is complete (files appear
        only once whole), so the item is skipped without a request: run the same call again
        after an interruption and it picks up where it stopped, and clears the temporary
        files a killed run left. Duplicate ids are downloaded once.

        Up to ``concurrency`` downloads run at once over this client's connection pool. A
        ``429`` (or a ``503`` with ``Retry-After``) pauses every worker until the server's
        ``Retry-After``, and halves how many may run at once; good answers raise it again,
        one at a time. With ``wait=True`` an item still generating is polled without taking
        a worker's place.

        One item's failure never raises: it is a ``"failed"`` result with its typed error.
        What would fail every item raises at once: a refused key
        ([`AuthenticationError`][breeze_blue.AuthenticationError]); a server that cannot be
        reached ([`APIConnectionError`][breeze_blue.APIConnectionError]: no connection opened
        before any answer, or none for ``2 * concurrency`` items in a row, and at least 16);
        a ``429`` asking to wait longer than the SDK waits (60 s)
        ([`RateLimitError`][breeze_blue.RateLimitError]); a closed client; a folder that
        cannot be made. Ctrl-C stops new work and lets the downloads in flight finish
        (their files are complete, or their temporary files removed), then re-raises.

        Args:
            ids: Any iterable of ids, read lazily (a generator of millions is fine).
            directory: The folder, created if missing.
            concurrency: The most downloads at once (at least 1).
            overwrite: Download again even when a complete file is there.
            wait: As for ``download_audio()``.
            wait_timeout: As for ``download_audio()``.
            on_item: Called with each [`DownloadResult`][breeze_blue.DownloadResult] as its
                item finishes, on this (the caller's) thread: for progress or logging.
            shard: ``(K, N)``: only the ids of share K of N (1-based), chosen by a stable
                hash of the id, so N jobs given the same list split it with no overlap.

        Returns:
            A [`DownloadReport`][breeze_blue.DownloadReport]: one result per distinct id,
                in input order.

        Raises:
            TypeError: an argument of the wrong type, such as a single ``str`` for ``ids``
                (nothing is sent).
            ValueError: an argument out of range: ``concurrency`` not from 1 to 256,
                ``shard`` not ``1 <= K <= N``, a negative ``wait_timeout`` (nothing is sent).
            AuthenticationError: the API key was refused.
            APIConnectionError: the server could not be reached.
            RateLimitError: the server asked to wait longer than the SDK waits (60 s).

        Examples:
            >>> report = client.history.download_many(["hist_01haudio", "hist_wav"], "backup")
            >>> [(r.history_item_id, r.status) for r in report.results]
            [('hist_01haudio', 'saved'), ('hist_wav', 'saved')]
        """
        from ._bulk import ThreadedRun  # noqa: PLC0415 (only bulk downloads pay for it)

        options = bulk_options(
            ids, directory, concurrency=concurrency, overwrite=overwrite, wait=wait,
            wait_timeout=wait_timeout, on_item=on_item, shard=shard,
        )  # fmt: skip
        client = self._client
        if client._http.is_closed:
            raise client_closed()
        run = ThreadedRun(
            client._http,
            client._settings,
            client._sleep,
            prepare_folder(directory),
            options,
        )
        return run.run(ids)


class BreezeBlue(BaseClient[httpx.Client, Callable[[float], None]]):
    """The Breeze Blue API client.

    Args:
        api_key: Your Breeze Developer API key; ``None`` reads ``BREEZE_API_KEY``.
        base_url: The API's address; ``None`` reads ``BREEZE_BASE_URL``, else
            ``https://api.breeze.blue``.
        timeout: Seconds to wait for the server (a number, or an ``httpx.Timeout``);
            ``None`` means 60 s (10 s to connect), or, with ``http_client``, its own.
        max_retries: How often a failed request (connection error, timeout, or a 408, 429,
            500, 502, 503 or 504 answer) or a broken download in [`save`][breeze_blue.save]
            is tried again. ``0`` turns it off.
        max_connections: The size of the SDK's connection pool (default 20); it never
            opens more, however many threads share the client. Not with ``http_client``,
            which brings its own pool: set ``limits`` on it instead.
        http_client: Your own ``httpx.Client`` (proxies, custom transports, mocks). The
            SDK uses it as it is: never changes its settings and never closes it.
        allow_insecure_http: Allow sending the key over plain ``http://`` to a host that is
            not this machine. Off by default: the key would cross the network readable.
        sleep: How the client waits (``time.sleep``); tests pass a fake, with ``clock``,
            so that retries take no real time.
        clock: How the client tells the time (``time.time``); tests pass a fake, with
            ``sleep``, so that retries take no real time.

    Raises:
        BreezeBlueError: no API key was given or found in the environment.
        ValueError: the key, URL, timeout or retry count is malformed.

    Examples:
        >>> from breeze_blue import BreezeBlue, save
        >>> with BreezeBlue() as client:  # reads BREEZE_API_KEY
        ...     save(client.history.download_audio("hist_01haudio"), "history.wav")
        PosixPath('history.wav')
    """

    _http_class = httpx.Client
    _default_sleep = time.sleep
    history: History
    """History items: ``client.history.download_audio(...)``."""

    # The base class's __init__ runs; its signature is generic (HttpT, SleepT), so this
    # spells it out with the concrete types, for type checkers and the API reference
    # (read statically). tests/test_docstrings.py keeps it equal to the base's.
    if TYPE_CHECKING:

        def __init__(
            self,
            api_key: str | None = None,
            *,
            base_url: str | httpx.URL | None = None,
            timeout: float | httpx.Timeout | None = None,
            max_retries: int = 2,
            max_connections: int | None = None,
            http_client: httpx.Client | None = None,
            allow_insecure_http: bool = False,
            sleep: Callable[[float], None] | None = None,
            clock: Callable[[], float] | None = None,
        ) -> None: ...

    def _bind(self) -> None:
        self.history = History(self)

    def close(self) -> None:
        """Close the connection pool (only if the client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> BreezeBlue:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

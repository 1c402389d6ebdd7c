"""A client whose server is a script of answers, and whose clock only moves when it sleeps."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from breeze_blue import AsyncBreezeBlue, BreezeBlue, asave, save
from breeze_blue._files.sinks import FileSink

KEY = "bb_scripted_7f3a9c"


class FakeClock:
    """A clock that only moves when something sleeps: retries and polls take no real time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def error(
    status: int, code: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """An error answer with the API's envelope (or an empty body when ``code`` is None)."""
    if code is None:
        return httpx.Response(status, headers=headers or {})
    body = {"error": {"code": code, "message": f"{code} happened", "request_id": "req_script"}}
    return httpx.Response(status, json=body, headers=headers or {})


def audio(body: bytes = b"ID3 scripted audio", **headers: str) -> httpx.Response:
    """A 200 with an audio body."""
    return httpx.Response(200, content=body, headers={"content-type": "audio/mpeg", **headers})


class Script:
    """Answers requests in order and keeps every request it saw."""

    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected extra request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer


def scripted_client(
    answers: Sequence[Answer],
    clock: FakeClock,
    *,
    jitter: float = 0.0,
    base_url: str = "https://api.breeze.blue",
    kind: str = "sync",
    **options: object,
) -> tuple[Any, Script]:
    """A client (``kind``: sync or async) answered by ``answers``, sleeping on ``clock``."""
    script = Script(answers)
    transport = httpx.MockTransport(script)
    client: Any
    if kind == "sync":
        client = BreezeBlue(
            api_key=KEY,
            base_url=base_url,
            http_client=httpx.Client(transport=transport),
            sleep=clock.sleep,
            clock=clock.time,
            **options,  # type: ignore[arg-type]
        )
    else:
        client = AsyncBreezeBlue(
            api_key=KEY,
            base_url=base_url,
            http_client=httpx.AsyncClient(transport=transport),
            sleep=clock.asleep,
            clock=clock.time,
            **options,  # type: ignore[arg-type]
        )
    policy = replace(client._settings.policy, random=lambda: jitter)
    client._settings = replace(client._settings, policy=policy)
    return client, script


def scripted(
    kind: str, answers: Sequence[Answer], clock: FakeClock, **options: Any
) -> tuple[Any, Script]:
    """:func:`scripted_client` with the kind first, for tests parametrized by ``kind``."""
    return scripted_client(answers, clock, kind=kind, **options)


def fetch(
    kind: str,
    client: Any,
    history_item_id: str,
    *,
    wait: bool = False,
    wait_timeout: float = 300.0,
    dest: Path | None = None,
) -> bytes | Path | None:
    """Download with either kind of client: save to ``dest``, or read the body.

    An async client is used inside one event loop and closed there.
    """
    if kind == "sync":
        audio = client.history.download_audio(history_item_id, wait=wait, wait_timeout=wait_timeout)
        return save(audio, dest) if dest is not None else audio.read()

    async def run() -> bytes | Path | None:
        try:
            audio = await client.history.download_audio(
                history_item_id, wait=wait, wait_timeout=wait_timeout
            )
            return await asave(audio, dest) if dest is not None else await audio.read()
        finally:
            await client.aclose()
            await client._http.aclose()

    return asyncio.run(run())


class FullDisk:
    """A disk that fills up on the third write, each write slow enough that batches queue
    behind it; records how many writes had begun each time the atomic file closed its descriptor.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.writes = 0
        self.closed: list[int] = []
        real_batch, real_close = FileSink.write_batch, os.close

        def write_batch(sink: FileSink, chunks: list[bytes]) -> None:
            self.writes += 1
            time.sleep(0.01)
            if self.writes == 3:
                raise OSError(errno.ENOSPC, "disk full")
            real_batch(sink, chunks)

        def close(fd: int) -> None:
            self.closed.append(self.writes)
            real_close(fd)

        monkeypatch.setattr(FileSink, "write_batch", write_batch)
        monkeypatch.setattr("breeze_blue._files.atomic.os.close", close)


def writer_threads() -> list[str]:
    """The SDK's writer threads still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("breeze-blue-writer")]

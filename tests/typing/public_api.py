"""The public API as a user types it: checked with ``mypy --strict``, never run.

``assert_type`` pins what a type checker infers, so a change to a public annotation that
users would notice fails here.
"""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Literal, assert_type

import httpx

from breeze_blue import (
    APIError,
    AsyncAudio,
    AsyncBreezeBlue,
    Audio,
    BreezeBlue,
    DefaultAioHttpClient,
    DownloadReport,
    DownloadResult,
    GenerationNotReadyError,
    asave,
    save,
)


class Digest:
    """Not a file: only ``write()``, as save() needs."""

    def write(self, data: bytes) -> None:
        """Take a chunk."""


def sync_use() -> None:
    with BreezeBlue(api_key="k", timeout=30, max_retries=3) as client:
        audio = client.history.download_audio("hist_01haudio", wait=True, wait_timeout=60)
        assert_type(audio, Audio)
        assert_type(audio.content_type, str | None)
        assert_type(audio.content_length, int | None)
        assert_type(save(audio, Path("history.mp3")), Path)
        assert_type(save(b"raw", "history.mp3", progress=print), Path)
        assert_type(save(audio, io.BytesIO()), None)
        assert_type(save(audio, Digest()), None)
        for chunk in client.history.download_audio("hist_01haudio").iter_bytes():
            assert_type(chunk, bytes)
        report = client.history.download_many(
            (f"hist_{n}" for n in range(3)), Path("backup"), concurrency=4, shard=(1, 2)
        )
        assert_type(report, DownloadReport)
        assert_type(report.failed, list[DownloadResult])
        assert_type(report.results[0].error, BaseException | None)
        assert_type(report.results[0].path, Path | None)
        assert_type(report.results[0].status, Literal["saved", "skipped", "failed"])
        client.history.download_many(["a"], "backup", on_item=lambda result: print(result.status))
        patient = client.with_options(max_retries=5)
        assert_type(patient, BreezeBlue)
    BreezeBlue(http_client=httpx.Client(), sleep=time.sleep, clock=time.monotonic)
    BreezeBlue(http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    BreezeBlue(sleep=asyncio.sleep)  # type: ignore[arg-type]
    try:
        client.history.download_audio("hist_01haudio")
    except GenerationNotReadyError as err:
        assert_type(err.retry_after, float | None)
    except APIError as err:
        assert_type(err.status_code, int)
        assert_type(err.request_id, str | None)
        assert_type(err.retry_after, float | None)


async def async_use() -> None:
    async with AsyncBreezeBlue(http_client=DefaultAioHttpClient()) as client:
        audio = await client.history.download_audio("hist_01haudio")
        assert_type(audio, AsyncAudio)
        assert_type(await audio.read(), bytes)
        assert_type(await asave(audio, "history.mp3"), Path)
        assert_type(client.with_options(timeout=5.0), AsyncBreezeBlue)
        many = await client.history.download_many(["hist_01haudio"], "backup", wait=True)
        assert_type(many.bytes, int)
    AsyncBreezeBlue(http_client=httpx.AsyncClient(), sleep=asyncio.sleep)
    AsyncBreezeBlue(http_client=httpx.Client())  # type: ignore[arg-type]
    AsyncBreezeBlue(sleep=time.sleep)  # type: ignore[arg-type]

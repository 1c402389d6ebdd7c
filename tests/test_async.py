"""AsyncBreezeBlue: parity with the sync client, and many downloads at once."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import tracemalloc
from pathlib import Path

import httpx
import pytest

from breeze_blue import (
    AsyncAudio,
    AsyncBreezeBlue,
    AsyncHistory,
    BreezeBlue,
    BreezeBlueError,
    History,
    asave,
    save,
)
from breeze_blue.testing import TEST_API_KEY, Ready, ReferenceServer, Stall

from ._scripted import FullDisk, writer_threads


def test_the_async_surface_mirrors_the_sync_one() -> None:
    assert inspect.signature(AsyncBreezeBlue.__init__) == inspect.signature(BreezeBlue.__init__)
    sync_download = inspect.signature(History.download_audio)
    async_download = inspect.signature(AsyncHistory.download_audio)
    assert list(sync_download.parameters) == list(async_download.parameters)
    assert inspect.iscoroutinefunction(AsyncHistory.download_audio)
    assert list(inspect.signature(asave).parameters) == list(inspect.signature(save).parameters)
    for name in ("content_type", "filename", "api_key_id", "content_length", "headers"):
        assert hasattr(AsyncAudio, name)


def test_an_async_client_needs_an_async_http_client() -> None:
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
        AsyncBreezeBlue(api_key=TEST_API_KEY, http_client=httpx.Client())  # type: ignore[arg-type]


def test_bad_ids_fail_before_any_request(server: ReferenceServer) -> None:
    async def run() -> None:
        async with AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client:
            with pytest.raises(ValueError, match="history_item_id"):
                await client.history.download_audio("")
            with pytest.raises(TypeError, match="history_item_id"):
                await client.history.download_audio(None)  # type: ignore[arg-type]

    asyncio.run(run())
    assert server.requests == []


def test_read_iterate_and_close(server: ReferenceServer) -> None:
    async def run() -> None:
        async with AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client:
            audio = await client.history.download_audio("hist_wav")
            assert audio.content_type == "audio/wav"
            assert len(await audio.read()) == audio.content_length
            with pytest.raises(BreezeBlueError, match="already been read"):
                await audio.read()
            async with await client.history.download_audio("hist_large") as big:
                received = 0
                async for chunk in big.aiter_bytes():
                    received += len(chunk)
                    break
            assert received > 0
            assert big.closed

    asyncio.run(run())


def test_64_downloads_at_once_through_a_bounded_pool(
    server: ReferenceServer, tmp_path: Path
) -> None:
    ids = [f"hist_many_{i:02d}" for i in range(64)]
    for item_id in ids:
        server.add(item_id, Ready(media_type="audio/mpeg", size=1024 * 1024))

    async def run() -> list[Path]:
        async with AsyncBreezeBlue(
            api_key=TEST_API_KEY, base_url=server.url, max_connections=8
        ) as client:

            async def one(item_id: str) -> Path:
                audio = await client.history.download_audio(item_id)
                return await asave(audio, tmp_path / f"{item_id}.mp3")

            return await asyncio.gather(*(one(item_id) for item_id in ids))

    paths = asyncio.run(run())
    assert server.peak_connections <= 8  # never more than max_connections at once
    assert server.connections_opened < 64  # and reused
    assert len(paths) == 64
    for item_id, path in zip(ids, paths, strict=True):
        item = server.items[item_id]
        assert isinstance(item, Ready)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item.sha256(item_id)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{i}.mp3" for i in ids)


def test_asave_of_an_async_iterable_and_bytes(tmp_path: Path) -> None:
    async def chunks() -> object:
        for _ in range(4):
            yield b"x" * 300_000

    async def run() -> None:
        await asave(chunks(), tmp_path / "a.bin")  # type: ignore[arg-type]
        await asave(b"RIFF", tmp_path / "b.bin")

    asyncio.run(run())
    assert (tmp_path / "a.bin").read_bytes() == b"x" * 1_200_000
    assert (tmp_path / "b.bin").read_bytes() == b"RIFF"


def test_a_failed_write_stops_the_writer_before_the_file_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FullDisk(monkeypatch)

    async def chunks() -> object:
        for _ in range(20):
            yield b"x" * (600 * 1024)  # each its own batch

    with pytest.raises(OSError, match="disk full"):
        asyncio.run(asave(chunks(), tmp_path / "a.bin"))  # type: ignore[arg-type]
    assert writer_threads() == []
    assert set(disk.closed) == {disk.writes}  # nothing was written once the file closed
    assert disk.writes <= 3 + 2  # the failing write, and what began before the error came back
    assert list(tmp_path.iterdir()) == []


def test_asave_cleans_up_when_cancelled(server: ReferenceServer, tmp_path: Path) -> None:
    server.add("hist_slow", Ready(media_type="audio/mpeg", size=4 * 1024 * 1024))
    server.inject("hist_slow", Stall(2.0, after=1024 * 1024))
    destination = tmp_path / "slow.mp3"
    destination.write_bytes(b"old")

    async def run() -> None:
        async with AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client:
            audio = await client.history.download_audio("hist_slow")
            task = asyncio.create_task(asave(audio, destination))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert audio.closed

    asyncio.run(run())
    assert destination.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["slow.mp3"]
    assert writer_threads() == []


def test_asaving_a_large_download_does_not_buffer_it(
    server: ReferenceServer, tmp_path: Path
) -> None:
    server.add("hist_32mib", Ready(media_type="audio/mpeg", size=32 * 1024 * 1024))

    async def run() -> int:
        async with AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client:
            audio = await client.history.download_audio("hist_32mib")
            tracemalloc.start()
            try:
                await asave(audio, tmp_path / "big.mp3")
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    peak = asyncio.run(run())
    assert (tmp_path / "big.mp3").stat().st_size == 32 * 1024 * 1024
    # Two write batches (one filling, one being written) of 1 MiB plus at most one chunk of
    # up to 1 MiB, the 1 MiB receive buffer of a long body, and the reference server (same
    # process) holding a chunk or two: bounded, and a quarter of the body.
    assert peak < 8 * 1024 * 1024, peak

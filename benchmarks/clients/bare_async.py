"""The bare async loop ``asave()`` is held to, over the same client class it would use.

Usage: ``bare_async.py BASE_URL ITEM_ID API_KEY OUT httpx|aiohttp``: ``httpx`` is a plain
``httpx.AsyncClient``, ``aiohttp`` is ``httpx_aiohttp.HttpxAiohttpClient`` (what
``DefaultAioHttpClient`` derives from). ``client.stream()`` + ``aiter_raw()``; the file
writes run off the event loop in one worker thread, pipelined: the chunks gathered while one
batch is being written become the next batch, so reading never waits for the disk unless a
whole batch is ready before the last one is written (at most MAX_AHEAD bytes wait, so that
memory stays bounded when the disk is slow). Then ``fsync``, in that thread too.
The timed window is the request to the fsync.
"""

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
from _timing import timed

BATCH = 1024 * 1024  # bytes gathered before they are handed to the writer thread
MAX_AHEAD = 4 * BATCH  # bytes gathered at most while the writer is still busy


def write_all(fd: int, chunks: list[bytes]) -> None:
    """Write every chunk in full (``os.write`` may write less than asked)."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


async def download(client: httpx.AsyncClient, url: str, api_key: str, out: str) -> None:
    """Stream the body into OUT and fsync it."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as writer, open(out, "wb", buffering=0) as file:
        fd = file.fileno()
        pending: asyncio.Future[None] | None = None
        batch: list[bytes] = []
        gathered = 0
        async with client.stream("GET", url, headers={"xi-api-key": api_key}) as response:
            response.raise_for_status()
            async for chunk in response.aiter_raw():
                batch.append(chunk)
                gathered += len(chunk)
                if gathered < BATCH:
                    continue
                if pending is not None:
                    if not pending.done() and gathered < MAX_AHEAD:
                        continue  # the writer is busy: read on
                    await pending
                pending = loop.run_in_executor(writer, write_all, fd, batch)
                batch, gathered = [], 0
        if pending is not None:
            await pending
        await loop.run_in_executor(writer, write_all, fd, batch)
        await loop.run_in_executor(writer, os.fsync, fd)


async def run(base_url: str, item_id: str, api_key: str, out: str, backend: str) -> None:
    """Build the client, then time one download."""
    url = f"{base_url}/v1/history/{item_id}/audio"
    if backend == "aiohttp":
        from httpx_aiohttp import HttpxAiohttpClient  # noqa: PLC0415 (only this backend)

        client: httpx.AsyncClient = HttpxAiohttpClient(timeout=60)
    else:
        client = httpx.AsyncClient(timeout=60)
    async with client:
        with timed():
            await download(client, url, api_key, out)


def main() -> None:
    """Run the download in a fresh event loop."""
    base_url, item_id, api_key, out, backend = sys.argv[1:6]
    if backend not in ("httpx", "aiohttp"):
        raise SystemExit(f"unknown backend {backend!r}")
    asyncio.run(run(base_url, item_id, api_key, out, backend))


if __name__ == "__main__":
    main()

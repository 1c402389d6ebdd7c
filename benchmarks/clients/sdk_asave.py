"""Our async SDK the documented way: ``await asave(await client.history.download_audio(id), path)``.

Usage: ``sdk_asave.py BASE_URL ITEM_ID API_KEY OUT httpx|aiohttp``: ``httpx`` is the default
``AsyncBreezeBlue()`` (``httpx.AsyncClient``), ``aiohttp`` is
``AsyncBreezeBlue(http_client=DefaultAioHttpClient())``. Durable like ``save()``. The timed
window is ``download_audio()`` + ``asave()``, inside a running event loop.
"""

import asyncio
import sys

import httpx
from _timing import timed

from breeze_blue import AsyncBreezeBlue, asave


async def download(base_url: str, item_id: str, api_key: str, out: str, backend: str) -> None:
    """Download one history item's audio to OUT."""
    http_client: httpx.AsyncClient | None = None
    if backend == "aiohttp":  # imported only here: aiohttp must not weigh on the other backend
        from breeze_blue import DefaultAioHttpClient  # noqa: PLC0415

        http_client = DefaultAioHttpClient()
    async with AsyncBreezeBlue(api_key=api_key, base_url=base_url, http_client=http_client) as c:
        with timed():
            await asave(await c.history.download_audio(item_id), out)


def main() -> None:
    """Run the download in a fresh event loop."""
    base_url, item_id, api_key, out, backend = sys.argv[1:6]
    if backend not in ("httpx", "aiohttp"):
        raise SystemExit(f"unknown backend {backend!r}")
    asyncio.run(download(base_url, item_id, api_key, out, backend))


if __name__ == "__main__":
    main()

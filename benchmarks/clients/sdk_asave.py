"""Our async SDK the documented way: ``await asave(await client.history.download_audio(id), path)``.

Usage: ``sdk_asave.py BASE_URL ITEM_ID API_KEY OUT``. The asyncio twin of ``sdk_save.py``:
one ``AsyncBreezeBlue`` inside one ``asyncio.run()``. Durable like ``save()`` (fsync before the
atomic rename), so it is compared with curl + ``sync FILE`` and with ``save()`` itself
(issue 4, target 5: within 1.2 x of the sync figures).
"""

import asyncio
import sys

from breeze_blue import AsyncBreezeBlue, asave


async def download(base_url: str, item_id: str, api_key: str, out: str) -> None:
    """Download one history item's audio to OUT."""
    async with AsyncBreezeBlue(api_key=api_key, base_url=base_url) as client:
        await asave(await client.history.download_audio(item_id), out)


def main() -> None:
    """Run the download in a fresh event loop."""
    base_url, item_id, api_key, out = sys.argv[1:5]
    asyncio.run(download(base_url, item_id, api_key, out))


if __name__ == "__main__":
    main()

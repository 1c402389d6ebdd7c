"""httpx ``stream()`` + ``iter_bytes()`` to a file, optionally then ``fsync``.

Usage: ``httpx_stream.py BASE_URL ITEM_ID API_KEY OUT [--fsync]``. The plain variant is the
reference our SDK builds on (the same library, used the documented way); ``--fsync`` makes it
durable, the fair comparison for ``breeze_blue.save()``.
"""

import os
import sys

import httpx


def main() -> None:
    """Download one history item's audio to OUT."""
    base_url, item_id, api_key, out = sys.argv[1:5]
    durable = "--fsync" in sys.argv[5:]
    url = f"{base_url}/v1/history/{item_id}/audio"
    with (
        httpx.Client(timeout=60) as client,
        client.stream("GET", url, headers={"xi-api-key": api_key}) as response,
    ):
        response.raise_for_status()
        with open(out, "wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
            if durable:
                file.flush()
                os.fsync(file.fileno())


if __name__ == "__main__":
    main()

"""The bare httpx loop ``save()`` is held to: ``stream()`` + ``iter_raw()`` + write + fsync.

Usage: ``httpx_raw.py BASE_URL ITEM_ID API_KEY OUT``. The least a user of plain httpx writes
for a durable download: one ``httpx.Client``, the raw body (no decoding; the server sends
none) written as it comes, then ``fsync``. The timed window is the request to the fsync.
"""

import os
import sys

import httpx
from _timing import timed


def main() -> None:
    """Download one history item's audio to OUT."""
    base_url, item_id, api_key, out = sys.argv[1:5]
    url = f"{base_url}/v1/history/{item_id}/audio"
    headers = {"xi-api-key": api_key}
    with (
        httpx.Client(timeout=60) as client,
        timed(),
        client.stream("GET", url, headers=headers) as response,
    ):
        response.raise_for_status()
        with open(out, "wb") as file:
            for chunk in response.iter_raw():
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())


if __name__ == "__main__":
    main()

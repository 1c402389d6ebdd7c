"""requests, ``stream=True``, 64 KiB chunks to a file: what most Python code does today.

Usage: ``requests_stream.py BASE_URL ITEM_ID API_KEY OUT``. Not durable (no fsync).
"""

import sys

import requests


def main() -> None:
    """Download one history item's audio to OUT."""
    base_url, item_id, api_key, out = sys.argv[1:5]
    url = f"{base_url}/v1/history/{item_id}/audio"
    with requests.get(url, headers={"xi-api-key": api_key}, stream=True, timeout=60) as response:
        response.raise_for_status()
        with open(out, "wb") as file:
            for chunk in response.iter_content(64 * 1024):
                file.write(chunk)


if __name__ == "__main__":
    main()

"""httpx ``.content`` then one write: the whole body in memory, the naive way.

Usage: ``httpx_content.py BASE_URL ITEM_ID API_KEY OUT``. Shows what buffering costs in time
and memory (peak RSS grows with the file). Not durable.
"""

import sys

import httpx


def main() -> None:
    """Download one history item's audio to OUT."""
    base_url, item_id, api_key, out = sys.argv[1:5]
    url = f"{base_url}/v1/history/{item_id}/audio"
    response = httpx.get(url, headers={"xi-api-key": api_key}, timeout=60)
    response.raise_for_status()
    with open(out, "wb") as file:
        file.write(response.content)


if __name__ == "__main__":
    main()

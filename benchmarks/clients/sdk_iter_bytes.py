"""Our SDK streamed by hand: ``audio.iter_bytes()`` written to a file, no fsync.

Usage: ``sdk_iter_bytes.py BASE_URL ITEM_ID API_KEY OUT``. The non-durable path: compared
with plain curl and with httpx ``stream()``, which it wraps.
"""

import sys

from breeze_blue import BreezeBlue


def main() -> None:
    """Download one history item's audio to OUT."""
    base_url, item_id, api_key, out = sys.argv[1:5]
    with (
        BreezeBlue(api_key=api_key, base_url=base_url) as client,
        client.history.download_audio(item_id) as audio,
        open(out, "wb") as file,
    ):
        for chunk in audio.iter_bytes():
            file.write(chunk)


if __name__ == "__main__":
    main()

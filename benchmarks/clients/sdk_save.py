"""Our SDK the documented way: ``save(client.history.download_audio(id), path)``.

Usage: ``sdk_save.py BASE_URL ITEM_ID API_KEY OUT``. Durable: ``save()`` fsyncs the temporary
file before the atomic rename, so it is compared with curl + ``sync FILE`` and with a bare
httpx loop that fsyncs. The timed window is ``download_audio()`` + ``save()``.
"""

import sys

from _timing import timed

from breeze_blue import BreezeBlue, save


def main() -> None:
    """Download one history item's audio to OUT."""
    base_url, item_id, api_key, out = sys.argv[1:5]
    with BreezeBlue(api_key=api_key, base_url=base_url) as client, timed():
        save(client.history.download_audio(item_id), out)


if __name__ == "__main__":
    main()

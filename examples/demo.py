"""``make demo``: download a history item's audio from the bundled reference server.

The real API is not reachable from here, so this starts the reference server on a loopback
port, points the SDK at it through the same environment variables a user would set, saves
the documentation's example item, says where it went and what it is, and stops the server.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

from breeze_blue import BreezeBlue, save
from breeze_blue.testing import TEST_API_KEY, ReferenceServer

DOWNLOADS = Path("downloads")


def main() -> None:
    """Run the demo."""
    with ReferenceServer() as server:
        print(f"reference server listening on {server.url} (loopback only)")
        os.environ["BREEZE_API_KEY"] = TEST_API_KEY
        os.environ["BREEZE_BASE_URL"] = server.url

        DOWNLOADS.mkdir(exist_ok=True)
        with BreezeBlue() as client:
            audio = client.history.download_audio("hist_01haudio")
            media_type, key_id = audio.content_type, audio.api_key_id
            path = save(audio, DOWNLOADS)  # a folder: the server's filename is used
    print("reference server stopped")

    size = path.stat().st_size
    with wave.open(str(path)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        channels = "mono" if wav.getnchannels() == 1 else f"{wav.getnchannels()} channels"
        shape = f"{wav.getsampwidth() * 8}-bit {channels} at {wav.getframerate()} Hz"
    print(f"saved {path.resolve()}")
    print(f"  {media_type}, {size:,} bytes, {seconds:.1f} s of {shape} audio")
    print(f"  authenticated as API key id {key_id}")


if __name__ == "__main__":
    main()

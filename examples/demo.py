"""``make demo``: download a history item's audio with the command line, from the bundled
reference server.

The real API is not reachable from here, so this starts the reference server on a loopback
port (the item answers "still generating" twice, as a fresh generation would), points the
command line at it through the same environment variables a user would set, runs
``breeze-blue history download-audio hist_01haudio --wait -o downloads``, describes the
file it saved, and stops the server.
"""

from __future__ import annotations

import os
import sys
import wave
from pathlib import Path

from breeze_blue._cli import main as breeze_blue_cli
from breeze_blue.testing import TEST_API_KEY, Ready, ReferenceServer, tone_wav

DOWNLOADS = Path("downloads")
COMMAND = ["history", "download-audio", "hist_01haudio", "--wait", "-o", str(DOWNLOADS)]


def main() -> int:
    """Run the demo; returns the command line's exit status."""
    DOWNLOADS.mkdir(exist_ok=True)
    with ReferenceServer() as server:
        server.add("hist_01haudio", Ready(media_type="audio/wav", body=tone_wav()), running_polls=2)
        print(f"reference server listening on {server.url} (loopback only)")
        os.environ["BREEZE_API_KEY"] = TEST_API_KEY
        os.environ["BREEZE_BASE_URL"] = server.url
        print(f"$ breeze-blue {' '.join(COMMAND)}", flush=True)
        status = breeze_blue_cli(COMMAND)
    print("reference server stopped")
    if status:
        return status
    path = DOWNLOADS / "hist_01haudio.wav"
    with wave.open(str(path)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        channels = "mono" if wav.getnchannels() == 1 else f"{wav.getnchannels()} channels"
        shape = f"{wav.getsampwidth() * 8}-bit {channels} at {wav.getframerate()} Hz"
    print(f"{path.resolve()}: {seconds:.1f} s of {shape} audio; play it with any player")
    return 0


if __name__ == "__main__":
    sys.exit(main())

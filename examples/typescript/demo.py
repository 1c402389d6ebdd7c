"""``make ts-demo``: run the compiled TypeScript example against the bundled reference server.

Usage: ``python examples/typescript/demo.py MAIN_JS HISTORY_ITEM_ID...``. Starts the reference
server on a loopback port, runs ``node MAIN_JS BASE_URL API_KEY HISTORY_ITEM_ID...`` (one JSON
line per item on stdout), stops the server, and exits with node's status.
"""

from __future__ import annotations

import subprocess
import sys

from breeze_blue.testing import TEST_API_KEY, ReferenceServer


def main(argv: list[str]) -> int:
    """Run the example; returns node's exit status."""
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    main_js, *ids = argv
    with ReferenceServer() as server:
        print(f"reference server on {server.url} (loopback only)", file=sys.stderr, flush=True)
        return subprocess.run(
            ["node", main_js, server.url, TEST_API_KEY, *ids], check=False
        ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

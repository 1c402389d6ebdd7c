"""``python -m breeze_blue.testing``: run the reference server until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib

from ._server import TEST_API_KEY, ReferenceServer


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, print the URL and key, serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m breeze_blue.testing",
        description="Serve the Breeze Blue API's reference behaviour on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    server = ReferenceServer(host=args.host, port=args.port)
    print(f"BREEZE_BASE_URL={server.url}", flush=True)
    print(f"BREEZE_API_KEY={TEST_API_KEY}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()

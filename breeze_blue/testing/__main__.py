"""``python -m breeze_blue.testing``: run the reference server until Ctrl-C.

It prints ``BREEZE_BASE_URL=...`` and ``BREEZE_API_KEY=...`` and serves the default
catalogue (:func:`~breeze_blue.testing.default_items`). ``--ranges`` makes every ready item
advertise ``Accept-Ranges: bytes`` with an ``ETag`` and ``Last-Modified`` and honour
``Range``/``If-Range``, as ``Ready(..., ranges=True)`` does: ``206`` for a satisfiable range,
``416`` for one that is not. Without it ``Range`` is ignored and the whole audio is sent
with ``200``, as a server without range support does.

Example:
    $ python -m breeze_blue.testing --port 8080 --ranges
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses

from ._items import Item, Ready, default_items
from ._server import TEST_API_KEY, ReferenceServer


def catalogue(*, ranges: bool = False) -> dict[str, Item]:
    """The default items; with ``ranges``, every ready one serves byte ranges."""
    items = default_items()
    if ranges:
        items = {
            item_id: dataclasses.replace(item, ranges=True) if isinstance(item, Ready) else item
            for item_id, item in items.items()
        }
    return items


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, print the URL and key, serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m breeze_blue.testing",
        description="Serve the Breeze Blue API's reference behaviour on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--ranges",
        action="store_true",
        help=(
            "serve byte ranges: ready items send Accept-Ranges, ETag and Last-Modified and "
            "answer Range with 206 (416 when unsatisfiable); without it Range is ignored (200)"
        ),
    )
    args = parser.parse_args(argv)
    server = ReferenceServer(host=args.host, port=args.port, items=catalogue(ranges=args.ranges))
    print(f"BREEZE_BASE_URL={server.url}", flush=True)
    print(f"BREEZE_API_KEY={TEST_API_KEY}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()

"""``python -m breeze_blue.testing``: run the reference server until Ctrl-C.

It prints ``BREEZE_BASE_URL=...`` and ``BREEZE_API_KEY=...`` and serves the default
catalogue (``breeze_blue.testing.default_items()``). ``--ranges`` makes every ready item
advertise ``Accept-Ranges: bytes`` with an ``ETag`` and ``Last-Modified`` and honour
``Range``/``If-Range``, as ``Ready(..., ranges=True)`` does: ``206`` for a satisfiable range,
``416`` for one that is not. Without it ``Range`` is ignored and the whole audio is sent
with ``200``, as a server without range support does.

``--max-in-flight N`` and ``--max-per-second R`` (with ``--burst B``, the token bucket's
size, by default one second's worth) limit audio requests as the API does, like
``breeze_blue.testing.RateLimit``: beyond the limit a request gets ``429
RATE_LIMITED`` with ``Retry-After`` in whole seconds (at least ``1``). A request without a
valid key still gets ``401`` first. The flags combine with each other and with ``--ranges``.

Examples:
    ```console
    $ python -m breeze_blue.testing --port 8080 --ranges
    $ python -m breeze_blue.testing --max-in-flight 4 --max-per-second 20 --burst 40
    ```
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses

from ._items import Item, Ready, default_items
from ._limits import RateLimit
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
    parser.add_argument(
        "--max-in-flight",
        type=int,
        metavar="N",
        help="answer 429 RATE_LIMITED (Retry-After: 1) while N audio requests are being served",
    )
    parser.add_argument(
        "--max-per-second",
        type=float,
        metavar="R",
        help=(
            "admit R audio requests a second (a token bucket); beyond that answer 429 "
            "RATE_LIMITED with Retry-After: the whole seconds until a token is back"
        ),
    )
    parser.add_argument(
        "--burst",
        type=int,
        metavar="B",
        help="with --max-per-second: the bucket's size (default: one second's worth)",
    )
    args = parser.parse_args(argv)
    rate_limit = None
    limits = (args.max_in_flight, args.max_per_second, args.burst)
    if any(value is not None for value in limits):
        try:
            rate_limit = RateLimit(
                max_in_flight=args.max_in_flight,
                per_second=args.max_per_second,
                burst=args.burst,
            )
        except ValueError as error:
            parser.error(str(error))
    server = ReferenceServer(
        host=args.host,
        port=args.port,
        items=catalogue(ranges=args.ranges),
        rate_limit=rate_limit,
    )
    print(f"BREEZE_BASE_URL={server.url}", flush=True)
    print(f"BREEZE_API_KEY={TEST_API_KEY}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()

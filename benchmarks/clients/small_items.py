"""Many small items: N sequential downloads through one client, SDK vs bare httpx, sync and async.

Usage: ``small_items.py BASE_URL ITEM_ID API_KEY SHA256 COUNT ROUNDS``; prints one JSON object
with the seconds each loop took in each round.

Four loops: one ``BreezeBlue`` vs one bare ``httpx.Client`` (issue 4, target 4: at most
1.15), and one ``AsyncBreezeBlue`` vs one bare ``httpx.AsyncClient`` (target 5: the same
ratio, and the async SDK within 1.2 x of the sync SDK). All four run in this one process so
that they share the interpreter, the warm caches and whatever else the noisy machine is doing
at the time; only their ratios are meaningful. The whole measurement runs inside one event
loop (one ``asyncio.run``) that lives from the first warm-up request to the last timed one, as
a user's async program would; the sync loops simply run in it, blocking it, which costs them
nothing. Within a round each loop's COUNT downloads run in blocks of BLOCK, the four loops'
blocks taking turns, the order rotating by one at every block so that each loop runs in each
position equally often: a loop takes about a second here, and the machine's speed drifts on
that scale, which a plain one-after-the-other order would bill to whichever loop ran in the
slow second. Every download in a block is sequential on the same client and connection, as in
a user's loop. Per item, the SDK does everything a user's ``download_audio(id).read()`` (async:
``await (await download_audio(id)).read()``) does: request building, status check, error
mapping, length check; the httpx loops are the minimum: one ``stream()`` + ``read()`` on a
client that carries the key as a default header. Each body is compared with the expected bytes
(a memcmp, cheap next to a request) so a loop that broke cannot look fast.
"""

import asyncio
import hashlib
import json
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from breeze_blue import AsyncBreezeBlue, BreezeBlue

WARMUP = 20
BLOCK = 50


def sdk_loop(client: BreezeBlue, item_id: str, count: int, expected: bytes) -> float:
    """Seconds for ``count`` downloads through the SDK."""
    history = client.history
    start = time.perf_counter()
    for _ in range(count):
        if history.download_audio(item_id).read() != expected:
            raise SystemExit("SDK loop: wrong bytes")
    return time.perf_counter() - start


def httpx_loop(http: httpx.Client, url: str, count: int, expected: bytes) -> float:
    """Seconds for ``count`` downloads through a bare httpx client (stream + read)."""
    start = time.perf_counter()
    for _ in range(count):
        with http.stream("GET", url) as response:
            if response.status_code != 200 or response.read() != expected:
                raise SystemExit(f"httpx loop: HTTP {response.status_code} or wrong bytes")
    return time.perf_counter() - start


async def async_sdk_loop(
    client: AsyncBreezeBlue, item_id: str, count: int, expected: bytes
) -> float:
    """Seconds for ``count`` downloads through the async SDK."""
    history = client.history
    start = time.perf_counter()
    for _ in range(count):
        audio = await history.download_audio(item_id)
        if await audio.read() != expected:
            raise SystemExit("async SDK loop: wrong bytes")
    return time.perf_counter() - start


async def async_httpx_loop(http: httpx.AsyncClient, url: str, count: int, expected: bytes) -> float:
    """Seconds for ``count`` downloads through a bare httpx async client (stream + aread)."""
    start = time.perf_counter()
    for _ in range(count):
        async with http.stream("GET", url) as response:
            if response.status_code != 200 or await response.aread() != expected:
                raise SystemExit(f"async httpx loop: HTTP {response.status_code} or wrong bytes")
    return time.perf_counter() - start


async def measure(
    base_url: str, item_id: str, api_key: str, sha256: str, count: int, rounds: int
) -> dict[str, list[float]]:
    """The interleaved rounds, in the one event loop: seconds per loop and round, by loop."""
    url = f"{base_url}/v1/history/{item_id}/audio"
    headers = {"xi-api-key": api_key}
    with (
        BreezeBlue(api_key=api_key, base_url=base_url) as client,
        httpx.Client(headers=headers, timeout=60) as http,
    ):
        async with (
            AsyncBreezeBlue(api_key=api_key, base_url=base_url) as aclient,
            httpx.AsyncClient(headers=headers, timeout=60) as ahttp,
        ):
            expected = http.get(url).raise_for_status().content
            if hashlib.sha256(expected).hexdigest() != sha256:
                raise SystemExit("the small item's SHA-256 does not match")

            async def sync_sdk(n: int) -> float:
                return sdk_loop(client, item_id, n, expected)

            async def sync_httpx(n: int) -> float:
                return httpx_loop(http, url, n, expected)

            loops: dict[str, Callable[[int], Awaitable[float]]] = {
                "sdk": sync_sdk,
                "httpx": sync_httpx,
                "async_sdk": lambda n: async_sdk_loop(aclient, item_id, n, expected),
                "async_httpx": lambda n: async_httpx_loop(ahttp, url, n, expected),
            }
            # Open every connection and warm every code path before timing anything.
            for loop in loops.values():
                await loop(WARMUP)
            names = list(loops)
            seconds: dict[str, list[float]] = {name: [] for name in names}
            turn = 0
            for _ in range(rounds):
                totals = dict.fromkeys(names, 0.0)
                for start in range(0, count, BLOCK):
                    block = min(BLOCK, count - start)
                    shift = turn % len(names)
                    turn += 1
                    for name in names[shift:] + names[:shift]:
                        totals[name] += await loops[name](block)
                for name in names:
                    seconds[name].append(totals[name])
    return seconds


def main() -> None:
    """Run the interleaved rounds and print the timings as JSON."""
    base_url, item_id, api_key, sha256 = sys.argv[1:5]
    count, rounds = int(sys.argv[5]), int(sys.argv[6])
    seconds = asyncio.run(measure(base_url, item_id, api_key, sha256, count, rounds))
    print(json.dumps({"count": count, **seconds}))


if __name__ == "__main__":
    main()

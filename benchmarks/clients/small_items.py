"""Many small items at once: COUNT downloads by TASKS concurrent tasks on one client, five ways.

Usage: ``small_items.py BASE_URL ITEM_ID API_KEY SHA256 COUNT ROUNDS`` prints one JSON object
with the seconds each way took in each round; ``small_items.py ... --profile`` instead runs
each of PROFILED once under cProfile and prints where the time went, by package and function.

The ways, each one client shared by TASKS tasks that take items from one counter:

- ``sdk_aiohttp``: ``AsyncBreezeBlue(http_client=DefaultAioHttpClient())``, then
  ``await (await client.history.download_audio(id)).read()`` per item;
- ``bare_httpx_aiohttp``: ``httpx_aiohttp.HttpxAiohttpClient``, ``await client.get(url,
  headers=...)`` per item: the same client class with nothing of the SDK on top;
- ``sdk_httpx``: the default ``AsyncBreezeBlue()`` (``httpx.AsyncClient``), as above;
- ``bare_httpx``: a plain ``httpx.AsyncClient``, ``await client.get(url, headers=...)``;
- ``bare_aiohttp``: an ``aiohttp.ClientSession``, ``session.get()`` + ``read()``: aiohttp
  with no httpx layer, the floor for the aiohttp backend.

Every client keeps its own library's (or the SDK's) default connection limits. All ways run
in this one process and one event loop, so they share the interpreter, warm caches and
whatever else the noisy machine does at the time; only their ratios mean anything. Within a
round each way's COUNT items run in blocks of BLOCK, the ways taking turns block by block and
the order rotating at every block, so that the machine's drift falls on all of them alike.
Every body is compared with the expected bytes, so a way that broke cannot look fast.
"""

import asyncio
import cProfile
import hashlib
import json
import pstats
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
import httpx
from httpx_aiohttp import HttpxAiohttpClient

from breeze_blue import AsyncBreezeBlue, DefaultAioHttpClient

TASKS = 32
WARMUP = 200
BLOCK = 200
PROFILED = ("bare_aiohttp", "bare_httpx_aiohttp", "sdk_aiohttp")

Fetch = Callable[[], Awaitable[bytes]]


async def run_items(fetch: Fetch, count: int, expected: bytes) -> float:
    """Seconds for ``count`` items fetched by TASKS tasks sharing one counter."""
    items = iter(range(count))

    async def worker() -> None:
        for _ in items:
            if await fetch() != expected:
                raise SystemExit("wrong bytes")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(TASKS)))
    return time.perf_counter() - start


@asynccontextmanager
async def fetchers(base_url: str, item_id: str, api_key: str) -> AsyncIterator[dict[str, Fetch]]:
    """The five ways, each with its client open."""
    url = f"{base_url}/v1/history/{item_id}/audio"
    headers = {"xi-api-key": api_key}
    async with AsyncExitStack() as stack:
        sdk_aio = await stack.enter_async_context(
            AsyncBreezeBlue(api_key=api_key, base_url=base_url, http_client=DefaultAioHttpClient())
        )
        sdk_httpx = await stack.enter_async_context(
            AsyncBreezeBlue(api_key=api_key, base_url=base_url)
        )
        bare_aio = await stack.enter_async_context(HttpxAiohttpClient(timeout=60))
        bare_httpx = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        session = await stack.enter_async_context(aiohttp.ClientSession())

        def sdk(client: AsyncBreezeBlue) -> Fetch:
            history = client.history

            async def fetch() -> bytes:
                return await (await history.download_audio(item_id)).read()

            return fetch

        def bare(client: httpx.AsyncClient) -> Fetch:
            async def fetch() -> bytes:
                response = await client.get(url, headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"HTTP {response.status_code}")
                return response.content

            return fetch

        async def fetch_aiohttp() -> bytes:
            async with session.get(url, headers=headers) as response:
                if response.status != 200:
                    raise SystemExit(f"HTTP {response.status}")
                return await response.read()

        yield {
            "sdk_aiohttp": sdk(sdk_aio),
            "bare_httpx_aiohttp": bare(bare_aio),
            "sdk_httpx": sdk(sdk_httpx),
            "bare_httpx": bare(bare_httpx),
            "bare_aiohttp": fetch_aiohttp,
        }


async def measure(
    base_url: str, item_id: str, api_key: str, sha256: str, count: int, rounds: int
) -> dict[str, list[float]]:
    """The interleaved rounds: seconds per way and round, by way."""
    async with fetchers(base_url, item_id, api_key) as ways:
        expected = await ways["bare_aiohttp"]()
        if hashlib.sha256(expected).hexdigest() != sha256:
            raise SystemExit("the small item's SHA-256 does not match")
        for fetch in ways.values():  # open every connection, warm every code path
            await run_items(fetch, WARMUP, expected)
        names = list(ways)
        seconds: dict[str, list[float]] = {name: [] for name in names}
        turn = 0
        for _ in range(rounds):
            totals = dict.fromkeys(names, 0.0)
            for start in range(0, count, BLOCK):
                block = min(BLOCK, count - start)
                shift = turn % len(names)
                turn += 1
                for name in names[shift:] + names[:shift]:
                    totals[name] += await run_items(ways[name], block, expected)
            for name in names:
                seconds[name].append(totals[name])
    return seconds


def _package(filename: str) -> str:
    """Which library a profiled function belongs to, from its file."""
    if filename == "~":
        return "C built-ins (socket, bytes, dict...)"
    for marker in ("/site-packages/", "/breeze_blue/"):
        if marker in filename:
            if marker == "/breeze_blue/":
                return "breeze_blue"
            return filename.split(marker, 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/asyncio/" in filename:
        return "asyncio"
    if "/lib/python3" in filename:  # the rest of the standard library, by module
        module = filename.split("/lib/python3", 1)[1].split("/", 2)[1]
        return f"stdlib {module.removesuffix('.py')}"
    return "this script"


def summarize(profile: cProfile.Profile, wall: float, count: int) -> dict[str, object]:
    """Self time by package and the costliest functions, from one profiled run."""
    stats = pstats.Stats(profile)
    raw = stats.stats  # type: ignore[attr-defined]
    packages: dict[str, float] = {}
    functions = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in raw.items():
        package = _package(filename)
        packages[package] = packages.get(package, 0.0) + tottime
        where = filename.split("/site-packages/")[-1] if filename != "~" else ""
        label = f"{where}:{line}({name})" if where else name
        functions.append((label, package, calls, tottime, cumtime))
    total = sum(packages.values())
    by_self = sorted(functions, key=lambda f: -f[3])[:15]
    # Cumulative time of the layers' entry points: what each layer costs with all below it.
    layer_names = {
        "request",
        "send",
        "_send_handling_auth",
        "_send_handling_redirects",
        "_send_single_request",
        "handle_async_request",
        "_request",
        "download_audio",
        "read",
        "aread",
    }
    layers = sorted(
        (f for f in functions if f[0].split("(")[-1].rstrip(")") in layer_names and f[4] > 0),
        key=lambda f: -f[4],
    )[:12]
    return {
        "wall": wall,
        "count": count,
        "profiled_total": total,
        "packages": dict(sorted(packages.items(), key=lambda kv: -kv[1])),
        "top_self": [list(f) for f in by_self],
        "layers": [list(f) for f in layers],
    }


async def profile(
    base_url: str, item_id: str, api_key: str, sha256: str, count: int
) -> dict[str, object]:
    """Each of PROFILED once, warmed, under cProfile."""
    report: dict[str, object] = {}
    async with fetchers(base_url, item_id, api_key) as ways:
        expected = await ways["bare_aiohttp"]()
        if hashlib.sha256(expected).hexdigest() != sha256:
            raise SystemExit("the small item's SHA-256 does not match")
        for name in PROFILED:
            await run_items(ways[name], WARMUP, expected)
            profiler = cProfile.Profile()
            profiler.enable()
            wall = await run_items(ways[name], count, expected)
            profiler.disable()
            report[name] = summarize(profiler, wall, count)
    return report


def main() -> None:
    """Run the interleaved rounds (or the profiles) and print the result as JSON."""
    base_url, item_id, api_key, sha256 = sys.argv[1:5]
    count, rounds = int(sys.argv[5]), int(sys.argv[6])
    if "--profile" in sys.argv[7:]:
        report = asyncio.run(profile(base_url, item_id, api_key, sha256, count))
        print(json.dumps(report))
        return
    seconds = asyncio.run(measure(base_url, item_id, api_key, sha256, count, rounds))
    print(json.dumps({"count": count, "tasks": TASKS, **seconds}))


if __name__ == "__main__":
    main()

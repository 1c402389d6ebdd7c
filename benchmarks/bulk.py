"""``make bench`` (part two): a whole history downloaded at the rate limit's edge.

2,000 items of 256 KiB from the reference server (``breeze_blue.testing``) run as its own
process with a rate limit, at most 16 requests in flight and 200 a second, answered beyond
that with ``429`` and ``Retry-After``, as the API does. Each client runs as its own process:

- ``download_many()`` on ``BreezeBlue`` (threads) and on ``AsyncBreezeBlue`` (tasks), with
  the default ``concurrency=8`` and with ``concurrency=32``, above the server's limit; and
  with ``concurrency=32`` on the aiohttp extra (``DefaultAioHttpClient``);
- the naive way, ``asyncio.gather`` over ``download_audio()`` + ``asave()`` for every id,
  as the README shows side by side.

Measured per run: the time of the download itself (``report.elapsed``; for the naive way,
the ``gather``), not the interpreter's start-up, against the ideal that the limit allows
(the bucket starts full, so ``(items - burst) / rate``), the ``429`` answers the server
sent, the requests that arrived while a ``Retry-After`` it had announced was still running,
peak RSS of the client process, and every file's SHA-256 against the server's
deterministic bytes. A bare ``httpx.AsyncClient`` loop with 8 and with 32 tasks, limit off,
shows what httpx's async pool does with more tasks than connections. Results go to
``benchmarks/bulk.md``.

Usage: python benchmarks/bulk.py [--quick] [--items N]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from breeze_blue.testing import TEST_API_KEY, pattern_bytes  # noqa: E402

SIZE = 256 * 1024
IN_FLIGHT = 16
PER_SECOND = 200
GOAL = 1.10

SERVER = textwrap.dedent(
    """
    import json, sys, threading
    from breeze_blue.testing import RateLimit, Ready, ReferenceServer
    count, size, in_flight, per_second = map(int, sys.argv[1:5])
    items = {f"hist_{n:05d}": Ready(size=size) for n in range(count)}
    limit = RateLimit(max_in_flight=in_flight, per_second=per_second) if in_flight else None
    server = ReferenceServer(items=items, rate_limit=limit)
    print(server.url, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.readline()  # the client is done: report what the server saw
    print(json.dumps({
        "rate_limited": server.rate_limited,
        "early_requests": server.early_requests,
        "peak_in_flight": server.peak_in_flight,
        "requests": len(server.requests),
    }), flush=True)
    """
)

CLIENTS = {
    "download_many, sync, concurrency 8": """
from breeze_blue import BreezeBlue
with BreezeBlue(api_key=KEY, base_url=URL) as client:
    report = client.history.download_many(IDS, FOLDER)
FAILED, ELAPSED = len(report.failed), report.elapsed
""",
    "download_many, async, concurrency 8": """
import asyncio
from breeze_blue import AsyncBreezeBlue
async def main():
    async with AsyncBreezeBlue(api_key=KEY, base_url=URL) as client:
        return await client.history.download_many(IDS, FOLDER)
report = asyncio.run(main())
FAILED, ELAPSED = len(report.failed), report.elapsed
""",
    "download_many, sync, concurrency 32": """
from breeze_blue import BreezeBlue
with BreezeBlue(api_key=KEY, base_url=URL) as client:
    report = client.history.download_many(IDS, FOLDER, concurrency=32)
FAILED, ELAPSED = len(report.failed), report.elapsed
""",
    "download_many, async, concurrency 32": """
import asyncio
from breeze_blue import AsyncBreezeBlue
async def main():
    async with AsyncBreezeBlue(api_key=KEY, base_url=URL) as client:
        return await client.history.download_many(IDS, FOLDER, concurrency=32)
report = asyncio.run(main())
FAILED, ELAPSED = len(report.failed), report.elapsed
""",
    "download_many, async + DefaultAioHttpClient, concurrency 32": """
import asyncio
from breeze_blue import AsyncBreezeBlue, DefaultAioHttpClient
async def main():
    async with AsyncBreezeBlue(
        api_key=KEY, base_url=URL, http_client=DefaultAioHttpClient()
    ) as client:
        return await client.history.download_many(IDS, FOLDER, concurrency=32)
report = asyncio.run(main())
FAILED, ELAPSED = len(report.failed), report.elapsed
""",
    "naive asyncio.gather(download_audio + asave)": """
import asyncio
from breeze_blue import AsyncBreezeBlue, asave
async def one(client, history_item_id):
    audio = await client.history.download_audio(history_item_id)
    await asave(audio, f"{FOLDER}/{history_item_id}.mp3")
async def main():
    async with AsyncBreezeBlue(api_key=KEY, base_url=URL) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(one(client, i) for i in IDS), return_exceptions=True)
        return results, time.perf_counter() - started
results, ELAPSED = asyncio.run(main())
FAILED = sum(isinstance(r, BaseException) for r in results)
""",
}

RUNNER = """
import json, resource, sys, time
KEY, URL, FOLDER, COUNT = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
IDS = [f"hist_{{n:05d}}" for n in range(COUNT)]
{body}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"elapsed": ELAPSED, "failed": FAILED, "peak_rss": peak}}))
"""


BARE_HTTPX = """
import asyncio, json, sys, time, httpx
URL, KEY, COUNT, TASKS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
async def main():
    queue = [f"hist_{n:05d}" for n in range(COUNT)]
    async with httpx.AsyncClient(base_url=URL, headers={"xi-api-key": KEY}) as client:
        async def worker():
            while queue:
                item = queue.pop()
                async with client.stream("GET", f"/v1/history/{item}/audio") as response:
                    async for _ in response.aiter_raw():
                        pass
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(TASKS)))
        return time.perf_counter() - started
print(json.dumps(COUNT / asyncio.run(main())))
"""


def bare_httpx_rates(count: int) -> dict[int, float]:
    """Items a second for a bare ``httpx.AsyncClient`` loop, 8 and 32 tasks, no limit.

    The same items from the same server with its limit off, bodies read and dropped: how
    httpx's own async pool (20 connections by default) fares with more tasks than that.
    """
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(count), str(SIZE), "0", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        rates = {}
        for tasks in (8, 32):
            done = subprocess.run(
                [sys.executable, "-c", BARE_HTTPX, url, TEST_API_KEY, str(count), str(tasks)],
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            )
            rates[tasks] = float(done.stdout.strip())
        return rates
    finally:
        server.kill()
        server.wait()


def run_client(body: str, url: str, folder: Path, count: int) -> dict[str, float]:
    script = RUNNER.format(body=textwrap.dedent(body))
    done = subprocess.run(
        [sys.executable, "-c", script, TEST_API_KEY, url, str(folder), str(count)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_once(body: str, folder: Path, count: int) -> dict[str, float]:
    """A fresh server (a full bucket, counts at zero), one client run, the server's counts."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(count), str(SIZE), str(IN_FLIGHT), str(PER_SECOND)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdin is not None
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        result = run_client(body, url, folder, count)
        server.stdin.write("report\n")
        server.stdin.flush()
        result.update(json.loads(server.stdout.readline()))
        return result
    finally:
        server.kill()
        server.wait()


def check_files(folder: Path, count: int) -> int:
    """How many of the expected files are there with the right SHA-256."""
    right = 0
    for n in range(count):
        history_item_id = f"hist_{n:05d}"
        path = folder / f"{history_item_id}.mp3"
        if not path.exists():
            continue
        expected = hashlib.sha256()
        for block in pattern_bytes(history_item_id, SIZE):
            expected.update(block)
        if hashlib.sha256(path.read_bytes()).digest() == expected.digest():
            right += 1
    return right


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    parser.add_argument("--items", type=int, default=2000)
    args, _ = parser.parse_known_args()  # make bench passes run.py's arguments too
    rounds = 1 if args.quick else 3
    count = args.items
    ideal = (count - PER_SECOND) / PER_SECOND

    rows: dict[str, list[dict[str, float]]] = {name: [] for name in CLIENTS}
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="breeze-bulk-"))
    try:
        for round_number in range(rounds):
            for name, body in CLIENTS.items():
                folder = scratch / "out"
                folder.mkdir()
                result = run_once(body, folder, count)
                result["right"] = check_files(folder, count)
                shutil.rmtree(folder)
                rows[name].append(result)
                print(
                    f"round {round_number + 1}/{rounds} {name}: {result['elapsed']:.2f}s "
                    f"({result['elapsed'] / ideal:.2f}x ideal), 429s {result['rate_limited']}, "
                    f"early {result['early_requests']}, failed {result['failed']}, "
                    f"files right {result['right']}/{count}, "
                    f"peak RSS {result['peak_rss'] / 2**20:.1f} MiB",
                    flush=True,
                )
        rates = bare_httpx_rates(count)
        print(f"bare httpx.AsyncClient, no limit: {rates}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_results(rows, count, ideal, rounds, time.monotonic() - started, rates)
    return 0


def write_results(
    rows: dict[str, list[dict[str, float]]],
    count: int,
    ideal: float,
    rounds: int,
    took: float,
    rates: dict[int, float],
) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    lines = [
        "# Bulk download benchmark",
        "",
        f"Written by `benchmarks/bulk.py` (`make bench`) on {now}, commit {commit}, "
        f"{platform.python_version()}, {os.cpu_count()} cores, shared and noisy: "
        f"{rounds} round(s), the median shown; {took / 60:.1f} min in all.",
        "",
        f"{count:,} items of {SIZE // 1024} KiB from `python -m breeze_blue.testing`'s server "
        f"in its own process, limited to {IN_FLIGHT} requests in flight and {PER_SECOND} a "
        f"second (a token bucket of {PER_SECOND}, full at the start), answering beyond that "
        f"with `429` and `Retry-After` (whole seconds). The ideal the limit allows is "
        f"({count:,} - {PER_SECOND}) / {PER_SECOND} = {ideal:.1f} s. Each client runs as its "
        'own process. "Early" counts requests that reached the server while a `Retry-After` '
        "it had announced was still running (50 ms of slack each side): requests a client "
        "sent before the `429` reached it count too.",
        "",
        "| client | time | x ideal (goal <= 1.10) | 429 answers | early | failed | "
        "files right (SHA-256) | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, results in rows.items():

        def median(key: str, results: list[dict[str, float]] = results) -> float:
            return statistics.median(r[key] for r in results)

        elapsed = median("elapsed")
        ratio = elapsed / ideal
        verdict = "" if name.startswith("naive") else (" PASS" if ratio <= GOAL else " FAIL")
        lines.append(
            f"| {name} | {elapsed:.2f} s | {ratio:.2f}x{verdict} | "
            f"{median('rate_limited'):.0f} | {median('early_requests'):.0f} | "
            f"{median('failed'):.0f} | {min(r['right'] for r in results):,}/{count:,} | "
            f"{max(r['peak_rss'] for r in results) / 2**20:.1f} MiB |"
        )
    lines += [
        "",
        "The naive row is not held to the goal: it is `asyncio.gather` over "
        "`download_audio()` + `asave()` for every id at once, with no shared gate, no "
        "restart and no report (each task would retry a `429` on its own, `max_retries=2`).",
        "",
        "httpx's own async pool with more tasks than connections: a bare "
        f"`httpx.AsyncClient` loop (20 connections, bodies read and dropped, the server's "
        f"limit off) fetches {rates[8]:.0f} items a second with 8 tasks and {rates[32]:.0f} "
        "with 32. The `AsyncBreezeBlue()` rows at concurrency 32 inherit that; the aiohttp "
        "extra (`DefaultAioHttpClient`) does not.",
        "",
    ]
    (HERE / "bulk.md").write_text("\n".join(lines))
    print("wrote benchmarks/bulk.md")


if __name__ == "__main__":
    raise SystemExit(main())

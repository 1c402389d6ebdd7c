"""Event-loop responsiveness while a large file downloads (issue 5): how late a ticker wakes.

Usage: ``loop_lateness.py BASE_URL ITEM_ID API_KEY SHA256 OUT ROUNDS``; prints one JSON object
with every tick's lateness (seconds), by way and round, and each download's wall time.

Issue 5 asks that writing the file never block the event loop for long. A ticker task sleeps
TICK (5 ms) again and again and records how much later than asked each wake-up comes: the
longest stretch the loop spent on something else. It runs alongside, in the same loop:

- ``idle``: nothing else (for IDLE seconds): the floor, the timer's own jitter;
- ``asave``: ``await asave(await client.history.download_audio(id), OUT)``, durable;
- ``naive``: ``async for chunk in audio.aiter_bytes(): file.write(chunk)`` with a plain
  blocking ``write`` on the loop, then ``os.fsync`` on the loop too (durable, as asave): what a
  user writes without thinking about it, for comparison.

One process, one event loop and one ``AsyncBreezeBlue`` for the whole run (each way once
untimed first, to open the connection and warm the code paths); in each round the three ways
run in an order that rotates from round to round. After each download, untimed: the output's
SHA-256 is checked, the file deleted and ``os.sync()`` run so that one download's writeback
never lands in the next one's measurement.
"""

import asyncio
import hashlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from breeze_blue import AsyncBreezeBlue, asave

TICK = 0.005
IDLE = 1.0


async def ticker(lateness: list[float], stop: asyncio.Event) -> None:
    """Sleep TICK until stopped; record how late each wake-up is."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        lateness.append(time.perf_counter() - start - TICK)


async def timed(work: Callable[[], Awaitable[None]]) -> tuple[float, list[float]]:
    """Run ``work`` with the ticker beside it: its wall seconds and the ticks' lateness."""
    lateness: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(ticker(lateness, stop))
    await asyncio.sleep(0)  # let the ticker start its first sleep
    start = time.perf_counter()
    try:
        await work()
    finally:
        wall = time.perf_counter() - start
        stop.set()
        await task
    return wall, lateness


def verify(out: Path, sha256: str) -> None:
    """The output has the item's SHA-256; then it is deleted and the disk flushed."""
    with out.open("rb") as file:
        if hashlib.file_digest(file, "sha256").hexdigest() != sha256:
            raise SystemExit(f"{out.name}: SHA-256 mismatch")
    leftovers = sorted(p.name for p in out.parent.iterdir() if p != out)
    if leftovers:
        raise SystemExit(f"left files behind: {', '.join(leftovers)}")
    out.unlink()
    os.sync()


async def measure(
    base_url: str, item_id: str, api_key: str, sha256: str, out: Path, rounds: int
) -> dict[str, object]:
    """The interleaved rounds: lateness per tick and wall per download, by way and round."""
    async with AsyncBreezeBlue(api_key=api_key, base_url=base_url) as client:

        async def idle() -> None:
            await asyncio.sleep(IDLE)

        async def with_asave() -> None:
            await asave(await client.history.download_audio(item_id), out)

        async def naive() -> None:
            audio = await client.history.download_audio(item_id)
            with out.open("wb") as file:
                async for chunk in audio.aiter_bytes():
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())

        ways: dict[str, Callable[[], Awaitable[None]]] = {
            "idle": idle,
            "asave": with_asave,
            "naive": naive,
        }
        for name in ("asave", "naive"):  # warm-up, not counted
            await ways[name]()
            verify(out, sha256)
        names = list(ways)
        lateness: dict[str, list[list[float]]] = {name: [] for name in names}
        walls: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                wall, late = await timed(ways[name])
                walls[name].append(wall)
                lateness[name].append([round(value, 6) for value in late])
                if name != "idle":
                    verify(out, sha256)
    return {"lateness": lateness, "wall": walls}


def main() -> None:
    """Run the rounds and print the measurements as JSON."""
    base_url, item_id, api_key, sha256, out = sys.argv[1:6]
    rounds = int(sys.argv[6])
    report = asyncio.run(measure(base_url, item_id, api_key, sha256, Path(out), rounds))
    print(json.dumps({"tick": TICK, **report}))


if __name__ == "__main__":
    main()

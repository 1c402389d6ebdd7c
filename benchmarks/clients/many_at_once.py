"""Many downloads at once (issue 5): 64 items of 1 MiB, one after another vs all at once.

Usage: ``many_at_once.py BASE_URL API_KEY DATA_DIR OUT_DIR ROUNDS [COUNT [SIZE_KIB]]``; creates
COUNT (default 64) random items of SIZE_KIB (default 1024) in DATA_DIR, the folder the loopback
nginx serves, then prints one JSON object with the seconds each way took in each round.

Three ways to download the same COUNT items to files in OUT_DIR, each durable (``asave()`` and
``save()`` fsync every file before its atomic rename):

- ``sequential``: one ``AsyncBreezeBlue``, ``await asave(await download_audio(id), path)`` for
  one item after the other;
- ``gather``: one ``AsyncBreezeBlue(max_connections=16)``, the same for all items at once with
  ``asyncio.gather`` (the pool bounds how many connections they share);
- ``sync``: one ``BreezeBlue``, ``save(download_audio(id), path)`` one after the other;
- and for reference, ``sequential_read`` and ``gather_read``: the first two without any file,
  each body read into memory with ``await audio.read()`` (and checked): what concurrency does
  for the HTTP side alone.

All three run in this one process and one event loop (the sync way blocks it, which costs it
nothing), with clients built and warmed once (every way runs once untimed first), in rounds
whose order rotates so that each way runs first, second and third in turn: only ratios taken
within a round are meaningful on this noisy machine. After every way, untimed: every output's
SHA-256 is checked against its item's, nothing else may be left in OUT_DIR (no temporary
files), the outputs are deleted and ``os.sync()`` flushes the disk so that one way's
writeback is never billed to the next.

(Not named ``concurrent.py``: as a script's own folder comes first on ``sys.path``, that name
would shadow the standard library's ``concurrent`` package, which asyncio imports.)
"""

import asyncio
import hashlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from breeze_blue import AsyncBreezeBlue, BreezeBlue, asave, save

MAX_CONNECTIONS = 16


def make_items(data: Path, count: int, size: int) -> dict[str, str]:
    """Random items for nginx to serve: {item id: SHA-256}."""
    items = {}
    for index in range(count):
        item_id = f"hist_conc_{index:03d}"
        body = os.urandom(size)
        path = data / f"{item_id}.bin"
        path.write_bytes(body)
        path.chmod(0o644)  # nginx's worker runs as an unprivileged user
        items[item_id] = hashlib.sha256(body).hexdigest()
    os.sync()  # the items' own writeback must not land in the first measurements
    return items


def verify(out_dir: Path, items: dict[str, str]) -> None:
    """Every output present with the right SHA-256 and nothing else; then empty OUT_DIR."""
    for item_id, sha256 in items.items():
        path = out_dir / f"{item_id}.mp3"
        if not path.is_file():
            raise SystemExit(f"{path.name}: no output file")
        with path.open("rb") as file:
            if hashlib.file_digest(file, "sha256").hexdigest() != sha256:
                raise SystemExit(f"{path.name}: SHA-256 mismatch")
    expected = {f"{item_id}.mp3" for item_id in items}
    leftovers = sorted(p.name for p in out_dir.iterdir() if p.name not in expected)
    if leftovers:
        raise SystemExit(f"left files behind: {', '.join(leftovers)}")
    for path in out_dir.iterdir():
        path.unlink()
    os.sync()


async def measure(
    base_url: str, api_key: str, items: dict[str, str], out_dir: Path, rounds: int
) -> dict[str, list[float]]:
    """The interleaved rounds: seconds per way and round, by way."""
    ids = list(items)
    out = {item_id: out_dir / f"{item_id}.mp3" for item_id in ids}
    async with (
        AsyncBreezeBlue(api_key=api_key, base_url=base_url) as one_by_one,
        AsyncBreezeBlue(
            api_key=api_key, base_url=base_url, max_connections=MAX_CONNECTIONS
        ) as at_once,
    ):
        with BreezeBlue(api_key=api_key, base_url=base_url) as sync_client:

            async def fetch(client: AsyncBreezeBlue, item_id: str) -> None:
                await asave(await client.history.download_audio(item_id), out[item_id])

            async def sequential() -> None:
                for item_id in ids:
                    await fetch(one_by_one, item_id)

            async def gather() -> None:
                await asyncio.gather(*(fetch(at_once, item_id) for item_id in ids))

            async def sync() -> None:
                for item_id in ids:
                    save(sync_client.history.download_audio(item_id), out[item_id])

            async def read(client: AsyncBreezeBlue, item_id: str) -> None:
                body = await (await client.history.download_audio(item_id)).read()
                if hashlib.sha256(body).hexdigest() != items[item_id]:
                    raise SystemExit(f"{item_id}: SHA-256 mismatch (read)")

            async def sequential_read() -> None:
                for item_id in ids:
                    await read(one_by_one, item_id)

            async def gather_read() -> None:
                await asyncio.gather(*(read(at_once, item_id) for item_id in ids))

            ways: dict[str, Callable[[], Awaitable[None]]] = {
                "sequential": sequential,
                "gather": gather,
                "sync": sync,
                "sequential_read": sequential_read,
                "gather_read": gather_read,
            }
            to_files = {"sequential", "gather", "sync"}
            for name, way in ways.items():  # warm-up: connections opened, code paths warm
                await way()
                if name in to_files:
                    verify(out_dir, items)
            names = list(ways)
            seconds: dict[str, list[float]] = {name: [] for name in names}
            for round_ in range(rounds):
                shift = round_ % len(names)
                for name in names[shift:] + names[:shift]:
                    start = time.perf_counter()
                    await ways[name]()
                    seconds[name].append(time.perf_counter() - start)
                    if name in to_files:
                        verify(out_dir, items)
    return seconds


def main() -> None:
    """Create the items, run the rounds, print the timings as JSON."""
    base_url, api_key, data, out_dir = sys.argv[1:5]
    rounds = int(sys.argv[5])
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 64
    size = (int(sys.argv[7]) if len(sys.argv) > 7 else 1024) * 1024
    items = make_items(Path(data), count, size)
    seconds = asyncio.run(measure(base_url, api_key, items, Path(out_dir), rounds))
    report = {"count": count, "size": size, "max_connections": MAX_CONNECTIONS, **seconds}
    print(json.dumps(report))


if __name__ == "__main__":
    main()

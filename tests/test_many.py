"""``history.download_many()``: many items into a folder, restartable, under a rate limit.

Every test runs on the sync client (threads) and the async one (tasks) against the
reference server on loopback; files are checked byte for byte against the server's items.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from breeze_blue import (
    APIConnectionError,
    AsyncBreezeBlue,
    AuthenticationError,
    BreezeBlue,
    DownloadReport,
    DownloadResult,
    GenerationFailedError,
    GenerationNotReadyError,
    NotFoundError,
    RateLimitError,
)
from breeze_blue._core.bulk import Pacer, max_parked
from breeze_blue._core.names import file_stem, id_for_stem, in_shard
from breeze_blue._files.atomic import AtomicFile, remove_if_stale
from breeze_blue.testing import (
    TEST_API_KEY,
    Drop,
    ErrorReply,
    Hangup,
    RateLimit,
    Ready,
    ReferenceServer,
    Trickle,
    pattern_bytes,
)

BODY = b"RIFF" + bytes(range(256)) * 16


def run_many(kind: str, server: ReferenceServer | str, *args: Any, key: str = TEST_API_KEY,
             **kwargs: Any) -> DownloadReport:  # fmt: skip
    """``download_many`` on a fresh client of the given kind (a server, or a base URL)."""
    url = server if isinstance(server, str) else server.url
    if kind == "sync":
        with BreezeBlue(api_key=key, base_url=url) as client:
            return client.history.download_many(*args, **kwargs)

    async def main() -> DownloadReport:
        async with AsyncBreezeBlue(api_key=key, base_url=url) as client:
            return await client.history.download_many(*args, **kwargs)

    return asyncio.run(main())


def served(server: ReferenceServer, history_item_id: str) -> bytes:
    item = server.items[history_item_id]
    assert isinstance(item, Ready)
    return b"".join(item.chunks(history_item_id))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------------------- the outcome


def test_a_mixed_set_is_reported_in_input_order(  # ready, missing, failed, waiting, 429
    kind: str, tmp_path: Path
) -> None:
    with ReferenceServer() as server:
        server.add("hist_soon", Ready(media_type="audio/flac", body=BODY), running_polls=2)
        server.add("../../etc/passwd", Ready(media_type="audio/wav", body=BODY))
        server.add("hist ünïcode/ä", Ready(media_type="audio/x-new", body=BODY))
        server.inject(
            "hist_wav", ErrorReply(429, "RATE_LIMITED", "Slow down.", {"retry-after": "1"})
        )
        ids = [
            "hist_mpeg", "hist_missing", "hist_soon", "hist_failed", "hist_wav",
            "hist_mpeg", "../../etc/passwd", "hist ünïcode/ä", "ü" * 100, "hist_pcm",
        ]  # fmt: skip
        seen: list[tuple[str, int]] = []
        report = run_many(
            kind,
            server,
            iter(ids),
            tmp_path / "new" / "folder",
            wait=True,
            wait_timeout=30,
            on_item=lambda r: seen.append((r.history_item_id, threading.get_ident())),
        )
        folder = tmp_path / "new" / "folder"
        by_id = {r.history_item_id: r for r in report.results}
        # One result per distinct id, in input order; on_item saw each once, on this thread.
        assert [r.history_item_id for r in report.results] == list(dict.fromkeys(ids))
        assert sorted(i for i, _ in seen) == sorted(dict.fromkeys(ids))
        assert {thread for _, thread in seen} == {threading.get_ident()}
        assert [r.history_item_id for r in report.saved] == [
            "hist_mpeg", "hist_soon", "hist_wav", "../../etc/passwd", "hist ünïcode/ä", "hist_pcm",
        ]  # fmt: skip
        for result in report.saved:
            assert result.path is not None
            assert result.path.parent == folder
            assert result.path.read_bytes() == served(server, result.history_item_id)
            assert result.size == result.path.stat().st_size
            assert id_for_stem(result.path.stem) == result.history_item_id
        assert by_id["hist_mpeg"].path == folder / "hist_mpeg.mp3"
        assert by_id["hist_soon"].path == folder / "hist_soon.flac"
        assert by_id["hist_soon"].media_type == "audio/flac"
        assert by_id["../../etc/passwd"].path == folder / "%2E.%2F..%2Fetc%2Fpasswd.wav"
        assert by_id["hist ünïcode/ä"].path == folder / "hist%20%C3%BCn%C3%AFcode%2F%C3%A4.bin"
        assert isinstance(by_id["hist_missing"].error, NotFoundError)
        assert isinstance(by_id["hist_failed"].error, GenerationFailedError)
        too_long = by_id["ü" * 100]
        assert too_long.status == "failed"
        assert isinstance(too_long.error, ValueError)
        assert report.bytes == sum(r.size or 0 for r in report.saved)
        assert report.rate_limited == 1  # hist_wav's first answer; then it was saved
        assert report.elapsed > 0
        assert not report.ok
        assert len(report.failed) == 3
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            r.path.name for r in report.saved if r.path
        )
        # The duplicate was asked for once; the too-long id never.
        asked = [r.history_item_id for r in server.requests]
        assert asked.count("hist_mpeg") == 1
        assert "ü" * 100 not in asked


def test_a_rerun_skips_complete_files_without_a_request(kind: str, tmp_path: Path) -> None:
    with ReferenceServer() as server:
        first = run_many(kind, server, ["hist_mpeg", "hist_wav", "hist_missing"], tmp_path)
        assert len(first.saved) == 2
        # A file for the id under any extension counts as complete.
        (tmp_path / "hist_pcm.opus").write_bytes(b"mine")
        before = len(server.requests)
        again = run_many(kind, server, ["hist_mpeg", "hist_wav", "hist_pcm", "hist_missing"],
                         tmp_path)  # fmt: skip
        assert [r.status for r in again.results] == ["skipped", "skipped", "skipped", "failed"]
        assert again.skipped[2].path == tmp_path / "hist_pcm.opus"
        assert [r.history_item_id for r in server.requests[before:]] == ["hist_missing"]
        assert again.bytes == 0
        # overwrite=True downloads again, and the copy under another extension goes.
        over = run_many(kind, server, ["hist_pcm"], tmp_path, overwrite=True)
        assert over.saved[0].path == tmp_path / "hist_pcm.pcm"
        assert not (tmp_path / "hist_pcm.opus").exists()


def test_shards_cover_every_id_exactly_once(kind: str, tmp_path: Path) -> None:
    ids = [f"hist_{n:04d}" for n in range(60)]
    with ReferenceServer() as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(body=history_item_id.encode()))
        reports = [run_many(kind, server, ids, tmp_path, shard=(k, 3)) for k in (1, 2, 3)]
        got = [r.history_item_id for report in reports for r in report.results]
        assert sorted(got) == ids  # every id once, none twice
        assert all(len(report.results) > 5 for report in reports)
        assert all(report.ok for report in reports)
        assert len(server.requests) == len(ids)


def test_the_shard_of_an_id_is_stable() -> None:
    # SHA-256 of the UTF-8 id, so every process and machine agrees (never hash()).
    script = "from breeze_blue._core.names import in_shard; print(in_shard('hist_x', (2, 7)))"
    runs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert runs == {f"{in_shard('hist_x', (2, 7))}\n"}
    digest = int.from_bytes(hashlib.sha256(b"hist_x").digest()[:8], "big")
    assert in_shard("hist_x", (digest % 7 + 1, 7))


@pytest.mark.parametrize(
    "history_item_id",
    ["plain", ".hidden", "..", ".", "a/b", "a\\b", "100%", "ünï", "con", "x" * 250, "tab\there"],
)
def test_names_are_reversible_and_never_paths(history_item_id: str) -> None:
    stem = file_stem(history_item_id)
    assert id_for_stem(stem) == history_item_id
    assert not {"/", "\\", "\0"} & set(stem)
    assert not stem.startswith(".")
    assert stem.isascii()
    assert len(stem.encode()) + len(".flac") <= 255


# ---------------------------------------------------------------------------- failures


def test_a_refused_key_raises_at_once(kind: str, tmp_path: Path) -> None:
    ids = (f"hist_{n}" for n in range(1000))
    with ReferenceServer() as server, pytest.raises(AuthenticationError):
        run_many(kind, server, ids, tmp_path, key="bb_wrong_key_000000")
    assert len(server.requests) <= 16  # the workers' first requests, not a thousand
    assert leftovers(tmp_path) == []


def test_a_base_url_that_never_answers_raises_at_once(kind: str, tmp_path: Path) -> None:
    with socket.socket() as listener:  # a loopback port nobody listens on
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    ids = (f"hist_{n}" for n in range(1000))
    started = time.monotonic()
    with pytest.raises(APIConnectionError):
        run_many(kind, f"http://127.0.0.1:{port}", ids, tmp_path)
    assert time.monotonic() - started < 30  # not a thousand items' retries


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("hist_mpeg", "out"), {}, TypeError),
        ((["hist_mpeg"], 42), {}, TypeError),
        ((["hist_mpeg"], "out"), {"concurrency": 0}, ValueError),
        ((["hist_mpeg"], "out"), {"concurrency": 2.5}, TypeError),
        ((["hist_mpeg"], "out"), {"shard": (0, 2)}, ValueError),
        ((["hist_mpeg"], "out"), {"shard": (3, 2)}, ValueError),
        ((["hist_mpeg"], "out"), {"shard": "1/2"}, TypeError),
        ((["hist_mpeg"], "out"), {"wait_timeout": -1}, ValueError),
        ((["hist_mpeg"], "out"), {"on_item": "print"}, TypeError),
    ],
)
def test_bad_arguments_fail_before_anything_is_sent(
    kind: str, tmp_path: Path, args: tuple[Any, ...], kwargs: dict[str, Any], error: type
) -> None:
    os.chdir(tmp_path)
    with ReferenceServer() as server, pytest.raises(error):
        run_many(kind, server, *args, **kwargs)
    assert server.requests == []
    assert not (tmp_path / "out").exists()


def test_a_file_where_the_folder_should_be_is_an_error(kind: str, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    with ReferenceServer() as server, pytest.raises((FileExistsError, NotADirectoryError)):
        run_many(kind, server, ["hist_mpeg"], tmp_path / "taken")
    assert server.requests == []


def test_waiting_items_hold_no_worker(kind: str, tmp_path: Path) -> None:
    # One worker: if the item being polled held it, nothing else could finish meanwhile.
    with ReferenceServer() as server:
        server.add("hist_slow", Ready(body=BODY), running_polls=2)
        order: list[str] = []
        report = run_many(
            kind, server, ["hist_slow", "hist_mpeg", "hist_wav", "hist_pcm"], tmp_path,
            concurrency=1, wait=True, on_item=lambda r: order.append(r.history_item_id),
        )  # fmt: skip
    assert report.ok
    assert order[-1] == "hist_slow", order
    assert report.results[0].history_item_id == "hist_slow"


def test_not_ready_without_wait_is_a_failed_result(kind: str, tmp_path: Path) -> None:
    with ReferenceServer() as server:
        report = run_many(kind, server, ["hist_running", "hist_mpeg"], tmp_path)
    assert isinstance(report.results[0].error, GenerationNotReadyError)
    assert report.results[1].status == "saved"


# ---------------------------------------------------------------------------- memory, input


@pytest.fixture
def server_process() -> Iterator[tuple[str, str]]:
    """``python -m breeze_blue.testing`` in its own process: its memory is not ours."""
    process = subprocess.Popen(
        [sys.executable, "-m", "breeze_blue.testing"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().partition("=")[2]
        key = process.stdout.readline().strip().partition("=")[2]
        yield url, key
    finally:
        process.terminate()
        process.wait()


def test_ids_are_read_lazily_and_memory_stays_bounded(
    kind: str, tmp_path: Path, server_process: tuple[str, str]
) -> None:
    # 10,000 ids, of which shard 1 of 5 (about 2,000) are asked for: the rest are read and
    # dropped, and keep the test fast.
    url, key = server_process
    count, shard = 10_000, (1, 5)
    taken = 0
    ahead: list[int] = []
    finished = 0

    def ids() -> Iterator[str]:
        nonlocal taken
        for n in range(count):
            history_item_id = f"hist_missing_{n}"
            taken += in_shard(history_item_id, shard)
            yield history_item_id

    def on_item(result: DownloadResult) -> None:
        nonlocal finished
        finished += 1
        ahead.append(taken - finished)

    async def in_loop() -> DownloadReport:
        async with AsyncBreezeBlue(api_key=key, base_url=url) as client:
            return await client.history.download_many(ids(), tmp_path, on_item=on_item, shard=shard)

    tracemalloc.start()
    try:
        if kind == "sync":
            with BreezeBlue(api_key=key, base_url=url) as client:
                report = client.history.download_many(ids(), tmp_path, on_item=on_item, shard=shard)
        else:
            report = asyncio.run(in_loop())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    asked = sum(in_shard(f"hist_missing_{n}", shard) for n in range(count))
    assert len(report.failed) == asked
    assert 1800 < asked < 2200
    assert isinstance(report.failed[-1].error, NotFoundError)
    # Never more read ahead than the queue (concurrency), the items in flight, and for the
    # async client the batch of ids looked for on disk in one thread hop (32).
    assert max(ahead) <= 2 * 8 + 1 + (32 if kind == "async" else 0), max(ahead)
    # What stays is the report: a failed item keeps its typed error (status, code, request
    # id, the response headers and the redacted request), not its traceback or the body.
    assert peak < asked * 8 * 1024, f"peak {peak / 1e6:.1f} MB for {asked} failed items"


# ---------------------------------------------------------------------------- restartable


def test_stale_temporary_files_go_and_live_ones_stay(kind: str, tmp_path: Path) -> None:
    stale = tmp_path / ".hist_mpeg.mp3.0123abcd.part"
    stale.write_bytes(b"half")
    mine = tmp_path / ".notes.txt.0123abcd.part"  # not a name an item could have
    mine.write_bytes(b"user")
    live = AtomicFile(tmp_path / "hist_wav.wav")  # another process's download in progress
    live.open()
    try:
        with ReferenceServer() as server:
            report = run_many(kind, server, ["hist_mpeg"], tmp_path)
        assert report.ok
        assert not stale.exists()
        assert mine.exists()
        assert len(leftovers(tmp_path)) == 2  # mine, and the live one
    finally:
        live.discard()


KILLED_RUN = {
    "sync": textwrap.dedent(
        """
        import sys
        from breeze_blue import BreezeBlue
        ids = [line.strip() for line in open(sys.argv[3])]
        with BreezeBlue(api_key=sys.argv[1], base_url=sys.argv[2]) as client:
            client.history.download_many(ids, sys.argv[4], concurrency=4,
                on_item=lambda r: print(r.status, flush=True))
        """
    ),
    "async": textwrap.dedent(
        """
        import asyncio, sys
        from breeze_blue import AsyncBreezeBlue
        ids = [line.strip() for line in open(sys.argv[3])]
        async def main():
            async with AsyncBreezeBlue(api_key=sys.argv[1], base_url=sys.argv[2]) as client:
                await client.history.download_many(ids, sys.argv[4], concurrency=4,
                    on_item=lambda r: print(r.status, flush=True))
        asyncio.run(main())
        """
    ),
}


def test_kill_9_then_the_same_call_completes_the_set(kind: str, tmp_path: Path) -> None:
    # The killed run and the rerun are both of the given kind.
    ids = [f"hist_big_{n:02d}" for n in range(24)]
    (tmp_path / "ids.txt").write_text("\n".join(ids))
    folder = tmp_path / "backup"
    with ReferenceServer() as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(size=3 * 1024 * 1024))
            # Slow enough that the kill lands with downloads half-written.
            server.inject(history_item_id, Trickle(chunk=64 * 1024, delay=0.01))
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_RUN[kind], TEST_API_KEY, server.url,
             tmp_path / "ids.txt", folder],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert child.stdout is not None
            for _ in range(3):  # a few complete, others in flight
                assert child.stdout.readline().strip() == "saved"
            deadline = time.monotonic() + 10
            while not leftovers(folder) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
        assert leftovers(folder), "the kill should have left temporary files"
        complete_before = {
            Path(p.name).stem for p in folder.iterdir() if not p.name.startswith(".")
        }
        before = len(server.requests)

        report = run_many(kind, server, ids, folder)
        assert report.ok
        assert {r.history_item_id for r in report.skipped} == complete_before
        assert {r.history_item_id for r in report.saved} == set(ids) - complete_before
        # Only the missing ones were asked for again. (A request the killed process sent
        # just before it died may reach the server late, so that is not counted.)
        asked_again = {r.history_item_id for r in server.requests[before:]}
        assert not asked_again & complete_before
    assert leftovers(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == [f"{i}.mp3" for i in ids]
    for history_item_id in ids:
        expected = b"".join(pattern_bytes(history_item_id, 3 * 1024 * 1024))
        assert (folder / f"{history_item_id}.mp3").read_bytes() == expected


def test_an_interrupt_leaves_complete_files_and_no_temporary_ones(tmp_path: Path) -> None:
    # on_item raising stands for Ctrl-C: the sync client stops taking new work, lets the
    # downloads in flight finish, and re-raises.
    ids = [f"hist_{n:02d}" for n in range(30)]
    with ReferenceServer() as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(size=256 * 1024))

        def stop(result: DownloadResult) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run_many("sync", server, ids, tmp_path, on_item=stop)
        assert len(server.requests) < len(ids)
    assert leftovers(tmp_path) == []
    for path in tmp_path.iterdir():
        assert path.read_bytes() == b"".join(pattern_bytes(path.stem, 256 * 1024))


def test_cancelling_the_async_call_leaves_no_temporary_files(tmp_path: Path) -> None:
    ids = [f"hist_{n:02d}" for n in range(8)]
    with ReferenceServer() as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(size=2 * 1024 * 1024))
            server.inject(history_item_id, Trickle(chunk=64 * 1024, delay=0.01))

        async def main() -> None:
            async with AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client:
                task = asyncio.create_task(client.history.download_many(ids, tmp_path))
                while not leftovers(tmp_path):
                    await asyncio.sleep(0.01)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        asyncio.run(main())
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------- rate limits


def check_files(folder: Path, ids: list[str], size: int) -> None:
    for history_item_id in ids:
        expected = hashlib.sha256(b"".join(pattern_bytes(history_item_id, size))).digest()
        got = hashlib.sha256((folder / f"{history_item_id}.mp3").read_bytes()).digest()
        assert got == expected, history_item_id


def test_one_gate_and_a_limit_that_finds_the_servers(kind: str, tmp_path: Path) -> None:
    # The example: a server allowing 2 requests in flight, 40 items, concurrency 8.
    ids = [f"hist_{n:02d}" for n in range(40)]
    with ReferenceServer(rate_limit=RateLimit(max_in_flight=2)) as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(size=64 * 1024))
            # Each answer takes a little while, so requests overlap at the server as they
            # would over a real link (on loopback a 64 KiB body is written at once).
            server.inject(history_item_id, *[Trickle(chunk=16 * 1024, delay=0.003)] * 10)
        report = run_many(kind, server, ids, tmp_path, concurrency=8)
        assert len(report.saved) == len(ids)
        assert report.rate_limited == server.rate_limited
        assert 0 < server.rate_limited <= 20, server.rate_limited
        # No request started while the gate was closed.
        assert server.early_requests == 0
        assert server.peak_in_flight <= 2
    check_files(tmp_path, ids, 64 * 1024)


def test_a_rate_per_second_is_met_without_a_herd(kind: str, tmp_path: Path) -> None:
    ids = [f"hist_{n:03d}" for n in range(120)]
    with ReferenceServer(rate_limit=RateLimit(per_second=40)) as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(size=16 * 1024))
        report = run_many(kind, server, ids, tmp_path, concurrency=8)
        assert len(report.saved) == len(ids)
        assert server.early_requests == 0
        assert server.rate_limited <= 20, server.rate_limited
    check_files(tmp_path, ids, 16 * 1024)


# ---------------------------------------------------------------------------- review findings


def test_on_item_raising_stops_the_async_run_too(tmp_path: Path) -> None:
    ids = [f"hist_{n:02d}" for n in range(60)]
    with ReferenceServer() as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(body=b"x"))

        def boom(result: DownloadResult) -> None:
            raise RuntimeError("the caller's bug")

        async def main() -> None:
            async with AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client:
                await asyncio.wait_for(
                    client.history.download_many(ids, tmp_path, concurrency=2, on_item=boom), 10
                )

        with pytest.raises(RuntimeError, match="the caller's bug"):
            asyncio.run(main())
        assert len(server.requests) < 10


def test_cancelling_while_the_gate_is_closed_returns_at_once(tmp_path: Path) -> None:
    ids = [f"hist_{n:02d}" for n in range(10)]
    with ReferenceServer(rate_limit=RateLimit(max_in_flight=1, retry_after=30)) as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(size=64 * 1024))
            server.inject(history_item_id, Trickle(chunk=16 * 1024, delay=0.01))

        async def main() -> float:
            async with AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client:
                task = asyncio.create_task(client.history.download_many(ids, tmp_path))
                while server.rate_limited == 0:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.2)  # the workers now wait 30 s at the gate
                cancelled = time.monotonic()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return time.monotonic() - cancelled

        assert asyncio.run(main()) < 5
    assert leftovers(tmp_path) == []


def test_one_item_that_hangs_up_fails_alone(kind: str, tmp_path: Path) -> None:
    # A hang-up says the server is there: only a connection that never opens stops a run.
    with ReferenceServer() as server:
        server.inject("hist_mpeg", *[Hangup()] * 5)
        report = run_many(kind, server, ["hist_mpeg", "hist_wav", "hist_pcm"], tmp_path,
                          concurrency=1)  # fmt: skip
    assert isinstance(report.results[0].error, APIConnectionError)
    assert [r.status for r in report.results] == ["failed", "saved", "saved"]


@pytest.mark.parametrize("max_retries", [0, 2])
def test_the_gate_closes_whatever_the_items_own_retries(
    kind: str, tmp_path: Path, max_retries: int
) -> None:
    ids = [f"hist_{n:02d}" for n in range(24)]
    with ReferenceServer(rate_limit=RateLimit(max_in_flight=2)) as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(size=64 * 1024))
            server.inject(history_item_id, *[Trickle(chunk=16 * 1024, delay=0.003)] * 10)
        if kind == "sync":
            with BreezeBlue(api_key=TEST_API_KEY, base_url=server.url,
                            max_retries=max_retries) as client:  # fmt: skip
                report = client.history.download_many(ids, tmp_path, concurrency=8)
        else:

            async def main() -> DownloadReport:
                async with AsyncBreezeBlue(
                    api_key=TEST_API_KEY, base_url=server.url, max_retries=max_retries
                ) as client:
                    return await client.history.download_many(ids, tmp_path, concurrency=8)

            report = asyncio.run(main())
        assert server.early_requests == 0
        assert server.rate_limited <= 20
    # Without retries an item that met a 429 fails, but the gate still held the others.
    assert len(report.saved) >= len(ids) - server.rate_limited
    if max_retries:
        assert report.ok


def test_a_long_retry_after_stops_the_run(kind: str, tmp_path: Path) -> None:
    # Longer than max_retry_after: every item would fail the same way, so the run stops.
    reply = ErrorReply(429, "RATE_LIMITED", "Come back tomorrow.", {"retry-after": "86400"})
    with ReferenceServer() as server:
        server.inject("hist_mpeg", reply)
        with pytest.raises(RateLimitError):
            run_many(kind, server, ["hist_mpeg", *(f"hist_{n}" for n in range(500))],
                     tmp_path, concurrency=1)  # fmt: skip
        assert len(server.requests) < 5


def test_a_broken_body_asks_again_only_when_the_gate_is_open(kind: str, tmp_path: Path) -> None:
    ids = [f"hist_{n:02d}" for n in range(16)]
    with ReferenceServer(rate_limit=RateLimit(max_in_flight=2)) as server:
        for n, history_item_id in enumerate(ids):
            server.add(history_item_id, Ready(size=256 * 1024))
            slow = Trickle(chunk=32 * 1024, delay=0.003)
            server.inject(history_item_id, Drop(after=64 * 1024) if n % 3 == 0 else slow, slow)
        report = run_many(kind, server, ids, tmp_path, concurrency=8)
        assert report.ok
        assert server.early_requests == 0
    check_files(tmp_path, ids, 256 * 1024)


def test_a_fatal_error_cuts_other_items_waits_short(kind: str, tmp_path: Path) -> None:
    # One item waits 15 s before its retry; another meets a refused key meanwhile.
    with ReferenceServer() as server:
        server.inject("hist_mpeg", ErrorReply(500, "INTERNAL_ERROR", "x", {"retry-after": "15"}))
        server.inject("hist_wav", ErrorReply(401, "UNAUTHENTICATED", "Key revoked."))
        started = time.monotonic()

        def sync() -> None:
            with BreezeBlue(api_key=TEST_API_KEY, base_url=server.url, sleep=time.sleep) as c:
                c.history.download_many(["hist_mpeg", "hist_wav"], tmp_path, concurrency=2)

        async def in_loop() -> None:
            async with AsyncBreezeBlue(
                api_key=TEST_API_KEY, base_url=server.url, sleep=asyncio.sleep
            ) as client:
                await client.history.download_many(
                    ["hist_mpeg", "hist_wav"], tmp_path, concurrency=2
                )

        with pytest.raises(AuthenticationError):
            sync() if kind == "sync" else asyncio.run(in_loop())
        assert time.monotonic() - started < 5


def test_waiting_items_do_not_pull_the_whole_input_in(kind: str, tmp_path: Path) -> None:
    # Every item is still generating: parked items are bounded, and so is what is read.
    taken = 0

    def ids() -> Iterator[str]:
        nonlocal taken
        for n in range(400):
            taken += 1
            yield f"hist_slow_{n}"

    with ReferenceServer() as server:
        for n in range(400):
            server.add(f"hist_slow_{n}", ErrorReply(409, "GENERATION_NOT_READY", "Not yet.",
                                                    {"retry-after": "1"}))  # fmt: skip
        seen: list[int] = []
        report = run_many(kind, server, ids(), tmp_path, concurrency=2, wait=True,
                          wait_timeout=0.5, on_item=lambda r: seen.append(taken))  # fmt: skip
    assert len(report.failed) == 400
    assert all(isinstance(r.error, GenerationNotReadyError) for r in report.failed)
    batch = 32 if kind == "async" else 0  # ids looked for on disk in one thread hop
    assert max(n - i for i, n in enumerate(seen, 1)) <= max_parked(2) + 2 * 2 + 1 + batch


def test_names_in_a_folder_that_ignores_case_cannot_collide() -> None:
    folded = {file_stem(i, fold_case=True).lower() for i in ("Hist_A", "hist_a", "HIST_A")}
    assert len(folded) == 3
    for history_item_id in ("Hist_A", "hist_a", "CON", "nul.txt", "Com1"):
        stem = file_stem(history_item_id, fold_case=True)
        assert id_for_stem(stem) == history_item_id
        assert stem == stem.lower() or "%" in stem
    assert file_stem("con").startswith("%")
    assert file_stem("nul.txt").startswith("%")
    assert file_stem("console") == "console"


def test_a_finished_file_is_locked_until_it_has_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another shard's cleanup, running between the last write and the rename, must not
    # take the finished temporary file for one a killed download left.
    target = AtomicFile(tmp_path / "hist_mpeg.mp3")
    fd = target.open()
    os.write(fd, b"whole")
    real_replace = os.replace
    reaped: list[bool] = []

    def replace_after_a_cleanup(src: Any, dst: Any) -> None:
        reaped.append(remove_if_stale(Path(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_after_a_cleanup)
    target.commit()
    assert reaped == [False]
    assert (tmp_path / "hist_mpeg.mp3").read_bytes() == b"whole"


def test_a_folder_at_an_items_name_fails_that_item(kind: str, tmp_path: Path) -> None:
    (tmp_path / "hist_mpeg.mp3").mkdir()
    with ReferenceServer() as server:
        report = run_many(kind, server, ["hist_mpeg", "hist_wav"], tmp_path)
    assert isinstance(report.results[0].error, IsADirectoryError)
    assert report.results[1].status == "saved"


def test_an_id_the_api_refuses_is_refused_before_the_disk(kind: str, tmp_path: Path) -> None:
    (tmp_path / ".mp3").write_bytes(b"someone's hidden file")
    with ReferenceServer() as server:
        report = run_many(kind, server, ["", "..", "ok\n"], tmp_path)
        assert server.requests == []
    assert [type(r.error) for r in report.results] == [ValueError] * 3


# ---------------------------------------------------------------------------- the pacer


def test_the_pacer_halves_once_per_wave_and_climbs_back_slowly() -> None:
    pacer = Pacer(8)
    epochs = [pacer.start() for _ in range(8)]
    assert pacer.wait_time(0.0) == float("inf")  # every slot taken
    for epoch in epochs[:6]:  # six answers of 429 from the same wave
        pacer.throttled(epoch, 1.0, now=0.0, halve=True)
        pacer.release()
    assert pacer.limit == 4
    assert pacer.wait_time(0.5) == pytest.approx(0.5)  # the gate is closed for everyone
    pacer.start()
    pacer.start()
    assert pacer.wait_time(1.0) == float("inf")  # the gate is open; 4 in flight, limit 4
    for _ in range(4):
        pacer.release()
    assert pacer.wait_time(1.0) is None
    late = pacer.start()
    pacer.throttled(late, 1.0, now=1.0, halve=True)  # a new wave: halves again
    assert (pacer.limit, pacer.ceiling) == (2, 4)
    pacer.release()
    climb = []
    for _ in range(200):
        pacer.succeeded()
        climb.append(pacer.limit)
    # +1 after `limit` good answers, but the level that drew the 429 (4) only after
    # `patience` (4) times as many; passing it cleanly forgets it, and then up to 8.
    assert climb.index(3) == 1
    assert climb.index(4) == 1 + 3 * 4
    assert climb.index(5) == 1 + 3 * 4 + 4 * 4
    assert pacer.ceiling == float("inf")
    assert climb[-1] == 8  # never above the caller's concurrency


def test_each_429_at_the_same_level_makes_probing_it_rarer() -> None:
    pacer = Pacer(2)
    pacer.throttled(pacer.start(), 0.0, now=0.0, halve=True)  # 429 at 2: ceiling 2
    pacer.release()
    patience = []
    for _ in range(6):
        while pacer.limit < 2:
            pacer.succeeded()
        pacer.throttled(pacer.start(), 0.0, now=0.0, halve=True)  # the probe draws a 429
        pacer.release()
        patience.append(pacer.patience)
    assert patience == [8, 16, 32, 64, 64, 64]
    assert pacer.limit == 1


def test_the_limit_never_goes_below_one() -> None:
    pacer = Pacer(2)
    for _ in range(5):
        pacer.throttled(pacer.start(), 0.0, now=0.0, halve=True)
        pacer.release()
    assert pacer.limit == 1

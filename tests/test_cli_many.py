"""``breeze-blue history download-audio`` with several ids, ``--from`` and ``--shard``.

Run as a person or a script would: the console script in pipes and on a pseudo-terminal,
against the reference server on loopback. Usage errors and the messages a new user meets
first are also checked in-process, where they are quick.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from breeze_blue._cli import main
from breeze_blue.testing import (
    TEST_API_KEY,
    ErrorReply,
    Ready,
    ReferenceServer,
    Trickle,
    pattern_bytes,
)

CLI = str(Path(sys.executable).with_name("breeze-blue"))
DOWNLOAD = ["history", "download-audio"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The command line without the cli extra: rich cannot be imported.
WITHOUT_RICH = [
    sys.executable,
    "-c",
    "import sys; sys.modules['rich'] = None; from breeze_blue._cli import run; run()",
]


def env_for(server: ReferenceServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREEZE_")}
    return {**env, "BREEZE_API_KEY": TEST_API_KEY, "BREEZE_BASE_URL": server.url, **extra}


def cli(
    server: ReferenceServer, *args: str | Path, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The console script in pipes: stdin, stdout and stderr are not terminals."""
    return subprocess.run(
        [CLI, *DOWNLOAD, *map(str, args)],
        env=env_for(server, **env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def start(server: ReferenceServer, *args: str | Path) -> subprocess.Popen[str]:
    """The console script in the background, its stdout and stderr in pipes."""
    return subprocess.Popen(
        [CLI, *DOWNLOAD, *map(str, args)],
        env=env_for(server),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(*processes: subprocess.Popen[str]) -> list[tuple[str, str]]:
    """Each process's stdout and stderr once it exits; none is left running, whatever happens."""
    try:
        return [process.communicate(timeout=60) for process in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait()


def json_lines(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The item lines and the summary line (the last) of a ``--json`` run."""
    *items, summary = (json.loads(line) for line in stdout.splitlines())
    return items, summary


def plain(drawn: str) -> str:
    """What a terminal shows, without the escape sequences that move the cursor."""
    return ANSI.sub("", drawn)


def served(server: ReferenceServer, history_item_id: str) -> bytes:
    item = server.items[history_item_id]
    assert isinstance(item, Ready)
    return b"".join(item.chunks(history_item_id))


def temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def add_big(server: ReferenceServer, ids: list[str], size: int, delay: float) -> None:
    """Items slow enough to be caught in flight: 64 KiB every ``delay`` seconds."""
    for history_item_id in ids:
        server.add(history_item_id, Ready(size=size))
        server.inject(history_item_id, Trickle(chunk=64 * 1024, delay=delay))


def run_with_stderr_on_a_terminal(
    command: list[str], env: dict[str, str], cwd: Path, stdin: bytes = b""
) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal and stdout in a pipe; return both as read."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "160"},
        cwd=cwd,
        close_fds=True,
    )
    os.close(terminal)
    assert process.stdin is not None
    assert process.stdout is not None
    drawn, printed = bytearray(), bytearray()
    try:
        process.stdin.write(stdin)
        process.stdin.close()
        open_fds = {controller: drawn, process.stdout.fileno(): printed}
        deadline = time.monotonic() + 60
        while open_fds and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_fds), [], [], 0.1)
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    data = b""
                if data:
                    open_fds[fd] += data
                else:
                    del open_fds[fd]
        status = process.wait(timeout=10)
    finally:
        process.kill()
        process.wait()
        os.close(controller)
        process.stdout.close()
    return status, drawn.decode(errors="replace"), printed.decode(errors="replace")


# ---------------------------------------------------------------------------- in pipes


def test_several_ids_save_a_folder_and_exit_8_when_some_fail(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "folder"  # made, parents and all
    with ReferenceServer() as server:
        mixed = cli(server, "hist_mpeg", "hist_wav", "hist_never", "hist_failed", "-o", folder)
        fine = cli(server, "hist_flac", "hist_pcm", "-o", folder)
        assert sorted(p.name for p in folder.iterdir()) == [
            "hist_flac.flac", "hist_mpeg.mp3", "hist_pcm.pcm", "hist_wav.wav",
        ]  # fmt: skip
        for path in folder.iterdir():
            assert path.read_bytes() == served(server, path.stem)
    assert mixed.returncode == 8, mixed.stderr
    # stdout: a line per saved file, as one id prints; the order is the order they finished.
    assert sorted(mixed.stdout.splitlines()) == [
        f"saved {folder / 'hist_mpeg.mp3'} (4,113 bytes, audio/mpeg)",
        f"saved {folder / 'hist_wav.wav'} (4,113 bytes, audio/wav)",
    ]
    # stderr: a line per failure (id, code, message, request id), then the summary.
    *failures, summary = mixed.stderr.splitlines()
    assert sorted(line.split(" (status")[0] for line in failures) == [
        "failed hist_failed: GENERATION_FAILED: The history item generation failed.",
        "failed hist_never: RESOURCE_NOT_FOUND: "
        "The history audio does not exist or is no longer available.",
    ]
    assert all("request_id req_" in line for line in failures)
    assert summary.startswith(
        "done: 2 saved, 0 skipped, 2 failed (1 GENERATION_FAILED, 1 RESOURCE_NOT_FOUND); "
        "8,226 bytes in "
    )
    assert "run the same command again" in summary
    assert fine.returncode == 0, fine.stderr
    assert fine.stderr.startswith("done: 2 saved, 0 skipped, 0 failed; 8,226 bytes in ")
    assert len(fine.stdout.splitlines()) == 2


def test_from_a_file_with_json_lines_and_a_summary(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(
        "# the weekly batch\n\nhist_mpeg\n  hist_wav  \r\nhist_never\nhist_mpeg\n"
        "   # indented comment\nhist_running\n"
    )
    with ReferenceServer() as server:
        server.inject(
            "hist_wav", ErrorReply(429, "RATE_LIMITED", "Slow down.", {"retry-after": "0"})
        )
        run = cli(server, "--from", ids_file, "-o", tmp_path / "out", "--json")
        asked = [r.history_item_id for r in server.requests]
    assert run.returncode == 8, run.stderr
    assert run.stderr == ""  # off a terminal, with --json: nothing but the JSON on stdout
    items, summary = json_lines(run.stdout)
    by_id = {item["history_item_id"]: item for item in items}
    assert sorted(by_id) == ["hist_mpeg", "hist_never", "hist_running", "hist_wav"]
    assert len(items) == 4  # the duplicate is one item
    assert by_id["hist_mpeg"] == {
        "history_item_id": "hist_mpeg",
        "status": "saved",
        "path": str(tmp_path / "out" / "hist_mpeg.mp3"),
        "size": 4113,
        "media_type": "audio/mpeg",
        "error": None,
    }
    assert by_id["hist_wav"]["status"] == "saved"
    never = by_id["hist_never"]
    assert (never["status"], never["path"], never["size"]) == ("failed", None, None)
    assert never["error"]["type"] == "NotFoundError"
    assert never["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert never["error"]["status_code"] == 404
    assert never["error"]["request_id"].startswith("req_")
    assert (
        never["error"]["message"] == "The history audio does not exist or is no longer available."
    )
    assert by_id["hist_running"]["error"]["code"] == "GENERATION_NOT_READY"
    assert summary.pop("elapsed") > 0
    assert summary == {
        "status": "done",
        "saved": 2,
        "skipped": 0,
        "failed": 2,
        "bytes": 8226,
        "rate_limited": 1,
        "failures": {"GENERATION_NOT_READY": 1, "RESOURCE_NOT_FOUND": 1},
    }
    # Comments and blank lines were never sent as ids.
    assert sorted(set(asked)) == ["hist_mpeg", "hist_never", "hist_running", "hist_wav"]


def test_from_stdin_reads_ids_as_they_come(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        run = cli(
            server,
            "--from",
            "-",
            "-o",
            tmp_path,
            stdin="hist_mpeg\n\n# not an id\n\t\nhist_flac\n#hist_wav\nhist_pcm",
        )
        asked = sorted(r.history_item_id or "" for r in server.requests)
    assert run.returncode == 0, run.stderr
    assert asked == ["hist_flac", "hist_mpeg", "hist_pcm"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hist_flac.flac", "hist_mpeg.mp3", "hist_pcm.pcm",
    ]  # fmt: skip
    assert run.stderr.startswith("done: 3 saved, 0 skipped, 0 failed; 12,339 bytes in ")


def test_shards_cover_every_id_exactly_once(tmp_path: Path) -> None:
    ids = [f"hist_{n:03d}" for n in range(30)]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    with ReferenceServer() as server:
        for history_item_id in ids:
            server.add(history_item_id, Ready(body=history_item_id.encode()))
        shard_of = ["--from", tmp_path / "ids.txt", "-o", tmp_path / "out", "--json", "--shard"]
        runs = [start(server, *shard_of, f"{k}/3") for k in (1, 2, 3)]
        outputs = [out for out, _ in finish(*runs)]
        assert [process.returncode for process in runs] == [0, 0, 0]
        assert len(server.requests) == len(ids)
    shards = [[item["history_item_id"] for item in json_lines(out)[0]] for out in outputs]
    assert sorted(i for shard in shards for i in shard) == ids  # each id once, none twice
    assert all(len(shard) > 2 for shard in shards)
    assert sorted(p.stem for p in (tmp_path / "out").iterdir()) == ids


def test_a_rerun_skips_complete_files_without_a_request(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        first = cli(server, "hist_mpeg", "hist_wav", "-o", tmp_path)
        before = len(server.requests)
        again = cli(server, "hist_mpeg", "hist_wav", "hist_flac", "-o", tmp_path, "--json")
        asked_again = [r.history_item_id for r in server.requests[before:]]
        over = cli(server, "hist_mpeg", "hist_wav", "-o", tmp_path, "--overwrite", "--json")
    assert first.returncode == again.returncode == over.returncode == 0
    assert asked_again == ["hist_flac"]
    items, summary = json_lines(again.stdout)
    statuses = {item["history_item_id"]: item["status"] for item in items}
    assert statuses == {"hist_mpeg": "skipped", "hist_wav": "skipped", "hist_flac": "saved"}
    skipped = next(item for item in items if item["history_item_id"] == "hist_wav")
    assert skipped["path"] == str(tmp_path / "hist_wav.wav")
    assert skipped["size"] == 4113  # the file's size on disk
    assert (summary["saved"], summary["skipped"], summary["bytes"]) == (1, 2, 4113)
    assert [item["status"] for item in json_lines(over.stdout)[0]] == ["saved", "saved"]


def test_ctrl_c_finishes_what_is_in_flight_and_a_rerun_completes_the_set(
    tmp_path: Path,
) -> None:
    ids = [f"hist_big_{n:02d}" for n in range(12)]
    size = 1024 * 1024
    folder = tmp_path / "backup"
    with ReferenceServer() as server:
        add_big(server, ids, size, delay=0.03)  # about half a second per file
        child = start(server, *ids, "-o", folder, "--concurrency", "3", "--json")
        try:
            assert child.stdout is not None
            first = json.loads(child.stdout.readline())  # one is saved: the run is under way
            assert first["status"] == "saved"
            deadline = time.monotonic() + 10
            in_flight: list[str] = []
            while not in_flight and time.monotonic() < deadline:
                in_flight = temporary_files(folder)
                time.sleep(0.01)
            assert in_flight, "downloads should be in flight"
            child.send_signal(signal.SIGINT)
            # Read on from the same buffered pipe: readline() may have taken more than one
            # line into its buffer, which communicate() would not see.
            rest = child.stdout.read()
            assert child.stderr is not None
            stderr = child.stderr.read()
            child.wait(timeout=30)
        finally:
            child.kill()
            child.wait()
        assert child.returncode == 130, stderr
        items, summary = json_lines(json.dumps(first) + "\n" + rest)
        assert summary["status"] == "interrupted"
        assert summary["rate_limited"] is None  # the library's report is lost with Ctrl-C
        assert summary["saved"] == len(items) == sum(item["status"] == "saved" for item in items)
        assert temporary_files(folder) == []  # in flight: finished, or removed
        complete = sorted(p.name for p in folder.iterdir())
        assert 1 <= len(complete) < len(ids)
        for name in complete:
            assert (folder / name).read_bytes() == b"".join(pattern_bytes(Path(name).stem, size))

        rerun = cli(server, *ids, "-o", folder, "--concurrency", "6")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.startswith(
        f"done: {len(ids) - len(complete)} saved, {len(complete)} skipped, 0 failed; "
    )
    assert temporary_files(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == [f"{i}.mp3" for i in ids]
    for history_item_id in ids:
        expected = b"".join(pattern_bytes(history_item_id, size))
        assert (folder / f"{history_item_id}.mp3").read_bytes() == expected


def test_ctrl_c_in_plain_mode_prints_the_summary_so_far(tmp_path: Path) -> None:
    ids = [f"hist_big_{n:02d}" for n in range(6)]
    with ReferenceServer() as server:
        add_big(server, ids, 512 * 1024, delay=0.05)
        child = start(server, *ids, "-o", tmp_path, "--concurrency", "2")
        try:
            deadline = time.monotonic() + 10
            while not temporary_files(tmp_path) and time.monotonic() < deadline:
                time.sleep(0.01)
            child.send_signal(signal.SIGINT)
            stdout, stderr = child.communicate(timeout=30)
        finally:
            child.kill()
            child.wait()
    assert child.returncode == 130
    (summary,) = stderr.splitlines()
    saved = len(stdout.splitlines())
    assert summary.startswith(f"interrupted: {saved} saved, 0 skipped, 0 failed; ")
    assert summary.endswith("no partial file is left: run the same command again to continue")
    assert temporary_files(tmp_path) == []


def test_a_refused_key_stops_at_once_with_status_3(tmp_path: Path) -> None:
    ids = [f"hist_{n:03d}" for n in range(200)]
    (tmp_path / "ids.txt").write_text("\n".join(ids))
    with ReferenceServer() as server:
        run = cli(server, "--from", tmp_path / "ids.txt", "-o", tmp_path / "out",
                  BREEZE_API_KEY="bb_wrong_key_000000")  # fmt: skip
        asked = len(server.requests)
    assert run.returncode == 3
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("error: UNAUTHENTICATED: ")
    assert asked <= 16  # the first requests of the workers, not two hundred
    assert list((tmp_path / "out").iterdir()) == []
    assert "bb_wrong_key_000000" not in run.stderr


# ---------------------------------------------------------------------------- on a terminal


def test_a_terminal_gets_one_bar_failure_lines_and_a_summary(tmp_path: Path) -> None:
    ids = [f"hist_big_{n}" for n in range(3)]
    (tmp_path / "ids.txt").write_text("# big ones\n" + "\n".join(ids) + "\n\n")
    with ReferenceServer() as server:
        add_big(server, ids, 512 * 1024, delay=0.05)
        status, drawn, printed = run_with_stderr_on_a_terminal(
            [CLI, *DOWNLOAD, "hist_never", "--from", "ids.txt", "-o", "out"],
            env_for(server),
            tmp_path,
        )
    assert status == 8, drawn
    assert "━" in drawn  # the bar
    assert "/4" in drawn  # items done of the total: the id and the file's three ids
    assert "items" in drawn
    assert "kB" in drawn or "MB" in drawn  # bytes written, and their rate
    assert "failed hist_never: RESOURCE_NOT_FOUND: " in drawn
    last = plain(drawn).rstrip().splitlines()[-1]
    assert last.startswith(
        "done: 3 saved, 0 skipped, 1 failed (1 RESOURCE_NOT_FOUND); 1,572,864 bytes in "
    )
    # stdout is a pipe: the result lines, plainly, and nothing of the bar.
    assert sorted(printed.splitlines()) == [
        f"saved out/{i}.mp3 (524,288 bytes, audio/mpeg)" for i in ids
    ]
    assert "\x1b" not in printed


def test_stdin_has_no_total_on_a_terminal(tmp_path: Path) -> None:
    ids = [f"hist_big_{n}" for n in range(2)]
    with ReferenceServer() as server:
        add_big(server, ids, 512 * 1024, delay=0.05)
        status, drawn, printed = run_with_stderr_on_a_terminal(
            [CLI, *DOWNLOAD, "--from", "-", "-o", "out", "--json"],
            env_for(server),
            tmp_path,
            stdin=("\n".join(ids) + "\n").encode(),
        )
    assert status == 0, drawn
    assert "/?" in drawn  # items done, of a total nobody knows
    assert "━" in drawn
    items, summary = json_lines(printed)
    assert sorted(item["history_item_id"] for item in items) == ids
    assert summary["saved"] == 2


def test_without_rich_a_terminal_gets_a_hint_and_plain_lines(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        status, drawn, printed = run_with_stderr_on_a_terminal(
            [*WITHOUT_RICH, *DOWNLOAD, "hist_mpeg", "hist_never", "-o", "out"],
            env_for(server),
            tmp_path,
        )
    assert status == 8, drawn
    lines = drawn.splitlines()
    assert lines[0].strip() == "(pip install 'breeze-blue[cli]' for a progress bar)"
    assert any(line.startswith("failed hist_never: RESOURCE_NOT_FOUND") for line in lines)
    assert lines[-1].startswith("done: 1 saved, 0 skipped, 1 failed (1 RESOURCE_NOT_FOUND)")
    assert "━" not in drawn
    assert printed == "saved out/hist_mpeg.mp3 (4,113 bytes, audio/mpeg)\n"


# ---------------------------------------------------------------------------- bad input


@pytest.fixture
def env(server: ReferenceServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """In-process runs: the key and the server in the environment, in an empty folder."""
    monkeypatch.setenv("BREEZE_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("BREEZE_BASE_URL", server.url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["a", "b", "--shard", "0/3"], "argument --shard: K/N with 1 <= K <= N"),
        (["a", "b", "--shard", "4/3"], "not '4/3'"),
        (["a", "--shard", "1-3"], "not '1-3'"),
        (["a", "--shard", "x/y"], "not 'x/y'"),
        (["a", "--shard", "1/3/5"], "not '1/3/5'"),
        (["a", "b", "--concurrency", "0"], "argument --concurrency: not a whole number >= 1"),
        (["a", "--wait-timeout", "-1"], "argument --wait-timeout: not a number of seconds"),
        (["a", "--wait-timeout", "nan"], "argument --wait-timeout"),
        ([], "give at least one ID, or --from FILE"),
        (["a", "b", "-o", "-"], "-o - (stdout) takes exactly one ID"),
        (["a", "b", "-o", "taken.txt"], "-o taken.txt: not a folder"),
        (["--from", "-", "--api-key-file", "-"], "cannot both read stdin"),
    ],
)
def test_bad_arguments_are_usage_errors_before_any_request(
    env: Path,
    server: ReferenceServer,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    said: str,
) -> None:
    (env / "taken.txt").write_text("a file, not a folder")
    with pytest.raises(SystemExit) as exited:
        main([*DOWNLOAD, *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "usage: breeze-blue history download-audio" in err
    assert said in err
    assert server.requests == []
    assert sorted(p.name for p in env.iterdir()) == ["taken.txt"]


def test_an_id_file_that_is_missing_or_not_text_is_a_usage_error(
    env: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*DOWNLOAD, "--from", "nowhere.txt"]) == 2
    assert capsys.readouterr().err == (
        "error: cannot read the id file 'nowhere.txt' (--from): No such file or directory\n"
    )
    (env / "binary.txt").write_bytes(b"hist_mpeg\n\xff\xfe\x00garbage\n")
    assert main([*DOWNLOAD, "--from", "binary.txt", "-o", "out"]) == 2
    assert "error: the id file 'binary.txt' (--from) is not UTF-8 text" in capsys.readouterr().err
    assert server.requests == []


@pytest.mark.parametrize("ids", [["hist_mpeg"], ["hist_mpeg", "hist_wav"]])
def test_key_messages_speak_of_the_command_line(
    env: Path,
    server: ReferenceServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ids: list[str],
) -> None:
    monkeypatch.delenv("BREEZE_API_KEY")
    assert main([*DOWNLOAD, *ids]) == 2
    missing = capsys.readouterr().err
    assert "BREEZE_API_KEY" in missing
    assert "--api-key-file" in missing
    assert "BreezeBlue(" not in missing  # Python advice is for the library's users

    assert main([*DOWNLOAD, *ids, "--api-key-file", "/nonexistent/key"]) == 2
    unreadable = capsys.readouterr().err
    assert unreadable == (
        "error: cannot read the API key file '/nonexistent/key' (--api-key-file): "
        "No such file or directory\n"
    )
    (env / "empty").write_text("\n")
    assert main([*DOWNLOAD, *ids, "--api-key-file", "empty"]) == 2
    assert "no API key in the API key file 'empty'" in capsys.readouterr().err
    (env / "two").write_text(f"{TEST_API_KEY}\n{TEST_API_KEY}\n")
    assert main([*DOWNLOAD, *ids, "--api-key-file", "two"]) == 2
    two = capsys.readouterr().err
    assert "the API key file 'two'" in two
    assert TEST_API_KEY not in two
    assert server.requests == []
    assert sorted(p.name for p in env.iterdir()) == ["empty", "two"]


def test_help_names_the_key_variable_the_extra_and_status_8(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for args in ([], ["history"], DOWNLOAD):
        with pytest.raises(SystemExit) as exited:
            main([*args, "--help"])
        assert exited.value.code == 0
        shown = capsys.readouterr().out
        assert "BREEZE_API_KEY" in shown
        assert "pip install 'breeze-blue[cli]'" in shown
        assert "    8  with several ids: some items failed" in shown
    with pytest.raises(SystemExit):
        main([*DOWNLOAD, "--help"])
    shown = capsys.readouterr().out
    for option in ("--from FILE", "--concurrency N", "--overwrite", "--shard K/N", "[ID ...]"):
        assert option in shown


def test_wait_timeout_says_how_long_it_waited(tmp_path: Path) -> None:
    waiting = ["--wait", "--wait-timeout", "1"]
    with ReferenceServer() as server:
        runs = [
            start(server, "hist_running", "-o", tmp_path, *waiting),
            start(server, "hist_running", "hist_mpeg", "-o", tmp_path, *waiting, "--json"),
            start(server, "hist_running", "-o", tmp_path),
        ]
        (_, waited), (many, _), (_, not_waited) = finish(*runs)
    assert [p.returncode for p in runs] == [5, 8, 5]
    (line,) = waited.splitlines()
    assert line.startswith("error: GENERATION_NOT_READY: ")
    assert "; still generating after waiting 1." in line
    assert "(asked again 1 time)" in line
    assert "a longer --wait-timeout waits longer" in line
    items, summary = json_lines(many)
    running = next(item for item in items if item["history_item_id"] == "hist_running")
    assert running["error"]["waited"] >= 1.0
    assert running["error"]["polls"] == 1
    assert summary["failures"] == {"GENERATION_NOT_READY": 1}
    (plain,) = not_waited.splitlines()
    assert plain.endswith("; try --wait")
    assert "waiting" not in plain


# ---------------------------------------------------------------------------- nothing starts


@pytest.mark.parametrize("ids", [["--from", "ids.txt"], ["hist_one"]])
def test_an_unreachable_api_is_status_7_not_one_failure_per_item(
    env: Path, capsys: pytest.CaptureFixture[str], ids: list[str]
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (env / "ids.txt").write_text("\n".join(f"hist_{n:03d}" for n in range(100)))
    status = main([*DOWNLOAD, *ids, "-o", "out", "--base-url", f"http://127.0.0.1:{port}"])
    assert status == 7
    lines = capsys.readouterr().err.splitlines()
    (error,) = (line for line in lines if line.startswith("error: "))
    assert error.startswith(f"error: cannot reach the API at http://127.0.0.1:{port}: ")
    assert "Connection refused" in error
    assert len([line for line in lines if line.startswith("failed ")]) < 20  # not all 100
    assert not (env / "out").exists() or list((env / "out").iterdir()) == []


def test_a_body_cut_short_is_a_failure_not_an_unreachable_api(
    env: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The server answered: a cut body is the item's failure, and the run goes on.
    ids = [f"hist_cut_{n}" for n in range(4)]
    for history_item_id in ids:
        server.add(history_item_id, Ready(size=256 * 1024, cut_after=1024))
    assert main([*DOWNLOAD, *ids, "hist_mpeg", "--concurrency", "1"]) == 8
    err = capsys.readouterr().err
    assert "cannot reach" not in err
    assert err.splitlines()[-1].startswith(
        "done: 1 saved, 0 skipped, 4 failed (4 IncompleteDownloadError); 4,113 bytes in "
    )

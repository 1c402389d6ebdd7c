"""The ``breeze-blue`` command line, used as a person would: in a terminal and in pipes."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from breeze_blue._cli import EXIT_CODES
from breeze_blue.testing import TEST_API_KEY, Ready, ReferenceServer, Stall, Trickle, running

CLI = str(Path(sys.executable).with_name("breeze-blue"))


def env_for(server: ReferenceServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREEZE_")}
    return {**env, "BREEZE_API_KEY": TEST_API_KEY, "BREEZE_BASE_URL": server.url, **extra}


def run_in_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal for stdin, stdout and stderr; return all it drew."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [CLI, *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "120"},
        cwd=cwd,
        close_fds=True,
    )
    os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            output += data
        elif process.poll() is not None:
            break
    os.close(controller)
    return process.wait(timeout=10), output.decode(errors="replace")


def test_a_terminal_gets_a_progress_bar_and_a_final_line(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        server.add("hist_big", Ready(media_type="audio/flac", size=6 * 1024 * 1024))
        server.inject("hist_big", running("1"), Trickle(chunk=64 * 1024, delay=0.02))
        status, drawn = run_in_terminal(
            ["history", "download-audio", "hist_big", "--wait", "-o", "."],
            env_for(server),
            tmp_path,
        )
    assert status == 0, drawn
    assert "still generating" in drawn  # what it waited for
    assert "downloading hist_big" in drawn
    assert "MB" in drawn  # bytes done / total and the rate
    assert "━" in drawn  # the bar itself
    assert "saved hist_big.flac (6,291,456 bytes, audio/flac)" in drawn
    assert (tmp_path / "hist_big.flac").stat().st_size == 6 * 1024 * 1024


def test_off_a_terminal_there_is_no_progress_noise(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        run = subprocess.run(
            [CLI, "history", "download-audio", "hist_01haudio", "-o", str(tmp_path / "a.wav")],
            env=env_for(server),
            capture_output=True,
            text=True,
            check=False,
        )
    assert run.returncode == 0
    assert run.stderr == ""
    assert run.stdout == f"saved {tmp_path / 'a.wav'} (70,604 bytes, audio/wav)\n"


def test_json_and_stdout(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        as_json = subprocess.run(
            [CLI, "history", "download-audio", "hist_pcm", "-o", str(tmp_path), "--json"],
            env=env_for(server), capture_output=True, text=True, check=True,
        )  # fmt: skip
        to_stdout = subprocess.run(
            [CLI, "history", "download-audio", "hist_01haudio", "-o", "-"],
            env=env_for(server), capture_output=True, check=True,
        )  # fmt: skip
    result = json.loads(as_json.stdout)
    assert result["path"] == str(tmp_path / "hist_pcm.pcm")
    assert result["content_type"] == "audio/pcm"
    assert result["bytes"] == (tmp_path / "hist_pcm.pcm").stat().st_size
    assert to_stdout.stdout[:4] == b"RIFF"
    assert b"saved -" in to_stdout.stderr


def test_an_output_ending_in_a_slash_is_a_folder_created_if_missing(tmp_path: Path) -> None:
    # What the command-line guide shows: `-o downloads/` with one id. Without the slash
    # kept, Path("downloads/") would be a file named `downloads`.
    with ReferenceServer() as server:
        run = subprocess.run(
            [CLI, "history", "download-audio", "hist_01haudio", "--json", "-o", "downloads/"],
            env=env_for(server), cwd=tmp_path, capture_output=True, text=True, check=False,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "downloads").is_dir()
    saved = tmp_path / "downloads" / "hist_01haudio.wav"
    assert json.loads(run.stdout)["path"] == str(Path("downloads") / "hist_01haudio.wav")
    assert saved.read_bytes()[:4] == b"RIFF"


@pytest.mark.parametrize(
    ("item", "status", "code"),
    [
        ("hist_never", 4, "RESOURCE_NOT_FOUND"),
        ("hist_running", 5, "GENERATION_NOT_READY"),
        ("hist_failed", 6, "GENERATION_FAILED"),
        ("hist_forbidden", 3, "PERMISSION_DENIED"),
    ],
)
def test_errors_are_one_line_with_a_distinct_status(
    tmp_path: Path, item: str, status: int, code: str
) -> None:
    with ReferenceServer() as server:
        run = subprocess.run(
            [CLI, "history", "download-audio", item, "-o", str(tmp_path)],
            env=env_for(server), capture_output=True, text=True, check=False,
        )  # fmt: skip
    assert run.returncode == status
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"error: {code}: ")
    assert "request_id req_" in line
    assert list(tmp_path.iterdir()) == []


def test_key_handling(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        env = env_for(server)
        del env["BREEZE_API_KEY"]
        missing = subprocess.run(
            [CLI, "history", "download-audio", "hist_wav", "-o", str(tmp_path)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        key_file = tmp_path / "key"
        key_file.write_text(TEST_API_KEY + "\n")
        from_file = subprocess.run(
            [CLI, "history", "download-audio", "hist_wav", "-o", str(tmp_path / "a.wav"),
             "--api-key-file", str(key_file)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        from_stdin = subprocess.run(
            [CLI, "history", "download-audio", "hist_wav", "-o", str(tmp_path / "b.wav"),
             "--api-key-file", "-"],
            env=env, input=TEST_API_KEY + "\n", capture_output=True, text=True, check=False,
        )  # fmt: skip
        wrong = subprocess.run(
            [CLI, "history", "download-audio", "hist_wav", "-o", str(tmp_path)],
            env={**env, "BREEZE_API_KEY": "bb_wrong"}, capture_output=True, text=True, check=False,
        )  # fmt: skip
    assert missing.returncode == 2
    assert "BREEZE_API_KEY" in missing.stderr
    assert from_file.returncode == 0, from_file.stderr
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert wrong.returncode == 3
    assert "UNAUTHENTICATED" in wrong.stderr
    for run in (missing, from_file, from_stdin, wrong):
        assert TEST_API_KEY not in run.stdout + run.stderr


def test_ctrl_c_leaves_no_partial_file_and_exits_130(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        server.add("hist_slow", Ready(media_type="audio/mpeg", size=4 * 1024 * 1024))
        server.inject("hist_slow", Stall(5.0, after=1024 * 1024))
        process = subprocess.Popen(
            [CLI, "history", "download-audio", "hist_slow", "-o", str(tmp_path)],
            env=env_for(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(tmp_path.iterdir()):
            time.sleep(0.05)  # until the temporary file exists: the download is under way
        assert any(tmp_path.iterdir())
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "interrupted" in stderr
    assert list(tmp_path.iterdir()) == []


def test_version_and_help() -> None:
    version = subprocess.run([CLI, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("breeze-blue 0.")
    for args in ([], ["history"], ["history", "download-audio"]):
        shown = subprocess.run([CLI, *args, "--help"], capture_output=True, text=True, check=True)
        assert "usage: breeze-blue" in shown.stdout
    shown = subprocess.run(
        [CLI, "history", "download-audio", "--help"], capture_output=True, text=True, check=True
    )
    for code, _ in EXIT_CODES:
        assert f" {code} " in shown.stdout.replace("\n", " ")
    usage = subprocess.run([CLI, "history"], capture_output=True, text=True, check=False)
    assert usage.returncode == 2

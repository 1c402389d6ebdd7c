"""``breeze-blue``: the command line. ``breeze-blue history download-audio ID -o PATH``.

The key comes from ``BREEZE_API_KEY`` or ``--api-key-file`` (never an argument: it would
show in the process list). On a terminal a progress bar is drawn on stderr with rich (the
``cli`` extra); off a terminal nothing but the result is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._client import BreezeBlue
from ._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BreezeBlueError,
    GenerationFailedError,
    GenerationNotReadyError,
    NotFoundError,
    PermissionDeniedError,
)
from ._save import save
from ._version import __version__

__all__ = ["EXIT_CODES", "main"]

# One documented exit status per kind of failure, so scripts can tell them apart.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_NOT_READY = 5
EXIT_FAILED = 6
EXIT_NETWORK = 7
EXIT_INTERRUPTED = 130
EXIT_CODES: Sequence[tuple[int, str]] = (
    (EXIT_OK, "saved"),
    (EXIT_ERROR, "any other error"),
    (EXIT_USAGE, "usage error (bad arguments, no API key)"),
    (EXIT_AUTH, "authentication or permission refused (401, 403)"),
    (EXIT_NOT_FOUND, "no such audio (404)"),
    (EXIT_NOT_READY, "still generating (409; try --wait)"),
    (EXIT_FAILED, "the generation failed (422)"),
    (EXIT_NETWORK, "network error or timeout"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); no partial file is left"),
)


def _parser() -> argparse.ArgumentParser:
    epilog = "exit status:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES)
    parser = argparse.ArgumentParser(
        prog="breeze-blue",
        description="Command line for the Breeze Blue text-to-speech API.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"breeze-blue {__version__}")
    resources = parser.add_subparsers(dest="resource", required=True, metavar="RESOURCE")
    history = resources.add_parser(
        "history",
        help="history items",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = history.add_subparsers(dest="command", required=True, metavar="COMMAND")
    download = commands.add_parser(
        "download-audio",
        help="download a history item's audio",
        description="Download a history item's audio to a file (atomically) or stdout.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    download.add_argument("history_item_id", metavar="ID", help="the history item id")
    download.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="PATH",
        help="file or existing folder to save to (default: current folder, server's "
        "filename); '-' writes the audio to stdout",
    )
    download.add_argument("--wait", action="store_true", help="wait while it is generating")
    download.add_argument(
        "--wait-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="give up waiting after S seconds (default 300)",
    )
    download.add_argument("--base-url", metavar="URL", help="API address (or BREEZE_BASE_URL)")
    download.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="read the API key from this file ('-' for stdin) instead of BREEZE_API_KEY",
    )
    download.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _download(args)
    except KeyboardInterrupt:
        print("interrupted; no partial file was left", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BreezeBlueError as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return _exit_code(err)
    except (TypeError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE if not isinstance(err, OSError) else EXIT_ERROR


def _download(args: argparse.Namespace) -> int:
    api_key = _read_key(args.api_key_file)
    to_stdout = args.output == "-"
    show_progress = sys.stderr.isatty()
    with (
        BreezeBlue(api_key=api_key, base_url=args.base_url) as client,
        _progress(show_progress, args.history_item_id) as bar,
    ):
        audio = client.history.download_audio(
            args.history_item_id, wait=args.wait, wait_timeout=args.wait_timeout
        )
        bar.start(audio.content_length)
        if to_stdout:
            save(audio, sys.stdout.buffer, progress=bar.update)
            path = None
        else:
            path = save(audio, Path(args.output), progress=bar.update)
    size = path.stat().st_size if path is not None else audio.content_length
    result = {
        "path": str(path) if path is not None else "-",
        "bytes": size,
        "content_type": audio.content_type,
        "history_item_id": audio.history_item_id,
        "filename": audio.filename,
        "api_key_id": audio.api_key_id,
    }
    out = sys.stderr if to_stdout else sys.stdout
    if args.json:
        print(json.dumps(result), file=out)
    else:
        print(f"saved {result['path']} ({size:,} bytes, {audio.content_type})", file=out)
    return EXIT_OK


def _read_key(api_key_file: str | None) -> str | None:
    if api_key_file is None:
        return None  # BreezeBlue reads BREEZE_API_KEY
    if api_key_file == "-":
        return sys.stdin.readline().strip()
    return Path(api_key_file).read_text(encoding="utf-8").strip()


def _one_line(err: BreezeBlueError) -> str:
    return " ".join(str(err).split())


def _exit_code(err: BreezeBlueError) -> int:
    table: list[tuple[type[BreezeBlueError], int]] = [
        (AuthenticationError, EXIT_AUTH),
        (PermissionDeniedError, EXIT_AUTH),
        (NotFoundError, EXIT_NOT_FOUND),
        (GenerationNotReadyError, EXIT_NOT_READY),
        (GenerationFailedError, EXIT_FAILED),
        (APIConnectionError, EXIT_NETWORK),
        (APIError, EXIT_ERROR),
    ]
    for cls, code in table:
        if isinstance(err, cls):
            return code
    return EXIT_USAGE  # no key, malformed key or URL: fix the invocation


class _NoProgress:
    def start(self, total: int | None) -> None:
        pass

    def update(self, done: int) -> None:
        pass


class _RichProgress:
    """A rich progress bar on stderr; a spinner when the length is unknown."""

    def __init__(self, progress: Any, history_item_id: str) -> None:
        self._progress = progress
        self._task = progress.add_task(f"waiting for {history_item_id}", total=None)
        self._id = history_item_id

    def waiting(self, record: dict[str, Any]) -> None:
        self._progress.update(
            self._task,
            description=f"{self._id} is still generating (poll {record['polls']}, "
            f"{record['waited']:.0f}s)",
        )

    def start(self, total: int | None) -> None:
        self._progress.update(self._task, description=f"downloading {self._id}", total=total)

    def update(self, done: int) -> None:
        self._progress.update(self._task, completed=done)


class _PollHandler(logging.Handler):
    def __init__(self, on_poll: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(logging.INFO)
        self._on_poll = on_poll

    def emit(self, record: logging.LogRecord) -> None:
        poll = getattr(record, "breeze_blue_poll", None)
        if poll is not None:
            self._on_poll(poll)


@contextmanager
def _progress(show: bool, history_item_id: str) -> Iterator[_NoProgress | _RichProgress]:
    if not show:
        yield _NoProgress()
        return
    try:
        from rich.console import Console  # noqa: PLC0415 (the cli extra, only on a terminal)
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
    except ImportError:
        print("(pip install 'breeze-blue[cli]' for a progress bar)", file=sys.stderr)
        yield _NoProgress()
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    logger = logging.getLogger("breeze_blue")
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        bar = _RichProgress(progress, history_item_id)
        handler = _PollHandler(bar.waiting)
        level = logger.level
        logger.addHandler(handler)
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
        try:
            yield bar
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


def run() -> None:
    """Entry point of the ``breeze-blue`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    run()

"""``breeze-blue``: the command line. ``breeze-blue history download-audio ID [ID ...] -o PATH``.

The key comes from ``BREEZE_API_KEY`` or ``--api-key-file`` (never an argument: it would
show in the process list). On a terminal a progress bar is drawn on stderr with rich (the
``cli`` extra); off a terminal nothing but the results are printed.

One id downloads one file (``-o`` a file, a folder or ``-``). Several ids, ``--from`` or
``--shard`` fill a folder through ``history.download_many()``: restartable, one line per
item, and a summary.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TextIO

import httpx

from ._client import BreezeBlue
from ._core.names import in_shard
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
from ._files.folder import names_a_folder
from ._report import DownloadResult
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
EXIT_SOME_FAILED = 8
EXIT_INTERRUPTED = 130
EXIT_CODES: Sequence[tuple[int, str]] = (
    (EXIT_OK, "saved (with several ids: every item saved, or already there)"),
    (EXIT_ERROR, "any other error"),
    (EXIT_USAGE, "usage error (bad arguments, no API key, unreadable key or id file)"),
    (EXIT_AUTH, "authentication or permission refused (401, 403)"),
    (EXIT_NOT_FOUND, "no such audio (404)"),
    (EXIT_NOT_READY, "still generating (409; try --wait)"),
    (EXIT_FAILED, "the generation failed (422)"),
    (EXIT_NETWORK, "network error or timeout (with several ids: the API was never reached)"),
    (EXIT_SOME_FAILED, "with several ids: some items failed (the summary says how many, why)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); no partial file is left"),
)

SETUP = """\
The API key is read from the BREEZE_API_KEY environment variable, or from a file
with --api-key-file PATH ('-' for stdin); never from an argument, where the process
list would show it. BREEZE_BASE_URL (or --base-url) sets the API's address.
On a terminal a progress bar is drawn when the cli extra is installed:
  pip install 'breeze-blue[cli]'"""

DESCRIPTION = "Command line for the Breeze Blue text-to-speech API.\n\n" + SETUP

DOWNLOAD_DESCRIPTION = (
    """\
Download history items' audio, atomically.

One ID: -o is a file, an existing folder (the server's file name) or '-' (stdout).
Several IDs, --from or --shard: -o is a folder, created if missing; each item is
saved as ID.mp3 (.wav, .flac, ... from its media type). Files already there are
complete and skipped, so after Ctrl-C the same command picks up where it stopped.
One line per saved file on stdout (--json: one JSON line per item, then a summary
line); failures and the summary on stderr.

"""
    + SETUP
)


class _UsageError(Exception):
    """Bad input, found before any request where possible: one line, exit status 2."""


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    epilog = "exit status:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES)
    parser = argparse.ArgumentParser(
        prog="breeze-blue",
        description=DESCRIPTION,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"breeze-blue {__version__}")
    resources = parser.add_subparsers(dest="resource", required=True, metavar="RESOURCE")
    history = resources.add_parser(
        "history",
        help="history items",
        description=DESCRIPTION,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = history.add_subparsers(dest="command", required=True, metavar="COMMAND")
    download = commands.add_parser(
        "download-audio",
        help="download history items' audio",
        description=DOWNLOAD_DESCRIPTION,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    download.add_argument("history_item_ids", nargs="*", metavar="ID", help="history item ids")
    download.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="read ids from FILE, one per line ('-' for stdin); blank lines and lines "
        "starting with # are skipped",
    )
    download.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="PATH",
        help="with one ID: file or existing folder to save to (default: current folder, "
        "server's filename), '-' writes the audio to stdout; otherwise the folder to fill "
        "(default: current folder)",
    )
    download.add_argument("--wait", action="store_true", help="wait while it is generating")
    download.add_argument(
        "--wait-timeout",
        type=_seconds,
        default=300.0,
        metavar="S",
        help="give up waiting after S seconds (default 300)",
    )
    download.add_argument(
        "--concurrency",
        type=_positive_int,
        default=8,
        metavar="N",
        help="downloads at once, with several ids (default 8; fewer while the API answers 429)",
    )
    download.add_argument(
        "--overwrite",
        action="store_true",
        help="download again even when a complete file is there (one ID always replaces its file)",
    )
    download.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="only the ids of share K of N (1 <= K <= N, by a stable hash of the id): N "
        "jobs given the same ids split them with no overlap",
    )
    download.add_argument("--base-url", metavar="URL", help="API address (or BREEZE_BASE_URL)")
    download.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="read the API key from this file ('-' for stdin) instead of BREEZE_API_KEY",
    )
    download.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser, download


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds >= 0:  # not "< 0": nan compares false both ways, and must be refused
        raise argparse.ArgumentTypeError(f"not a number of seconds >= 0: {text!r}")
    return seconds


def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a whole number >= 1: {text!r}")
    return number


def _shard(text: str) -> tuple[int, int]:
    k_text, slash, n_text = text.partition("/")
    try:
        k, n = int(k_text), int(n_text)
    except ValueError:
        k = n = 0
    if not slash or not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"K/N with 1 <= K <= N (for example 2/3), not {text!r}")
    return k, n


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    parser, download = _parser()
    args = parser.parse_args(argv)
    many = len(args.history_item_ids) != 1 or args.from_file is not None or args.shard is not None
    if many:
        _check_many(args, download)
    try:
        if many:
            return _download_many(args)
        return _download(args)
    except _UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; no partial file was left", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more can be said, and Python must not
        # complain about it again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except BreezeBlueError as err:
        print(f"error: {_error_line(err)}", file=sys.stderr)
        return _exit_code(err)
    except (TypeError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE if not isinstance(err, OSError) else EXIT_ERROR


def _check_many(args: argparse.Namespace, download: argparse.ArgumentParser) -> None:
    """The arguments only the folder mode has, checked before anything is read or sent."""
    if not args.history_item_ids and args.from_file is None:
        download.error("give at least one ID, or --from FILE")
    if args.output == "-":
        download.error("-o - (stdout) takes exactly one ID; with several, -o is a folder")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        download.error(f"-o {args.output}: not a folder (with several ids, -o is a folder)")
    if args.from_file == "-" and args.api_key_file == "-":
        download.error("--from - and --api-key-file - cannot both read stdin")


# ---------------------------------------------------------------------------- one file


def _download(args: argparse.Namespace) -> int:
    api_key = _read_key(args.api_key_file)
    (history_item_id,) = args.history_item_ids
    to_stdout = args.output == "-"
    show_progress = sys.stderr.isatty()
    with (
        BreezeBlue(api_key=api_key, base_url=args.base_url) as client,
        _progress(show_progress, history_item_id) as bar,
    ):
        audio = client.history.download_audio(
            history_item_id, wait=args.wait, wait_timeout=args.wait_timeout
        )
        bar.start(audio.content_length)
        if to_stdout:
            save(audio, sys.stdout.buffer, progress=bar.update)
            path = None
        else:
            if names_a_folder(args.output):
                # `-o downloads/` is a folder, created if missing, as with several ids.
                Path(args.output).mkdir(parents=True, exist_ok=True)
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
    """The key from ``--api-key-file``, or ``None`` for ``BREEZE_API_KEY``; checked here
    so that the messages speak of the command line's options, not of Python arguments."""
    if api_key_file is None:
        if not os.environ.get("BREEZE_API_KEY"):
            raise _UsageError(
                "no API key: set the BREEZE_API_KEY environment variable, or pass "
                "--api-key-file PATH (a file holding the key; '-' reads it from stdin)"
            )
        return None  # BreezeBlue reads BREEZE_API_KEY
    if api_key_file == "-":
        key, where = sys.stdin.readline().strip(), "stdin (--api-key-file -)"
    else:
        where = f"the API key file {api_key_file!r} (--api-key-file)"
        try:
            key = Path(api_key_file).read_text(encoding="utf-8-sig").strip()
        except UnicodeDecodeError:
            raise _UsageError(f"{where} is not UTF-8 text") from None
        except OSError as err:
            raise _UsageError(f"cannot read {where}: {err.strerror or err}") from None
    if not key:
        raise _UsageError(f"no API key in {where}: it is empty")
    # Never echo the key itself: the message may end up in a log.
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise _UsageError(
            f"{where} holds more than one key: whitespace, control or non-ASCII characters"
        )
    return key


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _describe(err: BaseException) -> str:
    """The error in one line: the API's code and message, or the exception's type."""
    if isinstance(err, APIError):
        text = _one_line(str(err))
    else:
        text = f"{type(err).__name__}: {_one_line(str(err))}"
    if isinstance(err, GenerationNotReadyError):
        if err.waited is not None:
            asked = f"asked again {err.polls} time" + ("" if err.polls == 1 else "s")
            text += (
                f"; still generating after waiting {err.waited:.1f}s ({asked}): "
                "a longer --wait-timeout waits longer"
            )
        else:
            text += "; try --wait"
    return text


def _error_line(err: BaseException) -> str:
    """What stopped the command, after ``error: ``; where the API is, if it was not reached."""
    if _could_not_connect(err):
        request = getattr(err, "request", None)
        at = f" at {request.url.scheme}://{request.url.netloc.decode()}" if request else ""
        return f"cannot reach the API{at}: {_describe(err)}"
    return _describe(err)


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
    return EXIT_USAGE  # malformed key or URL: fix the invocation


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


def _import_rich() -> Any:
    """``rich.progress``, or ``None`` (with a hint) when the cli extra is not installed."""
    try:
        import rich.progress  # noqa: PLC0415 (the cli extra, only on a terminal)
    except ImportError:
        print("(pip install 'breeze-blue[cli]' for a progress bar)", file=sys.stderr)
        return None
    return rich.progress


@contextmanager
def _progress(show: bool, history_item_id: str) -> Iterator[_NoProgress | _RichProgress]:
    rich_progress = _import_rich() if show else None
    if rich_progress is None:
        yield _NoProgress()
        return
    from rich.console import Console  # noqa: PLC0415 (present: rich.progress imported)

    columns = (
        rich_progress.SpinnerColumn(),
        rich_progress.TextColumn("{task.description}"),
        rich_progress.BarColumn(),
        rich_progress.DownloadColumn(),
        rich_progress.TransferSpeedColumn(),
        rich_progress.TimeRemainingColumn(),
    )
    logger = logging.getLogger("breeze_blue")
    with rich_progress.Progress(*columns, console=Console(stderr=True), transient=True) as progress:
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


# ---------------------------------------------------------------------------- many files


class _Ids:
    """The ids to download: the arguments, then ``--from``'s lines, read as they are needed.

    The file is opened at once, so that a wrong name is a usage error before any request.
    """

    def __init__(self, given: Sequence[str], from_file: str | None, shard: tuple[int, int] | None):
        self._given = given
        self._from_file = from_file
        self._shard = shard
        self._stream: TextIO | None = None
        self._stdin: io.TextIOWrapper | None = None
        if from_file == "-":
            # utf-8-sig: a byte-order mark (Windows editors) is not part of the first id.
            self._stream = self._stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig")
        elif from_file is not None:
            self._stream = self._open(from_file)

    @staticmethod
    def _open(path: str) -> TextIO:
        try:
            return open(path, encoding="utf-8-sig")  # closed by close()
        except OSError as err:
            raise _UsageError(
                f"cannot read the id file {path!r} (--from): {err.strerror or err}"
            ) from None

    def close(self) -> None:
        """Close the id file; stdin stays open (its wrapper must not close it)."""
        if self._stdin is not None:
            self._stdin.detach()
        elif self._stream is not None:
            self._stream.close()

    def count(self) -> int | None:
        """How many items the run will have, for the progress bar; ``None`` for stdin.

        A first pass over the file, one line at a time: cheap, and never all in memory.
        Duplicate lines are counted (a set of them would be the file in memory).
        """
        if self._from_file == "-":
            return None
        total = sum(1 for i in dict.fromkeys(self._given) if self._wanted(i))
        if self._from_file is not None:
            with self._open(self._from_file) as again:
                total += sum(1 for i in _lines(again, self._from_file) if self._wanted(i))
        return total

    def _wanted(self, history_item_id: str) -> bool:
        return self._shard is None or in_shard(history_item_id, self._shard)

    def __iter__(self) -> Iterator[str]:
        yield from self._given
        if self._stream is not None:
            yield from _lines(self._stream, self._from_file or "-")


def _lines(stream: TextIO, name: str) -> Iterator[str]:
    """The ids of an id file: stripped lines, without blank ones and ``#`` comments."""
    number = 0
    try:
        for number, line in enumerate(stream, 1):  # noqa: B007 (read in the handler)
            history_item_id = line.strip()
            if history_item_id and not history_item_id.startswith("#"):
                yield history_item_id
    except UnicodeDecodeError:
        shown = "stdin" if name == "-" else repr(name)
        raise _UsageError(
            f"the id file {shown} (--from) is not UTF-8 text (after line {number})"
        ) from None


def _reason(error: BaseException | None) -> str:
    """What a failure is grouped under in the summary: the API's code, else the type."""
    if isinstance(error, APIError) and error.code:
        return error.code
    return type(error).__name__


def _shown(history_item_id: str) -> str:
    # An id from a file may hold anything: never send its control characters to a terminal.
    return history_item_id if history_item_id.isprintable() else repr(history_item_id)


class _Tally:
    """The items so far, for the progress bar and the summary (Ctrl-C has no report)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.saved = self.skipped = self.failed = 0
        self.bytes = 0
        self.reasons: Counter[str] = Counter()

    @property
    def done(self) -> int:
        """How many items have finished."""
        return self.saved + self.skipped + self.failed

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def add(self, result: DownloadResult) -> None:
        """Count one finished item."""
        if result.status == "saved":
            self.saved += 1
            self.bytes += result.size or 0
        elif result.status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
            self.reasons[_reason(result.error)] += 1

    def by_reason(self) -> list[tuple[str, int]]:
        """How many failed for each reason, the most frequent first (then by name)."""
        return sorted(self.reasons.items(), key=lambda item: (-item[1], item[0]))


def _could_not_connect(error: BaseException | None) -> bool:
    """No connection could be made (refused, no route, DNS, TLS): the API was not reached.

    Not a body cut short or a read timeout: those came from a server that answered.
    """
    return isinstance(error, APIConnectionError) and isinstance(
        error.__cause__, httpx.ConnectError | httpx.ConnectTimeout
    )


def _error_record(error: BaseException | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": type(error).__name__,
        "code": None,
        "status_code": None,
        "request_id": None,
        "message": _one_line(str(error)),
    }
    if isinstance(error, APIError):
        record.update(
            code=error.code,
            status_code=error.status_code,
            request_id=error.request_id,
            message=_one_line(error.message),
        )
    if isinstance(error, GenerationNotReadyError) and error.waited is not None:
        record.update(waited=round(error.waited, 3), polls=error.polls)
    return record


def _item_record(result: DownloadResult) -> dict[str, Any]:
    size = result.size
    if result.status == "skipped" and result.path is not None:
        try:
            size = result.path.stat().st_size
        except OSError:
            size = None  # gone since it was found: the next run downloads it again
    return {
        "history_item_id": result.history_item_id,
        "status": result.status,
        "path": str(result.path) if result.path is not None else None,
        "size": size,
        "media_type": result.media_type,
        "error": _error_record(result.error) if result.status == "failed" else None,
    }


def _summary_record(tally: _Tally, status: str, rate_limited: int | None) -> dict[str, Any]:
    return {
        "status": status,
        "saved": tally.saved,
        "skipped": tally.skipped,
        "failed": tally.failed,
        "bytes": tally.bytes,
        "elapsed": round(tally.elapsed, 3),
        "rate_limited": rate_limited,
        "failures": dict(tally.by_reason()),
    }


def _summary_text(tally: _Tally, status: str, rate_limited: int | None) -> str:
    text = f"{status}: {tally.saved} saved, {tally.skipped} skipped, {tally.failed} failed"
    if tally.reasons:
        text += " (" + ", ".join(f"{n} {why}" for why, n in tally.by_reason()) + ")"
    text += f"; {tally.bytes:,} bytes in {tally.elapsed:.1f}s"
    if rate_limited:
        text += f"; the API answered 429 (rate limited) {rate_limited} times"
    if status == "interrupted":
        text += "; no partial file is left: run the same command again to continue"
    elif status == "done" and tally.failed:
        text += "; run the same command again to retry the failed ones"
    return text


def _human_bytes(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


class _Lines:
    """Where a run's lines go: results to stdout, failures to stderr, as they happen."""

    def out(self, line: str) -> None:
        """A result line (stdout)."""
        print(line, flush=True)  # one line per item, for whoever reads the pipe now

    def err(self, line: str) -> None:
        """A failure line (stderr)."""
        print(line, file=sys.stderr, flush=True)

    def update(self, tally: _Tally) -> None:
        """Show the items so far (nothing off a terminal)."""


class _RichLines(_Lines):
    """One overall bar on stderr; lines are printed above it, never through it."""

    def __init__(self, progress: Any, total: int | None) -> None:
        self._progress = progress
        self._task = progress.add_task("downloading", total=total, bytes="0 B", rate="")
        self._stdout_on_terminal = sys.stdout.isatty()

    def _above(self, line: str) -> None:
        self._progress.console.print(
            line, markup=False, highlight=False, emoji=False, soft_wrap=True
        )

    def out(self, line: str) -> None:
        """A result line: above the bar when stdout is the same terminal, else stdout."""
        if self._stdout_on_terminal:
            self._above(line)
        else:
            super().out(line)

    def err(self, line: str) -> None:
        """A failure line, above the bar."""
        self._above(line)

    def update(self, tally: _Tally) -> None:
        """Items done (of the total), bytes written and their rate."""
        elapsed = max(tally.elapsed, 1e-3)
        self._progress.update(
            self._task,
            completed=tally.done,
            bytes=_human_bytes(tally.bytes),
            rate=f"{_human_bytes(tally.bytes / elapsed)}/s",
        )


@contextmanager
def _many_progress(show: bool, total: int | None) -> Iterator[_Lines]:
    rich_progress = _import_rich() if show else None
    if rich_progress is None:
        yield _Lines()
        return
    from rich.console import Console  # noqa: PLC0415 (present: rich.progress imported)

    columns = (
        rich_progress.SpinnerColumn(),
        rich_progress.TextColumn("{task.description}"),
        rich_progress.BarColumn(),
        rich_progress.MofNCompleteColumn(),
        rich_progress.TextColumn("items"),
        rich_progress.TextColumn("{task.fields[bytes]}"),
        rich_progress.TextColumn("{task.fields[rate]}"),
        rich_progress.TimeRemainingColumn(),
    )
    # stdout is not redirected into the bar: with stdout in a file, results belong there.
    with rich_progress.Progress(
        *columns,
        console=Console(stderr=True),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        yield _RichLines(progress, total)


def _download_many(args: argparse.Namespace) -> int:
    ids = _Ids(args.history_item_ids, args.from_file, args.shard)
    try:
        api_key = _read_key(args.api_key_file)
        show = sys.stderr.isatty()
        total = ids.count() if show else None
        with BreezeBlue(api_key=api_key, base_url=args.base_url) as client:
            return _run_many(client, ids, total, show, args)
    finally:
        ids.close()


def _run_many(
    client: BreezeBlue, ids: _Ids, total: int | None, show: bool, args: argparse.Namespace
) -> int:
    tally = _Tally()
    stopped_by: BaseException | None = None
    rate_limited: int | None = None
    with _many_progress(show, total) as lines, _whole_items() as whole:

        def on_item(result: DownloadResult) -> None:
            with whole():
                tally.add(result)
                lines.update(tally)
                if args.json:
                    lines.out(json.dumps(_item_record(result)))
                elif result.status == "saved":
                    size, media_type = result.size or 0, result.media_type
                    lines.out(f"saved {result.path} ({size:,} bytes, {media_type})")
                if result.error is not None and (show or not args.json):
                    name = _shown(result.history_item_id)
                    lines.err(f"failed {name}: {_describe(result.error)}")

        try:
            report = client.history.download_many(
                ids,
                args.output,
                concurrency=args.concurrency,
                overwrite=args.overwrite,
                wait=args.wait,
                wait_timeout=args.wait_timeout,
                on_item=on_item,
                shard=args.shard,
            )
            rate_limited = report.rate_limited
        except (KeyboardInterrupt, _UsageError, BreezeBlueError) as exc:
            # A refused key, an API that never answered, Ctrl-C or a bad id file: the
            # downloads in flight have finished (or their temporary files are gone).
            stopped_by = exc
    return _finish(tally, stopped_by, rate_limited, as_json=args.json)


@contextmanager
def _whole_items() -> Iterator[Callable[[], AbstractContextManager[None]]]:
    """Ctrl-C between items, never half-way through counting and printing one.

    Inside ``whole()`` a SIGINT is held back and raised as ``KeyboardInterrupt`` when the
    item is done, so the summary counts exactly the lines printed. Only in the main thread,
    where Python delivers signals.
    """
    held = [0, False]  # depth, pending

    def handler(signum: int, frame: object) -> None:
        if held[0]:
            held[1] = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def whole() -> Iterator[None]:
        held[0] += 1
        try:
            yield
        finally:
            held[0] -= 1
            if held[1] and not held[0]:
                held[1] = False
                raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield whole
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield whole
    finally:
        signal.signal(signal.SIGINT, previous)


def _finish(
    tally: _Tally, stopped_by: BaseException | None, rate_limited: int | None, *, as_json: bool
) -> int:
    """Print what stopped the run, if anything, and the summary; return the exit status."""
    if stopped_by is None:
        status, code = "done", EXIT_SOME_FAILED if tally.failed else EXIT_OK
    elif isinstance(stopped_by, KeyboardInterrupt):
        status, code = "interrupted", EXIT_INTERRUPTED
    else:
        status = "stopped"
        if isinstance(stopped_by, _UsageError):
            message, code = str(stopped_by), EXIT_USAGE
        else:
            assert isinstance(stopped_by, BreezeBlueError)
            message, code = _error_line(stopped_by), _exit_code(stopped_by)
        print(f"error: {message}", file=sys.stderr)
        if tally.done == 0:
            return code  # nothing started: the one error line says it all
    if as_json:
        print(json.dumps(_summary_record(tally, status, rate_limited)), flush=True)
    else:
        print(_summary_text(tally, status, rate_limited), file=sys.stderr)
    return code


def run() -> None:
    """Entry point of the ``breeze-blue`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    run()

"""``make bench``: downloading a history item's audio, the SDK against bare loops, on loopback.

Issue 11 (section 3) sets the SDK's performance targets as ratios against what a user can
do without it: curl + ``sync``, a bare httpx loop, a bare async loop over the same client
class, bare aiohttp. The machine is shared and noisy, so absolute times mean little and only
ratios measured in one run, interleaved, count. This script therefore:

1. starts a loopback nginx from ``benchmarks/nginx.conf`` (installing ``nginx-light`` if
   needed) on three ports: unthrottled (checked never to be the bottleneck), paced to
   1 Gbit/s and paced to 100 Mbit/s (achieved rates checked with curl);
2. creates random test files and remembers their SHA-256;
3. runs each download client as its own whole process (the Python ones in a clean venv with
   only the runtime dependencies and the aiohttp extra: ``clean_venv`` says why), all
   clients, sizes and links shuffled within each round for several rounds; a tiny launcher
   (``measure.py``) measures each process's wall time, peak RSS and CPU, and each client
   reports its own in-process window (request to file in place) on a ``BENCH`` line; every
   output's size and SHA-256 is checked;
4. times the imports, and runs the many-small-items loops (1,000 items, 32 tasks, five ways
   in one process; ``clients/small_items.py``), then profiles three of them;
5. writes ``results.md`` (targets PASS/FAIL, tables, the maintainers' notes carried over)
   and ``results.png``; always stops nginx and deletes its temporary files.

Run ``.venv/bin/python benchmarks/run.py`` (``--quick`` for a smoke run, ``--help``).
``--sdk-rev REV`` benchmarks the SDK as committed at REV instead of the working tree (useful
while the library is being edited under the benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import http.client
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLIENTS = HERE / "clients"
PYTHON = sys.executable
MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_SERVER_SPEED = 1e9  # bytes/s from nginx into /dev/null, or nginx may be the bottleneck
NOTES_OPEN, NOTES_CLOSE = "<!-- notes -->", "<!-- /notes -->"
MEASURE_TIMEOUT = 900.0  # seconds for any one client process; a hung client is a failure
X = "\u00d7"  # the multiplication sign, for "1.05 x curl" in the tables
NAN = math.nan


@dataclass(frozen=True)
class Link:
    """A way nginx serves the files: unthrottled, or paced to a link's rate."""

    key: str
    label: str
    rate: int  # bytes/s that nginx holds each response to; 0: unthrottled


LINKS = (
    Link("loopback", "unthrottled loopback", 0),
    Link("1g", "paced to 1 Gbit/s", 125_000_000),
    Link("100m", "paced to 100 Mbit/s", 12_500_000),
)
LINKS_BY_KEY = {link.key: link for link in LINKS}
# nginx's sendfile_max_chunk on the paced ports: after each chunk nginx waits the chunk's
# time at the rate (in whole ms), so the chunk must last a few ms at the fastest rate.
PACE_CHUNK = 250_000


# --- what is measured ----------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One download to run: where from, what, and where the bytes go."""

    python: str  # the interpreter for the Python clients
    base_url: str
    item_id: str
    api_key: str
    out: Path

    @property
    def url(self) -> str:
        """The full audio URL, for the clients that take one."""
        return f"{self.base_url}/v1/history/{self.item_id}/audio"


@dataclass(frozen=True)
class Client:
    """A way to download, as the command line of a fresh process."""

    key: str
    label: str
    command: Callable[[Job], list[str]]
    durable: bool = False  # the file is on disk (fsync) when the process ends
    ours: bool = False
    paced: bool = False  # also run on the paced links (target 1)
    twin: str | None = None  # the bare loop this SDK client is held to


def _script(name: str, *extra: str) -> Callable[[Job], list[str]]:
    """A client script under benchmarks/clients/, run by the clients' interpreter."""

    def command(job: Job) -> list[str]:
        args = [job.base_url, job.item_id, job.api_key, str(job.out), *extra]
        return [job.python, str(CLIENTS / name), *args]

    return command


# curl reports its own transfer time (-w); for the durable variant the shell also times
# `sync FILE`. One shell, so that one process tree is measured: wait4 covers curl and sync.
CURL = 'curl -sS -f -H "$1" -o "$2" -w "%{time_total}" "$3"'


def _curl(job: Job) -> list[str]:
    script = f't=$({CURL}) && echo "BENCH {{\\"transfer\\": $t}}"'
    return ["sh", "-c", script, "sh", f"xi-api-key: {job.api_key}", str(job.out), job.url]


def _curl_sync(job: Job) -> list[str]:
    script = (
        f't=$({CURL}) && s=$(date +%s.%N) && sync "$2" && e=$(date +%s.%N) && '
        'echo "BENCH {\\"transfer\\": $t, \\"sync_start\\": $s, \\"sync_end\\": $e}"'
    )
    return ["sh", "-c", script, "sh", f"xi-api-key: {job.api_key}", str(job.out), job.url]


CLIENT_LIST: tuple[Client, ...] = (
    Client("curl", "curl to a file", _curl),
    Client("curl_sync", "curl, then `sync FILE`", _curl_sync, durable=True, paced=True),
    Client(
        "httpx_raw",
        "bare `httpx.Client`: `stream()` + `iter_raw()` + write + fsync",
        _script("httpx_raw.py"),
        durable=True,
    ),
    Client(
        "sdk_save",
        "**`BreezeBlue` + `save()`**",
        _script("sdk_save.py"),
        durable=True,
        ours=True,
        paced=True,
        twin="httpx_raw",
    ),
    Client(
        "bare_async_httpx",
        "bare `httpx.AsyncClient`: `stream()` + `aiter_raw()`, writes in a thread, fsync",
        _script("bare_async.py", "httpx"),
        durable=True,
    ),
    Client(
        "sdk_asave_httpx",
        "**`AsyncBreezeBlue()` + `asave()`**",
        _script("sdk_asave.py", "httpx"),
        durable=True,
        ours=True,
        twin="bare_async_httpx",
    ),
    Client(
        "bare_async_aiohttp",
        "bare `HttpxAiohttpClient`: `stream()` + `aiter_raw()`, writes in a thread, fsync",
        _script("bare_async.py", "aiohttp"),
        durable=True,
    ),
    Client(
        "sdk_asave_aiohttp",
        "**`AsyncBreezeBlue(http_client=DefaultAioHttpClient())` + `asave()`**",
        _script("sdk_asave.py", "aiohttp"),
        durable=True,
        ours=True,
        twin="bare_async_aiohttp",
    ),
)
CLIENTS_BY_KEY = {client.key: client for client in CLIENT_LIST}
BASELINES = {
    "sdk": ("import breeze_blue + build `BreezeBlue` (no download)", "sdk_save"),
    "sdk_async": (
        "import `AsyncBreezeBlue, asave` + build one in `asyncio.run`",
        "sdk_asave_httpx",
    ),
    "sdk_async_aiohttp": (
        "the same with `DefaultAioHttpClient()`",
        "sdk_asave_aiohttp",
    ),
}
IMPORT_HTTPX = "import httpx"
IMPORT_SDK = "from breeze_blue import BreezeBlue, save"
IMPORTS: dict[str, tuple[str, str | None]] = {  # key: (statement, reference key)
    "pass": ("pass", None),
    "httpx": (IMPORT_HTTPX, "httpx"),
    "sdk": (IMPORT_SDK, "httpx"),
}
SMALL_WAYS = {  # small_items.py's ways: label, the bare twin the target holds it to, limit
    "sdk_aiohttp": (
        "**`AsyncBreezeBlue(http_client=DefaultAioHttpClient())`**: "
        "`await (await download_audio(id)).read()`",
        "bare_httpx_aiohttp",
        1.15,
    ),
    "bare_httpx_aiohttp": (
        "bare `HttpxAiohttpClient`: `await client.get(url, headers=...)`",
        None,
        0,
    ),
    "sdk_httpx": ("**`AsyncBreezeBlue()`**: the same, over `httpx.AsyncClient`", "bare_httpx", 1.1),
    "bare_httpx": ("bare `httpx.AsyncClient`: `await client.get(url, headers=...)`", None, 0),
    "bare_aiohttp": ("bare `aiohttp.ClientSession`: `session.get()` + `read()`", None, 0),
}


@dataclass
class Sample:
    """One process: whole-process and in-process figures, and what went wrong, if anything."""

    wall: float  # the whole process, fork to exit
    rss: float  # peak RSS, MiB
    cpu: float  # the whole process tree's user + system CPU seconds
    inproc: float = NAN  # the client's own window: request to file in place
    inproc_cpu: float = NAN  # CPU seconds in that window (Python clients)
    transfer: float = NAN  # curl: its transfer time; sync: the rest of inproc
    error: str | None = None


@dataclass
class SmallItems:
    """The many-small-items loops: seconds per way, by round; and the profiles."""

    count: int = 0
    tasks: int = 0
    seconds: dict[str, list[Sample]] = field(default_factory=dict)
    profile: dict[str, dict[str, object]] = field(default_factory=dict)
    error: str | None = "not run"


@dataclass
class Results:
    """Everything measured, by round, so that ratios can be taken within a round."""

    sizes: dict[str, list[int]]  # link key -> sizes (MiB)
    rounds: dict[tuple[str, int], int]  # (link, size) -> rounds
    python: str  # the interpreter the Python clients run with
    sdk_source: str
    downloads: dict[tuple[str, int, str], list[Sample]] = field(default_factory=dict)
    baselines: dict[str, list[Sample]] = field(default_factory=dict)
    imports: dict[str, list[Sample]] = field(default_factory=dict)
    import_extras: list[tuple[str, float]] = field(default_factory=list)
    small: SmallItems = field(default_factory=SmallItems)
    floor_mib: float = 0.0
    server_speed: float = 0.0
    paced_check: dict[str, tuple[int, float]] = field(default_factory=dict)  # link: size, B/s
    machine: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    def get(self, link: str, size: int, key: str) -> list[Sample]:
        """The samples of one client at one size on one link (empty if not run)."""
        return self.downloads.get((link, size, key), [])


# --- processes -------------------------------------------------------------------------


def measure(argv: Sequence[str]) -> Sample:
    """Run ``argv`` under the launcher; its own figures, not ours, plus its BENCH line.

    The launcher gets its own session so that stopping this script (Ctrl-C, SIGTERM) can
    end it and the client under it, and nothing else.
    """
    launcher = [PYTHON, "-I", "-S", str(HERE / "measure.py"), *argv]
    process = subprocess.Popen(
        launcher, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=MEASURE_TIMEOUT)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    try:
        wall_text, rss_text, code_text, cpu_text = stdout.split()
    except ValueError:
        return Sample(0.0, 0.0, 0.0, error=f"launcher failed: {stderr.strip()[-300:]}")
    sample = Sample(float(wall_text), int(rss_text) / 1024, float(cpu_text))
    if code_text != "0":
        tail = [line for line in stderr.strip().splitlines() if not line.startswith("BENCH ")]
        sample.error = f"exit {code_text}: {(tail[-1:] or [''])[0][:200]}"
        return sample
    for line in stderr.splitlines():
        if line.startswith("BENCH "):
            report = json.loads(line.removeprefix("BENCH "))
            if "transfer" in report:  # curl
                sample.transfer = report["transfer"]
                sync = report.get("sync_end", 0.0) - report.get("sync_start", 0.0)
                sample.inproc = sample.transfer + sync
            else:
                sample.inproc, sample.inproc_cpu = report["wall"], report["cpu"]
    return sample


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the run like Ctrl-C does, so that the cleanup in ``finally`` runs."""
    raise KeyboardInterrupt


# --- nginx ---------------------------------------------------------------------------


def ensure_nginx() -> str:
    """The nginx binary; installs Debian's ``nginx-light`` when there is none."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    print("nginx not found: installing Debian's nginx-light", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update"], ["apt-get", "install", "-y", "nginx-light"]):
        print("+", " ".join(sudo + step), flush=True)
        subprocess.run(sudo + step, check=True, env=env)
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise SystemExit("nginx-light was installed but no nginx binary was found")
    return found


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def nginx_server(binary: str, prefix: Path, data: Path, api_key: str) -> Iterator[dict[str, str]]:
    """Run nginx in the foreground from the committed template; yields each link's base URL.

    nginx runs in a session of its own, so a Ctrl-C meant for this script does not cut it
    off mid-answer; it is always stopped here, on success, error or interrupt.
    """
    ports = {link.key: free_port() for link in LINKS}
    while len(set(ports.values())) < len(ports):  # three distinct ports
        ports = {link.key: free_port() for link in LINKS}
    fast, slow = LINKS_BY_KEY["1g"], LINKS_BY_KEY["100m"]
    values = {
        "PORT": str(ports["loopback"]),
        "PORT_FAST": str(ports[fast.key]),
        "PORT_SLOW": str(ports[slow.key]),
        "RATE_FAST": str(fast.rate),
        "RATE_SLOW": str(slow.rate),
        "PACE_CHUNK": str(PACE_CHUNK),
        "PREFIX": str(prefix),
        "DATA": str(data),
        "KEY": api_key,
    }
    config = (HERE / "nginx.conf").read_text()
    for name in sorted(values, key=len, reverse=True):  # @@PORT_FAST@@ before @@PORT@@
        config = config.replace(f"@@{name}@@", values[name])
    (prefix / "nginx.conf").write_text(config)
    log = (prefix / "nginx.log").open("wb")
    command = [binary, "-e", "stderr", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    command += ["-g", "daemon off;"]
    print("+", " ".join(command), flush=True)
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        for port in ports.values():
            _wait_listening(process, port, prefix / "nginx.log")
        yield {key: f"http://127.0.0.1:{port}" for key, port in ports.items()}
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: nginx's fast shutdown, workers included
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        print(f"nginx stopped (exit {process.returncode})", flush=True)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"nginx exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"nginx did not start listening on port {port}:\n{log.read_text()}")


def check_server(base_url: str, item_id: str, api_key: str) -> None:
    """The server answers like the API: 401 JSON without the key, audio with it."""
    host, port = base_url.removeprefix("http://").split(":")
    path = f"/v1/history/{item_id}/audio"
    for headers, status, media in (
        ({}, 401, "application/json"),
        ({"xi-api-key": api_key}, 200, "audio/mpeg"),
    ):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        got = response.getheader("content-type", "")
        if response.status != status or got != media:
            raise SystemExit(f"nginx answered {response.status} {got}, expected {status} {media}")
        if status == 200:
            shown = (
                "content-type",
                "content-length",
                "content-disposition",
                "accept-ranges",
                "etag",
            )
            print("  200:", "; ".join(f"{name}: {response.getheader(name)}" for name in shown))
            missing = [name for name in shown if response.getheader(name) is None]
            if missing:
                raise SystemExit(f"nginx's answer lacks {', '.join(missing)}")


def server_speed(url: str, api_key: str, runs: int = 5) -> float:
    """Best of ``runs`` curl downloads into /dev/null, in bytes per second."""
    speeds = []
    for _ in range(runs):
        command = ["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{speed_download}"]
        command += ["-H", f"xi-api-key: {api_key}", url]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        speeds.append(float(done.stdout))
    return max(speeds)


# --- interpreters ----------------------------------------------------------------------


def clean_venv(folder: Path, sdk: Path | None) -> str:
    """A venv holding only the SDK (with its aiohttp extra) and its runtime dependencies.

    Why: httpx imports its command-line client (click, rich, pygments) whenever those are
    installed, and this repo's dev extra installs them (through the generator). Here that
    makes ``import httpx`` cost far more than it costs a user who did
    ``pip install breeze-blue``: extra wall time on every Python client and a flattering
    import ratio for the SDK. So the clients run in a venv with what users have: the SDK,
    httpx-aiohttp (the ``aiohttp`` extra) and their dependencies, nothing else.

    Built offline in a second: every file of those installed distributions is symlinked
    from this venv. The SDK itself comes from ``sdk`` (a snapshot holding ``breeze_blue/``
    and ``generated/``) when given, else from this checkout through the editable install.
    """
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(folder)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = folder / "lib" / version / "site-packages"
    roots = ("breeze-blue", "httpx-aiohttp")
    for dist in _closure(roots):
        is_sdk = canonicalize_name(dist.metadata["Name"]) == "breeze-blue"
        entries = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
        for entry in sorted(entries - {"__pycache__"}):
            if is_sdk and sdk is not None and entry.endswith(".pth"):
                continue  # the editable install's path file: the snapshot replaces it
            link = site / entry
            if not link.exists():
                link.symlink_to(Path(str(dist.locate_file(entry))))
    root = sdk if sdk is not None else REPO
    if sdk is not None:
        (site / "breeze_blue_snapshot.pth").write_text(f"{sdk}\n{sdk / 'generated'}\n")
    python = str(folder / "bin" / "python")
    # pip compiles an installed package's bytecode; an editable install is compiled on first
    # import, unless PYTHONDONTWRITEBYTECODE is set (as on these machines): then every run
    # would compile the SDK anew, which no user pays for. So compile it once, as pip would.
    for package in (root / "breeze_blue", root / "generated"):
        subprocess.run([python, "-m", "compileall", "-q", str(package)], check=True)
    check = (
        "import sys, httpx, breeze_blue; "
        f"assert breeze_blue.__file__.startswith({str(root)!r}), breeze_blue.__file__; "
        "sys.exit('click' in sys.modules or 'rich' in sys.modules)"
    )
    subprocess.run([python, "-c", check], check=True)  # httpx's CLI must not be importable
    return python


def sdk_snapshot(rev: str, folder: Path) -> str:
    """Export the SDK (``breeze_blue/``, ``generated/``) as committed at ``rev``; its commit."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read only: never touch the index
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run(
        [*git, "rev-parse", "--short", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    folder.mkdir()
    archive = subprocess.run(
        [*git, "archive", commit, "breeze_blue", "generated"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return commit


def _closure(roots: Sequence[str]) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` need at run time (no extras), roots included."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found[name] = dist = metadata.distribution(name)
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


# --- test files and checks -----------------------------------------------------------


def make_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes (random, so nothing compresses or dedups); their SHA-256."""
    digest = hashlib.sha256()
    block = 4 * MIB
    with path.open("wb") as file:
        left = size
        while left:
            chunk = os.urandom(min(block, left))
            digest.update(chunk)
            file.write(chunk)
            left -= len(chunk)
    path.chmod(0o644)  # nginx's worker runs as an unprivileged user
    return digest.hexdigest()


def verify(out_dir: Path, out: Path, size: int, sha256: str) -> str | None:
    """Why the output is wrong, or None; then empties ``out_dir`` and flushes the disk.

    Every client starts with no dirty pages left by the one before (``os.sync``), so one
    client's writeback is never billed to the next. Deleting a file that was never synced
    drops its dirty pages without writing them.
    """
    problem = None
    if not out.is_file():
        problem = "no output file"
    elif (actual := out.stat().st_size) != size:
        problem = f"{actual} bytes, expected {size}"
    else:
        with out.open("rb") as file:
            if hashlib.file_digest(file, "sha256").hexdigest() != sha256:
                problem = "SHA-256 mismatch"
    leftovers = sorted(p.name for p in out_dir.iterdir() if p != out)
    if leftovers and problem is None:
        problem = f"left files behind: {', '.join(leftovers)}"
    for path in out_dir.iterdir():
        path.unlink()
    os.sync()
    return problem


# --- the runs --------------------------------------------------------------------------


def run_downloads(
    results: Results,
    base_urls: dict[str, str],
    api_key: str,
    items: dict[int, tuple[str, str]],
    out_dir: Path,
    seed: int,
) -> None:
    """All links x sizes x clients, plus the baselines, shuffled anew in each round.

    A (link, size) pair with fewer rounds than the others (the largest file on the slowest
    link) runs in the first of them only, so that its clients still pair up round by round.
    """
    smallest = min(min(sizes) for sizes in results.sizes.values())
    print(f"warm-up: every client once at {smallest} MiB, unthrottled (not counted)", flush=True)
    for key in CLIENTS_BY_KEY:
        job = Job(results.python, base_urls["loopback"], items[smallest][0], api_key, out_dir / "x")
        _one_download(job, items, smallest, key)
    total_rounds = max(results.rounds.values())
    rng = random.Random(seed)
    for round_ in range(total_rounds):
        order: list[tuple[str, int, str]] = [("", 0, f"baseline:{name}") for name in BASELINES]
        for link in LINKS:
            for size in results.sizes.get(link.key, []):
                if results.rounds[link.key, size] <= round_:
                    continue
                for client in CLIENT_LIST:
                    if link.rate == 0 or client.paced:
                        order.append((link.key, size, client.key))
        rng.shuffle(order)
        for link_key, size, key in order:
            if key.startswith("baseline:"):
                name = key.split(":", 1)[1]
                script = str(CLIENTS / "baseline.py")
                sample = measure([results.python, script, name, base_urls["loopback"], api_key])
                results.baselines.setdefault(name, []).append(sample)
                label = f"baseline {name}"
            else:
                base_url = base_urls[link_key]
                job = Job(results.python, base_url, items[size][0], api_key, out_dir / "x")
                sample = _one_download(job, items, size, key)
                results.downloads.setdefault((link_key, size, key), []).append(sample)
                label = f"{link_key} {size} MiB {key}"
            status = "ok" if sample.error is None else f"FAILED: {sample.error}"
            print(
                f"[round {round_ + 1}/{total_rounds}] {label:<40} "
                f"{sample.inproc:8.3f} s in-process {sample.wall:8.3f} s whole "
                f"{sample.rss:6.1f} MiB {sample.cpu:6.2f} s CPU  {status}",
                flush=True,
            )


def _one_download(job: Job, items: dict[int, tuple[str, str]], size: int, key: str) -> Sample:
    job = dataclasses.replace(job, out=job.out.with_name(f"{job.item_id}.mp3"))
    sample = measure(CLIENTS_BY_KEY[key].command(job))
    problem = verify(job.out.parent, job.out, size * MIB, items[size][1])
    if sample.error is None and problem is not None:
        sample.error = problem
    if sample.error is None and math.isnan(sample.inproc):
        sample.error = "the client reported no BENCH line"
    return sample


def run_imports(results: Results, rounds: int, clean_python: str) -> None:
    """Whole-process import times in the clean venv, interleaved, and what costs the most."""
    commands = {key: [clean_python, "-c", statement] for key, (statement, _) in IMPORTS.items()}
    for command in commands.values():
        measure(command)  # warm the page cache and bytecode caches
    keys = list(commands)
    for round_ in range(rounds):
        for key in keys[round_ % len(keys) :] + keys[: round_ % len(keys)]:
            results.imports.setdefault(key, []).append(measure(commands[key]))
    results.import_extras = import_breakdown(clean_python)
    print(
        "imports (median ms):",
        {k: round(_median(v, "wall") * 1000, 1) for k, v in results.imports.items()},
    )


def import_breakdown(python: str, runs: int = 5) -> list[tuple[str, float]]:
    """Modules the SDK's import loads beyond ``import httpx``, by median self time (ms).

    A hint for the import target, from ``python -X importtime``; the timings are
    single-digit milliseconds and noisy, hence the median of a few runs.
    """

    def self_times(statement: str) -> dict[str, float]:
        done = subprocess.run(
            [python, "-X", "importtime", "-c", statement],
            capture_output=True,
            text=True,
            check=True,
        )
        times: dict[str, float] = {}
        for line in done.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|(\s*)(\S+)", line)
            if match:
                times[match.group(3)] = int(match.group(1)) / 1000
        return times

    httpx_modules = set(self_times(IMPORT_HTTPX))
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for module, ms in self_times(IMPORT_SDK).items():
            if module not in httpx_modules:
                samples.setdefault(module, []).append(ms)
    medians = {module: statistics.median(values) for module, values in samples.items()}
    return sorted(medians.items(), key=lambda item: -item[1])


def run_small_items(
    results: Results,
    base_url: str,
    api_key: str,
    item: tuple[str, str],
    count: int,
    rounds: int,
    profile_count: int,
) -> None:
    """Targets 3: one process, five ways, interleaved (small_items.py); then the profiles."""
    item_id, sha256 = item
    script = str(CLIENTS / "small_items.py")
    command = [results.python, script, base_url, item_id, api_key, sha256]
    print(f"small items: {rounds} rounds of {count} downloads per way", flush=True)
    done = subprocess.run(
        [*command, str(count), str(rounds)],
        capture_output=True,
        text=True,
        timeout=MEASURE_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        results.small.error = done.stderr.strip()[-500:]
        print("small items FAILED:", results.small.error, flush=True)
        return
    report = json.loads(done.stdout)
    small = results.small
    small.count, small.tasks, small.error = report["count"], report["tasks"], None
    small.seconds = {
        way: [Sample(s, 0.0, 0.0, inproc=s) for s in report[way]] for way in SMALL_WAYS
    }
    print(
        "small items, median \u00b5s per item:",
        {way: round(_median(s) / count * 1e6) for way, s in small.seconds.items()},
        flush=True,
    )
    print(f"small items: profiling ({profile_count} items per way)", flush=True)
    done = subprocess.run(
        [*command, str(profile_count), "1", "--profile"],
        capture_output=True,
        text=True,
        timeout=MEASURE_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        small.error = "profile: " + done.stderr.strip()[-500:]
        print("small items profile FAILED:", small.error, flush=True)
        return
    small.profile = json.loads(done.stdout)


# --- statistics ------------------------------------------------------------------------


def _ok(samples: Sequence[Sample]) -> list[Sample]:
    return [sample for sample in samples if sample.error is None]


def _median(samples: Sequence[Sample], attr: str = "inproc") -> float:
    values = [getattr(s, attr) for s in _ok(samples)]
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else NAN


def _spread(samples: Sequence[Sample], attr: str = "inproc") -> str:
    values = [getattr(s, attr) for s in _ok(samples)]
    return f"{min(values):.3f}\u2013{max(values):.3f}" if values else "n/a"


def round_ratio(a: Sequence[Sample], b: Sequence[Sample], attr: str = "inproc") -> float:
    """Median over rounds of a / b in the same round (both must have worked).

    Within a round the two ran seconds apart, so the ratio cancels the machine's drift
    better than a ratio of medians would.
    """
    ratios = [
        getattr(x, attr) / getattr(y, attr)
        for x, y in zip(a, b, strict=True)
        if x.error is None and y.error is None
    ]
    ratios = [r for r in ratios if not math.isnan(r)]
    return statistics.median(ratios) if ratios else NAN


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _per_gib(cpu: float, size_mib: int) -> float:
    return cpu / (size_mib * MIB / GIB)


# --- machine -------------------------------------------------------------------------


def machine_info(nginx: str, tmp: Path, sdk_source: str) -> dict[str, str]:
    """What ran the benchmark, for results.md."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        memory = f"{kib / MIB:.1f} GiB"

    def first_line(command: list[str]) -> str:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        return "unknown"

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "kernel": f"{platform.system()} {platform.release()}",
        "file system (outputs)": _filesystem(tmp),
        "Python": platform.python_version(),
        "httpx": metadata.version("httpx"),
        "httpcore": metadata.version("httpcore"),
        "h11": metadata.version("h11"),
        "aiohttp": metadata.version("aiohttp"),
        "httpx-aiohttp": metadata.version("httpx-aiohttp"),
        "breeze-blue": f"{metadata.version('breeze-blue')} ({sdk_source})",
        "curl": first_line(["curl", "--version"]).split(" (")[0],
        "nginx": first_line([nginx, "-v"]).split(": ", 1)[-1],
    }


def _filesystem(path: Path) -> str:
    best = ("", "unknown", "unknown")
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            source, mount, kind = line.split()[:3]
            if str(path).startswith(mount) and len(mount) >= len(best[0]):
                best = (mount, kind, source)
    return f"{best[1]} on {best[2]} (mounted at {best[0]})"


def git_state() -> str:
    """The commit, and whether the library differs from it (other people edit it live)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read only: never touch the index
    git = ["git", "-C", str(REPO)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "diff", "--quiet", "HEAD", "--", "breeze_blue", "generated"],
            env=env,
            check=False,
        ).returncode
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {commit}" + (", with uncommitted changes to the library" if dirty else "")


# --- results.md ------------------------------------------------------------------------


def existing_notes(path: Path) -> str:
    """The maintainers' notes from the previous results.md, to carry over verbatim."""
    if not path.exists():
        return ""
    text = path.read_text()
    start = text.find(NOTES_OPEN)
    if start < 0:
        return ""
    start += len(NOTES_OPEN)
    end = text.find(NOTES_CLOSE, start)
    return text[start : end if end >= 0 else len(text)].strip("\n")


# --- results.md ------------------------------------------------------------------------


def render_markdown(results: Results, notes: str) -> str:
    """results.md, from the measurements."""
    rounds = sorted(set(results.rounds.values()), reverse=True)
    lines = [
        "# Benchmark results",
        "",
        f"Written by `benchmarks/run.py` (`make bench`) on {results.machine['date']}: up to "
        f"{rounds[0]} rounds; in each round every client, size and link ran once as its own "
        "process, in a shuffled order, against nginx on loopback (fewer rounds where a table "
        "says so). Every output's size and SHA-256 were checked. The machine is shared and "
        "noisy: compare ratios within this file, not absolute times across runs.",
        "",
        "![In-process throughput, peak memory, small items](results.png)",
        "",
        *_targets_section(results),
        *_machine_section(results),
    ]
    for link in LINKS[1:]:
        lines += _paced_section(results, link)
    for size in results.sizes.get("loopback", []):
        lines += _loopback_section(results, size)
    lines += _baseline_section(results)
    lines += _import_section(results)
    lines += _small_section(results)
    lines += _profile_section(results)
    lines += [
        "## How to read this",
        "",
        "- **in-process**: what the client's own code waits for, from the request to the file "
        "being in place (fsynced where durable): around `download_audio()` + `save()` for the "
        "SDK, around `stream()` ... `fsync` for the bare loops, with the client already built "
        "(`benchmarks/clients/_timing.py`). For curl: its own transfer time (`-w "
        "%{time_total}`), plus the time of `sync FILE` for the durable row.",
        "- **whole process**: fork to exit, interpreter start-up and imports included "
        "(`benchmarks/measure.py`); for curl + sync, the shell running both.",
        "- **CPU s/GiB**: user + system CPU seconds per GiB downloaded; in-process from "
        "`time.process_time()` around the window (all threads), whole process from `wait4`.",
        "- **peak RSS**: `ru_maxrss` of exactly that process (tree), from `os.wait4` in a small "
        "launcher; the launcher leaves a floor of "
        f"{_fmt(results.floor_mib, 1)} MiB (what `true` measures), below every client here.",
        f"- **{X} columns**: the median over rounds of the ratio of two clients' times *within* "
        "a round (run seconds apart), which cancels the machine's drift; it can differ a "
        "little from dividing the medians.",
        "- **durable**: the data is on disk when the window ends (fsync / `sync FILE`). Each "
        "client starts with no dirty pages left by the previous one (outputs are deleted and "
        "`sync` runs between processes, untimed).",
        "",
        "## Notes",
        "",
        NOTES_OPEN,
        *([notes] if notes else []),
        NOTES_CLOSE,
        "",
    ]
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def evaluate_targets(results: Results) -> list[tuple[str, str, str, bool | None]]:
    """Issue 11's targets: (target, limit, measured, passed or None when not measured)."""
    out: list[tuple[str, str, str, bool | None]] = []
    get = results.get

    def check(name: str, value: float, limit: float | None, unit: str = X) -> None:
        """One row; a limit of None makes it a reference row (reported, not judged)."""
        if limit is None:
            out.append((name, "reference", f"{_fmt(value)}{unit}", None))
            return
        passed = None if math.isnan(value) else value <= limit
        limit_text = f"\u2264 {limit:.2f}{unit}" if unit == X else f"\u2264 {limit:.1f} {unit}"
        value_text = f"{_fmt(value)}{unit}" if unit == X else f"{_fmt(value, 1)} {unit}"
        out.append((name, limit_text, value_text, passed))

    for link in LINKS[1:]:
        for size in results.sizes.get(link.key, []):
            check(
                f"1. {link.label}, {size} MiB: `save()` {X} (curl + `sync`), in-process",
                round_ratio(get(link.key, size, "sdk_save"), get(link.key, size, "curl_sync")),
                1.05,
            )
    sizes = results.sizes.get("loopback", [])
    big = max(sizes) if sizes else 0
    if big:
        check(
            f"2. unthrottled {big} MiB: `save()` {X} bare `httpx.Client` loop + fsync",
            round_ratio(get("loopback", big, "sdk_save"), get("loopback", big, "httpx_raw")),
            1.0,
        )
        check(
            f"2. unthrottled {big} MiB: `save()` {X} (curl + `sync`)",
            round_ratio(get("loopback", big, "sdk_save"), get("loopback", big, "curl_sync")),
            None,
        )
    small = results.small
    ran = bool(small.seconds)
    n = f"{small.count} {X} 64 KiB, {small.tasks} tasks"
    for way, twin, limit, text in (
        (
            "sdk_aiohttp",
            "bare_httpx_aiohttp",
            1.15,
            "SDK + `DefaultAioHttpClient` {X} bare httpx-aiohttp",
        ),
        ("sdk_httpx", "bare_httpx", 1.1, "`AsyncBreezeBlue()` {X} bare `httpx.AsyncClient`"),
        ("sdk_aiohttp", "bare_aiohttp", None, "SDK + `DefaultAioHttpClient` {X} bare aiohttp"),
        ("sdk_httpx", "bare_aiohttp", None, "`AsyncBreezeBlue()` {X} bare aiohttp"),
    ):
        ratio = round_ratio(small.seconds.get(way, []), small.seconds.get(twin, [])) if ran else NAN
        check(f"3. {n}: {text.format(X=X)}", ratio, limit)
    for key, text in (
        ("sdk_asave_httpx", "`asave()`, `AsyncBreezeBlue()`"),
        ("sdk_asave_aiohttp", "`asave()`, `DefaultAioHttpClient`"),
    ):
        twin = CLIENTS_BY_KEY[key].twin or ""
        mine = get("loopback", big, key)
        check(
            f"4. unthrottled {big} MiB: {text} {X} its bare async loop",
            round_ratio(mine, get("loopback", big, twin)),
            1.1,
        )
        check(
            f"4. unthrottled {big} MiB: {text} {X} `save()`",
            round_ratio(mine, get("loopback", big, "sdk_save")),
            None,
        )
    short = {
        "sdk_save": "`save()`",
        "sdk_asave_httpx": "`asave()`, `AsyncBreezeBlue()`",
        "sdk_asave_aiohttp": "`asave()`, `DefaultAioHttpClient`",
    }
    for name, (_, key) in BASELINES.items():
        floor = _median(results.baselines.get(name, []), "rss")
        for size in sizes:
            rss = _median(get("loopback", size, key), "rss")
            check(
                f"5. {short[key]} {size} MiB: peak RSS \u2264 its baseline ({_fmt(floor, 1)} MiB) "
                "+ 16 MiB",
                rss,
                floor + 16,
                "MiB",
            )
    check(
        f"5. import, clean venv: `{IMPORT_SDK}` {X} `{IMPORT_HTTPX}`",
        round_ratio(results.imports.get("sdk", []), results.imports.get("httpx", []), "wall"),
        1.25,
    )
    return out


def _verdict(limit: str, passed: bool | None) -> str:
    if limit == "reference":
        return "\u2014"
    return "n/a" if passed is None else ("PASS" if passed else "**FAIL**")


def _targets_section(results: Results) -> list[str]:
    rows = [
        [name, limit, value, _verdict(limit, passed)]
        for name, limit, value, passed in evaluate_targets(results)
    ]
    note = (
        "Targets 1, 2 and 4 compare in-process times (see How to read this): the SDK's "
        "`download_audio()` + `save()`/`asave()` against the same window of the bare loop, or "
        "against curl's own transfer time plus `sync FILE`. The whole-process figures "
        "(interpreter start-up and imports included) are in the tables below. Target 3 runs "
        "all five ways in one process (see Many small items); target 5's memory limits are "
        "each client's own baseline process (see Baseline processes)."
    )
    return [
        "## Targets (issue 11, section 3)",
        "",
        *_table(["target", "limit", "measured", "result"], rows),
        note,
        "",
    ]


def _machine_section(results: Results) -> list[str]:
    rows = [[name, value] for name, value in results.machine.items()]
    speed = results.server_speed
    verdict = (
        "" if speed >= MIN_SERVER_SPEED else " **(below 1 GB/s: nginx may be the bottleneck)**"
    )
    rows.append(
        ["unthrottled server", f"curl into /dev/null: {speed / 1e9:.2f} GB/s (best of 5){verdict}"]
    )
    for key, (size, rate) in results.paced_check.items():
        link = LINKS_BY_KEY[key]
        rows.append(
            [
                f"server {link.label}",
                f"nginx `limit_rate {link.rate}` (bytes/s), `sendfile_max_chunk {PACE_CHUNK}`; "
                f"curl into /dev/null, {size} MiB: {rate / 1e6:.1f} MB/s "
                f"({rate / link.rate:.1%} of the rate; best of 3)",
            ]
        )
    rows.append(
        [
            "Python clients run in",
            "a clean venv holding only the SDK, httpx-aiohttp (the aiohttp extra) and their "
            "runtime dependencies (see Import time)",
        ]
    )
    rows.append(["total run time", f"{results.elapsed / 60:.1f} min"])
    return ["## Machine", "", *_table(["", ""], rows)]


def _paced_section(results: Results, link: Link) -> list[str]:
    sizes = results.sizes.get(link.key, [])
    if not sizes:
        return []
    rows = []
    for size in sizes:
        curl = results.get(link.key, size, "curl_sync")
        for key in ("curl_sync", "sdk_save"):
            samples = results.get(link.key, size, key)
            ok = _ok(samples)
            failed = len(samples) - len(ok)
            label = CLIENTS_BY_KEY[key].label
            if key == "curl_sync":
                transfer = _median(samples, "transfer")
                label += (
                    f" (transfer {_fmt(transfer, 3)} s = {_fmt(size * MIB / transfer / 1e6, 1)}"
                    " MB/s)"
                )
            rows.append(
                [
                    f"{size} MiB",
                    label + (f" (**{failed} of {len(samples)} FAILED**)" if failed else ""),
                    str(len(samples)),
                    _fmt(_median(samples), 3),
                    _spread(samples),
                    _fmt(round_ratio(samples, curl), 3),
                    _fmt(_median(samples, "wall"), 3),
                    _fmt(round_ratio(samples, curl, "wall"), 3),
                    _fmt(_per_gib(_median(samples, "inproc_cpu"), size)),
                    _fmt(_per_gib(_median(samples, "cpu"), size)),
                    _fmt(_median(samples, "rss"), 1),
                ]
            )
    header = [
        "size",
        "client",
        "rounds",
        "in-process median (s)",
        "in-process min\u2013max (s)",
        f"{X} curl + sync, in-process",
        "whole process median (s)",
        f"{X} curl + sync, whole process",
        "CPU s/GiB, in-process",
        "CPU s/GiB, whole process",
        "peak RSS (MiB)",
    ]
    errors = sorted(
        {s.error for size in sizes for k in CLIENTS_BY_KEY for s in results.get(link.key, size, k)}
        - {None},
        key=str,
    )
    return [
        f"## Downloads {link.label} (target 1)",
        "",
        *_table(header, rows),
        *(f"- failure: {error}" for error in errors),
        *([""] if errors else []),
    ]


def _loopback_section(results: Results, size: int) -> list[str]:
    get = lambda key: results.get("loopback", size, key)  # noqa: E731
    rows = []
    for client in CLIENT_LIST:
        samples = get(client.key)
        ok = _ok(samples)
        failed = len(samples) - len(ok)
        inproc = _median(samples)
        is_asave = client.key.startswith("sdk_asave")
        rows.append(
            [
                client.label + (f" (**{failed} of {len(samples)} FAILED**)" if failed else ""),
                _fmt(inproc, 3),
                _spread(samples),
                _fmt(size * MIB / inproc / 1e6, 0),
                _fmt(_median(samples, "wall"), 3),
                _fmt(round_ratio(samples, get("curl_sync"))) if client.durable else "",
                _fmt(round_ratio(samples, get(client.twin))) if client.twin else "",
                _fmt(round_ratio(samples, get("sdk_save"))) if is_asave else "",
                _fmt(_per_gib(_median(samples, "inproc_cpu"), size)),
                _fmt(_per_gib(_median(samples, "cpu"), size)),
                _fmt(_median(samples, "rss"), 1),
            ]
        )
    header = [
        "client",
        "in-process median (s)",
        "in-process min\u2013max (s)",
        "MB/s, in-process",
        "whole process median (s)",
        f"{X} curl + sync",
        f"{X} its bare loop",
        f"{X} `save()`",
        "CPU s/GiB, in-process",
        "CPU s/GiB, whole process",
        "peak RSS (MiB)",
    ]
    errors = sorted({s.error for key in CLIENTS_BY_KEY for s in get(key) if s.error})
    lines = [
        f"## Downloads unthrottled: {size} MiB, "
        f"{results.rounds.get(('loopback', size), 0)} rounds (targets 2, 4, 5)",
        "",
        *_table(header, rows),
        f"{X} columns are in-process (curl + sync: its transfer time plus the `sync`); the "
        "async bare loops gather chunks into 1 MiB batches that one writer thread writes while "
        "the next batch arrives (`benchmarks/clients/bare_async.py`).",
        "",
    ]
    return lines + ([*(f"- failure: {error}" for error in errors), ""] if errors else [])


def _baseline_section(results: Results) -> list[str]:
    rows = [
        [
            label,
            _fmt(_median(results.baselines.get(name, []), "wall"), 3),
            _fmt(_median(results.baselines.get(name, []), "rss"), 1),
        ]
        for name, (label, _) in BASELINES.items()
    ]
    return [
        "## Baseline processes",
        "",
        *_table(
            ["process (the client's imports, no download)", "wall (s)", "peak RSS (MiB)"], rows
        ),
    ]


def _import_section(results: Results) -> list[str]:
    rows = []
    for key, (statement, reference) in IMPORTS.items():
        samples = results.imports.get(key, [])
        ok = _ok(samples)
        spread = "n/a"
        if ok:
            spread = (
                f"{min(s.wall for s in ok) * 1000:.0f}\u2013{max(s.wall for s in ok) * 1000:.0f}"
            )
        ratio = (
            round_ratio(samples, results.imports.get(reference, []), "wall") if reference else NAN
        )
        rows.append(
            [
                f"`python -c '{statement}'`",
                _fmt(_median(samples, "wall") * 1000, 0),
                spread,
                "" if reference is None else _fmt(ratio),
            ]
        )
    header = ["command (clean venv)", "median (ms)", "min\u2013max (ms)", f"{X} `import httpx`"]
    lines = [
        f"## Import time (whole process, {len(results.imports.get('httpx', []))} interleaved runs)",
        "",
        *_table(header, rows),
        "The clean venv holds only the SDK, httpx-aiohttp and their dependencies, as a user's "
        "would. In the dev `.venv`, `import httpx` also imports httpx's command-line client "
        "(click, rich, pygments are installed for the code generator), which would flatter "
        "the ratio.",
        "",
    ]
    extras = results.import_extras
    if extras:
        total = sum(ms for _, ms in extras)
        top = ", ".join(f"`{module}` {ms:.1f}" for module, ms in extras[:12])
        lines += [
            "Modules the SDK's import loads beyond `import httpx` in the clean venv: "
            f"{len(extras)}, {total:.1f} ms of self time by `-X importtime` (median of 5 "
            f"runs; largest first, ms): {top}.",
            "",
        ]
    return lines


def _small_section(results: Results) -> list[str]:
    small = results.small
    title = "## Many small items at once (target 3)"
    if not small.seconds:
        return [title, "", f"FAILED: {small.error}", ""]
    count = small.count
    rows = []
    for way, (label, twin, _) in SMALL_WAYS.items():
        samples = small.seconds.get(way, [])
        rows.append(
            [
                label,
                _fmt(_median(samples), 3),
                _spread(samples),
                _fmt(_median(samples) / count * 1e6, 0),
                _fmt(round_ratio(samples, small.seconds.get(twin, []))) if twin else "",
                _fmt(round_ratio(samples, small.seconds.get("bare_aiohttp", []))),
            ]
        )
    header = [
        f"{count} \u00d7 64 KiB, {small.tasks} tasks on one client",
        "median (s)",
        "min\u2013max (s)",
        "per item (\u00b5s)",
        f"{X} its bare loop (target)",
        f"{X} bare aiohttp",
    ]
    note = (
        "All five ways run in one process and one event loop (`benchmarks/clients/"
        "small_items.py`): each way's items in blocks of 200 whose order rotates, so that the "
        "machine's drift falls on all alike; every body is compared with the expected bytes. "
        "Each client keeps its defaults: the SDK's 20 connections (`DefaultAioHttpClient` "
        "and `AsyncBreezeBlue()` alike), httpx's and httpx-aiohttp's 100, aiohttp's 100 (32 "
        "tasks use at most 32)."
    )
    rounds = len(next(iter(small.seconds.values())))
    return [f"{title}, {rounds} rounds", "", *_table(header, rows), note, ""]


def _profile_section(results: Results) -> list[str]:
    profiles = results.small.profile
    if not profiles:
        return []
    names = list(profiles)
    packages: list[str] = []
    for report in profiles.values():
        for package in report["packages"]:  # type: ignore[union-attr]
            if package not in packages:
                packages.append(package)

    def per_item(report: dict[str, object], seconds: float) -> str:
        count = report["count"]
        assert isinstance(count, int)
        return f"{seconds / count * 1e6:.0f}"

    rows = []
    for package in packages:
        row = [f"`{package}`"]
        for name in names:
            report = profiles[name]
            spent = report["packages"].get(package, 0.0)  # type: ignore[union-attr]
            total = report["profiled_total"]
            assert isinstance(total, float)
            row.append(f"{per_item(report, spent)} ({spent / total:.0%})")
        rows.append(row)
    rows.append(
        [
            "**total self time** (wall under the profiler)",
            *(
                f"**{per_item(profiles[n], profiles[n]['profiled_total'])}** "  # type: ignore[arg-type]
                f"({per_item(profiles[n], profiles[n]['wall'])})"  # type: ignore[arg-type]
                for n in names
            ),
        ]
    )
    header = ["self time by package, \u00b5s per item (share)", *(f"`{n}`" for n in names)]
    lines = [
        "## Where the time goes: cProfile of the small-items loops",
        "",
        *_table(header, rows),
    ]
    for name in names:
        report = profiles[name]
        top = report["top_self"]
        assert isinstance(top, list)
        frows = [
            [f"`{label}`", str(calls), per_item(report, tottime), per_item(report, cumtime)]
            for label, _, calls, tottime, cumtime in top[:12]
        ]
        lines += [
            f"Costliest functions by self time, `{name}`:",
            "",
            *_table(["function", "calls", "self \u00b5s/item", "cumulative \u00b5s/item"], frows),
        ]
        layers = report["layers"]
        assert isinstance(layers, list)
        if layers:
            lrows = [
                [f"`{label}`", str(calls), per_item(report, cumtime)]
                for label, _, calls, _, cumtime in layers
            ]
            lines += [
                f"Layer entry points, `{name}` (cumulative: the layer with all below it):",
                "",
                *_table(["function", "calls", "cumulative \u00b5s/item"], lrows),
            ]
    lines += [
        "One run of each way under `cProfile`, after a warm-up, in one process "
        "(`small_items.py --profile`). The profiler slows Python code several-fold and C code "
        "hardly at all: read the shares, not the absolute figures.",
        "",
    ]
    return lines


# --- results.png -----------------------------------------------------------------------


def render_chart(results: Results, path: Path) -> None:
    """Unthrottled in-process throughput, peak RSS, and the small items' time per item."""
    sizes = results.sizes.get("loopback", [])
    labels = [client.label.replace("*", "").replace("`", "") for client in CLIENT_LIST]
    labels = [label if len(label) < 60 else label[:57] + "..." for label in labels]
    figure = Figure(figsize=(18, 7), layout="constrained")
    FigureCanvasAgg(figure)
    speed_axes, rss_axes, small_axes = figure.subplots(1, 3, width_ratios=(3, 2, 2))
    height = 0.8 / max(len(sizes), 1)
    for index, size in enumerate(sizes):
        samples = [results.get("loopback", size, client.key) for client in CLIENT_LIST]
        speeds = [size * MIB / _median(s) / 1e6 if _ok(s) else 0.0 for s in samples]
        rss = [_median(s, "rss") if _ok(s) else 0.0 for s in samples]
        positions = [y + (index - (len(sizes) - 1) / 2) * height for y in range(len(labels))]
        for axes, values in ((speed_axes, speeds), (rss_axes, rss)):
            bars = axes.barh(positions, values, height=height, label=f"{size} MiB")
            axes.bar_label(bars, labels=[f"{v:.0f}" for v in values], padding=3, fontsize=8)
    for axes in (speed_axes, rss_axes):
        axes.set_yticks(range(len(labels)), labels if axes is speed_axes else [])
        axes.invert_yaxis()
        axes.grid(axis="x", alpha=0.3)
        axes.margins(x=0.15)
    for tick, client in zip(speed_axes.get_yticklabels(), CLIENT_LIST, strict=True):
        if client.ours:
            tick.set_fontweight("bold")
    speed_axes.set_xlabel("MB/s, in-process, durable except curl (higher is better)")
    speed_axes.set_title("Unthrottled loopback download (median)")
    speed_axes.legend(loc="lower right", fontsize=8)
    rss_axes.set_xlabel("peak RSS, MiB (lower is better)")
    rss_axes.set_title("Peak memory (ru_maxrss), whole process")
    for name, style in zip(BASELINES, (":", "--", "-."), strict=True):
        floor = _median(results.baselines.get(name, []), "rss")
        if not math.isnan(floor):
            rss_axes.axvline(floor, color="grey", linestyle=style, label=f"{name} baseline")
    rss_axes.legend(loc="lower right", fontsize=8)
    small = results.small
    if small.seconds:
        ways = list(SMALL_WAYS)
        values = [_median(small.seconds.get(w, [])) / small.count * 1e6 for w in ways]
        bars = small_axes.barh(range(len(ways)), values, color="tab:green")
        small_axes.bar_label(bars, labels=[f"{v:.0f}" for v in values], padding=3, fontsize=8)
        small_axes.set_yticks(range(len(ways)), ways)
        small_axes.invert_yaxis()
        small_axes.margins(x=0.15)
        small_axes.grid(axis="x", alpha=0.3)
    small_axes.set_xlabel("\u00b5s per item (lower is better)")
    small_axes.set_title(f"{small.count} x 64 KiB, {small.tasks} tasks, one client")
    figure.suptitle(f"breeze_blue vs bare loops on loopback nginx ({results.machine['date']})")
    figure.savefig(path, dpi=100)


# --- main ------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--quick`` only changes the defaults."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 8 and 64 MiB unthrottled, 1 and 8 MiB paced, 2 rounds, fewer items",
    )
    parser.add_argument("--sizes", help="unthrottled sizes in MiB (default 64,512; quick 8,64)")
    parser.add_argument(
        "--paced-sizes", help="sizes on the paced links, MiB (default 8,64,512; quick 1,8)"
    )
    parser.add_argument("--rounds", type=int, help="download rounds (default 5; quick 2)")
    parser.add_argument(
        "--slow-rounds",
        type=int,
        help="rounds of the largest paced size at 100 Mbit/s, ~43 s per 512 MiB download "
        "(default 3; quick 1)",
    )
    parser.add_argument(
        "--import-rounds", type=int, help="import-time runs each (default 10; quick 4)"
    )
    parser.add_argument(
        "--small-count", type=int, help="small items per way and round (default 1000; quick 400)"
    )
    parser.add_argument(
        "--small-rounds", type=int, help="rounds of the small-items ways (default 5; quick 2)"
    )
    parser.add_argument(
        "--sdk-rev",
        help="benchmark the SDK as committed at this git revision (default: the working tree)",
    )
    parser.add_argument("--seed", type=int, default=11, help="seed of the per-round shuffle")
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        help="where test files and outputs go (default: the system temp dir)",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=HERE, help="where results.md and results.png go"
    )
    args = parser.parse_args(argv)
    args.out_dir = args.out_dir.resolve()
    args.tmp_dir = args.tmp_dir.resolve() if args.tmp_dir else None
    quick = args.quick
    args.sizes = _sizes(args.sizes or ("8,64" if quick else "64,512"))
    args.paced_sizes = _sizes(
        args.paced_sizes if args.paced_sizes is not None else ("1,8" if quick else "8,64,512")
    )
    args.rounds = args.rounds or (2 if quick else 5)
    args.slow_rounds = min(args.slow_rounds or (1 if quick else 3), args.rounds)
    args.import_rounds = args.import_rounds or (4 if quick else 10)
    args.small_count = args.small_count or (400 if quick else 1000)
    args.small_rounds = args.small_rounds or (2 if quick else 5)
    counts = (args.rounds, args.slow_rounds, args.import_rounds, args.small_count)
    if not args.sizes or min(args.sizes + args.paced_sizes) <= 0 or min(counts) <= 0:
        parser.error("sizes, rounds and counts must be positive")
    if args.small_rounds <= 0:
        parser.error("--small-rounds must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything; 1 if any client failed its checks, else 0 (targets are only reported)."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = time.monotonic()
    nginx = ensure_nginx()
    tmp = Path(tempfile.mkdtemp(prefix="breeze-bench-", dir=args.tmp_dir))
    # Every child starts in the temp folder: `python -c` puts its working directory first on
    # sys.path, and from the checkout that would import breeze_blue from the working tree.
    os.chdir(tmp)
    try:
        results = _run(args, nginx, tmp)
    finally:
        os.chdir(REPO)
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"removed {tmp}", flush=True)
    results.elapsed = time.monotonic() - started
    args.out_dir.mkdir(parents=True, exist_ok=True)
    markdown = args.out_dir / "results.md"
    markdown.write_text(render_markdown(results, existing_notes(markdown)))
    render_chart(results, args.out_dir / "results.png")
    print(f"wrote {markdown} and results.png in {results.elapsed / 60:.1f} min")
    for name, limit, value, passed in evaluate_targets(results):
        verdict = _verdict(limit, passed).strip("*").ljust(4)
        print(f"  {verdict}  {name}: {value} ({limit})")
    failures = [s for samples in results.downloads.values() for s in samples if s.error]
    return 1 if failures or results.small.error is not None else 0


def check_paced(
    results: Results, base_urls: dict[str, str], api_key: str, items: dict[int, tuple[str, str]]
) -> None:
    """The rate each paced link achieves, by curl into /dev/null (best of 3)."""
    for link in LINKS[1:]:
        # a file that lasts about half a second or more at the rate, within what exists
        fitting = [s for s in sorted(items) if s * MIB >= link.rate / 2] or [max(items)]
        size = fitting[0]
        url = f"{base_urls[link.key]}/v1/history/{items[size][0]}/audio"
        rate = server_speed(url, api_key, runs=3)
        results.paced_check[link.key] = (size, rate)
        print(f"{link.label}: curl into /dev/null, {size} MiB: {rate / 1e6:.1f} MB/s")
        if not 0.9 <= rate / link.rate <= 1.05:
            print(f"WARNING: {link.label} achieves {rate / link.rate:.1%} of its rate")


def _run(args: argparse.Namespace, nginx: str, tmp: Path) -> Results:
    """Everything that needs the server, inside the temp folder."""
    tmp.chmod(0o755)  # nginx's worker runs as an unprivileged user and must reach the data
    data, prefix, out_dir = tmp / "data", tmp / "nginx", tmp / "out"
    for folder in (data, prefix, out_dir):
        folder.mkdir(mode=0o755)
    all_sizes = sorted(set(args.sizes) | set(args.paced_sizes))
    need = (sum(all_sizes) + 2 * max(all_sizes)) * MIB
    if shutil.disk_usage(tmp).free < need * 1.1:
        raise SystemExit(f"not enough free space in {tmp}: need about {need / MIB:.0f} MiB")
    sdk = None
    sdk_source = git_state()
    if args.sdk_rev:
        sdk = tmp / "sdk"
        commit = sdk_snapshot(args.sdk_rev, sdk)
        sdk_source = f"commit {commit}, exported with `git archive` (`--sdk-rev {args.sdk_rev}`)"
    print(f"building a clean venv with the runtime dependencies only; SDK: {sdk_source}")
    clean_python = clean_venv(tmp / "venv", sdk)
    sizes = {"loopback": args.sizes, "1g": args.paced_sizes, "100m": args.paced_sizes}
    rounds = {(link, size): args.rounds for link, values in sizes.items() for size in values}
    if args.paced_sizes:
        rounds["100m", max(args.paced_sizes)] = args.slow_rounds
    results = Results(sizes, rounds, clean_python, sdk_source)
    results.machine = machine_info(nginx, tmp, sdk_source)
    items: dict[int, tuple[str, str]] = {}
    for size in all_sizes:
        item_id = f"hist_bench_{size}mib"
        print(f"creating {size} MiB test file", flush=True)
        items[size] = (item_id, make_file(data / f"{item_id}.bin", size * MIB))
    small = ("hist_bench_64kib", make_file(data / "hist_bench_64kib.bin", 64 * 1024))
    os.sync()  # the test files' own writeback must not land in the first measurements
    api_key = "bench_" + secrets.token_hex(16)
    results.floor_mib = _median([measure(["true"]) for _ in range(3)], "rss")
    with nginx_server(nginx, prefix, data, api_key) as base_urls:
        for base_url in base_urls.values():
            check_server(base_url, small[0], api_key)
        big_id = items[max(all_sizes)][0]
        url = f"{base_urls['loopback']}/v1/history/{big_id}/audio"
        results.server_speed = server_speed(url, api_key)
        speed_text = f"{results.server_speed / 1e9:.2f} GB/s"
        if results.server_speed < MIN_SERVER_SPEED:
            print(f"WARNING: curl into /dev/null only reaches {speed_text} (< 1 GB/s)", flush=True)
        else:
            print(f"unthrottled server: curl into /dev/null reaches {speed_text}", flush=True)
        check_paced(results, base_urls, api_key, items)
        run_downloads(results, base_urls, api_key, items, out_dir, args.seed)
        run_imports(results, args.import_rounds, clean_python)
        run_small_items(
            results,
            base_urls["loopback"],
            api_key,
            small,
            args.small_count,
            args.small_rounds,
            args.small_count,
        )
    return results


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # The finally blocks have run: nginx is stopped and the temporary files are gone.
        print("\ninterrupted: nginx stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)

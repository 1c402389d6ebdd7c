"""Fault injection: under each fault a download completes with exactly the right bytes or
fails with the expected typed error, after the expected number of requests, and the
destination holds either the whole new audio or exactly what it held before.

Every case runs on every backend the SDK offers: the sync client, and the async client over
httpx's own transport and over aiohttp (``DefaultAioHttpClient``), each on asyncio and on
uvloop. Every error it ends in, and every error whose body breaks off mid-read, must keep
the API key out of the whole exception chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import multidict
import pytest
import uvloop
import yarl

from breeze_blue import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncBreezeBlue,
    AuthenticationError,
    BreezeBlue,
    DefaultAioHttpClient,
    GenerationFailedError,
    IncompleteDownloadError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    asave,
    save,
)
from breeze_blue.testing import (
    TEST_API_KEY,
    ChangeValidator,
    Drop,
    ErrorReply,
    Fault,
    Hangup,
    IgnoreRange,
    Ready,
    Redirect,
    ReferenceServer,
    Stall,
    Trickle,
    failed,
    running,
)

from ._scripted import FakeClock

RELIABILITY_GUIDE = Path(__file__).parent.parent / "docs" / "guides" / "06-reliability.md"
SIZE = 1024 * 1024 + 5
OLD = b"the previous, complete file"
RANGED = "hist_ranged"  # advertises Accept-Ranges + ETag: resumable
PLAIN = "hist_plain"  # no ranges: can only restart


def html_502() -> ErrorReply:
    return ErrorReply(502, "", "", raw_body=b"<html><body>Bad gateway</body></html>")


def status(code: int, name: str, **headers: str) -> ErrorReply:
    return ErrorReply(code, name, f"{name} injected", headers)


@dataclass(frozen=True)
class Case:
    """One fault scenario."""

    name: str
    faults: tuple[Fault | ErrorReply, ...]
    requests: int
    error: type[Exception] | None = None
    item: str = RANGED
    # The Range header of each request, when it matters: a pattern, or None for no header.
    ranges: tuple[str | None, ...] = ()
    wait: bool = False
    extra: dict[str, object] = field(default_factory=dict)
    # Where aiohttp sends more requests than the SDK asks for: the fewest and most.
    aiohttp_requests: tuple[int, int] | None = None


CASES = [
    Case("no fault", (), 1),
    Case("drop mid-body, resumable", (Drop(300_000),), 2, ranges=(None, "bytes=300000-")),
    Case(
        # A reset discards what was in flight: it resumes from what actually arrived.
        "reset mid-body, resumable",
        (Drop(300_000, reset=True),),
        2,
        ranges=(None, r"bytes=[1-9]\d*-"),
    ),
    Case("drop mid-body, not resumable", (Drop(300_000),), 2, item=PLAIN, ranges=(None, None)),
    Case("reset mid-body, not resumable", (Drop(500_000, reset=True),), 2, item=PLAIN),
    Case("drop before any body byte", (Drop(0),), 2, ranges=(None, None)),
    Case(
        "drop twice, resumed twice",
        (Drop(300_000), Drop(200_000)),
        3,
        ranges=(None, "bytes=300000-", "bytes=500000-"),
    ),
    Case("drop every time", (Drop(300_000),) * 3, 3, IncompleteDownloadError),
    Case(
        "drop every time, not resumable",
        (Drop(300_000),) * 3,
        3,
        IncompleteDownloadError,
        item=PLAIN,
    ),
    Case("resume answered with the whole body", (Drop(300_000), IgnoreRange()), 2),
    Case("audio changed before the resume", (Drop(300_000), ChangeValidator()), 2),
    Case("hang up before answering", (Hangup(),), 2),
    Case(
        # aiohttp itself sends a GET once more when a reused connection is hung up on, before
        # the SDK sees an error: each of the SDK's three attempts costs one or two requests.
        "hang up every time",
        (Hangup(),) * 6,
        3,
        APIConnectionError,
        aiohttp_requests=(3, 6),
    ),
    Case("stall before the headers", (Stall(1.5, after=None),), 2),
    Case("stall mid-body", (Stall(1.5, after=100_000),), 2, ranges=(None, "bytes=100000-")),
    Case("stall every time", (Stall(1.5, after=None),) * 3, 3, APITimeoutError),
    Case("503 with Retry-After", (status(503, "SERVICE_UNAVAILABLE", **{"retry-after": "1"}),), 2),
    Case(
        "503 with retry-after-ms",
        (status(503, "SERVICE_UNAVAILABLE", **{"retry-after-ms": "100"}),),
        2,
    ),
    Case("429 with Retry-After", (status(429, "RATE_LIMITED", **{"retry-after": "2"}),), 2),
    Case(
        "429 asking for an hour",
        (status(429, "RATE_LIMITED", **{"retry-after": "3600"}),),
        1,
        RateLimitError,
    ),
    Case("500 three times", (status(500, "INTERNAL_ERROR"),) * 3, 3, InternalServerError),
    Case("HTML 502 page once", (html_502(),), 2),
    Case("HTML 502 page every time", (html_502(),) * 3, 3, InternalServerError),
    Case("504 with an empty body", (ErrorReply(504, "", "", raw_body=b""),), 2),
    Case("408 request timeout", (ErrorReply(408, "", "", raw_body=b""),), 2),
    Case("503, then a dropped body", (status(503, "SERVICE_UNAVAILABLE"), Drop(300_000)), 3),
    Case("redirect within the origin", (Redirect(f"/v1/history/{RANGED}/audio"),), 2),
    Case(
        "redirect chain of three",
        (
            Redirect(f"/v1/history/{RANGED}/audio", 301),
            Redirect(f"/v1/history/{RANGED}/audio", 307),
            Redirect(f"/v1/history/{RANGED}/audio", 308),
        ),
        4,
    ),
    Case("redirect loop", (Redirect(f"/v1/history/{RANGED}/audio"),) * 7, 6, APIError),
    Case("slow trickle", (Trickle(chunk=32 * 1024, delay=0.001),), 1),
    Case("still generating, waited for", (running("1"), running("1")), 3, wait=True),
    Case(
        "still generating, then failed",
        (running("1"), failed()),
        2,
        GenerationFailedError,
        wait=True,
    ),
    Case("not found", (status(404, "RESOURCE_NOT_FOUND"),), 1, NotFoundError),
    Case("key refused", (status(401, "UNAUTHENTICATED"),), 1, AuthenticationError),
]


@dataclass(frozen=True)
class Backend:
    """A client, the HTTP transport under it and the event loop it runs on."""

    name: str
    loop: str | None = None  # None: the sync BreezeBlue; else "asyncio" or "uvloop"
    aiohttp: bool = False  # AsyncBreezeBlue(http_client=DefaultAioHttpClient(...))


BACKENDS = [
    Backend("sync"),
    Backend("httpx-asyncio", "asyncio"),
    Backend("httpx-uvloop", "uvloop"),
    Backend("aiohttp-asyncio", "asyncio", aiohttp=True),
    Backend("aiohttp-uvloop", "uvloop", aiohttp=True),
]
TIMEOUT = 0.5  # seconds; the Stall faults last longer


def download(
    backend: Backend, base_url: str, item: str, destination: Path, *, wait: bool = False
) -> None:
    """Save ``item`` to ``destination`` with a new client of ``backend``'s kind, then close it.

    Retries and polls sleep on a fake clock: they take no real time.
    """
    clock = FakeClock()
    if backend.loop is None:
        with BreezeBlue(
            api_key=TEST_API_KEY,
            base_url=base_url,
            timeout=TIMEOUT,
            sleep=clock.sleep,
            clock=clock.time,
        ) as client:
            save(client.history.download_audio(item, wait=wait), destination)
        return

    async def run() -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, uvloop.Loop) == (backend.loop == "uvloop"), type(loop)
        # A caller's http_client keeps its own timeout, so the aiohttp client gets it.
        http = DefaultAioHttpClient(timeout=TIMEOUT) if backend.aiohttp else None
        options: dict[str, Any] = {"http_client": http} if http else {"timeout": TIMEOUT}
        try:
            async with AsyncBreezeBlue(
                api_key=TEST_API_KEY,
                base_url=base_url,
                sleep=clock.asleep,
                clock=clock.time,
                **options,
            ) as client:
                await asave(await client.history.download_audio(item, wait=wait), destination)
        finally:
            # Given to the SDK client, the DefaultAioHttpClient is closed with it.
            assert http is None or http.is_closed

    factory = uvloop.new_event_loop if backend.loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(run())


def attempt(backend: Backend, reference: ReferenceServer, case: Case, destination: Path) -> Any:
    """Run ``case`` once on ``backend``: the exception it ended in, or ``None``."""
    reference.requests.clear()
    reference.inject(case.item, *case.faults)
    try:
        download(backend, reference.url, case.item, destination, wait=case.wait)
    except Exception as exc:
        return exc
    finally:
        # Faults a case did not use up must not leak into the next one: add() forgets them.
        reference.add(case.item, reference.items[case.item])
    return None


@pytest.fixture(scope="module")
def reference() -> Iterator[ReferenceServer]:
    with ReferenceServer() as server:
        server.add(RANGED, Ready(media_type="audio/mpeg", size=SIZE, ranges=True))
        server.add(PLAIN, Ready(media_type="audio/wav", size=SIZE))
        yield server


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def by_name(things: list[Any]) -> list[str]:
    return [thing.name for thing in things]


@pytest.mark.parametrize("backend", BACKENDS, ids=by_name(BACKENDS))
@pytest.mark.parametrize("case", CASES, ids=by_name(CASES))
def test_fault(reference: ReferenceServer, tmp_path: Path, case: Case, backend: Backend) -> None:
    destination = tmp_path / "audio.bin"
    destination.write_bytes(OLD)
    error = attempt(backend, reference, case, destination)
    if case.error is None:
        if error is not None:
            raise AssertionError(f"expected the whole audio, got {error!r}") from error
        item = reference.items[case.item]
        assert isinstance(item, Ready)
        assert sha256_of(destination) == item.sha256(case.item)
    else:
        # The class itself, not a subclass: a hang-up reported as a timeout misleads.
        if type(error) is not case.error:
            raise AssertionError(f"expected {case.error.__name__}, got {error!r}") from error
        assert destination.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["audio.bin"], "a temporary file was left behind"
    if backend.aiohttp and case.aiohttp_requests is not None:
        fewest, most = case.aiohttp_requests
        assert fewest <= len(reference.requests) <= most
    else:
        assert len(reference.requests) == case.requests
    for request, expected in zip(reference.requests, case.ranges, strict=False):
        sent = request.headers.get("range")
        assert range_as_expected(sent, expected, backend), (sent, expected)


def range_as_expected(sent: str | None, expected: str | None, backend: Backend) -> bool:
    """Whether a request's ``Range`` header is what the case expects on ``backend``.

    aiohttp is the one exception, and only for a resume: when it learns the connection was
    cut, it raises at once and throws away the body bytes it had received but not yet
    handed over (its StreamReader raises before returning its buffer). The SDK can only
    resume from the bytes it was given, so under aiohttp a resume starts at or before the
    byte where the server cut, or, when nothing was handed over, the download starts over
    (no ``Range``). The saved file's SHA-256 is checked either way.
    """
    if expected is None:
        return sent is None
    if sent is not None and re.fullmatch(expected, sent):
        return True
    if not backend.aiohttp:
        return False
    if sent is None:
        return True
    cut, resumed = re.fullmatch(r"bytes=(\d+)-", expected), re.fullmatch(r"bytes=(\d+)-", sent)
    return bool(cut and resumed) and 0 < int(resumed[1]) <= int(cut[1])


# -- The API key stays out of every error ---------------------------------------------------


def _texts(value: object) -> Iterator[tuple[str, str]]:
    """What printing, logging or inspecting ``value`` shows: its str, repr and headers."""
    yield "str", str(value)
    yield "repr", repr(value)
    headers = getattr(value, "headers", None)
    if headers is not None:
        yield "headers", repr(headers)
        yield "headers.items", repr(list(headers.items()))


def _attribute(value: object, name: str) -> object:
    try:
        return getattr(value, name, None)
    except RuntimeError:  # httpx: "The .request property has not been set."
        return None


def key_sightings(error: BaseException, key: str = TEST_API_KEY) -> list[str]:
    """Everywhere ``key`` shows in ``error`` and the exceptions reachable from it.

    Follows ``__cause__``, ``__context__`` (and an exception group's members), each exception
    once; looks at its str, repr, args and headers, and those of its ``request``,
    ``response`` (and the response's request) and aiohttp's ``request_info``.
    """
    sightings: list[str] = []
    seen: set[int] = set()
    pending: list[tuple[str, BaseException]] = [("error", error)]
    while pending:
        path, exc = pending.pop(0)  # breadth first: a cause is named as the cause
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        places = [*_texts(exc), ("args", repr(exc.args))]
        for name in ("request", "response", "request_info"):
            value = _attribute(exc, name)
            if value is None:
                continue
            places += [(f"{name}.{label}", text) for label, text in _texts(value)]
            inner = _attribute(value, "request") if name == "response" else None
            if inner is not None:
                places += [(f"{name}.request.{label}", text) for label, text in _texts(inner)]
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        sightings += [f"{path} ({kind}) {label}" for label, text in places if key in text]
        for link in ("__cause__", "__context__"):
            linked = getattr(exc, link)
            if linked is not None:
                pending.append((f"{path}.{link}", linked))
        for index, member in enumerate(getattr(exc, "exceptions", None) or ()):
            if isinstance(member, BaseException):
                pending.append((f"{path}.exceptions[{index}]", member))
    return sightings


def test_the_key_search_finds_a_key_anywhere_in_a_chain() -> None:
    """The check below could fail: a key on a chained httpx exception's request is seen."""
    keyed = httpx.Request("GET", "http://127.0.0.1/", headers={"xi-api-key": TEST_API_KEY})
    cause = httpx.ReadError("peer closed", request=keyed)
    outer = APIConnectionError("Connection error.")
    outer.__cause__ = cause
    cause.__context__ = outer  # a cycle: walked once
    assert key_sightings(outer) == [
        "error.__cause__ (httpx.ReadError) request.headers",
        "error.__cause__ (httpx.ReadError) request.headers.items",
    ]
    plain = httpx.Request("GET", "http://127.0.0.1/")
    status = httpx.HTTPStatusError(
        "500", request=plain, response=httpx.Response(500, request=keyed)
    )
    assert key_sightings(status) == [
        "error (httpx.HTTPStatusError) response.request.headers",
        "error (httpx.HTTPStatusError) response.request.headers.items",
    ]
    url = yarl.URL("http://127.0.0.1/")
    headers = multidict.CIMultiDictProxy(multidict.CIMultiDict({"xi-api-key": TEST_API_KEY}))
    aiohttp_error = aiohttp.ClientResponseError(
        aiohttp.RequestInfo(url, "GET", headers, url), (), status=500
    )
    assert "error (aiohttp.client_exceptions.ClientResponseError) request_info.headers" in (
        key_sightings(aiohttp_error)
    )
    assert key_sightings(IncompleteDownloadError(1, 2)) == []


ERROR_CASES = [case for case in CASES if case.error is not None]


@pytest.mark.parametrize("backend", BACKENDS, ids=by_name(BACKENDS))
@pytest.mark.parametrize("case", ERROR_CASES, ids=by_name(ERROR_CASES))
def test_the_api_key_is_nowhere_in_the_error_chain(
    reference: ReferenceServer, tmp_path: Path, case: Case, backend: Backend
) -> None:
    error = attempt(backend, reference, case, tmp_path / "audio.bin")
    assert isinstance(error, Exception), "the case did not end in an error (see test_fault)"
    assert all(request.api_key_sent for request in reference.requests)
    assert key_sightings(error) == []


class CutErrorBody:
    """A loopback server whose error answers break off mid-body.

    Each request gets ``status`` with the API's error envelope, announced whole in
    ``content-length``; only its first ``sent`` bytes follow, then the connection closes
    (``stall``: after that many seconds of silence). The reference server cannot send
    this: its faults apply to audio, and an error reply is always written whole.
    """

    def __init__(self, status: int, code: str, *, sent: int = 20, stall: float = 0.0) -> None:
        self.status, self.code, self.sent, self.stall = status, code, sent, stall
        self.requests: list[dict[str, str]] = []  # header names and values, key left out
        self.keys_sent = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, name="cut-error-body", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> CutErrorBody:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._thread.join()
        for thread in self._threads:
            thread.join()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            connection.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                data = connection.recv(4096)
                if not data:
                    return
                head += data
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
            headers = dict(line.split(":", 1) for line in lines)
            headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
            self.keys_sent += headers.pop("xi-api-key", None) is not None
            self.requests.append(headers)
            envelope = json.dumps(
                {"error": {"code": self.code, "message": "cut", "request_id": "req_cut_body"}}
            ).encode()
            connection.sendall(
                f"HTTP/1.1 {self.status} Error\r\ncontent-type: application/json\r\n"
                f"content-length: {len(envelope)}\r\n\r\n".encode()
                + envelope[: self.sent]
            )
            time.sleep(self.stall)


@dataclass(frozen=True)
class CutError:
    """An error answer whose body breaks off, and what the download must end in."""

    name: str
    status: int
    code: str
    error: type[Exception]
    requests: int
    stall: float = 0.0


CUT_ERRORS = [
    CutError("404 body cut", 404, "RESOURCE_NOT_FOUND", NotFoundError, 1),
    CutError("503 body cut every time", 503, "SERVICE_UNAVAILABLE", InternalServerError, 3),
    CutError("401 body stalls", 401, "UNAUTHENTICATED", AuthenticationError, 1, stall=0.8),
]


@pytest.mark.parametrize("backend", BACKENDS, ids=by_name(BACKENDS))
@pytest.mark.parametrize("cut", CUT_ERRORS, ids=by_name(CUT_ERRORS))
def test_an_error_body_cut_short_keeps_the_key_out_too(
    tmp_path: Path, cut: CutError, backend: Backend
) -> None:
    destination = tmp_path / "audio.bin"
    destination.write_bytes(OLD)
    with CutErrorBody(cut.status, cut.code, stall=cut.stall) as server:
        with pytest.raises(cut.error) as raised:
            download(backend, server.url, RANGED, destination)
        assert type(raised.value) is cut.error
        # What arrived of the envelope is not enough to read: the status decides.
        assert raised.value.request_id is None  # type: ignore[attr-defined]
        assert len(server.requests) == server.keys_sent == cut.requests
    assert destination.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["audio.bin"]
    assert key_sightings(raised.value) == []


def test_the_reliability_guide_reports_this_suite() -> None:
    survived = sum(case.error is None for case in CASES)
    typed = len(CASES) - survived
    row = re.search(
        r"\| faults tried \| survived \| typed error \| bytes lost \|\n\|[-| ]+\|\n(.+)\n",
        RELIABILITY_GUIDE.read_text(encoding="utf-8"),
    )
    assert row, "the reliability guide has no fault summary table"
    assert [cell.strip() for cell in row[1].strip("|").split("|")] == [
        str(len(CASES)),
        str(survived),
        str(typed),
        "0",
    ]
    assert len(CASES) >= 25

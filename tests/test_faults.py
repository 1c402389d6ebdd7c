"""Fault injection: under each fault a download completes with exactly the right bytes or
fails with the expected typed error, after the expected number of requests, and the
destination holds either the whole new audio or exactly what it held before."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from breeze_blue import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncBreezeBlue,
    AuthenticationError,
    BreezeBlue,
    GenerationFailedError,
    IncompleteDownloadError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
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

from ._scripted import FakeClock, fetch

README = Path(__file__).parent.parent / "README.md"
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
    Case("hang up every time", (Hangup(),) * 3, 3, APIConnectionError),
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


@pytest.fixture(scope="module")
def reference() -> Iterator[ReferenceServer]:
    with ReferenceServer() as server:
        server.add(RANGED, Ready(media_type="audio/mpeg", size=SIZE, ranges=True))
        server.add(PLAIN, Ready(media_type="audio/wav", size=SIZE))
        yield server


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault(reference: ReferenceServer, tmp_path: Path, case: Case, kind: str) -> None:
    reference.requests.clear()
    reference.inject(case.item, *case.faults)
    clock = FakeClock()
    destination = tmp_path / "audio.bin"
    destination.write_bytes(OLD)
    options: dict[str, Any] = {"api_key": TEST_API_KEY, "base_url": reference.url, "timeout": 0.5}
    client: Any = (
        BreezeBlue(**options, sleep=clock.sleep, clock=clock.time)
        if kind == "sync"
        else AsyncBreezeBlue(**options, sleep=clock.asleep, clock=clock.time)
    )
    try:
        if case.error is None:
            fetch(kind, client, case.item, wait=case.wait, dest=destination)
            item = reference.items[case.item]
            assert isinstance(item, Ready)
            assert sha256_of(destination) == item.sha256(case.item)
        else:
            with pytest.raises(case.error):
                fetch(kind, client, case.item, wait=case.wait, dest=destination)
            assert destination.read_bytes() == OLD
    finally:
        if kind == "sync":
            client.close()
        # Faults a case did not use up must not leak into the next one.
        reference._faults.pop(case.item, None)
    assert os.listdir(tmp_path) == ["audio.bin"], "a temporary file was left behind"
    assert len(reference.requests) == case.requests
    for request, expected in zip(reference.requests, case.ranges, strict=False):
        sent = request.headers.get("range")
        assert sent is None if expected is None else re.fullmatch(expected, sent or ""), sent


def test_the_readme_reports_this_suite() -> None:
    survived = sum(case.error is None for case in CASES)
    typed = len(CASES) - survived
    row = re.search(
        r"\| faults tried \| survived \| typed error \| bytes lost \|\n\|[-| ]+\|\n(.+)\n",
        README.read_text(),
    )
    assert row, "the README's reliability section has no fault summary table"
    assert [cell.strip() for cell in row[1].strip("|").split("|")] == [
        str(len(CASES)),
        str(survived),
        str(typed),
        "0",
    ]
    assert len(CASES) >= 25

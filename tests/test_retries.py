"""Retries: which failures are retried, and exactly how long the client waits before each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from breeze_blue import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    GenerationFailedError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)

from ._scripted import FakeClock, audio, error, fetch, scripted

START = FakeClock().now


def http_date(offset: float) -> str:
    return format_datetime(datetime.fromtimestamp(START + offset, UTC), usegmt=True)


def unavailable(**headers: str) -> httpx.Response:
    return error(503, "SERVICE_UNAVAILABLE", headers)


# (case, headers on each 503, expected sleeps with max_retries=2 and no jitter)
DELAY_TABLE = [
    ("no header: backoff 0.5 s doubling", {}, [0.5, 1.0]),
    ("Retry-After seconds", {"retry-after": "2"}, [2.0, 2.0]),
    ("Retry-After decimal seconds", {"retry-after": "1.5"}, [1.5, 1.5]),
    ("Retry-After zero", {"retry-after": "0"}, [0.0, 0.0]),
    # The same absolute date on both answers: reached after the first wait.
    ("Retry-After HTTP-date", {"retry-after": http_date(5)}, [5.0, 0.0]),
    ("Retry-After date in the past", {"retry-after": http_date(-3600)}, [0.0, 0.0]),
    ("retry-after-ms", {"retry-after-ms": "250"}, [0.25, 0.25]),
    ("retry-after-ms wins", {"retry-after-ms": "250", "retry-after": "9"}, [0.25, 0.25]),
    (
        "bad retry-after-ms, good Retry-After",
        {"retry-after-ms": "soon", "retry-after": "3"},
        [3.0, 3.0],
    ),
    ("negative retry-after-ms", {"retry-after-ms": "-1"}, [0.5, 1.0]),
    ("retry-after-ms inf", {"retry-after-ms": "inf"}, [0.5, 1.0]),
    ("retry-after-ms nan", {"retry-after-ms": "nan"}, [0.5, 1.0]),
    ("negative Retry-After", {"retry-after": "-5"}, [0.5, 1.0]),
    ("Retry-After inf", {"retry-after": "inf"}, [0.5, 1.0]),
    ("Retry-After nan", {"retry-after": "nan"}, [0.5, 1.0]),
    ("Retry-After exponent", {"retry-after": "1e400"}, [0.5, 1.0]),
    ("Retry-After year 100000", {"retry-after": "Fri, 01 Jan 100000 00:00:00 GMT"}, [0.5, 1.0]),
    ("Retry-After garbage", {"retry-after": "in a bit"}, [0.5, 1.0]),
    ("Retry-After empty", {"retry-after": ""}, [0.5, 1.0]),
    ("Retry-After at the cap", {"retry-after": "60"}, [60.0, 60.0]),
]


@pytest.mark.parametrize(
    ("case", "headers", "sleeps"), DELAY_TABLE, ids=[r[0] for r in DELAY_TABLE]
)
def test_delays_before_each_retry(
    kind: str, clock: FakeClock, case: str, headers: dict[str, str], sleeps: list[float]
) -> None:
    client, script = scripted(kind, [unavailable(**headers)] * 3, clock)
    with pytest.raises(InternalServerError):
        fetch(kind, client, "hist_1")
    assert clock.sleeps == pytest.approx(sleeps, abs=1e-6)
    assert len(script.requests) == 3


@pytest.mark.parametrize("retry_after", ["61", "3600", "99999999", http_date(86400 * 7)])
def test_a_retry_after_beyond_the_cap_is_raised_at_once(
    kind: str, clock: FakeClock, retry_after: str
) -> None:
    client, script = scripted(
        kind, [error(429, "RATE_LIMITED", {"retry-after": retry_after})], clock
    )
    with pytest.raises(RateLimitError) as caught:
        fetch(kind, client, "hist_1")
    assert clock.sleeps == []
    assert len(script.requests) == 1
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 60


@pytest.mark.parametrize(
    ("max_retries", "sleeps"),
    [
        (0, []),
        (1, [0.5]),
        (5, [0.5, 1.0, 2.0, 4.0, 8.0]),
        (7, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]),
    ],
)
def test_backoff_doubles_up_to_its_cap(
    kind: str, clock: FakeClock, max_retries: int, sleeps: list[float]
) -> None:
    client, script = scripted(
        kind, [unavailable()] * (max_retries + 1), clock, max_retries=max_retries
    )
    with pytest.raises(InternalServerError):
        fetch(kind, client, "hist_1")
    assert clock.sleeps == sleeps
    assert len(script.requests) == max_retries + 1


def test_jitter_shortens_backoff_by_up_to_a_quarter(kind: str, clock: FakeClock) -> None:
    client, _ = scripted(kind, [unavailable()] * 3, clock, jitter=0.999999)
    with pytest.raises(InternalServerError):
        fetch(kind, client, "hist_1")
    assert clock.sleeps == pytest.approx([0.375, 0.75], abs=1e-5)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (408, None),
        (429, "RATE_LIMITED"),
        (500, "INTERNAL_ERROR"),
        (502, None),
        (503, "SERVICE_UNAVAILABLE"),
        (504, None),
    ],
)
def test_retried_statuses_then_success(
    kind: str, clock: FakeClock, status: int, code: str | None
) -> None:
    client, script = scripted(kind, [error(status, code), error(status, code), audio()], clock)
    assert fetch(kind, client, "hist_1") == b"ID3 scripted audio"
    assert len(script.requests) == 3
    assert clock.sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "INVALID_REQUEST", BadRequestError),
        (401, "UNAUTHENTICATED", AuthenticationError),
        (403, "PERMISSION_DENIED", PermissionDeniedError),
        (404, "RESOURCE_NOT_FOUND", NotFoundError),
        (422, "GENERATION_FAILED", GenerationFailedError),
        (418, None, APIError),
        (409, "GENERATION_NOT_READY", APIError),
        (501, "NOT_IMPLEMENTED", InternalServerError),
    ],
)
def test_never_retried(
    kind: str, clock: FakeClock, status: int, code: str | None, error_class: type[APIError]
) -> None:
    client, script = scripted(kind, [error(status, code, {"retry-after": "1"})], clock)
    with pytest.raises(error_class):
        fetch(kind, client, "hist_1")
    assert len(script.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.RemoteProtocolError("server hung up"), APIConnectionError),
        (httpx.ReadError("reset"), APIConnectionError),
        (httpx.ConnectTimeout("no answer"), APITimeoutError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
    ],
)
def test_connection_failures_are_retried_then_typed(
    kind: str, clock: FakeClock, failure: Exception, error_class: type[Exception]
) -> None:
    client, script = scripted(kind, [failure] * 3, clock)
    with pytest.raises(error_class) as caught:
        fetch(kind, client, "hist_1")
    assert len(script.requests) == 3
    assert clock.sleeps == [0.5, 1.0]
    assert caught.value.__cause__ is failure


def test_a_connection_failure_then_success(kind: str, clock: FakeClock) -> None:
    client, script = scripted(kind, [httpx.ConnectError("refused"), audio()], clock)
    assert fetch(kind, client, "hist_1") == b"ID3 scripted audio"
    assert len(script.requests) == 2


def test_a_clean_answer_does_not_reset_the_budget_between_transient_failures(
    kind: str,
    clock: FakeClock,
) -> None:
    # 503, connection error, 503: three failures, max_retries=2: the third is raised.
    client, script = scripted(
        kind, [unavailable(), httpx.ConnectError("refused"), unavailable(), audio()], clock
    )
    with pytest.raises(InternalServerError):
        fetch(kind, client, "hist_1")
    assert len(script.requests) == 3


def test_with_options_changes_retries_and_shares_the_pool(kind: str, clock: FakeClock) -> None:
    client, script = scripted(kind, [unavailable()] * 5, clock)
    patient = client.with_options(max_retries=4)
    assert patient.max_retries == 4
    assert client.max_retries == 2
    assert patient._http is client._http
    # Closing the copy leaves the shared pool open.
    if kind == "sync":
        patient.close()
    else:
        asyncio.run(patient.aclose())
    assert not client._http.is_closed
    with pytest.raises(InternalServerError):
        fetch(kind, patient, "hist_1")
    assert len(script.requests) == 5


@pytest.mark.parametrize("bad", [-1, 1.5, "2", None, True])
def test_max_retries_must_be_a_whole_number(kind: str, bad: object) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        scripted(kind, [], FakeClock(), max_retries=bad)

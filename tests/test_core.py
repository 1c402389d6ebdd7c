"""The sans-I/O core driven by hand, step by step: no client, no socket, no clock.

``download_flow`` asks for I/O (Send, Sleep, ReadBody) and is answered here directly;
``Recovery`` is asked what a broken download's retried answer means.
"""

from __future__ import annotations

import json

import httpx
import pytest

from breeze_blue import (
    APIConnectionError,
    APIError,
    GenerationNotReadyError,
    IncompleteDownloadError,
    NotFoundError,
)
from breeze_blue._core.flow import Flow, ReadBody, RetryPolicy, Send, Settings, Sleep, download_flow
from breeze_blue._core.resume import Recovery

KEY = "bb_core_5e1d"
BASE = httpx.URL("https://api.breeze.blue")


def settings(max_retries: int = 2, now: list[float] | None = None) -> Settings:
    clock = now if now is not None else [0.0]
    return Settings(
        base_url=BASE,
        api_key=KEY,
        headers={"accept": "audio/*"},
        timeout=None,
        policy=RetryPolicy(max_retries=max_retries, random=lambda: 0.0),
        clock=lambda: clock[0],
    )


def build(method: str, url: httpx.URL, *, headers: object, timeout: object) -> httpx.Request:
    return httpx.Request(method, url, headers=headers)  # type: ignore[arg-type]


def answer(
    request: httpx.Request, status: int, body: bytes = b"", **headers: str
) -> httpx.Response:
    return httpx.Response(status, headers=headers, content=body, request=request)


def envelope(code: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": "m", "request_id": "req_1"}}).encode()


def sent(action: object) -> httpx.Request:
    assert isinstance(action, Send), action
    return action.request


def finish(flow: Flow, reply: httpx.Response) -> httpx.Response:
    with pytest.raises(StopIteration) as done:
        flow.send(reply)
    result: httpx.Response = done.value.value
    return result


def test_the_first_step_is_the_request_with_the_key() -> None:
    flow = download_flow(build, settings(), "hist/1")
    request = sent(next(flow))
    assert request.method == "GET"
    assert request.url.raw_path == b"/v1/history/hist%2F1/audio"
    assert request.headers["xi-api-key"] == KEY
    ok = answer(request, 200, b"ID3", **{"content-type": "audio/mpeg"})
    assert finish(flow, ok) is ok


def test_a_503_is_read_slept_on_as_asked_then_sent_again() -> None:
    flow = download_flow(build, settings(), "hist_1")
    request = sent(next(flow))
    busy = answer(request, 503, envelope("SERVICE_UNAVAILABLE"), **{"retry-after": "2"})
    read = flow.send(busy)
    assert isinstance(read, ReadBody)
    assert read.response is busy
    sleep = flow.send(envelope("SERVICE_UNAVAILABLE"))
    assert isinstance(sleep, Sleep)
    assert sleep.seconds == 2.0
    again = sent(flow.send(None))
    assert again.url == request.url
    ok = answer(again, 200, b"x")
    assert finish(flow, ok) is ok


def test_connection_errors_back_off_then_raise_typed_and_keyless() -> None:
    flow = download_flow(build, settings(max_retries=1), "hist_1")
    request = sent(next(flow))
    sleep = flow.send(httpx.ConnectError("refused", request=request))
    assert isinstance(sleep, Sleep)
    assert sleep.seconds == 0.5  # the first backoff, no jitter
    request = sent(flow.send(None))
    failure = httpx.ConnectError("refused", request=request)
    with pytest.raises(APIConnectionError) as raised:
        flow.send(failure)
    assert raised.value.request is not None
    assert KEY not in str(raised.value.request.headers)
    assert KEY not in str(failure.request.headers)  # the chained httpx error's too


def test_a_404_is_raised_at_once() -> None:
    flow = download_flow(build, settings(), "hist_1")
    request = sent(next(flow))
    assert isinstance(flow.send(answer(request, 404)), ReadBody)
    with pytest.raises(NotFoundError) as raised:
        flow.send(envelope("RESOURCE_NOT_FOUND"))
    assert raised.value.request_id == "req_1"


def test_waiting_polls_until_the_deadline() -> None:
    now = [0.0]
    flow = download_flow(build, settings(now=now), "hist_1", wait=True, wait_timeout=3.0)
    request = sent(next(flow))
    for _ in range(3):
        assert isinstance(flow.send(answer(request, 409, **{"retry-after": "1"})), ReadBody)
        sleep = flow.send(envelope("GENERATION_NOT_READY"))
        assert isinstance(sleep, Sleep)
        assert sleep.seconds == 1.0
        now[0] += sleep.seconds
        request = sent(flow.send(None))
    assert isinstance(flow.send(answer(request, 409, **{"retry-after": "1"})), ReadBody)
    with pytest.raises(GenerationNotReadyError) as raised:
        flow.send(envelope("GENERATION_NOT_READY"))
    assert raised.value.waited == 3.0


def test_a_part_for_the_whole_is_asked_again_then_refused() -> None:
    flow = download_flow(build, settings(max_retries=1), "hist_1")
    request = sent(next(flow))
    part = {"content-range": "bytes 1000-8191/8192"}
    assert isinstance(flow.send(answer(request, 206, b"x" * 7192, **part)), ReadBody)
    assert isinstance(flow.send(b"x" * 7192), Sleep)
    request = sent(flow.send(None))
    assert "range" not in request.headers
    assert isinstance(flow.send(answer(request, 206, b"x" * 7192, **part)), ReadBody)
    with pytest.raises(APIError, match="part") as raised:
        flow.send(b"x" * 7192)
    assert raised.value.status_code == 206


def test_a_206_to_a_range_request_is_the_answer() -> None:
    flow = download_flow(build, settings(), "hist_1", extra_headers={"range": "bytes=10-"})
    request = sent(next(flow))
    assert request.headers["range"] == "bytes=10-"
    ok = answer(request, 206, b"rest", **{"content-range": "bytes 10-13/14"})
    assert finish(flow, ok) is ok


def test_a_redirect_elsewhere_does_not_carry_the_key() -> None:
    flow = download_flow(build, settings(), "hist_1")
    request = sent(next(flow))
    moved = answer(request, 302, location="https://cdn.example/audio.mp3")
    assert isinstance(flow.send(moved), ReadBody)
    elsewhere = sent(flow.send(b""))
    assert elsewhere.url.host == "cdn.example"
    assert "xi-api-key" not in elsewhere.headers


# -- Recovery --------------------------------------------------------------------------------

RESUMABLE = httpx.Headers({"accept-ranges": "bytes", "etag": '"v1"', "content-length": "100"})


def recovery(*, restartable: bool = True, max_retries: int = 2) -> Recovery:
    return Recovery(
        RESUMABLE, max_retries=max_retries, restartable=restartable, history_item_id="hist_1"
    )


def reply(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


BROKEN = IncompleteDownloadError(40, 100)


def test_recovery_asks_for_the_rest_and_appends_it() -> None:
    steps = recovery()
    asked = steps.ask(40, BROKEN)
    assert asked == {"range": "bytes=40-", "if-range": '"v1"'}
    rest = reply(206, **{"content-range": "bytes 40-99/100", "etag": '"v1"'})
    assert steps.judge(asked, rest, 40, BROKEN) == "resume"


def test_recovery_starts_over_on_the_whole_audio() -> None:
    steps = recovery()
    asked = steps.ask(40, BROKEN)
    assert steps.judge(asked, reply(200), 40, BROKEN) == "restart"


def test_recovery_asks_for_the_whole_when_the_part_is_of_another_version() -> None:
    steps = recovery()
    asked = steps.ask(40, BROKEN)
    other = reply(206, **{"content-range": "bytes 40-99/100", "etag": '"v2"'})
    assert steps.judge(asked, other, 40, BROKEN) == "ask again"
    assert steps.ask(0, BROKEN) == {}  # the whole audio
    assert steps.judge({}, reply(200), 0, BROKEN) == "restart"
    with pytest.raises(IncompleteDownloadError):
        steps.ask(0, BROKEN)  # two retries spent


def test_recovery_gives_up_where_only_a_restart_would_help_an_unrestartable_sink() -> None:
    steps = recovery(restartable=False)
    asked = steps.ask(40, BROKEN)
    with pytest.raises(IncompleteDownloadError):
        steps.judge(asked, reply(200), 40, BROKEN)


def test_recovery_does_not_ask_for_what_an_unrestartable_sink_cannot_use() -> None:
    steps = Recovery(
        httpx.Headers({"content-length": "100"}),  # no ranges: only a restart could help
        max_retries=2,
        restartable=False,
        history_item_id="hist_1",
    )
    with pytest.raises(IncompleteDownloadError):
        steps.ask(40, BROKEN)
    assert steps.retries == 0


def test_recovery_without_retries_raises_the_break_itself() -> None:
    with pytest.raises(IncompleteDownloadError) as raised:
        recovery(max_retries=0).ask(40, BROKEN)
    assert raised.value is BROKEN

"""Waiting for a running generation, redirects and where the API key may go, logging."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from breeze_blue import (
    APIError,
    BreezeBlue,
    BreezeBlueError,
    GenerationFailedError,
    GenerationNotReadyError,
    InternalServerError,
    save,
)
from breeze_blue.testing import TEST_API_KEY, Ready, Redirect, ReferenceServer, failed, running

from ._scripted import KEY, FakeClock, audio, error, fetch, scripted, scripted_client


def not_ready(retry_after: str | None = None) -> httpx.Response:
    headers = {} if retry_after is None else {"retry-after": retry_after}
    return error(409, "GENERATION_NOT_READY", headers)


# --- wait=True ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "sleeps"),
    [
        ("2", [2.0, 2.0]),
        (None, [1.0, 1.0]),  # no header: about a second
        ("0", [0.1, 0.1]),  # never a busy loop
        ("600", [30.0, 30.0]),  # never longer than 30 s between polls
        ("soon", [1.0, 1.0]),
    ],
)
def test_wait_polls_as_retry_after_says(
    kind: str, clock: FakeClock, retry_after: str | None, sleeps: list[float]
) -> None:
    client, script = scripted(kind, [not_ready(retry_after)] * 2 + [audio()], clock)
    assert fetch(kind, client, "hist_1", wait=True) == b"ID3 scripted audio"
    assert clock.sleeps == sleeps
    assert len(script.requests) == 3


def test_without_wait_not_ready_is_raised_at_once(clock: FakeClock) -> None:
    client, script = scripted_client([not_ready("2")], clock)
    with pytest.raises(GenerationNotReadyError) as caught:
        client.history.download_audio("hist_1")
    assert caught.value.retry_after == 2.0
    assert len(script.requests) == 1


def test_wait_gives_up_at_the_timeout(kind: str, clock: FakeClock) -> None:
    client, script = scripted(kind, [not_ready("4")] * 10, clock)
    with pytest.raises(GenerationNotReadyError) as caught:
        fetch(kind, client, "hist_1", wait=True, wait_timeout=10)
    # Polls at 0, 4, 8 and a last one at 10 (the deadline), then it gives up.
    assert clock.sleeps == [4.0, 4.0, 2.0]
    assert len(script.requests) == 4
    assert caught.value.waited == pytest.approx(10.0)
    assert caught.value.polls == 3
    assert caught.value.retry_after == 4.0


def test_a_failed_generation_stops_the_wait(kind: str, clock: FakeClock) -> None:
    client, script = scripted(
        kind, [not_ready("1"), error(422, "GENERATION_FAILED"), audio()], clock
    )
    with pytest.raises(GenerationFailedError):
        fetch(kind, client, "hist_1", wait=True)
    assert len(script.requests) == 2


def test_transient_failures_while_waiting_are_retried(kind: str, clock: FakeClock) -> None:
    client, script = scripted(
        kind, [not_ready("1"), error(503, "SERVICE_UNAVAILABLE"), not_ready("1"), audio()], clock
    )
    assert fetch(kind, client, "hist_1", wait=True)
    assert clock.sleeps == [1.0, 0.5, 1.0]
    assert len(script.requests) == 4


def test_polls_are_logged_at_info(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = scripted_client([not_ready("1"), audio()], clock)
    with caplog.at_level(logging.INFO, logger="breeze_blue"):
        client.history.download_audio("hist_1", wait=True).read()
    assert any("still generating" in r.getMessage() for r in caplog.records)


def test_wait_against_the_reference_server(server: ReferenceServer, client: BreezeBlue) -> None:
    server.add("hist_soon", Ready(media_type="audio/wav", body=b"RIFF done"))
    server.inject("hist_soon", running("3"), running("3"))
    assert client.history.download_audio("hist_soon", wait=True).read() == b"RIFF done"
    assert [r.history_item_id for r in server.requests] == ["hist_soon"] * 3
    server.add("hist_doomed", failed())
    with pytest.raises(GenerationFailedError):
        client.history.download_audio("hist_doomed", wait=True)


@pytest.mark.parametrize("bad", [-1, float("nan"), "10"])
def test_wait_timeout_must_be_a_number(clock: FakeClock, bad: object) -> None:
    client, script = scripted_client([], clock)
    with pytest.raises((TypeError, ValueError), match="wait_timeout"):
        client.history.download_audio("hist_1", wait=True, wait_timeout=bad)  # type: ignore[arg-type]
    assert script.requests == []


# --- redirects and the key ------------------------------------------------------------


def redirect(location: str, status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"location": location})


@pytest.mark.parametrize(
    ("location", "key_sent"),
    [
        ("/cdn/hist_1.mp3", True),  # same origin, relative
        ("https://api.breeze.blue/cdn/hist_1.mp3", True),  # same origin, absolute
        ("https://api.breeze.blue:443/cdn/hist_1.mp3", True),  # default port spelled out
        ("https://cdn.breeze.blue/hist_1.mp3", False),  # another host
        ("https://api.breeze.blue:8443/hist_1.mp3", False),  # another port
        ("http://api.breeze.blue/hist_1.mp3", False),  # https -> http downgrade
        ("https://API.BREEZE.BLUE/cdn/hist_1.mp3", True),  # host names are case-insensitive
    ],
)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_the_key_follows_redirects_only_within_the_origin(
    kind: str, clock: FakeClock, location: str, key_sent: bool, status: int
) -> None:
    client, script = scripted(kind, [redirect(location, status), audio()], clock)
    assert fetch(kind, client, "hist_1") == b"ID3 scripted audio"
    first, second = script.requests
    assert first.headers["xi-api-key"] == KEY
    assert ("xi-api-key" in second.headers) is key_sent
    assert second.method == "GET"


def test_the_key_comes_back_when_a_redirect_returns_to_the_origin(
    kind: str, clock: FakeClock
) -> None:
    client, script = scripted(
        kind,
        [redirect("https://cdn.example/a"), redirect("https://api.breeze.blue/b"), audio()],
        clock,
    )
    fetch(kind, client, "hist_1")
    assert ["xi-api-key" in r.headers for r in script.requests] == [True, False, True]


def test_redirect_loops_stop(kind: str, clock: FakeClock) -> None:
    client, script = scripted(kind, [redirect("/again")] * 10, clock)
    with pytest.raises(APIError, match="redirects"):
        fetch(kind, client, "hist_1")
    assert len(script.requests) == 6  # the first and five redirects


@pytest.mark.parametrize(
    "location", ["ftp://files.example/a.mp3", "file:///etc/passwd", "mailto:ops@example.com"]
)
def test_redirects_to_non_http_places_are_refused(clock: FakeClock, location: str) -> None:
    client, script = scripted_client([redirect(location)], clock)
    with pytest.raises(BreezeBlueError, match="redirect"):
        client.history.download_audio("hist_1")
    assert len(script.requests) == 1


def test_a_redirect_to_another_loopback_port_gets_no_key(tmp_path: object) -> None:
    with (
        ReferenceServer() as origin,
        ReferenceServer(require_key=False, api_keys=()) as cdn,
    ):
        cdn.add("hist_cdn", Ready(media_type="audio/flac", size=300_000))
        origin.inject("hist_cdn", Redirect(f"{cdn.url}/v1/history/hist_cdn/audio", 307))
        client = BreezeBlue(api_key=TEST_API_KEY, base_url=origin.url)
        body = client.history.download_audio("hist_cdn").read()
        item = cdn.items["hist_cdn"]
        assert isinstance(item, Ready)
        assert len(body) == 300_000
        (to_origin,) = origin.requests
        (to_cdn,) = cdn.requests
        assert to_origin.api_key_sent
        assert not to_cdn.api_key_sent
        client.close()


def test_a_users_client_that_follows_redirects_still_protects_the_key(clock: FakeClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.breeze.blue":
            return redirect("https://evil.example/steal")
        return audio()

    http = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    client = BreezeBlue(api_key=KEY, http_client=http, sleep=clock.sleep, clock=clock.time)
    client.history.download_audio("hist_1").read()
    assert [r.url.host for r in seen] == ["api.breeze.blue", "evil.example"]
    assert "xi-api-key" not in seen[1].headers
    assert http.follow_redirects is True


# --- plain http -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://api.breeze.blue", "http://10.0.0.5:8080", "http://example.com"]
)
def test_the_key_is_not_sent_in_clear_text_beyond_this_machine(url: str) -> None:
    with pytest.raises(ValueError, match="allow_insecure_http"):
        BreezeBlue(api_key=KEY, base_url=url)
    assert BreezeBlue(api_key=KEY, base_url=url, allow_insecure_http=True).base_url.scheme == "http"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9"])
def test_plain_http_to_this_machine_is_fine(url: str) -> None:
    assert BreezeBlue(api_key=KEY, base_url=url).base_url.scheme == "http"


# --- logging never shows the key ------------------------------------------------------


def test_a_failing_retried_redirected_download_never_shows_the_key(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, tmp_path: object
) -> None:
    client, script = scripted_client(
        [
            httpx.ConnectError("refused"),
            error(503, "SERVICE_UNAVAILABLE", {"retry-after": "1"}),
            redirect("https://cdn.example/a.mp3"),
            audio(),
        ],
        clock,
    )
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="breeze_blue"):
        client.history.download_audio("hist_1").read()
        failing, _ = scripted_client([error(500, "INTERNAL_ERROR")] * 3, clock)
        with pytest.raises(InternalServerError) as caught:
            failing.history.download_audio("hist_1")
        broken, _ = scripted_client([httpx.ConnectError("refused")] * 3, clock)
        with pytest.raises(Exception) as connection:  # noqa: PT011 (its class is checked elsewhere)
            broken.history.download_audio("hist_1")
    for err in (caught.value, connection.value):
        texts += [str(err), repr(err)]
        if getattr(err, "request", None) is not None:
            texts += [
                repr(err.request.headers),
                str(err.request.headers),
                str(dict(err.request.headers)),
            ]
        cause = err.__cause__
        if cause is not None:
            texts += [str(cause), repr(cause)]
            request = getattr(cause, "request", None)
            if request is not None:
                texts += [repr(request.headers), str(dict(request.headers))]
    texts += [repr(client), str(client), caplog.text]
    assert "GET https://api.breeze.blue/v1/history/hist_1/audio" in caplog.text
    assert "retrying" in caplog.text
    assert "503" in caplog.text
    assert "cdn.example" in caplog.text
    for text in texts:
        assert KEY not in text
    assert len(script.requests) == 4


def test_breeze_log_turns_on_logging_in_a_fresh_process(server: ReferenceServer) -> None:
    code = (
        "from breeze_blue import BreezeBlue\n"
        f"c = BreezeBlue(api_key={TEST_API_KEY!r}, base_url={server.url!r})\n"
        "c.history.download_audio('hist_mpeg').read()\n"
    )
    env = {**os.environ, "BREEZE_LOG": "debug"}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "GET http://127.0.0.1" in run.stderr
    assert "200 OK" in run.stderr
    assert "content-type: audio/mpeg" in run.stderr
    assert TEST_API_KEY not in run.stderr
    quiet = subprocess.run(
        [sys.executable, "-c", code],
        env={k: v for k, v in os.environ.items() if k != "BREEZE_LOG"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert quiet.stderr == ""


def test_save_of_a_redirected_download(
    server: ReferenceServer, client: BreezeBlue, tmp_path: object
) -> None:
    server.inject("hist_wav", Redirect("/v1/history/hist_flac/audio"))
    path = save(client.history.download_audio("hist_wav"), Path(str(tmp_path)) / "x.bin")
    item = server.items["hist_flac"]
    assert isinstance(item, Ready)
    assert path.stat().st_size == item.length

"""The reference server's rate limit: 429 RATE_LIMITED with Retry-After, as the real API sends.

Real loopback requests throughout. Where a test needs exact token arithmetic it replaces the
limiter's clock, so that a slow, shared machine cannot turn a count into a race; the others
assert counts and leave generous margins around the one real wait (one second).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from breeze_blue.testing import TEST_API_KEY, RateLimit, Ready, ReferenceServer
from breeze_blue.testing.__main__ import main
from breeze_blue.testing._limits import _Limiter

pytestmark = pytest.mark.live

# Far more than loopback's socket buffers take while the client reads nothing: the server
# stays blocked mid-body, so the request stays in flight until the test lets it go.
BIG = 16 * 1024 * 1024
SMALL = "hist_mpeg"  # in the default catalogue: 4 KiB


def audio_path(item_id: str) -> str:
    return f"/v1/history/{item_id}/audio"


def assert_rate_limited(response: httpx.Response) -> int:
    """The spec's 429: the error envelope with RATE_LIMITED and an integer Retry-After >= 1."""
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert error["message"]
    assert error["request_id"].startswith("req_")
    retry_after = response.headers["retry-after"]
    assert re.fullmatch(r"[1-9][0-9]*", retry_after), retry_after
    return int(retry_after)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@contextmanager
def held(url: str, item_id: str) -> Iterator[socket.socket]:
    """A download that reads the response headers and then nothing: it stays in flight.

    Leaving the block hangs up mid-body, as an abandoned download does.
    """
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.socket()
    # A small window keeps the server blocked even where loopback buffers are large.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    try:
        sock.settimeout(10)
        sock.connect((parts.hostname, parts.port))
        sock.sendall(
            f"GET {audio_path(item_id)} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"xi-api-key: {TEST_API_KEY}\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            received = sock.recv(4096)
            assert received, "the server closed before the headers"
            head += received
        assert head.startswith(b"HTTP/1.1 200 "), head[:100]
        yield sock
    finally:
        sock.close()


@pytest.fixture
def client() -> Iterator[Callable[[str], httpx.Client]]:
    """Keep-alive clients with the test key, for one server each; all closed afterwards."""
    with ExitStack() as stack:

        def make(base_url: str) -> httpx.Client:
            return stack.enter_context(
                httpx.Client(base_url=base_url, headers={"xi-api-key": TEST_API_KEY}, timeout=10)
            )

        yield make


def test_max_in_flight_admits_that_many_at_once_and_answers_the_rest_429() -> None:
    with ReferenceServer(rate_limit=RateLimit(max_in_flight=2)) as server, ExitStack() as stack:
        server.add("hist_slow", Ready(size=BIG))
        clients = [
            stack.enter_context(
                httpx.Client(base_url=server.url, headers={"xi-api-key": TEST_API_KEY}, timeout=10)
            )
            for _ in range(8)
        ]
        start = threading.Barrier(len(clients))

        def fire(client: httpx.Client) -> httpx.Response:
            start.wait(timeout=10)
            return client.send(client.build_request("GET", audio_path("hist_slow")), stream=True)

        with ThreadPoolExecutor(len(clients)) as pool:
            responses = list(pool.map(fire, clients))
        for response in responses:
            stack.callback(response.close)

        assert Counter(r.status_code for r in responses) == {200: 2, 429: 6}
        for response in responses:
            if response.status_code == 429:
                response.read()
                assert assert_rate_limited(response) == 1
        assert server.peak_in_flight == 2
        assert server.rate_limited == 6
        assert assert_rate_limited(clients[0].get(audio_path(SMALL))) == 1  # both still busy

        for response in responses:
            if response.status_code == 200:
                assert len(response.read()) == BIG
        # The client has the last byte a moment before the server's thread lets go.
        wait_until(lambda: server._limiter.in_flight == 0)
        assert clients[0].get(audio_path("hist_slow")).content == b"".join(
            Ready(size=BIG).chunks("hist_slow")
        )
        assert server.peak_in_flight == 2
        assert server.rate_limited == 7


def test_per_second_lets_a_burst_through_then_429_until_a_token_is_back(
    client: Callable[[str], httpx.Client],
) -> None:
    with ReferenceServer(rate_limit=RateLimit(per_second=5, burst=5)) as server:
        http = client(server.url)
        began = time.monotonic()
        statuses: list[int] = []
        while len(statuses) < 50:
            response = http.get(audio_path(SMALL))
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        elapsed = time.monotonic() - began
        # The bucket refills a token every 0.2 s: on a busy machine more than five may pass.
        assert statuses[-1] == 429
        assert statuses[:-1] == [200] * (len(statuses) - 1)
        assert len(statuses) == 6 or elapsed >= 0.2
        assert assert_rate_limited(response) == 1  # a token is at most 0.2 s away
        assert server.rate_limited == 1

        time.sleep(1.05)
        for _ in range(5):
            assert http.get(audio_path(SMALL)).status_code == 200
        assert server.peak_in_flight == 1


def test_the_token_bucket_counts_exactly_and_refusals_take_no_token(
    client: Callable[[str], httpx.Client],
) -> None:
    now = [1000.0]
    with ReferenceServer() as server:
        server._limiter.clock = lambda: now[0]
        server.rate_limit = RateLimit(per_second=5, burst=5)
        http = client(server.url)

        def statuses(count: int) -> list[int]:
            return [http.get(audio_path(SMALL)).status_code for _ in range(count)]

        assert statuses(5) == [200] * 5
        refusals = [http.get(audio_path(SMALL)) for _ in range(10)]
        assert [assert_rate_limited(r) for r in refusals] == [1] * 10
        now[0] += 0.2  # one token, however many were refused meanwhile
        assert statuses(2) == [200, 429]
        now[0] += 100  # the bucket holds five, however long it sat idle
        assert statuses(6) == [200] * 5 + [429]
        assert server.rate_limited == 12

        # The default burst is one second's worth; a slow rate asks for a longer wait.
        server.rate_limit = RateLimit(per_second=2.5)
        assert statuses(4) == [200] * 3 + [429]
        server.rate_limit = RateLimit(per_second=0.25, burst=1)
        assert statuses(1) == [200]
        assert assert_rate_limited(http.get(audio_path(SMALL))) == 4
        now[0] += 1
        assert assert_rate_limited(http.get(audio_path(SMALL))) == 3
        server.rate_limit = RateLimit(per_second=0.25, burst=1, retry_after=7)
        assert statuses(1) == [200]
        assert assert_rate_limited(http.get(audio_path(SMALL))) == 7


def test_early_requests_counts_a_request_inside_the_announced_wait_only(
    client: Callable[[str], httpx.Client],
) -> None:
    # One token every five seconds: every request after the first is refused, Retry-After 1.
    limit = RateLimit(per_second=0.2, burst=1, retry_after=1)
    with ReferenceServer(rate_limit=limit) as server:
        http = client(server.url)
        assert http.get(audio_path(SMALL)).status_code == 200
        assert assert_rate_limited(http.get(audio_path(SMALL))) == 1
        assert server.early_requests == 0

        time.sleep(0.2)  # well inside the second it announced
        assert assert_rate_limited(http.get(audio_path(SMALL))) == 1
        assert server.early_requests == 1

        time.sleep(1.1)  # the announced wait after the latest 429, and some
        http.get(audio_path(SMALL))
        assert server.early_requests == 1
        assert server.rate_limited == 3


def test_the_early_window_spares_requests_on_their_way_and_follows_the_latest_429() -> None:
    now = [0.0]
    limiter = _Limiter(RateLimit(per_second=1, burst=1), clock=lambda: now[0])

    def at(moment: float) -> None:
        now[0] = moment
        limiter.arrived()

    assert limiter.admit() is None
    limiter.release()
    assert limiter.admit() == 1  # at 0.0: the wait runs until 1.0
    at(0.01)  # sent before the client could have seen the 429
    assert limiter.early_requests == 0
    at(0.06)
    now[0] = 0.5
    assert limiter.admit() == 1  # half a token back; this wait runs until 1.5
    at(0.52)
    at(0.96)  # past the first wait, inside the second
    at(1.44)
    assert limiter.early_requests == 4
    at(1.46)  # waited (almost exactly) as told
    at(5.0)
    assert limiter.early_requests == 4
    assert limiter.rate_limited == 2
    assert limiter.in_flight == 0


def test_a_hang_up_mid_body_frees_the_in_flight_slot(
    client: Callable[[str], httpx.Client],
) -> None:
    with ReferenceServer(rate_limit=RateLimit(max_in_flight=1)) as server:
        server.add("hist_big", Ready(size=BIG))
        http = client(server.url)
        with held(server.url, "hist_big"):
            assert_rate_limited(http.get(audio_path(SMALL)))
        wait_until(lambda: server._limiter.in_flight == 0)
        response = http.get(audio_path(SMALL))
        assert response.status_code == 200
        assert len(response.content) == 4 * 1024 + 17
        assert server.peak_in_flight == 1
        assert server.rate_limited == 1


def test_401_comes_before_the_limit_and_other_routes_are_not_limited(
    client: Callable[[str], httpx.Client],
) -> None:
    with ReferenceServer(rate_limit=RateLimit(per_second=0.2, burst=1)) as server:
        http = client(server.url)
        assert http.get(audio_path(SMALL)).status_code == 200
        assert_rate_limited(http.get(audio_path(SMALL)))
        # The bucket is empty, yet a request without a valid key learns that first.
        for headers in ({"xi-api-key": ""}, {"xi-api-key": "bb_test_wrong"}):
            response = httpx.get(server.url + audio_path(SMALL), headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "UNAUTHENTICATED"
        assert http.get("/v1/history").status_code == 404
        assert http.post(audio_path(SMALL)).status_code == 405
        assert server.rate_limited == 1
        assert server.peak_in_flight == 1


def test_the_limit_can_be_set_and_lifted_on_a_running_server(
    client: Callable[[str], httpx.Client],
) -> None:
    with ReferenceServer() as server:
        assert server.rate_limit is None
        server.add("hist_big", Ready(size=BIG))
        http = client(server.url)
        with held(server.url, "hist_big"):
            assert http.get(audio_path(SMALL)).status_code == 200
            assert server.peak_in_flight == 2  # counted without a limit too
            # The download already running counts against a limit set now.
            server.rate_limit = RateLimit(max_in_flight=1)
            assert_rate_limited(http.get(audio_path(SMALL)))
            server.rate_limit = None
            assert http.get(audio_path(SMALL)).status_code == 200
        assert server.rate_limited == 1


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"max_in_flight": 0},
        {"per_second": 0},
        {"per_second": float("nan")},
        {"per_second": 1, "burst": 0},
        {"max_in_flight": 1, "burst": 2},
        {"max_in_flight": 1, "retry_after": 0},
    ],
)
def test_a_rate_limit_that_makes_no_sense_is_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        RateLimit(**arguments)  # type: ignore[arg-type]


def test_the_command_line_refuses_a_burst_without_a_rate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--burst", "3"])
    assert exited.value.code == 2
    assert "per_second" in capsys.readouterr().err


def test_the_command_line_flags_limit_and_compose_with_ranges(
    client: Callable[[str], httpx.Client],
) -> None:
    # Three tokens, the next one five seconds away: the test cannot outlast it by accident.
    flags = ["--max-in-flight", "1", "--max-per-second", "0.2", "--burst", "3", "--ranges"]
    process = subprocess.Popen(
        [sys.executable, "-m", "breeze_blue.testing", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("BREEZE_BASE_URL="), line
        url = line.removeprefix("BREEZE_BASE_URL=")
        http = client(url)
        with held(url, "hist_large"):  # token 1; 8 MiB, read by nobody
            assert assert_rate_limited(http.get(audio_path(SMALL))) == 1

        def admitted() -> bool:
            return http.get(audio_path(SMALL)).status_code == 200

        wait_until(admitted)  # token 2, once the hang-up freed the slot
        response = http.get(audio_path(SMALL))  # token 3
        assert response.status_code == 200
        assert response.headers["accept-ranges"] == "bytes"
        assert 1 <= assert_rate_limited(http.get(audio_path(SMALL))) <= 5
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

"""A client whose server is a script of answers, and whose clock only moves when it sleeps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import httpx

from breeze_blue import BreezeBlue

KEY = "bb_scripted_7f3a9c"


class FakeClock:
    """A clock that only moves when something sleeps: retries and polls take no real time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.now += seconds


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def error(
    status: int, code: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """An error answer with the API's envelope (or an empty body when ``code`` is None)."""
    if code is None:
        return httpx.Response(status, headers=headers or {})
    body = {"error": {"code": code, "message": f"{code} happened", "request_id": "req_script"}}
    return httpx.Response(status, json=body, headers=headers or {})


def audio(body: bytes = b"ID3 scripted audio", **headers: str) -> httpx.Response:
    """A 200 with an audio body."""
    return httpx.Response(200, content=body, headers={"content-type": "audio/mpeg", **headers})


class Script:
    """Answers requests in order and keeps every request it saw."""

    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected extra request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer


def scripted_client(
    answers: Sequence[Answer],
    clock: FakeClock,
    *,
    jitter: float = 0.0,
    base_url: str = "https://api.breeze.blue",
    **options: object,
) -> tuple[BreezeBlue, Script]:
    """A client answered by ``answers``, sleeping on ``clock``, with fixed jitter."""
    script = Script(answers)
    client = BreezeBlue(
        api_key=KEY,
        base_url=base_url,
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        sleep=clock.sleep,
        clock=clock.time,
        **options,  # type: ignore[arg-type]
    )
    policy = replace(client._settings.policy, random=lambda: jitter)
    client._settings = replace(client._settings, policy=policy)
    return client, script

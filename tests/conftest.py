"""Shared fixtures: a clean environment, a loopback-only network, the reference server."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from breeze_blue import AsyncBreezeBlue, BreezeBlue
from breeze_blue.testing import TEST_API_KEY, ReferenceServer

from ._scripted import FakeClock


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may pick up a developer's real key or base URL by accident."""
    monkeypatch.delenv("BREEZE_API_KEY", raising=False)
    monkeypatch.delenv("BREEZE_BASE_URL", raising=False)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to connect anywhere but this machine."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
                raise AssertionError(f"test tried to reach {host!r}: only loopback is allowed")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(autouse=True)
def _retries_do_not_really_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client built without a fake clock still waits no real time between retries."""

    async def no_async_sleep(seconds: float) -> None:
        assert seconds >= 0

    def no_sleep(seconds: float) -> None:
        assert seconds >= 0

    monkeypatch.setattr(BreezeBlue, "_default_sleep", no_sleep)
    monkeypatch.setattr(AsyncBreezeBlue, "_default_sleep", no_async_sleep)


@pytest.fixture
def server() -> Iterator[ReferenceServer]:
    """The reference server on a free loopback port, with its default catalogue."""
    with ReferenceServer() as reference:
        yield reference


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()


@pytest.fixture
def client(server: ReferenceServer, clock: FakeClock) -> Iterator[BreezeBlue]:
    """A client pointed at :func:`server` with a valid key, sleeping on the fake clock."""
    with BreezeBlue(
        api_key=TEST_API_KEY, base_url=server.url, sleep=clock.sleep, clock=clock.time
    ) as breeze:
        yield breeze


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Run a behaviour test against BreezeBlue and AsyncBreezeBlue alike."""
    return str(request.param)

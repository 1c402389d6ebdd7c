"""The pytest plugin (registered by entry point): the reference server as fixtures.

``breeze_blue_server`` is a ``ReferenceServer`` on a free loopback port, started for
the test and stopped after it; ``breeze_blue_client`` is a ``breeze_blue.BreezeBlue``
already pointed at it with a valid key, and retrying without real waits.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .. import BreezeBlue
from ._server import TEST_API_KEY, ReferenceServer

__all__ = ["breeze_blue_client", "breeze_blue_server"]


@pytest.fixture
def breeze_blue_server() -> Iterator[ReferenceServer]:
    """The Breeze Blue reference server, with its default catalogue, for one test."""
    with ReferenceServer() as server:
        yield server


@pytest.fixture
def breeze_blue_client(breeze_blue_server: ReferenceServer) -> Iterator[BreezeBlue]:
    """A client for ``breeze_blue_server``; retries and polls do not really sleep."""
    with BreezeBlue(
        api_key=TEST_API_KEY, base_url=breeze_blue_server.url, sleep=lambda seconds: None
    ) as client:
        yield client

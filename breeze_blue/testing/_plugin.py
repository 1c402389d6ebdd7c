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
    """The reference server for one test: ask for it by naming a ``breeze_blue_server``
    parameter.

    A [`ReferenceServer`][breeze_blue.testing.ReferenceServer] with its default catalogue
    (``hist_01haudio`` and the others of
    [`default_items()`][breeze_blue.testing.default_items]), on a free loopback port,
    started before the test and stopped after it. Its ``url`` is the base URL to give a
    client; ``add()`` and ``inject()`` change what it serves, and ``requests`` records what
    it received.

    Yields:
        The running server, for the duration of the test.

    Examples:
        >>> from breeze_blue.testing import Ready
        >>> def test_my_item(breeze_blue_server, breeze_blue_client):
        ...     breeze_blue_server.add("hist_mine", Ready(body=b"ID3..."))
        ...     assert breeze_blue_client.history.download_audio("hist_mine").read() == b"ID3..."
    """
    with ReferenceServer() as server:
        yield server


@pytest.fixture
def breeze_blue_client(breeze_blue_server: ReferenceServer) -> Iterator[BreezeBlue]:
    """A client for the test's ``breeze_blue_server``: ask for it by naming a
    ``breeze_blue_client`` parameter.

    A [`BreezeBlue`][breeze_blue.BreezeBlue] pointed at the server's ``url`` with
    [`TEST_API_KEY`][breeze_blue.testing.TEST_API_KEY]; its retries and polls do not really
    sleep, so a test of them takes no time. It is closed after the test. The server is the
    same one a ``breeze_blue_server`` parameter of the same test gets.

    Yields:
        The client, for the duration of the test.

    Examples:
        >>> def test_download(breeze_blue_client):
        ...     audio = breeze_blue_client.history.download_audio("hist_01haudio")
        ...     assert audio.content_type == "audio/wav"
    """
    with BreezeBlue(
        api_key=TEST_API_KEY, base_url=breeze_blue_server.url, sleep=lambda seconds: None
    ) as client:
        yield client

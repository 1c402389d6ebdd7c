"""``BreezeBlue``'s own transport (h11 over sockets) against loopback servers.

The servers are the asyncio ones of ``test_transport``, run in an event loop while the sync
client works in a thread. Most behaviours are checked on httpx's stock ``HTTPTransport``
too: the SDK's transport must answer as the one it replaces (same results, same exception
types).
"""

from __future__ import annotations

import asyncio
import os
import select
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import trustme

from breeze_blue import BreezeBlue, save
from breeze_blue._sync_transport import SyncTransport
from breeze_blue.testing import TEST_API_KEY, ReferenceServer

from .test_transport import Handler, Server, answer_each, head, proxy_or_not, serving

T = TypeVar("T")
LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)


def client_for(
    name: str,
    limits: httpx.Limits = LIMITS,
    ssl_context: ssl.SSLContext | None = None,
    **kwargs: Any,
) -> httpx.Client:
    if name == "sync":
        transport: httpx.BaseTransport = SyncTransport(limits, ssl_context=ssl_context)
    else:
        transport = httpx.HTTPTransport(limits=limits, verify=ssl_context or True)
    return httpx.Client(transport=transport, **kwargs)


@pytest.fixture(params=["sync", "httpx"])
def transport_name(request: pytest.FixtureRequest) -> str:
    """The SDK's transport and, for comparison, httpx's own."""
    return str(request.param)


def against(
    handler: Handler, work: Callable[[Server], T], ssl_context: ssl.SSLContext | None = None
) -> tuple[T, Server]:
    """Run ``work(server)`` in a thread while ``handler`` serves in this thread's loop."""

    async def run() -> tuple[T, Server]:
        async with serving(handler, ssl_context) as server:
            return await asyncio.to_thread(work, server), server

    return asyncio.run(run())


def test_keep_alive_reuses_one_connection(transport_name: str) -> None:
    def work(server: Server) -> list[bytes]:
        with client_for(transport_name) as client:
            return [client.get(server.url).content for _ in range(20)]

    bodies, server = against(answer_each, work)
    assert bodies == [b"ok"] * 20
    assert server.connections == 1


def test_a_connection_the_server_closed_while_idle_is_not_reused(transport_name: str) -> None:
    async def once_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(2) + b"ok")
        await writer.drain()

    def work(server: Server) -> list[bytes]:
        with client_for(transport_name) as client:
            first = client.get(server.url).content
            threading.Event().wait(0.1)  # the server's FIN arrives while the connection idles
            return [first, client.get(server.url).content]

    bodies, server = against(once_then_close, work)
    assert bodies == [b"ok", b"ok"]
    assert server.connections == 2


def test_a_stalled_body_is_a_read_timeout_with_its_request(transport_name: str) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(10) + b"12345")
        await writer.drain()
        await asyncio.sleep(2)

    def work(server: Server) -> None:
        with (
            client_for(transport_name, timeout=0.2) as client,
            pytest.raises(httpx.ReadTimeout) as caught,
        ):
            client.get(server.url)
        assert caught.value.request.url == server.url

    against(stall, work)


@pytest.mark.parametrize("size", [100, 4 << 20], ids=["short", "long"])
def test_a_body_cut_short_is_a_remote_protocol_error(transport_name: str, size: int) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(size) + b"\0" * (size // 2))
        await writer.drain()

    def work(server: Server) -> None:
        with (
            client_for(transport_name) as client,
            pytest.raises(httpx.RemoteProtocolError, match="complete message body") as caught,
        ):
            client.get(server.url)
        assert caught.value.request.url == server.url

    against(cut, work)


def test_nothing_listening_is_a_connect_error(transport_name: str) -> None:
    _, server = against(answer_each, lambda server: None)  # the port is free once it stops
    with client_for(transport_name) as client, pytest.raises(httpx.ConnectError) as caught:
        client.get(server.url)
    assert caught.value.request.url == server.url


def test_a_request_body_the_server_never_reads_is_a_write_timeout(transport_name: str) -> None:
    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)

    def work(server: Server) -> None:
        timeout = httpx.Timeout(5, write=0.3)
        with (
            client_for(transport_name, timeout=timeout) as client,
            pytest.raises(httpx.WriteTimeout),
        ):
            client.post(server.url, content=b"x" * (64 << 20))

    against(never_read, work)


def test_tls_with_a_trusted_certificate_and_refusal_of_an_untrusted_one(
    transport_name: str,
) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)

    def work(server: Server) -> list[bytes]:
        with client_for(transport_name, ssl_context=client_context) as client:
            bodies = [client.get(server.url).content for _ in range(3)]
        # The default context (the system's and certifi's roots) does not know this CA.
        with (
            client_for(transport_name) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.get(server.url)
        return bodies

    bodies, server = against(answer_each, work, server_context)
    assert bodies == [b"ok"] * 3
    assert server.connections == 1  # the refused handshake never reached the handler


@pytest.mark.parametrize(
    ("extra", "connections"),
    [("", 1), ("connection: close\r\n", 2)],
    ids=["keep-alive", "close"],
)
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_long_body_arrives_whole_and_its_connection_is_reused_unless_closed(
    transport_name: str, extra: str, connections: int, tls: bool
) -> None:
    body = os.urandom(24 << 20)
    server_context = client_context = None
    if tls:
        authority = trustme.CA()
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("localhost").configure_cert(server_context)
        client_context = ssl.create_default_context()
        authority.configure_trust(client_context)

    async def large_then_small(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        if b"GET /large" not in request:
            writer.write(head(2) + b"ok")
            await writer.drain()
            return
        writer.write(head(len(body), extra))
        for start in range(0, len(body), 1 << 20):
            writer.write(body[start : start + (1 << 20)])
            await writer.drain()
        await answer_each(reader, writer)

    def work(server: Server) -> tuple[list[bytes], bytes]:
        with client_for(transport_name, ssl_context=client_context) as client:
            with client.stream("GET", server.url + "large") as response:
                # Every chunk kept to the end: one that shared a reused read buffer with
                # the next would no longer hold what it held when it came.
                chunks = list(response.iter_raw())
            return chunks, client.get(server.url + "small").content

    (chunks, small), server = against(large_then_small, work, server_context)
    assert b"".join(chunks) == body
    assert {type(chunk) for chunk in chunks} == {bytes}
    assert small == b"ok"
    largest = max(len(chunk) for chunk in chunks)
    if transport_name == "sync" and not tls:  # read past h11 in large pieces
        assert 64 * 1024 < largest <= 1024 * 1024
    else:  # httpx reads 64 KiB at a time; TLS hands over a record (16 KiB) at a time
        assert largest <= 64 * 1024
    assert server.connections == connections


def test_max_connections_bounds_the_connections_of_many_threads(transport_name: str) -> None:
    busy = 0
    most = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal busy, most
        while True:
            await reader.readuntil(b"\r\n\r\n")
            busy += 1
            most = max(most, busy)
            await asyncio.sleep(0.02)
            busy -= 1
            writer.write(head(2) + b"ok")
            await writer.drain()

    def work(server: Server) -> list[bytes]:
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        bodies: list[bytes] = []
        with client_for(transport_name, limits) as client:

            def some() -> None:
                for _ in range(5):
                    bodies.append(client.get(server.url).content)

            threads = [threading.Thread(target=some) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if transport_name == "sync":
                assert client._transport._slots.active == 0  # type: ignore[attr-defined]
        return bodies

    bodies, server = against(slow, work)
    assert bodies == [b"ok"] * 40
    assert server.connections == 2
    assert most == 2


def test_no_free_connection_in_time_is_a_pool_timeout(transport_name: str) -> None:
    def work(server: Server) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        timeout = httpx.Timeout(5, pool=0.2)
        with (
            client_for(transport_name, limits, timeout=timeout) as client,
            client.stream("GET", server.url),  # holds the only connection
            pytest.raises(httpx.PoolTimeout),
        ):
            client.get(server.url)

    against(answer_each, work)


def test_a_response_closed_before_its_end_gives_its_connection_up(transport_name: str) -> None:
    async def large_then_small(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        large = b"GET /large" in request
        writer.write(head(8 << 20) + b"\0" * (8 << 20) if large else head(2) + b"ok")
        await writer.drain()
        await answer_each(reader, writer)

    def work(server: Server) -> bytes:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with client_for(transport_name, limits) as client:
            with client.stream("GET", server.url + "large") as response:
                for _ in response.iter_raw():
                    break  # the rest of the 8 MiB is never read
            return client.get(server.url + "small").content

    small, server = against(large_then_small, work)
    assert small == b"ok"
    assert server.connections == 2


def test_connection_close_and_keepalive_expiry_end_a_connection(transport_name: str) -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(2, "connection: close\r\n") + b"ok")
        await writer.drain()
        writer.close()

    def three(server: Server, limits: httpx.Limits = LIMITS, pause: float = 0) -> None:
        with client_for(transport_name, limits) as client:
            assert client.get(server.url).content == b"ok"
            assert client.get(server.url).content == b"ok"
            threading.Event().wait(pause)
            assert client.get(server.url).content == b"ok"

    _, server = against(closing, three)
    assert server.connections == 3
    limits = httpx.Limits(max_connections=4, keepalive_expiry=0.05)
    _, server = against(answer_each, lambda server: three(server, limits, pause=0.15))
    assert server.connections == 2  # the first two shared one; the third came after expiry


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n" + head(2) + b"ok", b"ok", id="1xx-first"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
            b"abcdefg",
            id="chunked",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", b"until the end", id="till-close"),
        pytest.param(b"", httpx.RemoteProtocolError, id="no-answer"),
        pytest.param(b"HTTP/1.1 2OO OK\r\n\r\n", httpx.RemoteProtocolError, id="garbled"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nab",
            httpx.RemoteProtocolError,
            id="chunk-cut",
        ),
        pytest.param(
            head(3 << 20, "transfer-encoding: chunked\r\n") + b"3\r\nabc\r\n0\r\n\r\n",
            b"abc",  # chunked framing wins over a content-length: never read past h11
            id="length-and-chunked",
        ),
    ],
)
def test_answers_on_the_wire(transport_name: str, answer: bytes, expected: Any) -> None:
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()

    def work(server: Server) -> Any:
        with client_for(transport_name) as client:
            try:
                return client.get(server.url).content
            except httpx.HTTPError as exc:
                return type(exc)

    result, _ = against(once, work)
    assert result == expected


def test_an_http_1_0_answer_says_so_and_ends_its_connection(transport_name: str) -> None:
    async def old(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await answer_each(reader, writer)

    def work(server: Server) -> list[str]:
        with client_for(transport_name) as client:
            return [client.get(server.url).http_version for _ in range(2)]

    versions, server = against(old, work)
    assert versions == ["HTTP/1.0", "HTTP/1.0"]
    assert server.connections == 2


def test_a_head_request_has_no_body_even_with_a_long_content_length(
    transport_name: str,
) -> None:
    def work(server: Server) -> list[bytes]:
        with client_for(transport_name) as client:
            return [client.head(server.url).content, client.get(server.url).content]

    async def long_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            if request.startswith(b"HEAD"):
                writer.write(head(8 << 20))
            else:
                writer.write(head(2) + b"ok")
            await writer.drain()

    bodies, server = against(long_head, work)
    assert bodies == [b"", b"ok"]
    assert server.connections == 1


def test_a_response_that_outlives_its_closed_client_ends_its_connection() -> None:
    ended = threading.Event()

    async def in_two_parts(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(10) + b"01234")
        await asyncio.sleep(0.1)
        writer.write(b"56789")
        await writer.drain()
        await reader.read()  # returns at the end of the stream: the client let go
        ended.set()

    def work(server: Server) -> None:
        transport = SyncTransport(LIMITS)
        client = httpx.Client(transport=transport)
        with client.stream("GET", server.url) as response:
            client.close()
            assert response.read() == b"0123456789"
        assert ended.wait(2)
        assert transport._slots.idle == []

    against(in_two_parts, work)


_SWITCH = r"""
import asyncio, threading
import httpx
from breeze_blue._sync_transport import SyncTransport

async def switch(reader, writer):
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n"
                 b"connection: upgrade\r\n\r\n")
    await asyncio.sleep(3)

def get(url):
    try:
        with httpx.Client(transport=SyncTransport(httpx.Limits()), timeout=1) as client:
            client.get(url, headers={"upgrade": "websocket", "connection": "upgrade"})
    except httpx.RemoteProtocolError as exc:
        print(type(exc).__name__, exc, flush=True)

async def main():
    listener = await asyncio.start_server(switch, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/"
    await asyncio.to_thread(get, url)
    listener.close()

asyncio.run(main())
"""


def test_a_switch_of_protocols_is_an_error_not_a_spinning_thread() -> None:
    # In a child process: a transport that spins on h11's PAUSED never returns, and only a
    # process can be stopped from outside.
    done = subprocess.run(
        [sys.executable, "-c", _SWITCH], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.startswith("RemoteProtocolError the server switched protocols")


def test_keep_alive_without_select_poll_as_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(select, "poll")

    def work(server: Server) -> list[bytes]:
        with client_for("sync") as client:
            return [client.get(server.url).content for _ in range(3)]

    bodies, server = against(answer_each, work)
    assert bodies == [b"ok"] * 3
    assert server.connections == 1


def test_bytes_past_an_answer_keep_its_connection_from_being_reused() -> None:
    async def one_too_many(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(2) + b"ok" + head(5) + b"stale")  # an answer nobody asked for
        await writer.drain()
        await answer_each(reader, writer)

    def work(server: Server) -> list[bytes]:
        with client_for("sync") as client:
            return [client.get(server.url).content, client.get(server.url).content]

    bodies, server = against(one_too_many, work)
    assert bodies == [b"ok", b"ok"]
    assert server.connections == 2


def test_what_the_transport_cannot_send_is_refused_with_httpx_errors() -> None:
    transport = SyncTransport(LIMITS)
    with pytest.raises(httpx.UnsupportedProtocol):
        transport.handle_request(httpx.Request("GET", "ftp://127.0.0.1:9/"))

    async def chunks() -> Any:
        yield b"x"

    def work(server: Server) -> None:
        async_body = httpx.Request("POST", server.url, content=chunks())
        with pytest.raises(RuntimeError, match="async request"):
            transport.handle_request(async_body)
        assert transport._slots.active == 0

    against(answer_each, work)
    transport.close()


class _Spy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests = 0
        real = SyncTransport.handle_request

        def counted(transport: SyncTransport, request: httpx.Request) -> httpx.Response:
            self.requests += 1
            return real(transport, request)

        monkeypatch.setattr(SyncTransport, "handle_request", counted)


def _download(server: ReferenceServer, path: Path, **kwargs: Any) -> bytes:
    with BreezeBlue(api_key=TEST_API_KEY, base_url=server.url, **kwargs) as client:
        save(client.history.download_audio("hist_01haudio"), path)
    return path.read_bytes()


@pytest.mark.live
@proxy_or_not
def test_breeze_blue_downloads_through_its_own_transport_unless_a_proxy_is_set(
    server: ReferenceServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    ours: bool,
) -> None:
    spy = _Spy(monkeypatch)
    monkeypatch.setenv(variable, value)
    assert _download(server, tmp_path / "out.wav").startswith(b"RIFF")
    assert spy.requests == (1 if ours else 0)


@pytest.mark.live
def test_a_callers_http_client_is_used_as_it_is(
    server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    with httpx.Client() as http:
        assert _download(server, tmp_path / "out.wav", http_client=http).startswith(b"RIFF")
    assert spy.requests == 0


@pytest.mark.live
def test_a_mocked_httpx_transport_sees_the_sdks_requests(
    server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    seen: list[str] = []
    real = httpx.HTTPTransport.handle_request

    def mock(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)  # what respx, pytest-httpx or vcrpy would intercept
        return real(transport, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", mock)
    assert _download(server, tmp_path / "out.wav").startswith(b"RIFF")
    assert spy.requests == 1  # the SDK's transport received it and handed it on
    assert seen == ["/v1/history/hist_01haudio/audio"]

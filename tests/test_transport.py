"""``AsyncBreezeBlue``'s own transport (h11 over asyncio) against loopback servers.

Most behaviours are checked on httpx's stock ``AsyncHTTPTransport`` too: the SDK's transport
must answer exactly as the one it replaces (same results, same exception types).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
import trustme

import breeze_blue._transport as transport_module
from breeze_blue import AsyncBreezeBlue, BreezeBlue, asave
from breeze_blue._sink import FileSink
from breeze_blue._sync_transport import SyncTransport
from breeze_blue._transport import AsyncioTransport
from breeze_blue.testing import TEST_API_KEY, ReferenceServer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)


def client_for(name: str, limits: httpx.Limits = LIMITS, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=make_transport(name, limits=limits), **kwargs)


def make_transport(
    name: str, ssl_context: ssl.SSLContext | None = None, limits: httpx.Limits = LIMITS
) -> Any:
    if name == "asyncio":
        return AsyncioTransport(limits, ssl_context=ssl_context)
    return httpx.AsyncHTTPTransport(limits=limits, verify=ssl_context or True)


@pytest.fixture(params=["asyncio", "httpx"])
def transport_name(request: pytest.FixtureRequest) -> str:
    """The SDK's transport and, for comparison, httpx's own."""
    return str(request.param)


class Server:
    """A loopback HTTP/1.1 server in the test's event loop, counting its connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(
    handler: Handler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Server]:
    server = Server(handler)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=ssl_context)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"{'https' if ssl_context else 'http'}://localhost:{port}/"
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


def head(body_length: int, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\ncontent-length: {body_length}\r\n"
        f"content-type: application/octet-stream\r\n{extra}\r\n"
    ).encode()


async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Keep-alive: answer every request on the connection with b'ok'."""
    while True:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(2) + b"ok")
        await writer.drain()


def test_keep_alive_reuses_one_connection(transport_name: str) -> None:
    async def run() -> None:
        async with serving(answer_each) as server, client_for(transport_name) as client:
            bodies = [(await client.get(server.url)).content for _ in range(20)]
        assert bodies == [b"ok"] * 20
        assert server.connections == 1

    asyncio.run(run())


def test_a_connection_the_server_closed_while_idle_is_not_reused(transport_name: str) -> None:
    async def once_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(2) + b"ok")
        await writer.drain()

    async def run() -> None:
        async with serving(once_then_close) as server, client_for(transport_name) as client:
            assert (await client.get(server.url)).content == b"ok"
            await asyncio.sleep(0.1)  # the server's FIN arrives while the connection idles
            assert (await client.get(server.url)).content == b"ok"
        assert server.connections == 2

    asyncio.run(run())


def test_a_stalled_body_is_a_read_timeout_with_its_request(transport_name: str) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(10) + b"12345")
        await writer.drain()
        await asyncio.sleep(5)

    async def run() -> None:
        async with serving(stall) as server:
            transport = make_transport(transport_name)
            async with httpx.AsyncClient(transport=transport, timeout=0.2) as client:
                with pytest.raises(httpx.ReadTimeout) as caught:
                    await client.get(server.url)
        assert caught.value.request.url == server.url

    asyncio.run(run())


def test_a_body_cut_short_is_a_remote_protocol_error(transport_name: str) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(100) + b"only part")
        await writer.drain()

    async def run() -> None:
        async with serving(cut) as server, client_for(transport_name) as client:
            with pytest.raises(httpx.RemoteProtocolError) as caught:
                await client.get(server.url)
        assert caught.value.request.url == server.url

    asyncio.run(run())


def test_nothing_listening_is_a_connect_error(transport_name: str) -> None:
    async def run() -> None:
        async with serving(answer_each) as server:
            url = server.url  # the port is free again once the server stops
        async with httpx.AsyncClient(transport=make_transport(transport_name)) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get(url)
        assert caught.value.request.url == url

    asyncio.run(run())


def test_a_request_body_the_server_never_reads_is_a_write_timeout(transport_name: str) -> None:
    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def run() -> None:
        async with serving(never_read) as server:
            transport = make_transport(transport_name)
            timeout = httpx.Timeout(5, write=0.3)
            async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
                with pytest.raises(httpx.WriteTimeout):
                    await client.post(server.url, content=b"x" * (64 << 20))

    asyncio.run(run())


def test_a_cancelled_download_leaves_the_pool_usable(transport_name: str) -> None:
    async def slow_then_quick(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        if b"GET /slow" in request:
            writer.write(head(10) + b"12345")
            await writer.drain()
            await asyncio.sleep(5)
        writer.write(head(2) + b"ok")
        await writer.drain()

    async def run() -> None:
        async with serving(slow_then_quick) as server, client_for(transport_name) as client:
            task = asyncio.create_task(client.get(server.url + "slow"))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await client.get(server.url + "quick")).content == b"ok"

    asyncio.run(run())


def test_tls_with_a_trusted_certificate_and_refusal_of_an_untrusted_one(
    transport_name: str,
) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)

    async def run() -> None:
        async with serving(answer_each, ssl_context=server_context) as server:
            transport = make_transport(transport_name, ssl_context=client_context)
            async with httpx.AsyncClient(transport=transport) as client:
                bodies = [(await client.get(server.url)).content for _ in range(3)]
            assert bodies == [b"ok"] * 3
            assert server.connections == 1
            # The default context (the system's and certifi's roots) does not know this CA.
            async with httpx.AsyncClient(transport=make_transport(transport_name)) as client:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get(server.url)

    asyncio.run(run())


def test_plain_http_never_loads_the_certificate_authorities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[ssl.SSLContext] = []
    create = httpx.create_ssl_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(create(*args, **kwargs))
        return made[-1]

    # Loading them costs 10-60 ms: more than a whole small download from a local server.
    monkeypatch.setattr(httpx, "create_ssl_context", counted)

    async def run() -> None:
        async with (
            serving(answer_each) as server,
            AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client,
        ):
            assert isinstance(client._http._transport, AsyncioTransport)
            await client._http.get(server.url)
        with BreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as sync_client:
            assert isinstance(sync_client._http._transport, SyncTransport)
        assert made == []
        for transport in (AsyncioTransport(LIMITS), SyncTransport(LIMITS)):
            assert transport._context() is transport._context()  # made once, when needed
        assert len(made) == 2

    asyncio.run(run())


@pytest.mark.parametrize(
    ("extra", "connections"),
    [("", 1), ("connection: close\r\n", 2)],
    ids=["keep-alive", "close"],
)
def test_a_long_body_arrives_whole_and_its_connection_is_reused_unless_closed(
    transport_name: str, extra: str, connections: int
) -> None:
    body = os.urandom(24 << 20)

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

    async def run() -> None:
        async with serving(large_then_small) as server, client_for(transport_name) as client:
            async with client.stream("GET", server.url + "large") as response:
                # Every chunk kept to the end: one that shared the connection's receive
                # buffer would no longer hold what it held when it came.
                chunks = [chunk async for chunk in response.aiter_raw()]
            assert (await client.get(server.url + "small")).content == b"ok"
        assert b"".join(chunks) == body
        assert {type(chunk) for chunk in chunks} == {bytes}
        largest = max(len(chunk) for chunk in chunks)
        if transport_name == "asyncio":  # read past h11, a buffer at a time
            assert 64 * 1024 < largest <= transport_module._RAW_BUFFER_SIZE
        else:
            assert largest <= 64 * 1024
        assert server.connections == connections

    asyncio.run(run())


def test_a_slow_reader_stops_the_socket_being_read_instead_of_buffering() -> None:
    size = 32 << 20

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(size))
        block = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            writer.write(block)
            await writer.drain()

    async def run() -> None:
        async with serving(flood) as server:
            transport = AsyncioTransport(LIMITS)
            request = httpx.Request("GET", server.url)
            connection = await transport._connect(
                (request.url.raw_scheme, request.url.raw_host, request.url.port or 80), None, 5
            )
            response = await connection.exchange(request, 5, 5)
            assert response.status_code == 200
            await asyncio.sleep(0.3)  # the server could send all 32 MiB in this time
            protocol = connection._protocol
            assert protocol.reading_paused
            assert protocol.buffered <= transport_module._BUFFER_SIZE  # one buffer, no more
            received = 0
            while isinstance(event := await connection.next_event(5), h11.Data):
                received += len(event.data)
            connection.close()
        assert received == size

    asyncio.run(run())


def test_max_connections_bounds_the_connections_of_many_requests_at_once(
    transport_name: str,
) -> None:
    busy = 0
    most = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal busy, most
        while True:
            await reader.readuntil(b"\r\n\r\n")
            busy += 1
            most = max(most, busy)
            await asyncio.sleep(0.05)
            busy -= 1
            writer.write(head(2) + b"ok")
            await writer.drain()

    async def run() -> None:
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        async with serving(slow) as server, client_for(transport_name, limits) as client:
            responses = await asyncio.gather(*(client.get(server.url) for _ in range(8)))
        assert [response.content for response in responses] == [b"ok"] * 8
        assert server.connections == 2
        assert most == 2

    asyncio.run(run())


def test_no_free_connection_in_time_is_a_pool_timeout(transport_name: str) -> None:
    async def run() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        timeout = httpx.Timeout(5, pool=0.2)
        async with (
            serving(answer_each) as server,
            client_for(transport_name, limits, timeout=timeout) as client,
            client.stream("GET", server.url),  # holds the only connection
        ):
            with pytest.raises(httpx.PoolTimeout):
                await client.get(server.url)

    asyncio.run(run())


def test_a_response_closed_before_its_end_gives_its_connection_up(transport_name: str) -> None:
    async def large_then_small(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        large = b"GET /large" in request
        writer.write(head(8 << 20) + b"\0" * (8 << 20) if large else head(2) + b"ok")
        await writer.drain()
        await answer_each(reader, writer)

    async def run() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with (
            serving(large_then_small) as server,
            client_for(transport_name, limits) as client,
        ):
            async with client.stream("GET", server.url + "large") as response:
                async for _ in response.aiter_raw():
                    break  # the rest of the 8 MiB is never read
            assert (await client.get(server.url + "small")).content == b"ok"
        assert server.connections == 2

    asyncio.run(run())


def test_connection_close_and_keepalive_expiry_end_a_connection(transport_name: str) -> None:
    async def closing_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(2, "connection: close\r\n") + b"ok")
        await writer.drain()
        writer.close()

    async def run() -> None:
        async with serving(closing_first) as server, client_for(transport_name) as client:
            for _ in range(3):
                assert (await client.get(server.url)).content == b"ok"
        assert server.connections == 3
        limits = httpx.Limits(max_connections=4, keepalive_expiry=0.05)
        async with serving(answer_each) as server, client_for(transport_name, limits) as client:
            assert (await client.get(server.url)).content == b"ok"
            assert (await client.get(server.url)).content == b"ok"  # within the expiry
            await asyncio.sleep(0.15)
            assert (await client.get(server.url)).content == b"ok"
        assert server.connections == 2

    asyncio.run(run())


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
    ],
)
def test_answers_on_the_wire(transport_name: str, answer: bytes, expected: Any) -> None:
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()

    async def run() -> Any:
        async with serving(once) as server, client_for(transport_name) as client:
            return (await client.get(server.url)).content

    if isinstance(expected, bytes):
        assert asyncio.run(run()) == expected
    else:
        with pytest.raises(expected):
            asyncio.run(run())


def test_an_http_1_0_answer_says_so_and_ends_its_connection(transport_name: str) -> None:
    async def old(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await answer_each(reader, writer)

    async def run() -> None:
        async with serving(old) as server, client_for(transport_name) as client:
            versions = [(await client.get(server.url)).http_version for _ in range(2)]
        assert versions == ["HTTP/1.0", "HTTP/1.0"]
        assert server.connections == 2

    asyncio.run(run())


def test_a_response_that_outlives_its_closed_client_ends_its_connection() -> None:
    ended = asyncio.Event()

    async def in_two_parts(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(10) + b"01234")
        await asyncio.sleep(0.1)
        writer.write(b"56789")
        await writer.drain()
        await reader.read()  # returns at the end of the stream: the client let go
        ended.set()

    async def run() -> None:
        async with serving(in_two_parts) as server:
            transport = AsyncioTransport(LIMITS)
            client = httpx.AsyncClient(transport=transport)
            async with client.stream("GET", server.url) as response:
                await client.aclose()
                assert await response.aread() == b"0123456789"
            await asyncio.wait_for(ended.wait(), 2)
            assert transport._slots.idle == []

    asyncio.run(run())


_SWITCH = """
import asyncio, sys
import httpx
from breeze_blue._transport import AsyncioTransport

async def switch(reader, writer):
    await reader.readuntil(b"\\r\\n\\r\\n")
    writer.write(b"HTTP/1.1 101 Switching Protocols\\r\\nupgrade: websocket\\r\\n"
                 b"connection: upgrade\\r\\n\\r\\n")
    await asyncio.sleep(5)

async def main():
    listener = await asyncio.start_server(switch, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/"
    transport = AsyncioTransport(httpx.Limits())
    try:
        async with httpx.AsyncClient(transport=transport, timeout=1) as client:
            await client.get(url, headers={"upgrade": "websocket", "connection": "upgrade"})
    except httpx.RemoteProtocolError as exc:
        print(type(exc).__name__, exc)
    finally:
        listener.close()

asyncio.run(main())
"""


def test_a_switch_of_protocols_is_an_error_not_a_frozen_event_loop() -> None:
    # In a child process: a transport that spins on h11's PAUSED never returns to the loop,
    # and only a process can be stopped from outside.
    done = subprocess.run(
        [sys.executable, "-c", _SWITCH], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.startswith("RemoteProtocolError the server switched protocols")


@contextmanager
def tls_server_closing_without_notify(
    context: ssl.SSLContext, bodies: list[bytes]
) -> Iterator[str]:
    """Answers one connection per body, each read to its end (no content-length), then
    ends the TCP connection without TLS's close_notify, as many servers do."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for body in bodies:
            with context.wrap_socket(listener.accept()[0], server_side=True) as connection:
                buffered = b""
                while b"\r\n\r\n" not in buffered:
                    buffered += connection.recv(4096)
                connection.sendall(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{listener.getsockname()[1]}/"
    finally:
        listener.close()
        thread.join(5)


def test_tls_read_slowly_to_a_close_loses_nothing(transport_name: str) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    # Around two buffers' worth: the end of each arrives while the reader is behind.
    bodies = [os.urandom(size << 10) for size in range(480, 561, 16)]

    async def run() -> list[bytes]:
        received = []
        transport = make_transport(transport_name, ssl_context=client_context)
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in bodies:
                async with client.stream("GET", url) as response:
                    await asyncio.sleep(0.2)  # all of it, and the close, arrive meanwhile
                    digest = hashlib.sha256()
                    async for chunk in response.aiter_raw():
                        digest.update(chunk)
                        await asyncio.sleep(0.001)  # a disk write
                    received.append(digest.digest())
        return received

    with tls_server_closing_without_notify(server_context, bodies) as url:
        received = asyncio.run(run())
    assert received == [hashlib.sha256(body).digest() for body in bodies]


def test_keep_alive_without_select_poll_as_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(select, "poll")

    async def run() -> None:
        async with serving(answer_each) as server, client_for("asyncio") as client:
            bodies = [(await client.get(server.url)).content for _ in range(3)]
        assert bodies == [b"ok"] * 3
        assert server.connections == 1

    asyncio.run(run())


def test_bytes_past_an_answer_keep_its_connection_from_being_reused() -> None:
    async def one_too_many(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(2) + b"ok" + head(5) + b"stale")  # an answer nobody asked for
        await writer.drain()
        await answer_each(reader, writer)

    async def run() -> None:
        async with serving(one_too_many) as server, client_for("asyncio") as client:
            assert (await client.get(server.url)).content == b"ok"
            assert (await client.get(server.url)).content == b"ok"
        assert server.connections == 2

    asyncio.run(run())


def test_what_the_transport_cannot_send_is_refused_with_httpx_errors() -> None:
    async def run() -> None:
        transport = AsyncioTransport(LIMITS)
        with pytest.raises(httpx.UnsupportedProtocol):
            await transport.handle_async_request(httpx.Request("GET", "ftp://127.0.0.1:9/"))
        async with serving(answer_each) as server:
            sync_body = httpx.Request("POST", server.url, content=iter([b"x"]))
            with pytest.raises(RuntimeError, match="sync request"):
                await transport.handle_async_request(sync_body)
            assert transport._slots.active == 0
        await transport.aclose()

    asyncio.run(run())


@pytest.mark.parametrize("into", ["path", "file object"])
def test_asave_writes_a_long_body_from_lent_buffers_only_into_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, into: str
) -> None:
    body = os.urandom(24 << 20)

    async def send_audio(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n"
            "content-type: audio/mpeg\r\n\r\n".encode()
        )
        for start in range(0, len(body), 1 << 20):
            writer.write(body[start : start + (1 << 20)])
            await writer.drain()

    lent: list[object] = []  # each buffer given back, kept alive so identities stay unique
    give_back = transport_module._Body.give_back

    def counted(self: Any, chunk: memoryview) -> None:
        lent.append(chunk.obj)
        give_back(self, chunk)

    monkeypatch.setattr(transport_module._Body, "give_back", counted)
    # A disk slower than the network: the socket is read on into other buffers while the
    # lent ones wait for the writer, so a buffer filled again too early would show.
    write = FileSink.write

    def slow(sink: FileSink, data: bytes | bytearray | memoryview) -> None:
        time.sleep(0.003)
        write(sink, data)

    monkeypatch.setattr(FileSink, "write", slow)
    path = tmp_path / "out.mp3"

    async def run() -> None:
        async with (
            serving(send_audio) as server,
            AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client,
        ):
            audio = await client.history.download_audio("hist_01haudio")
            if into == "path":
                await asave(audio, path)
            else:
                with path.open("wb") as file:
                    await asave(audio, file)
            # A finished response may be kept for its headers: it keeps no spare buffers.
            assert audio._response.extensions[transport_module._LENDER]._spare is None

    asyncio.run(run())
    assert path.read_bytes() == body
    if into == "path":
        assert len(lent) >= 12, len(lent)  # most of the body came in lent 1 MiB buffers
        # ... and the same few came back again and again: the spares, and the one the
        # socket was being read into.
        assert len({id(buffer) for buffer in lent}) <= transport_module._SPARE_BUFFERS + 1
    else:  # a caller's file object might keep what it is given
        assert lent == []


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_lending_body_hands_over_whole_buffers_and_takes_them_back(tls: bool) -> None:
    body = os.urandom(24 << 20)
    server_context = client_context = None
    if tls:  # asyncio's TLS layer may ask for more room than the buffer has (get_buffer)
        authority = trustme.CA()
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("localhost").configure_cert(server_context)
        client_context = ssl.create_default_context()
        authority.configure_trust(client_context)

    async def large(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head(len(body)))
        for start in range(0, len(body), 1 << 20):
            writer.write(body[start : start + (1 << 20)])
            await writer.drain()

    async def run() -> tuple[bytes, int, set[int]]:
        transport = AsyncioTransport(LIMITS, ssl_context=client_context)
        received = bytearray()
        lent = 0
        buffers: list[object] = []  # kept alive, so that identities stay unique
        async with (
            serving(large, server_context) as server,
            httpx.AsyncClient(transport=transport) as client,
            client.stream("GET", server.url) as response,
        ):
            give_back = transport_module.lend_buffers(response)
            assert give_back is not None
            async for chunk in response.aiter_raw():
                await asyncio.sleep(0.005)  # a consumer slower than the network, as disks are
                received += chunk
                if isinstance(chunk, memoryview):
                    lent += 1
                    buffers.append(chunk.obj)
                    give_back(chunk)
                else:
                    assert isinstance(chunk, bytes)
        return bytes(received), lent, {id(buffer) for buffer in buffers}

    received, lent, distinct = asyncio.run(run())
    assert received == body
    assert lent >= 12, lent  # most of the body came in lent buffers
    # Given back at once, a buffer is soon lent again: a few go round (over TLS a buffer
    # is sometimes replaced by a larger one, for the room the TLS layer asks).
    assert len(distinct) <= transport_module._SPARE_BUFFERS + 1, len(distinct)


# Whether the environment names a proxy: the SDK's transport serves requests only if not
# (only httpx's transport knows proxies). The proxy would take only https traffic, and the
# reference server is plain http on loopback, so either way the download works.
proxy_or_not = pytest.mark.parametrize(
    ("variable", "value", "ours"),
    [
        ("NO_PROXY", "example.com", True),  # an exception list alone is no proxy
        ("HTTPS_PROXY", "http://127.0.0.1:9", False),
    ],
    ids=["no proxy", "proxy"],
)


class _Spy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests = 0
        real = AsyncioTransport.handle_async_request

        async def counted(transport: AsyncioTransport, request: httpx.Request) -> httpx.Response:
            self.requests += 1
            return await real(transport, request)

        monkeypatch.setattr(AsyncioTransport, "handle_async_request", counted)


async def _download(server: ReferenceServer, tmp_path: Any, **kwargs: Any) -> bytes:
    async with AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url, **kwargs) as client:
        audio = await client.history.download_audio("hist_01haudio")
        await asave(audio, tmp_path / "out.wav")
    return bytes((tmp_path / "out.wav").read_bytes())


@pytest.mark.live
@proxy_or_not
def test_async_breeze_blue_downloads_through_its_own_transport_unless_a_proxy_is_set(
    server: ReferenceServer,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    ours: bool,
) -> None:
    spy = _Spy(monkeypatch)
    monkeypatch.setenv(variable, value)
    body = asyncio.run(_download(server, tmp_path))
    assert body.startswith(b"RIFF")
    assert spy.requests == (1 if ours else 0)


@pytest.mark.live
def test_a_callers_http_client_is_used_as_it_is(
    server: ReferenceServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)

    async def run() -> bytes:
        async with httpx.AsyncClient() as http:
            return await _download(server, tmp_path, http_client=http)

    assert asyncio.run(run()).startswith(b"RIFF")
    assert spy.requests == 0


@pytest.mark.live
def test_one_client_serves_two_event_loops_one_after_the_other(
    server: ReferenceServer, tmp_path: Any
) -> None:
    client = AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url)

    async def one() -> bytes:
        return await (await client.history.download_audio("hist_01haudio")).read()

    first = asyncio.run(one())
    second = asyncio.run(one())  # the first loop's idle connection is not reused
    asyncio.run(client.aclose())
    assert first == second
    assert first.startswith(b"RIFF")


@pytest.mark.live
def test_a_mocked_httpx_transport_sees_the_sdks_requests(
    server: ReferenceServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    seen: list[str] = []
    real = httpx.AsyncHTTPTransport.handle_async_request

    async def mock(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)  # what respx, pytest-httpx or vcrpy would intercept
        return await real(transport, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", mock)
    body = asyncio.run(_download(server, tmp_path))
    assert body.startswith(b"RIFF")
    assert spy.requests == 1  # the SDK's transport received it and handed it on
    assert seen == ["/v1/history/hist_01haudio/audio"]

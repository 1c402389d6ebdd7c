"""The connection layer ``AsyncBreezeBlue`` builds for itself: HTTP/1.1 (h11) over asyncio.

httpx's own async transport goes through httpcore, whose locks, events and shielded cancel
scopes are anyio's: each request took three to five extra turns of the event loop and a
dozen cancel scopes, and each 64 KiB read of a body a cancel scope and a buffer copy. Here a
request through ``httpx.AsyncClient`` cost ~1.3 x one through ``httpx.Client``, and a 512
MiB download ~1.6 x (see ``benchmarks/results.md``). This transport keeps httpx's client
(URLs, headers, timeouts, errors) and the same HTTP/1.1 state machine httpcore uses (h11),
and replaces only what sits between them: a small connection pool and a socket read through
an asyncio buffered protocol, with nothing awaited that does not wait for the network.

It is used only when the SDK creates the HTTP client itself and no proxy is configured in
the environment (proxies need httpx's own transport); a caller's ``http_client`` is always
used as it is. While a test library has patched httpx's or httpcore's transport (vcrpy,
respx, pytest-httpx), requests go through httpx's own transport instead, so that the mock
sees them as it would with any httpx client. It speaks what the SDK needs: HTTP/1.1, http
and https, request bodies, keep-alive, httpx's four timeouts and exception types; anything
else (another URL scheme, a server switching protocols) is an httpx error, not a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import h11
import httpx

from ._sink import AHEAD
from ._sync_transport import (
    POOL_FULL,
    RAW_BODY_MIN,
    H11Connection,
    LazyContext,
    Origin,
    PooledBody,
    Slots,
    incomplete_body,
    keeps_alive,
    origin_of,
    response_for,
    socket_readable,
    transport_is_mocked,
)

__all__ = ["AsyncioTransport", "lend_buffers"]

# Each connection's receive buffer: asyncio's own read size. When it is full the socket is
# not read until the consumer (a disk, a slow callback) has taken all but a quarter of it.
_BUFFER_SIZE = 256 * 1024
# A connection reading a long body past h11 widens its buffer to this: each wake-up of the
# event loop then moves up to 1 MiB, where 256 KiB left asave() ~1.4 x save() here (a
# 1 MiB buffer ~1.15 x; 2 and 4 MiB no better). Only such connections pay for it.
_RAW_BUFFER_SIZE = 1024 * 1024
_READ_SIZE = 64 * 1024
# A lending body (see _Body.lend) keeps this many buffers given back for reuse: as many as
# asave()'s writer may hold (its queue, the batch awaited, the one being written).
_SPARE_BUFFERS = AHEAD + 2

# Where AsyncioTransport puts its body among a response's extensions, for lend_buffers().
_LENDER = "breeze_blue.lender"


class AsyncioTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` async transport: a keep-alive pool of h11 connections over asyncio.

    Behaves as ``httpx.AsyncHTTPTransport(limits=limits)`` does for HTTP/1.1 without a
    proxy: at most ``max_connections`` connections, ``max_keepalive_connections`` of them
    kept idle for ``keepalive_expiry`` seconds, each request's connect/read/write/pool
    timeouts, TLS verified with ``httpx.create_ssl_context()`` (made on the first https
    connection), httpx's exception types.
    """

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._context = LazyContext(ssl_context)
        self._slots = Slots[_Connection](limits)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._limits = limits
        self._stock: httpx.AsyncHTTPTransport | None = None  # for when httpx is mocked

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request on a pooled connection; the body is streamed as it is read."""
        if transport_is_mocked(asynchronous=True):
            if self._stock is None:
                self._stock = httpx.AsyncHTTPTransport(limits=self._limits, verify=self._context())
            return await self._stock.handle_async_request(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        origin = origin_of(request.url)
        connection = await self._checkout(origin, timeouts.get("pool"))
        try:
            if connection is None:
                sni = request.extensions.get("sni_hostname")
                connection = await self._connect(origin, sni, timeouts.get("connect"))
            head = await connection.exchange(request, timeouts.get("write"), timeouts.get("read"))
        except BaseException:
            self._checkin(connection, reuse=False)
            raise
        body = _Body(self._checkin, connection, head, request.method, timeouts.get("read"))
        return response_for(head, body, **{_LENDER: body})

    async def aclose(self) -> None:
        """Close the idle connections; those in use close when their responses do."""
        for connection in self._slots.close():
            connection.close()
        if self._stock is not None:
            await self._stock.aclose()

    async def _checkout(self, origin: Origin, timeout: float | None) -> _Connection | None:
        """A slot in the pool: an idle connection to ``origin``, or None to open one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            slot = self._slots.take(origin, time.monotonic())
            if slot is not POOL_FULL:
                return slot
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                await _wait(waiter, left)
            except TimeoutError:
                raise httpx.PoolTimeout("timed out waiting for a free connection") from None
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # this waiter was woken: pass the turn on
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _checkin(self, connection: _Connection | None, *, reuse: bool) -> None:
        self._slots.give_back(connection, reuse=reuse)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(
        self, origin: Origin, sni_hostname: str | None, timeout: float | None
    ) -> _Connection:
        scheme, raw_host, port = origin
        host = raw_host.decode("ascii")
        loop = asyncio.get_running_loop()
        transport: asyncio.Transport | None = None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(_Protocol, host, port)
                if scheme == b"https":
                    transport = await loop.start_tls(
                        transport,
                        protocol,
                        self._context(),
                        server_hostname=sni_hostname or host,
                        ssl_handshake_timeout=timeout,
                    )
                    if transport is None:  # pragma: no cover - only when the loop closes
                        raise ConnectionError("the connection closed during the TLS handshake")
                    protocol.transport = transport
        except BaseException as exc:
            if transport is not None:
                transport.abort()
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
            if isinstance(exc, (OSError, ssl.SSLError)):
                raise httpx.ConnectError(str(exc)) from exc
            raise
        assert isinstance(transport, asyncio.Transport)
        return _Connection(origin, transport, protocol)


def lend_buffers(response: httpx.Response) -> Callable[[memoryview], None] | None:
    """Have ``response``'s body hand over its receive buffers (see :meth:`_Body.lend`).

    Returns the function to give each such chunk back with, or None when the response did
    not come through :class:`AsyncioTransport` (its chunks are then ``bytes`` as ever).
    """
    body = response.extensions.get(_LENDER)
    if not isinstance(body, _Body):
        return None
    body.lend()
    return body.give_back


class _Body(PooledBody["_Connection"], httpx.AsyncByteStream):
    """A response body read from its connection, which goes back to the pool at the end."""

    def __init__(
        self,
        checkin: Callable[..., None],
        connection: _Connection,
        head: h11.Response,
        method: str,
        timeout: float | None,
    ) -> None:
        super().__init__(checkin, connection, head, method, timeout)
        self._left = self._length  # bytes still to come, when the head says
        self._raw = False  # reading the rest straight from the connection's buffer
        self._spare: list[bytearray] | None = None  # buffers given back, when lending

    def __aiter__(self) -> _Body:  # type: ignore[override]  # a lending body's chunks
        return self

    def lend(self) -> None:
        """From now on, hand over a long body's receive buffers instead of copies of them.

        Such a chunk is a ``memoryview`` of a buffer the connection no longer uses, and
        the reader passes it to :meth:`give_back` once done with it. For ``asave()`` of
        512 MiB here, copying each 1 MiB out (into fresh memory, page faults and all) was
        a quarter of the event loop thread's CPU time: ~0.45 s, ~0.32 s without.
        """
        self._spare = []

    def give_back(self, chunk: memoryview) -> None:
        """Let the connection receive into ``chunk``'s buffer again (from any thread).

        A buffer given back after the body ended is dropped: a finished response may be
        kept for its headers, and must not keep megabytes of buffers with it.
        """
        spare, buffer = self._spare, chunk.obj
        if spare is not None and isinstance(buffer, bytearray) and len(spare) < _SPARE_BUFFERS:
            spare.append(buffer)  # list.append is atomic: the loop pops from it meanwhile

    def _release(self, *, reuse: bool) -> None:
        self._spare = None
        super()._release(reuse=reuse)

    async def __anext__(self) -> bytes | memoryview:
        connection = self._connection
        if connection is None:
            raise StopAsyncIteration
        try:
            # As in _sync_transport: what h11 holds already; then, for the rest of a long
            # body of known length, the buffer directly, in pieces as large as it holds.
            left = self._left
            if left is not None and (self._raw or left >= RAW_BODY_MIN):
                if not self._raw:
                    event = connection.buffered_event()
                    self._raw = event is h11.NEED_DATA
                    if self._raw:
                        connection.widen_buffer(_RAW_BUFFER_SIZE)
                if self._raw:
                    return await self._next_raw(connection, left)
            else:
                event = await connection.next_event(self._timeout)
        except BaseException:
            self._release(reuse=False)
            raise
        if isinstance(event, h11.Data):
            if left is not None:
                self._left = left - len(event.data)
            return bytes(event.data)
        self._release(reuse=isinstance(event, h11.EndOfMessage))
        if not isinstance(event, h11.EndOfMessage):  # pragma: no cover - h11 allows no other
            raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in a body")
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Give the connection up; one closed before the end of its body is not reused."""
        self._release(reuse=False)

    async def _next_raw(self, connection: _Connection, left: int) -> bytes | memoryview:
        if not left:
            # h11 never saw this body: the connection goes on with a fresh state.
            self._release(reuse=connection.restart(keeps_alive(self._head)))
            raise StopAsyncIteration
        spare = self._spare
        if spare is None:
            chunk: bytes | memoryview = await connection.read(self._timeout, left)
        else:
            chunk = await connection.read_lent(self._timeout, left, spare)
        if not chunk:
            length = self._length
            assert length is not None
            raise incomplete_body(length - left, length)
        self._left = left - len(chunk)
        return chunk


class _Connection(H11Connection):
    """One HTTP/1.1 connection: h11's state machine over an asyncio transport."""

    def __init__(self, origin: Origin, transport: asyncio.Transport, protocol: _Protocol) -> None:
        super().__init__(origin)
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._protocol = protocol

    async def exchange(
        self, request: httpx.Request, write_timeout: float | None, read_timeout: float | None
    ) -> h11.Response:
        """Send ``request`` and read the head of its (final) response."""
        try:
            target = request.url.raw_path
            head = h11.Request(method=request.method, target=target, headers=request.headers.raw)
            await self._write(self._h11.send(head), write_timeout)
            if not isinstance(request.stream, httpx.AsyncByteStream):
                raise RuntimeError("Attempted to send a sync request with an AsyncClient instance.")
            async for chunk in request.stream:
                if chunk:
                    await self._write(self._h11.send(h11.Data(data=chunk)), write_timeout)
            await self._write(self._h11.send(h11.EndOfMessage()), write_timeout)
        except httpx.WriteError:
            # The server may have answered and closed before taking the whole request (a
            # 413, say): its answer, if there is one, says more than the write error.
            pass
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        while True:
            event = await self.next_event(read_timeout)
            if isinstance(event, h11.Response):
                return event
            # InformationalResponse (1xx): the final answer follows.

    async def next_event(self, timeout: float | None) -> Any:
        """h11's next event, reading from the socket as it needs."""
        while (event := self.buffered_event()) is h11.NEED_DATA:
            data = await self.read(timeout)
            if not data and self._h11.their_state is h11.SEND_RESPONSE:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            self._h11.receive_data(data)
        return event

    def peer_closed(self) -> bool:
        return self._protocol.closed

    def peer_spoke(self) -> bool:
        if self._loop is not asyncio.get_running_loop():
            return True  # opened in an earlier event loop (a client outliving asyncio.run())
        protocol = self._protocol
        if protocol.closed or protocol.end > protocol.start:
            return True
        return socket_readable(self._transport.get_extra_info("socket"))

    def close(self) -> None:
        """End the connection at once."""
        if self._loop.is_closed():
            # Nothing can schedule the close on a finished event loop: end the TCP
            # connection now; the socket is freed with the transport.
            with contextlib.suppress(OSError):
                self._transport.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
            return
        # abort(), not close(): HTTP/1.1 has nothing left to say once a connection is let
        # go, and a TLS close() would wait for the server's close_notify.
        self._transport.abort()

    def widen_buffer(self, size: int) -> None:
        """Let the connection receive up to ``size`` bytes ahead of its reader."""
        self._protocol.widen(size)

    async def read(self, timeout: float | None, max_bytes: int = _READ_SIZE) -> bytes:
        """Up to ``max_bytes`` received, waiting for some if none are; b"" at the end."""
        return self._protocol.take(max_bytes) if await self._received(timeout) else b""

    async def read_lent(
        self, timeout: float | None, max_bytes: int, spare: list[bytearray]
    ) -> bytes | memoryview:
        """:meth:`read` for a lending body: a buffer at least half full is handed over
        whole, and the socket goes on into a buffer from ``spare`` or a new one."""
        return self._protocol.lend(max_bytes, spare) if await self._received(timeout) else b""

    async def _received(self, timeout: float | None) -> bool:
        """Wait until something was received; False once the server closed the connection."""
        protocol = self._protocol
        if protocol.start == protocol.end and not protocol.closed:
            waiter = protocol.waiter = asyncio.get_running_loop().create_future()
            try:
                await _wait(waiter, timeout)
            except TimeoutError:
                raise httpx.ReadTimeout("timed out waiting for the server") from None
            finally:
                protocol.waiter = None
        if protocol.start == protocol.end:
            if protocol.error is not None:
                raise httpx.ReadError(str(protocol.error) or "connection lost")
            return False
        return True

    async def _write(self, data: bytes | None, timeout: float | None) -> None:
        if not data:
            return
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            raise httpx.WriteError(str(protocol.error or "connection closed"))
        self._transport.write(data)
        if protocol.writing_paused:
            waiter = protocol.drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await _wait(waiter, timeout)
            except TimeoutError:
                raise httpx.WriteTimeout("timed out sending the request") from None
            finally:
                protocol.drain_waiter = None
            if protocol.error is not None:
                raise httpx.WriteError(str(protocol.error))


class _Protocol(asyncio.BufferedProtocol):
    """Receives straight into one buffer per connection until the connection reads it.

    asyncio's plain protocols allocate a fresh 256 KiB ``bytes`` for every socket read
    (tried with 1 MiB reads: a long body then cost 2-3 x the CPU to read). This one reads
    the socket into its buffer, and each read of the connection copies out what it takes,
    once, or, for ``asave()``, is handed the buffer itself (:meth:`lend`). When the buffer
    is full the socket is left unread (the server then waits), so memory stays bounded
    however slow the consumer is.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray(_BUFFER_SIZE)
        self.view = memoryview(self.buffer)
        self.start = 0  # unread bytes are buffer[start:end]
        self.end = 0
        self.reading_paused = False
        self.writing_paused = False
        self.closed = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None

    @property
    def buffered(self) -> int:
        return self.end - self.start

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        # Never empty: reading pauses as soon as the buffer fills (buffer_updated). A plain
        # socket passes -1. TLS passes how many bytes it holds still encrypted, and once the
        # server has closed the connection it reads into this view once and drops whatever
        # did not fit (asyncio's sslproto): so make room for all of them. The TLS layer's own
        # flow control bounds sizehint to a few hundred KiB.
        if sizehint > len(self.buffer) - self.end:
            left = self.end - self.start
            if left + sizehint > len(self.buffer):
                buffer = bytearray(left + sizehint)
                buffer[:left] = self.view[self.start : self.end]
                self.buffer, self.view = buffer, memoryview(buffer)
            else:  # through a copy: the two ranges may overlap
                self.buffer[:left] = self.buffer[self.start : self.end]
            self.start, self.end = 0, left
        return self.view[self.end :]

    def widen(self, size: int) -> None:
        """A buffer of at least ``size`` bytes, what is unread moved over; reading resumes."""
        if len(self.buffer) >= size:
            return
        left = self.end - self.start
        buffer = bytearray(size)
        buffer[:left] = self.view[self.start : self.end]
        self.buffer, self.view = buffer, memoryview(buffer)
        self.start, self.end = 0, left
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    def buffer_updated(self, nbytes: int) -> None:
        self.end += nbytes
        if self.end == len(self.buffer) and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        _wake(self.waiter)

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of what is buffered, resuming the socket when there is room."""
        start = self.start
        stop = min(self.end, start + max_bytes)
        data = bytes(self.view[start:stop])
        if stop == self.end:
            self.start = self.end = 0
        else:
            self.start = stop
        if self.reading_paused and self.end - self.start <= len(self.buffer) // 4:
            # Move the little that is left to the front, so the socket has room again.
            left = self.end - self.start
            self.buffer[:left] = self.view[self.start : self.end]
            self.start, self.end = 0, left
            self.reading_paused = False
            if self.transport is not None:
                self.transport.resume_reading()
        return data

    def lend(self, max_bytes: int, spare: list[bytearray]) -> bytes | memoryview:
        """:meth:`take` without the copy, when it would take a buffer half full or more."""
        end = self.end
        if self.start or end > max_bytes or end < len(self.buffer) // 2:
            return self.take(max_bytes)
        lent = self.view[:end]
        buffer = spare.pop() if spare else bytearray(len(self.buffer))
        self.buffer, self.view = buffer, memoryview(buffer)
        self.end = 0
        if self.reading_paused:
            self.reading_paused = False
            if self.transport is not None:
                self.transport.resume_reading()
        return lent

    def eof_received(self) -> bool:
        self.closed = True
        _wake(self.waiter)
        return False  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        _wake(self.waiter)
        _wake(self.drain_waiter)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        _wake(self.drain_waiter)


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


async def _wait(waiter: asyncio.Future[None], timeout: float | None) -> None:
    # A timer on the loop instead of asyncio.timeout(): this runs once per read that waits.
    if timeout is None:
        await waiter
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, waiter)
    try:
        await waiter
    finally:
        timer.cancel()

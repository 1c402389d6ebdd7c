"""The connection layer ``BreezeBlue`` builds for itself: HTTP/1.1 (h11) over plain sockets.

httpx's own transport goes through httpcore, which reads the socket 64 KiB at a time and
passes every byte of a body through h11's receive buffer: two copies and a dozen Python
calls per 64 KiB. On a 512 MiB download that made httpx ~1.9 x curl here and the SDK's
durable ``save()`` ~1.4 x curl-then-``sync`` (see ``benchmarks/results.md``). This transport
keeps httpx's client (URLs, headers, timeouts, errors) and h11 for what h11 is good at
(request and response heads, chunked and short bodies, keep-alive), and reads a large body
with a known length straight from the socket, 1 MiB at a time, each chunk a fresh ``bytes``.
The connection then starts again with a fresh h11 state, as h11 would after a body it had
read itself, unless either side asked to close it.

It is used only when the SDK creates the HTTP client itself and no proxy is configured in
the environment; a caller's ``http_client`` is always used as it is. While a test library
has patched httpx's or httpcore's transport (vcrpy, respx, pytest-httpx), requests go
through httpx's own transport instead, so that the mock sees them. ``_transport`` is the
asyncio twin and shares the helpers here.
"""

from __future__ import annotations

import enum
import select
import socket
import ssl
import sys
import threading
import time
import types
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, Final, Generic, TypeVar

import h11
import httpx

__all__ = [
    "MAX_HEAD",
    "POOL_FULL",
    "RAW_BODY_MIN",
    "H11Connection",
    "LazyContext",
    "PooledBody",
    "Slots",
    "SyncTransport",
    "body_length",
    "environment_has_proxy",
    "incomplete_body",
    "keeps_alive",
    "origin_of",
    "protocol_switched",
    "response_for",
    "socket_readable",
    "transport_is_mocked",
]

# Heads and short bodies are read as httpcore reads them; long bodies in larger pieces,
# into one buffer per body and copied out. A fresh 1 MiB bytes for each read (socket.recv)
# cost more than that copy: the socket seldom has 1 MiB ready, and malloc maps and unmaps
# each such block anew. Reading 512 MiB took 0.2 s of CPU here, against 0.47 s.
_READ_SIZE = 64 * 1024
_RAW_READ = 1024 * 1024
# A body with at least this much left after its head is read past h11 (see the docstring).
RAW_BODY_MIN = 1024 * 1024
# The largest response head accepted (h11's default is 16 KiB; httpcore allows 100 KiB).
MAX_HEAD = 100 * 1024

Origin = tuple[bytes, bytes, int]


def environment_has_proxy() -> bool:
    """Whether the environment names a proxy (``HTTPS_PROXY`` and the like).

    httpx honours those only through its own transport, so the SDK then keeps it.
    """
    return any(scheme != "no" for scheme in urllib.request.getproxies())


def transport_is_mocked(*, asynchronous: bool) -> bool:
    """Whether a test library has replaced httpx's or httpcore's request handling."""
    transport = httpx.AsyncHTTPTransport if asynchronous else httpx.HTTPTransport
    method = "handle_async_request" if asynchronous else "handle_request"
    if _replaced(getattr(transport, method), "httpx._transports.default"):
        return True
    httpcore = sys.modules.get("httpcore")
    if httpcore is None:
        return False
    pool = httpcore.AsyncConnectionPool if asynchronous else httpcore.ConnectionPool
    home = f"httpcore._{'async' if asynchronous else 'sync'}.connection_pool"
    return _replaced(getattr(pool, method), home)


def _replaced(handler: object, home: str) -> bool:
    """Whether ``handler``, defined in module ``home``, was swapped by a test library."""
    # A stand-in is a mock object, a function from elsewhere, or a wrapper: functools.wraps
    # (vcrpy) copies the name and module but leaves __wrapped__.
    return (
        not isinstance(handler, types.FunctionType)
        or handler.__module__ != home
        or hasattr(handler, "__wrapped__")
    )


def origin_of(url: httpx.URL) -> Origin:
    """Where ``url`` connects to: scheme, host, port (only http and https are spoken)."""
    if url.raw_scheme not in (b"http", b"https"):
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
    port = url.port or (443 if url.raw_scheme == b"https" else 80)
    return (url.raw_scheme, url.raw_host, port)


def body_length(method: str, head: h11.Response) -> int | None:
    """The body's length when its head gives one and nothing else frames it, else None."""
    if method == "HEAD" or head.status_code in (204, 304):
        return None
    length = None
    for name, value in head.headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            length = int(value)  # h11 has already refused a malformed or conflicting one
    return length


def keeps_alive(head: h11.Response) -> bool:
    """Whether the server lets the connection live on after this response (h11's rule)."""
    if head.http_version < b"1.1":
        return False
    for name, value in head.headers:
        if name == b"connection" and b"close" in (t.strip() for t in value.lower().split(b",")):
            return False
    return True


def incomplete_body(received: int, expected: int) -> httpx.RemoteProtocolError:
    """The error for a connection that closed before the end of a body (h11's wording)."""
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body "
        f"(received {received} bytes, expected {expected})"
    )


def protocol_switched() -> httpx.RemoteProtocolError:
    """The error for a 101 or a CONNECT's 2xx: h11 would answer PAUSED forever."""
    return httpx.RemoteProtocolError("the server switched protocols, unsupported here")


def socket_readable(sock: Any) -> bool:
    """Whether anything (data, the end of the stream) waits to be read on ``sock``."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows, where select() takes any socket
        return bool(select.select([sock], [], [], 0)[0])
    # poll(), not select(), elsewhere: select() refuses descriptors above FD_SETSIZE (1024).
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class LazyContext:
    """The TLS context of a transport: the one it was given, or httpx's default made on
    first use. Loading the CA bundle costs 10-60 ms here, and a client of a local server
    (every test) never opens a TLS connection."""

    def __init__(self, given: ssl.SSLContext | None) -> None:
        self._context = given

    def __call__(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = httpx.create_ssl_context()
        return self._context


def response_for(
    head: h11.Response,
    body: httpx.SyncByteStream | httpx.AsyncByteStream,
    **extensions: object,
) -> httpx.Response:
    """httpx's response for ``head``, its body streamed from ``body``."""
    return httpx.Response(
        status_code=head.status_code,
        headers=head.headers.raw_items(),
        stream=body,
        extensions={
            "http_version": b"HTTP/" + head.http_version,
            "reason_phrase": head.reason,
            **extensions,
        },
    )


class H11Connection:
    """What both transports' connections share: h11's state and when it may be reused."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.expires_at: float | None = None
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)

    def buffered_event(self) -> Any:
        """h11's next event from what it has received already (NEED_DATA when none)."""
        try:
            event = self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from exc
        if event is h11.PAUSED:
            raise protocol_switched()
        return event

    def start_next_cycle(self) -> bool:
        """Ready the connection for another request, if both sides finished cleanly."""
        states = (self._h11.our_state, self._h11.their_state)
        if states == (h11.DONE, h11.DONE):
            self._h11.start_next_cycle()
        elif states != (h11.IDLE, h11.IDLE):  # IDLE: restarted after a body read past h11
            return False
        return not self.peer_closed()

    def restart(self, keep_alive: bool) -> bool:
        """After a body read past h11: a fresh h11 state, if both sides keep the connection."""
        if keep_alive and self._h11.our_state is h11.DONE:  # not MUST_CLOSE: we asked not
            self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
            return True
        return False

    def reusable(self, now: float) -> bool:
        """Idle, not expired, and nothing (data, end of stream) arrived since the last answer."""
        if self.expires_at is not None and now > self.expires_at:
            return False
        if self._h11.trailing_data[0]:
            return False  # bytes past the last answer: no answer to the next request
        return not self.peer_spoke()

    def peer_closed(self) -> bool:
        """Whether the server is known to have closed the connection."""
        return False

    def peer_spoke(self) -> bool:
        """Whether anything arrived unasked (data, or the end of the stream)."""
        raise NotImplementedError

    def close(self) -> None:
        """End the connection at once."""
        raise NotImplementedError


ConnectionT = TypeVar("ConnectionT", bound=H11Connection)


class _Full(enum.Enum):
    POOL_FULL = "pool full"


# What Slots.take() answers when the caller must wait for a connection to come back.
POOL_FULL: Final = _Full.POOL_FULL


class Slots(Generic[ConnectionT]):
    """A pool's bookkeeping, shared by both transports (which lock or await around it):
    which idle connection to reuse, when to open another, what to keep when one returns.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._max_connections = limits.max_connections
        self._max_idle = limits.max_keepalive_connections
        self._keepalive_expiry = limits.keepalive_expiry
        self.idle: list[ConnectionT] = []  # oldest first
        self.active = 0
        self.closed = False

    def take(self, origin: Origin, now: float) -> ConnectionT | _Full | None:
        """An idle connection to ``origin``, None to open one, or POOL_FULL to wait."""
        while True:
            for connection in reversed(list(self.idle)):  # newest first: least likely stale
                if connection.origin == origin:
                    self.idle.remove(connection)
                    try:
                        reusable = connection.reusable(now)
                    except BaseException:
                        connection.close()
                        raise
                    if reusable:
                        self.active += 1
                        return connection
                    connection.close()
            limit = self._max_connections
            if limit is None or self.active + len(self.idle) < limit:
                self.active += 1
                return None
            if not self.idle:
                return POOL_FULL
            self.idle.pop(0).close()  # full of idle connections to other origins

    def give_back(self, connection: ConnectionT | None, *, reuse: bool) -> None:
        """End a slot; keep its connection idle if it can serve another request."""
        self.active -= 1
        if connection is None:
            return
        # A closed pool keeps nothing: a response that outlives close() ends its connection.
        if reuse and not self.closed and connection.start_next_cycle():
            expiry = self._keepalive_expiry
            connection.expires_at = None if expiry is None else time.monotonic() + expiry
            self.idle.append(connection)
            if self._max_idle is not None and len(self.idle) > self._max_idle:
                self.idle.pop(0).close()
        else:
            connection.close()

    def close(self) -> list[ConnectionT]:
        """Keep nothing from now on; the idle connections, for the caller to close."""
        self.closed = True
        idle, self.idle = self.idle, []
        return idle


class PooledBody(Generic[ConnectionT]):
    """What both transports' response bodies share: the connection they read from, what
    the head says of the body, and handing the connection back to the pool once."""

    def __init__(
        self,
        checkin: Callable[..., None],
        connection: ConnectionT,
        head: h11.Response,
        method: str,
        timeout: float | None,
    ) -> None:
        self._checkin = checkin
        self._connection: ConnectionT | None = connection
        self._head = head
        self._length = body_length(method, head)  # None: h11 frames the body
        self._timeout = timeout

    def _release(self, *, reuse: bool) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            self._checkin(connection, reuse=reuse)


class SyncTransport(httpx.BaseTransport):
    """An ``httpx`` transport: a thread-safe keep-alive pool of h11 connections over sockets.

    Behaves as ``httpx.HTTPTransport(limits=limits)`` does for HTTP/1.1 without a proxy: at
    most ``max_connections`` connections, ``max_keepalive_connections`` of them kept idle for
    ``keepalive_expiry`` seconds, each request's connect/read/write/pool timeouts, TLS
    verified with ``httpx.create_ssl_context()`` (made on the first https connection),
    httpx's exception types.
    """

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._context = LazyContext(ssl_context)
        self._limits = limits
        self._slots = Slots[_Connection](limits)
        self._lock = threading.Condition()
        self._stock: httpx.HTTPTransport | None = None  # for when httpx is mocked

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request on a pooled connection; the body is streamed as it is read."""
        if transport_is_mocked(asynchronous=False):
            with self._lock:
                if self._stock is None:
                    self._stock = httpx.HTTPTransport(limits=self._limits, verify=self._context())
            return self._stock.handle_request(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        origin = origin_of(request.url)
        connection = self._checkout(origin, timeouts.get("pool"))
        try:
            if connection is None:
                sni = request.extensions.get("sni_hostname")
                connection = self._connect(origin, sni, timeouts.get("connect"))
            head = connection.exchange(request, timeouts.get("write"), timeouts.get("read"))
        except BaseException:
            self._checkin(connection, reuse=False)
            raise
        return response_for(
            head, _Body(self._checkin, connection, head, request.method, timeouts.get("read"))
        )

    def close(self) -> None:
        """Close the idle connections; those in use close when their responses do."""
        with self._lock:
            idle = self._slots.close()
        for connection in idle:
            connection.close()
        if self._stock is not None:
            self._stock.close()

    def _checkout(self, origin: Origin, timeout: float | None) -> _Connection | None:
        """A slot in the pool: an idle connection to ``origin``, or None to open one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while (slot := self._slots.take(origin, time.monotonic())) is POOL_FULL:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise httpx.PoolTimeout("timed out waiting for a free connection")
                self._lock.wait(left)
            return slot

    def _checkin(self, connection: _Connection | None, *, reuse: bool) -> None:
        with self._lock:
            self._slots.give_back(connection, reuse=reuse)
            self._lock.notify()

    def _connect(
        self, origin: Origin, sni_hostname: str | None, timeout: float | None
    ) -> _Connection:
        scheme, raw_host, port = origin
        host = raw_host.decode("ascii")
        try:
            sock = socket.create_connection((host, port), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        try:
            # As httpcore does: a request's head and body go out at once, not after an ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == b"https":
                # The handshake runs under the connect timeout, still set on the socket.
                sock = self._context().wrap_socket(sock, server_hostname=sni_hostname or host)
        except TimeoutError:
            sock.close()
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:  # ssl.SSLError included
            sock.close()
            raise httpx.ConnectError(str(exc)) from exc
        except BaseException:
            sock.close()
            raise
        return _Connection(origin, sock)


class _Body(PooledBody["_Connection"], httpx.SyncByteStream):
    """A response body read from its connection, which goes back to the pool at the end."""

    def __iter__(self) -> Iterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        try:
            # What h11 holds already, past the head; then h11 reads on, or, for the rest of
            # a long body of known length, the socket is read directly.
            left = self._length
            event = connection.buffered_event()
            while isinstance(event, h11.Data):
                if left is not None:
                    left -= len(event.data)
                yield bytes(event.data)
                event = connection.buffered_event()
            if event is h11.NEED_DATA and left is not None and left >= RAW_BODY_MIN:
                length = self._length
                assert length is not None
                buffer = memoryview(bytearray(_RAW_READ))
                while left:
                    chunk = connection.recv(min(left, _RAW_READ), self._timeout, buffer)
                    if not chunk:
                        raise incomplete_body(length - left, length)
                    left -= len(chunk)
                    yield chunk
                # h11 never saw this body: the connection goes on with a fresh state.
                self._release(reuse=connection.restart(keeps_alive(self._head)))
                return
            if event is h11.NEED_DATA:
                event = connection.next_event(self._timeout)
            while isinstance(event, h11.Data):
                yield bytes(event.data)
                event = connection.next_event(self._timeout)
        except BaseException:
            self._release(reuse=False)
            raise
        self._release(reuse=isinstance(event, h11.EndOfMessage))
        if not isinstance(event, h11.EndOfMessage):  # pragma: no cover - h11 allows no other
            raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in a body")

    def close(self) -> None:
        """Give the connection up; one closed before the end of its body is not reused."""
        self._release(reuse=False)


class _Connection(H11Connection):
    """One HTTP/1.1 connection: h11's state machine over a (TLS) socket."""

    def __init__(self, origin: Origin, sock: socket.socket) -> None:
        super().__init__(origin)
        self._sock = sock
        self._timeout: float | None = sock.gettimeout()

    def exchange(
        self, request: httpx.Request, write_timeout: float | None, read_timeout: float | None
    ) -> h11.Response:
        """Send ``request`` and read the head of its (final) response."""
        try:
            target = request.url.raw_path
            head = h11.Request(method=request.method, target=target, headers=request.headers.raw)
            self._send(self._h11.send(head), write_timeout)
            if not isinstance(request.stream, httpx.SyncByteStream):
                raise RuntimeError("Attempted to send an async request with a sync Client.")
            for chunk in request.stream:
                if chunk:
                    self._send(self._h11.send(h11.Data(data=chunk)), write_timeout)
            self._send(self._h11.send(h11.EndOfMessage()), write_timeout)
        except httpx.WriteError:
            # The server may have answered and closed before taking the whole request (a
            # 413, say): its answer, if there is one, says more than the write error.
            pass
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        while True:
            event = self.next_event(read_timeout)
            if isinstance(event, h11.Response):
                return event
            # InformationalResponse (1xx): the final answer follows.

    def next_event(self, timeout: float | None) -> Any:
        """h11's next event, reading from the socket as it needs."""
        while (event := self.buffered_event()) is h11.NEED_DATA:
            data = self.recv(_READ_SIZE, timeout)
            if not data and self._h11.their_state is h11.SEND_RESPONSE:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            self._h11.receive_data(data)
        return event

    def recv(self, size: int, timeout: float | None, buffer: memoryview | None = None) -> bytes:
        """Up to ``size`` bytes from the socket; b"" when the server closed it.

        With ``buffer`` (``size`` long or more) they are received into it and copied out.
        """
        try:
            self._set_timeout(timeout)
            if buffer is None:
                return self._sock.recv(size)
            return bytes(buffer[: self._sock.recv_into(buffer, size)])
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the server") from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or "connection lost") from exc

    def peer_spoke(self) -> bool:
        if isinstance(self._sock, ssl.SSLSocket) and self._sock.pending():
            return True
        return socket_readable(self._sock)

    def close(self) -> None:
        """End the connection at once."""
        # No TLS close_notify: HTTP/1.1 has nothing left to say once a connection is let go.
        self._sock.close()

    def _send(self, data: bytes | None, timeout: float | None) -> None:
        if not data:
            return
        try:
            self._set_timeout(timeout)
            self._sock.sendall(data)
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending the request") from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or "connection lost") from exc

    def _set_timeout(self, timeout: float | None) -> None:
        if timeout != self._timeout:  # one system call less per read, most of the time
            self._sock.settimeout(timeout)
            self._timeout = timeout

"""A loopback HTTP server that behaves as the spec says, built on the standard library."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import re
import secrets
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote

from ._faults import (
    ChangeValidator,
    Drop,
    Fault,
    Hangup,
    IgnoreRange,
    PartialContent,
    Redirect,
    Stall,
    Trickle,
)
from ._items import ErrorReply, Item, Ready, default_items, running
from ._limits import RateLimit, _Limiter

__all__ = ["TEST_API_KEY", "RecordedRequest", "ReferenceServer", "api_key_id"]

TEST_API_KEY = "bb_test_4f9d2c7a1e8b6305"
"""The key a [`ReferenceServer`][breeze_blue.testing.ReferenceServer] accepts unless told
otherwise. Not a real key."""

_AUDIO_PATH_PREFIX = "/v1/history/"
_AUDIO_PATH_SUFFIX = "/audio"
_MAX_ID_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # the spec's pattern forbids these in an id
_LAST_MODIFIED = "Tue, 24 Nov 2026 00:00:00 GMT"


def api_key_id(key: str) -> str:
    """The public identifier the server reports for ``key`` (``x-breeze-api-key-id``)."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received. The API key itself is not kept, only whether it fit."""

    method: str
    """The HTTP method, ``"GET"`` for the API's one operation."""
    path: str
    """The request path, without the query."""
    history_item_id: str | None
    """The id from the path, decoded; ``None`` for a path that is not the audio route."""
    api_key_valid: bool
    """Whether an ``xi-api-key`` the server accepts was sent."""
    headers: Mapping[str, str]
    """The request headers, lower-cased, without ``xi-api-key``."""
    api_key_sent: bool = False
    """Whether any ``xi-api-key`` header was sent, valid or not."""


class ReferenceServer:
    """The Breeze Blue API on a free loopback port, for demos and tests.

    It serves ``GET /v1/history/{history_item_id}/audio`` as ``openapi.yaml`` describes:
    audio for ready items (streamed, with ``content-length``), the error envelope for the
    others, ``401`` without a valid ``xi-api-key``. Start it with ``with`` (or
    ``start()``/``stop()``); it listens on loopback only.

    ``rate_limit`` (a [`RateLimit`][breeze_blue.testing.RateLimit], also settable later as
    ``server.rate_limit``) answers audio requests beyond a limit with ``429 RATE_LIMITED``
    and ``Retry-After``, as the API does; ``rate_limited``, ``peak_in_flight`` and
    ``early_requests`` say how a client coped. Many items are cheap: a
    ``Ready(size=...)`` body is generated as it is sent, never held in memory.

    Examples:
        >>> with ReferenceServer() as server:
        ...     server.add("hist_mine", Ready(media_type="audio/wav", body=b"RIFF..."))
        ...     client = BreezeBlue(api_key=TEST_API_KEY, base_url=server.url)
        ...     client.history.download_audio("hist_mine").read()

        Two thousand 256 KiB items behind a limit, for a benchmark:

        >>> with ReferenceServer(rate_limit=RateLimit(max_in_flight=8)) as server:
        ...     for i in range(2000):
        ...         server.add(f"hist_{i:05d}", Ready(size=256 * 1024))
    """

    def __init__(
        self,
        *,
        items: Mapping[str, Item] | None = None,
        api_keys: Iterable[str] = (TEST_API_KEY,),
        require_key: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: RateLimit | None = None,
    ) -> None:
        host = "127.0.0.1" if host == "localhost" else host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"the reference server listens on loopback only, not {host!r}")
        self.items: dict[str, Item] = dict(default_items() if items is None else items)
        """The history items it serves, by id (``add()`` and ``remove()`` change it)."""
        self.api_keys: frozenset[str] = frozenset(api_keys)
        """The ``xi-api-key`` values it accepts."""
        self.require_key: bool = require_key
        """Whether a request without a valid key gets ``401`` (``False``: anything goes)."""
        self.requests: list[RecordedRequest] = []
        """Every request received, in order, for a test to check what a client sent."""
        self.connections_opened: int = 0
        """How many connections clients have opened to this server."""
        self.peak_connections: int = 0
        """The most connections that were open at once: a client's pool limit, seen here."""
        self._open_connections = 0
        self._faults: dict[str, deque[Fault | ErrorReply]] = {}
        self._lock = threading.Lock()
        self._limiter = _Limiter(rate_limit)
        self._httpd = _HTTPServer((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the client, for example ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        host = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"http://{host}:{port}"

    @property
    def rate_limit(self) -> RateLimit | None:
        """The limit on audio requests, or ``None`` (the default): no limit.

        Setting it takes effect for the next request and refills the token bucket; requests
        already being served keep counting as in flight.

        Examples:
            >>> server.rate_limit = RateLimit(per_second=5, burst=5)
            >>> server.rate_limit = None  # unlimited again
        """
        return self._limiter.limit

    @rate_limit.setter
    def rate_limit(self, rate_limit: RateLimit | None) -> None:
        self._limiter.limit = rate_limit

    @property
    def rate_limited(self) -> int:
        """How many ``429 RATE_LIMITED`` answers the rate limit sent.

        Items and faults that answer ``429`` themselves (``hist_rate_limited``) are not
        counted.

        Examples:
            >>> assert server.rate_limited == 0
        """
        return self._limiter.rate_limited

    @property
    def peak_in_flight(self) -> int:
        """The most audio requests served at once, from admission to the body's last byte.

        Counted with or without a rate limit; requests refused with ``429`` (or ``401``)
        never count as in flight.

        Examples:
            >>> server.rate_limit = RateLimit(max_in_flight=8)
            >>> ...  # downloads
            >>> assert server.peak_in_flight <= 8
        """
        return self._limiter.peak_in_flight

    @property
    def early_requests(self) -> int:
        """Audio requests that arrived while a ``Retry-After`` the rate limit sent was running.

        A ``429`` sent at time *t* with ``Retry-After: n`` makes a request that arrives
        between *t* + 50 ms and *t* + *n* - 50 ms early, whether it is then admitted or
        not. The 50 ms at each end spare a request that was already on its way when the
        ``429`` went out and a client that waits exactly the announced time. A client whose
        workers share one back-off gate sends no early request.

        Examples:
            >>> assert server.early_requests == 0, "a worker ignored another's Retry-After"
        """
        return self._limiter.early_requests

    def add(self, history_item_id: str, item: Item, *, running_polls: int = 0) -> None:
        """Add or replace a history item.

        ``running_polls=N`` makes it answer ``409 GENERATION_NOT_READY`` (``Retry-After: 1``)
        to the next N requests first, like a generation that is still running.

        Examples:
            >>> wav = tone_wav()  # a short, playable WAV
            >>> server.add("hist_new", Ready(media_type="audio/wav", body=wav), running_polls=2)
        """
        with self._lock:
            self.items[history_item_id] = item
            self._faults.pop(history_item_id, None)
        if running_polls:
            self.inject(history_item_id, *[running("1")] * running_polls)

    def remove(self, history_item_id: str) -> None:
        """Forget an item: it is then missing (``404 RESOURCE_NOT_FOUND``)."""
        with self._lock:
            self.items.pop(history_item_id, None)
            self._faults.pop(history_item_id, None)

    def inject(self, history_item_id: str, *faults: Fault | ErrorReply) -> None:
        """Make the next requests for an item misbehave, one fault per request, in order.

        Once they are used up the item is served normally again. An
        [`ErrorReply`][breeze_blue.testing.ErrorReply] answers that one request with that
        error.

        Examples:
            >>> server.inject("hist_01haudio", running("1"), Drop(after=1000))
        """
        with self._lock:
            self._faults.setdefault(history_item_id, deque()).extend(faults)

    def _next_fault(self, history_item_id: str) -> Fault | ErrorReply | None:
        with self._lock:
            queue = self._faults.get(history_item_id)
            return queue.popleft() if queue else None

    def start(self) -> ReferenceServer:
        """Serve in a background thread until ``stop()``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="breeze-blue-reference-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in this thread (the command line uses this); Ctrl-C stops it."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _connected(self, change: int) -> None:
        with self._lock:
            self._open_connections += change
            if change > 0:
                self.connections_opened += 1
                self.peak_connections = max(self.peak_connections, self._open_connections)

    def _lookup(self, history_item_id: str) -> Item | None:
        with self._lock:
            return self.items.get(history_item_id)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 makes a burst of new connections (a benchmark's
    # workers starting together) wait for SYN retransmits, a second each.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        reference: ReferenceServer,
    ) -> None:
        self.reference = reference
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (an abandoned download, a closed pool) is not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BreezeBlueReference/1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK holds the body back some 40 ms per request, which swamps any benchmark.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests and the demo print what matters themselves."""

    def setup(self) -> None:
        """Count the connection as open (for ``peak_connections``)."""
        self.server.reference._connected(+1)
        super().setup()

    def finish(self) -> None:
        """Count the connection as closed."""
        try:
            super().finish()
        finally:
            self.server.reference._connected(-1)

    def do_GET(self) -> None:
        reference = self.server.reference
        path = self.path.split("?", 1)[0]
        item_id = _history_item_id(path)
        if item_id is not None:
            # On arrival, before anything can delay it: the gate is about when requests start.
            reference._limiter.arrived()
        key = self.headers.get("xi-api-key")
        key_valid = key is not None and key in reference.api_keys
        headers = {
            name.lower(): value
            for name, value in self.headers.items()
            if name.lower() != "xi-api-key"
        }
        reference._record(
            RecordedRequest("GET", path, item_id, key_valid, headers, api_key_sent=key is not None)
        )
        fault = reference._next_fault(item_id) if item_id is not None else None
        if isinstance(fault, Hangup):
            self._abort()
            return
        if isinstance(fault, Stall) and fault.after is None:
            time.sleep(fault.seconds)
        if isinstance(fault, Redirect):
            self._send(fault.status, b"", "text/plain", {"location": fault.location})
            return
        if isinstance(fault, ErrorReply):
            self._send_reply(fault)
            return

        if reference.require_key and not key_valid:
            self._send_error(401, "UNAUTHENTICATED", "The API key is missing or invalid.")
            return
        if item_id is None:
            self._send_error(404, "RESOURCE_NOT_FOUND", "No such route.")
            return
        retry_after = reference._limiter.admit()
        if retry_after is not None:
            self._send_error(
                429,
                "RATE_LIMITED",
                "Too many requests; retry after the Retry-After interval.",
                {"retry-after": str(retry_after)},
            )
            return
        try:
            self._serve_item(item_id, key if key_valid else None, fault)
        finally:
            # Also when the client hung up mid-body: a lost download frees its slot.
            reference._limiter.release()

    def _serve_item(self, item_id: str, key: str | None, fault: Fault | None) -> None:
        reference = self.server.reference
        if len(item_id) > _MAX_ID_LENGTH or _CONTROL.search(item_id):
            self._send_error(400, "INVALID_REQUEST", "The history item identifier is malformed.")
            return
        item = reference._lookup(item_id)
        if item is None:
            self._send_error(
                404,
                "RESOURCE_NOT_FOUND",
                "The history audio does not exist or is no longer available.",
            )
        elif isinstance(item, ErrorReply):
            self._send_reply(item)
        else:
            self._send_audio(item_id, item, key, fault)

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches to do_<METHOD> and answers an unknown one with an HTML
        # 501; every method but GET gets the API's JSON 405 instead.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self._send_error(
            405,
            "INVALID_REQUEST",
            "Only GET is supported.",
            {"allow": "GET"},
            body=self.command != "HEAD",
        )

    def _send_audio(self, item_id: str, item: Ready, key: str | None, fault: Fault | None) -> None:
        length = item.length
        etag = item.etag(item_id)
        if isinstance(fault, ChangeValidator):
            etag = etag[:-1] + '-changed"'
        start, end = 0, length - 1
        status = 200
        accepted = etag
        if isinstance(fault, ChangeValidator) and fault.ignore_if_range:
            accepted = self.headers.get("if-range", etag)
        wanted = _wanted_range(self.headers, item, accepted, length)
        if isinstance(wanted, str):
            self._send_error(
                416,
                "INVALID_REQUEST",
                "The requested range cannot be satisfied.",
                {"content-range": f"bytes */{length}"},
            )
            return
        if wanted is not None and not isinstance(fault, IgnoreRange):
            status, (start, end) = 206, wanted
        elif isinstance(fault, PartialContent) and "range" not in self.headers:
            status, start = 206, min(fault.start, end)
        self.send_response(status)
        self.send_header("content-type", item.media_type)
        self.send_header("content-length", str(end - start + 1))
        self.send_header(
            "content-disposition", _content_disposition(item.suggested_filename(item_id))
        )
        if key is not None:
            self.send_header("x-breeze-api-key-id", api_key_id(key))
        if item.ranges:
            self.send_header("accept-ranges", "bytes")
            self.send_header("etag", etag)
            self.send_header("last-modified", _LAST_MODIFIED)
        if status == 206:
            self.send_header("content-range", f"bytes {start}-{end}/{length}")
        self.end_headers()

        limit = end - start + 1
        if item.cut_after is not None:
            limit = min(limit, max(0, item.cut_after - start))
        if isinstance(fault, Drop):
            limit = min(limit, fault.after)
        try:
            self._write_body(item.chunks(item_id), start, limit, fault)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if limit < end - start + 1:
            # Announced more than it sent: the client must see a broken download.
            if isinstance(fault, Drop) and fault.reset:
                self._abort()
            self.close_connection = True

    def _write_body(
        self, chunks: Iterator[bytes], start: int, limit: int, fault: Fault | None
    ) -> None:
        position = 0  # offset of the current chunk within the whole body
        sent = 0
        stalled = False
        for chunk in chunks:
            if sent >= limit:
                break
            if position + len(chunk) <= start:
                position += len(chunk)
                continue
            piece = chunk[max(0, start - position) :][: limit - sent]
            position += len(chunk)
            if isinstance(fault, Stall) and fault.after is not None and not stalled:
                head = piece[: max(0, fault.after - sent)]
                if sent + len(piece) >= fault.after:
                    self.wfile.write(head)
                    self.wfile.flush()
                    time.sleep(fault.seconds)
                    stalled = True
                    sent += len(head)
                    piece = piece[len(head) :]
            if isinstance(fault, Trickle):
                for offset in range(0, len(piece), fault.chunk):
                    self.wfile.write(piece[offset : offset + fault.chunk])
                    time.sleep(fault.delay)
            else:
                self.wfile.write(piece)
            sent += len(piece)

    def _abort(self) -> None:
        # SO_LINGER 0: close with a reset, as a crashed peer or a dropped link would.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _send_reply(self, reply: ErrorReply) -> None:
        if reply.raw_body is not None:
            self._send(reply.status, reply.raw_body, reply.raw_content_type, reply.headers)
        else:
            self._send_error(reply.status, reply.code, reply.message, reply.headers)

    def _send_error(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        body: bool = True,
    ) -> None:
        envelope = {
            "error": {
                "code": code,
                "message": message,
                "request_id": "req_" + secrets.token_hex(8),
            }
        }
        payload = json.dumps(envelope).encode()
        self._send(status, payload, "application/json", headers or {}, body=body)

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: Mapping[str, str],
        *,
        body: bool = True,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(payload)


def _wanted_range(
    headers: Message, item: Ready, etag: str, length: int
) -> tuple[int, int] | str | None:
    """The (start, end) a valid Range asks for, ``"unsatisfiable"``, or ``None`` (send all)."""
    value = headers.get("range")
    if not item.ranges or not value:
        return None
    if_range = headers.get("if-range")
    if if_range is not None and if_range not in {etag, _LAST_MODIFIED}:
        return None  # the client's copy is stale: send the whole new representation
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", value.strip())
    if not match:
        return None
    start = int(match[1])
    end = min(int(match[2]) if match[2] else length - 1, length - 1)
    if start >= length or end < start:
        return "unsatisfiable"
    return start, end


def _history_item_id(path: str) -> str | None:
    if not (path.startswith(_AUDIO_PATH_PREFIX) and path.endswith(_AUDIO_PATH_SUFFIX)):
        return None
    segment = path[len(_AUDIO_PATH_PREFIX) : -len(_AUDIO_PATH_SUFFIX)]
    if not segment or "/" in segment:
        return None
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return None


def _content_disposition(filename: str) -> str:
    if filename.isascii() and '"' not in filename and "\\" not in filename:
        return f'attachment; filename="{filename}"'
    fallback = filename.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"

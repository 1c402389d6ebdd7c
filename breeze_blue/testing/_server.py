"""A loopback HTTP server that behaves as the spec says, built on the standard library."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import quote, unquote

from ._items import ErrorReply, Item, Ready, default_items

__all__ = ["TEST_API_KEY", "RecordedRequest", "ReferenceServer", "api_key_id"]

TEST_API_KEY = "bb_test_4f9d2c7a1e8b6305"
"""The key a :class:`ReferenceServer` accepts unless told otherwise. Not a real key."""

_AUDIO_PATH_PREFIX = "/v1/history/"
_AUDIO_PATH_SUFFIX = "/audio"
_MAX_ID_LENGTH = 256


def api_key_id(key: str) -> str:
    """The public identifier the server reports for ``key`` (``x-breeze-api-key-id``)."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received. The API key itself is not kept, only whether it fit."""

    method: str
    path: str
    history_item_id: str | None
    api_key_valid: bool
    headers: Mapping[str, str]


class ReferenceServer:
    """The Breeze Blue API on a free loopback port, for demos and tests.

    It serves ``GET /v1/history/{history_item_id}/audio`` as ``openapi.yaml`` describes:
    audio for ready items (streamed, with ``content-length``), the error envelope for the
    others, ``401`` without a valid ``xi-api-key``. Start it with ``with`` (or
    :meth:`start`/:meth:`stop`); it listens on loopback only.

    Example:
        >>> with ReferenceServer() as server:
        ...     server.add("hist_mine", Ready(media_type="audio/wav", body=b"RIFF..."))
        ...     client = BreezeBlue(api_key=TEST_API_KEY, base_url=server.url)
        ...     client.history.download_audio("hist_mine").read()
    """

    def __init__(
        self,
        *,
        items: Mapping[str, Item] | None = None,
        api_keys: Iterable[str] = (TEST_API_KEY,),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the reference server listens on loopback only, not {host!r}")
        self.items: dict[str, Item] = dict(default_items() if items is None else items)
        self.api_keys = frozenset(api_keys)
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the client, for example ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, history_item_id: str, item: Item) -> None:
        """Add or replace a history item."""
        with self._lock:
            self.items[history_item_id] = item

    def start(self) -> ReferenceServer:
        """Serve in a background thread until :meth:`stop`."""
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

    def _lookup(self, history_item_id: str) -> Item | None:
        with self._lock:
            return self.items.get(history_item_id)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        reference: ReferenceServer,
    ) -> None:
        self.reference = reference
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (an abandoned download, a closed pool) is not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BreezeBlueReference/1"
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests and the demo print what matters themselves."""

    def do_GET(self) -> None:
        reference = self.server.reference
        path = self.path.split("?", 1)[0]
        item_id = _history_item_id(path)
        key = self.headers.get("xi-api-key")
        key_valid = key is not None and key in reference.api_keys
        headers = {
            name.lower(): value
            for name, value in self.headers.items()
            if name.lower() != "xi-api-key"
        }
        reference._record(RecordedRequest("GET", path, item_id, key_valid, headers))

        if not key_valid:
            self._send_error(401, "UNAUTHENTICATED", "The API key is missing or invalid.")
            return
        if item_id is None:
            self._send_error(404, "RESOURCE_NOT_FOUND", "No such route.")
            return
        if len(item_id) > _MAX_ID_LENGTH or not item_id.isprintable():
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
            assert key is not None
            self._send_audio(item_id, item, key)

    def _not_allowed(self) -> None:
        self._send_error(405, "INVALID_REQUEST", "Only GET is supported.")

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed

    def _send_audio(self, item_id: str, item: Ready, key: str) -> None:
        self.send_response(200)
        self.send_header("content-type", item.media_type)
        self.send_header("content-length", str(item.length))
        self.send_header(
            "content-disposition", _content_disposition(item.suggested_filename(item_id))
        )
        self.send_header("x-breeze-api-key-id", api_key_id(key))
        self.end_headers()
        remaining = item.cut_after if item.cut_after is not None else item.length
        try:
            for chunk in item.chunks(item_id):
                if remaining <= 0:
                    break
                piece = chunk[:remaining]
                self.wfile.write(piece)
                remaining -= len(piece)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if item.cut_after is not None:
            # Announced more than it sent: the client must see a broken download.
            self.close_connection = True

    def _send_reply(self, reply: ErrorReply) -> None:
        if reply.raw_body is not None:
            self._send(reply.status, reply.raw_body, reply.raw_content_type, reply.headers)
        else:
            self._send_error(reply.status, reply.code, reply.message, reply.headers)

    def _send_error(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        envelope = {
            "error": {
                "code": code,
                "message": message,
                "request_id": "req_" + secrets.token_hex(8),
            }
        }
        body = json.dumps(envelope).encode()
        self._send(status, body, "application/json", headers or {})

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


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

"""The libraries people test and trace httpx with see the SDK's requests, with no SDK-specific
code: respx and pytest-httpx answer them, vcrpy records and replays them, OpenTelemetry's
httpx instrumentation traces them (and leaves the pool limit alone). And the async client,
which is asyncio-only, says so under trio before anything is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import trio
import vcr
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pytest_httpx import HTTPXMock

from breeze_blue import (
    APIConnectionError,
    APIError,
    AsyncBreezeBlue,
    BreezeBlue,
    BreezeBlueError,
    NotFoundError,
    asave,
    save,
)
from breeze_blue.testing import TEST_API_KEY, Ready, ReferenceServer

ITEM = "hist_x"
AUDIO_URL = f"https://api.breeze.blue/v1/history/{ITEM}/audio"
# Not valid UTF-8, and longer than one read: a cassette or mock must carry real bytes.
AUDIO = b"ID3\x04\x00\xff\xfe" + bytes(range(256)) * 300


def download_bytes(kind: str, **options: Any) -> bytes:
    """Download ``ITEM`` whole with a new client of ``kind`` (sync/async), then close it."""
    if kind == "sync":
        with BreezeBlue(api_key=TEST_API_KEY, **options) as client:
            return client.history.download_audio(ITEM).read()

    async def run() -> bytes:
        async with AsyncBreezeBlue(api_key=TEST_API_KEY, **options) as client:
            audio = await client.history.download_audio(ITEM)
            return await audio.read()

    return asyncio.run(run())


def audio_response() -> httpx.Response:
    return httpx.Response(200, content=AUDIO, headers={"content-type": "audio/mpeg"})


# -- respx ----------------------------------------------------------------------------------


def test_respx_answers_a_default_client(kind: str) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.get(AUDIO_URL).mock(return_value=audio_response())
        # No base_url, no http_client: the client the SDK builds for itself is mocked.
        assert download_bytes(kind) == AUDIO
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.url == AUDIO_URL
    assert request.headers["xi-api-key"] == TEST_API_KEY


# -- pytest-httpx ---------------------------------------------------------------------------


def test_pytest_httpx_answers_a_default_client(httpx_mock: HTTPXMock, kind: str) -> None:
    httpx_mock.add_response(
        method="GET", url=AUDIO_URL, content=AUDIO, headers={"content-type": "audio/mpeg"}
    )
    assert download_bytes(kind) == AUDIO
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["xi-api-key"] == TEST_API_KEY


def test_pytest_httpx_error_envelope_becomes_the_typed_error(
    httpx_mock: HTTPXMock, kind: str
) -> None:
    envelope = {
        "error": {
            "code": "RESOURCE_NOT_FOUND",
            "message": "The history audio does not exist or is no longer available.",
            "request_id": "req_pytest_httpx_404",
        }
    }
    httpx_mock.add_response(method="GET", url=AUDIO_URL, status_code=404, json=envelope)
    with pytest.raises(NotFoundError) as raised:
        download_bytes(kind)
    assert raised.value.request_id == "req_pytest_httpx_404"
    assert raised.value.code == "RESOURCE_NOT_FOUND"
    assert raised.value.status_code == 404
    assert len(httpx_mock.get_requests()) == 1  # a 404 is not retried


# -- vcrpy ----------------------------------------------------------------------------------


def test_vcrpy_records_and_replays_a_download_without_the_key(tmp_path: Path, kind: str) -> None:
    cassette = tmp_path / "download.yaml"
    with ReferenceServer() as server:
        server.add(ITEM, Ready(media_type="audio/mpeg", body=AUDIO))
        base_url = server.url
        recorder = vcr.VCR(filter_headers=["xi-api-key"], record_mode="once")
        with recorder.use_cassette(str(cassette)):
            assert download_bytes(kind, base_url=base_url) == AUDIO
        assert len(server.requests) == 1
        assert server.requests[0].api_key_valid  # the key was sent; only the cassette lacks it
    # The server is stopped: anything but a replay would be refused (and retried, then raise).
    text = cassette.read_text()
    assert TEST_API_KEY not in text
    assert "xi-api-key" not in text.lower()
    replayer = vcr.VCR(filter_headers=["xi-api-key"], record_mode="none")
    with replayer.use_cassette(str(cassette)) as played:
        assert download_bytes(kind, base_url=base_url) == AUDIO
    assert played.play_count == 1
    assert played.all_played


# -- OpenTelemetry --------------------------------------------------------------------------


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """httpx instrumented for this test only, its spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = HTTPXClientInstrumentor()
    assert not instrumentor.is_instrumented_by_opentelemetry, "left instrumented by another test"
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def attribute(span: ReadableSpan, new: str, old: str) -> object:
    """An attribute under its current semantic-convention name, or the older one."""
    attributes = span.attributes or {}
    return attributes.get(new, attributes.get(old))


def test_opentelemetry_traces_the_download(
    spans: InMemorySpanExporter, server: ReferenceServer, kind: str
) -> None:
    server.add(ITEM, Ready(media_type="audio/mpeg", body=AUDIO))
    assert download_bytes(kind, base_url=server.url) == AUDIO
    finished = spans.get_finished_spans()
    gets = [
        span
        for span in finished
        if span.kind is SpanKind.CLIENT
        and attribute(span, "http.request.method", "http.method") == "GET"
        and attribute(span, "url.full", "http.url") == f"{server.url}/v1/history/{ITEM}/audio"
        and attribute(span, "http.response.status_code", "http.status_code") == 200
    ]
    assert len(gets) == 1, [dict(span.attributes or {}) for span in finished]
    # The trace context went out with the request: the server saw this span's trace.
    traceparent = server.requests[0].headers.get("traceparent", "")
    assert format(gets[0].context.trace_id, "032x") in traceparent
    for span in finished:
        values = [span.name, *map(str, (span.attributes or {}).values())]
        values += [
            str(value) for event in span.events for value in (event.attributes or {}).values()
        ]
        assert not [value for value in values if TEST_API_KEY in value], span.name


def test_instrumentation_keeps_the_pool_limit(
    spans: InMemorySpanExporter, server: ReferenceServer
) -> None:
    server.add(ITEM, Ready(media_type="audio/mpeg", body=AUDIO))
    with BreezeBlue(api_key=TEST_API_KEY, base_url=server.url, max_connections=1) as client:
        for _ in range(4):
            assert client.history.download_audio(ITEM).read() == AUDIO
    assert len(spans.get_finished_spans()) == 4  # instrumented: every request was traced
    assert server.connections_opened == 1
    assert server.peak_connections == 1


def test_instrumentation_keeps_the_async_pool_limit_under_load(
    spans: InMemorySpanExporter, server: ReferenceServer
) -> None:
    server.add(ITEM, Ready(media_type="audio/mpeg", size=512 * 1024))

    async def run() -> list[int]:
        async with AsyncBreezeBlue(
            api_key=TEST_API_KEY, base_url=server.url, max_connections=1
        ) as client:

            async def one() -> int:
                audio = await client.history.download_audio(ITEM)
                return len(await audio.read())

            return await asyncio.gather(*(one() for _ in range(4)))

    assert asyncio.run(run()) == [512 * 1024] * 4
    assert len(spans.get_finished_spans()) == 4
    assert server.connections_opened == 1
    assert server.peak_connections == 1


# -- trio -----------------------------------------------------------------------------------


def test_the_async_client_says_it_needs_asyncio_under_trio(server: ReferenceServer) -> None:
    server.add(ITEM, Ready(media_type="audio/mpeg", body=AUDIO))
    raised: list[BaseException] = []

    async def run() -> None:
        client = AsyncBreezeBlue(api_key=TEST_API_KEY, base_url=server.url)
        try:
            with pytest.raises(BreezeBlueError, match="asyncio") as info:
                await client.history.download_audio(ITEM)
            raised.append(info.value)
        finally:
            await client.aclose()

    trio.run(run)
    assert server.requests == []  # refused before anything was sent
    # A mistake in how the client is used, not a failed request or an answer from the API.
    assert not isinstance(raised[0], APIConnectionError | APIError)


def test_asave_says_it_needs_asyncio_under_trio(tmp_path: Path) -> None:
    async def run() -> None:
        with pytest.raises(BreezeBlueError, match="asyncio"):
            await asave(b"ID3", tmp_path / "audio.mp3")

    trio.run(run)
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_from_trio_the_sync_client_runs_in_a_thread(
    server: ReferenceServer, tmp_path: Path
) -> None:
    # What the README advises under trio: the synchronous client, in a worker thread.
    server.add(ITEM, Ready(media_type="audio/mpeg", body=AUDIO))
    destination = tmp_path / "audio.mp3"

    def download() -> Path:
        with BreezeBlue(api_key=TEST_API_KEY, base_url=server.url) as client:
            return save(client.history.download_audio(ITEM), destination)

    async def run() -> Path:
        return await trio.to_thread.run_sync(download)

    assert trio.run(run) == destination
    assert destination.read_bytes() == AUDIO

"""The client's contract without a server: keys, URLs, request shape, resource ownership."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

import breeze_blue
from breeze_blue import (
    APIConnectionError,
    APITimeoutError,
    Audio,
    BreezeBlue,
    BreezeBlueError,
    NotFoundError,
)

KEY = "bb_live_9c1f00d2e3"


def recording_transport(
    seen: list[httpx.Request], respond: Callable[[httpx.Request], httpx.Response] | None = None
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if respond is not None:
            return respond(request)
        return httpx.Response(200, headers={"content-type": "audio/mpeg"}, content=b"ID3audio")

    return httpx.MockTransport(handler)


def make_client(seen: list[httpx.Request], **kwargs: object) -> BreezeBlue:
    http = httpx.Client(transport=recording_transport(seen))
    return BreezeBlue(api_key=KEY, base_url="https://api.breeze.blue", http_client=http, **kwargs)  # type: ignore[arg-type]


# --- the public surface ---------------------------------------------------------------


def test_public_api_is_declared_and_documented() -> None:
    for name in breeze_blue.__all__:
        obj = getattr(breeze_blue, name)
        if name != "__version__":
            assert obj.__doc__, f"{name} has no docstring"
    assert "BreezeBlue" in breeze_blue.__all__
    assert "save" in breeze_blue.__all__
    assert not any(name.startswith("_") and name != "__version__" for name in breeze_blue.__all__)
    # Generated types are not part of the public API.
    for name in breeze_blue.__all__:
        module = getattr(getattr(breeze_blue, name), "__module__", "breeze_blue")
        assert not module.startswith("_breeze_blue_api"), name


# --- API keys -------------------------------------------------------------------------


def test_key_is_read_from_the_environment_when_the_client_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[httpx.Request] = []
    monkeypatch.setenv("BREEZE_API_KEY", KEY)
    client = BreezeBlue(http_client=httpx.Client(transport=recording_transport(seen)))
    monkeypatch.setenv("BREEZE_API_KEY", "bb_changed_later")
    client.history.download_audio("hist_1").read()
    assert seen[0].headers["xi-api-key"] == KEY


@pytest.mark.parametrize("env_value", [None, ""])
def test_missing_key_says_both_ways_to_set_it(
    monkeypatch: pytest.MonkeyPatch, env_value: str | None
) -> None:
    if env_value is not None:
        monkeypatch.setenv("BREEZE_API_KEY", env_value)
    with pytest.raises(BreezeBlueError) as caught:
        BreezeBlue()
    message = str(caught.value)
    assert "api_key=" in message
    assert "BREEZE_API_KEY" in message


@pytest.mark.parametrize(
    "bad_key",
    ["abc def", " abc", "abc\n", "abc\r\nX-Evil: 1", "abc\x00", "clé", "abc\t", "k\u200bey"],
)
def test_malformed_key_is_a_value_error_that_does_not_echo_it(bad_key: str) -> None:
    with pytest.raises(ValueError, match="api_key") as caught:
        BreezeBlue(api_key=bad_key)
    assert bad_key.strip() not in str(caught.value)


def test_explicit_empty_key_is_missing() -> None:
    with pytest.raises(BreezeBlueError, match="BREEZE_API_KEY"):
        BreezeBlue(api_key="")


def test_key_never_appears_in_reprs() -> None:
    seen: list[httpx.Request] = []
    client = make_client(seen)
    audio = client.history.download_audio("hist_1")
    for text in (repr(client), str(client), repr(audio), str(audio), repr(client.history)):
        assert KEY not in text


# --- base URL and timeouts ------------------------------------------------------------


def test_base_url_default_env_and_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    assert str(BreezeBlue(api_key=KEY).base_url) == "https://api.breeze.blue"
    monkeypatch.setenv("BREEZE_BASE_URL", "http://127.0.0.1:8123")
    assert str(BreezeBlue(api_key=KEY).base_url) == "http://127.0.0.1:8123"
    assert str(BreezeBlue(api_key=KEY, base_url="http://[::1]:1").base_url) == "http://[::1]:1"


@pytest.mark.parametrize(
    "bad_url", ["api.breeze.blue", "ftp://api.breeze.blue", "https://", "http://h/?q=1", ""]
)
def test_malformed_base_url(bad_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        BreezeBlue(api_key=KEY, base_url=bad_url)


def test_base_url_with_a_path_prefix_keeps_it() -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=recording_transport(seen))
    client = BreezeBlue(api_key=KEY, base_url="https://proxy.example/breeze/", http_client=http)
    client.history.download_audio("hist_1").read()
    assert seen[0].url.raw_path == b"/breeze/v1/history/hist_1/audio"


def test_default_timeout_is_real() -> None:
    client = BreezeBlue(api_key=KEY)
    timeout = client._settings.timeout
    assert timeout is not None
    assert timeout.read == 60.0
    assert timeout.connect == 10.0


@pytest.mark.parametrize("bad_timeout", [0, -1, float("nan"), "5", True])
def test_bad_timeout(bad_timeout: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        BreezeBlue(api_key=KEY, timeout=bad_timeout)  # type: ignore[arg-type]


# --- the request ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history_item_id", "raw_path"),
    [
        ("hist_01haudio", b"/v1/history/hist_01haudio/audio"),
        ("../x", b"/v1/history/..%2Fx/audio"),
        ("../../v1/user", b"/v1/history/..%2F..%2Fv1%2Fuser/audio"),
        ("a/b", b"/v1/history/a%2Fb/audio"),
        ("a?b", b"/v1/history/a%3Fb/audio"),
        ("a#b", b"/v1/history/a%23b/audio"),
        ("hist?x=1", b"/v1/history/hist%3Fx%3D1/audio"),
        ("%2e%2e", b"/v1/history/%252e%252e/audio"),
        ("a b", b"/v1/history/a%20b/audio"),
        ("café", b"/v1/history/caf%C3%A9/audio"),
        ("...", b"/v1/history/.../audio"),
    ],
)
def test_id_is_exactly_one_path_segment(history_item_id: str, raw_path: bytes) -> None:
    seen: list[httpx.Request] = []
    make_client(seen).history.download_audio(history_item_id).read()
    assert len(seen) == 1
    assert seen[0].url.raw_path == raw_path
    assert seen[0].url.query == b""
    assert seen[0].url.host == "api.breeze.blue"


def test_request_headers() -> None:
    seen: list[httpx.Request] = []
    make_client(seen).history.download_audio("hist_1").read()
    headers = seen[0].headers
    assert seen[0].method == "GET"
    assert headers["xi-api-key"] == KEY
    assert headers["user-agent"] == f"breeze-blue-python/{breeze_blue.__version__}"


@pytest.mark.parametrize(
    ("bad_id", "error"),
    [
        (None, TypeError),
        (123, TypeError),
        (b"hist", TypeError),
        ("", ValueError),
        (" ", ValueError),
        ("\t\n", ValueError),
        (".", ValueError),
        ("..", ValueError),
    ],
)
def test_bad_ids_fail_before_any_request(bad_id: object, error: type[Exception]) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(error, match="history_item_id"):
        make_client(seen).history.download_audio(bad_id)  # type: ignore[arg-type]
    assert seen == []


def test_request_is_sent_when_called_not_when_read() -> None:
    seen: list[httpx.Request] = []
    audio = make_client(seen).history.download_audio("hist_1")
    assert len(seen) == 1
    assert isinstance(audio, Audio)
    assert audio.read() == b"ID3audio"


def test_errors_are_raised_by_download_audio_itself() -> None:
    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"code": "RESOURCE_NOT_FOUND", "message": "x"}})

    seen: list[httpx.Request] = []
    http = httpx.Client(transport=recording_transport(seen, not_found))
    client = BreezeBlue(api_key=KEY, http_client=http)
    with pytest.raises(NotFoundError) as caught:
        client.history.download_audio("hist_1")
    assert KEY not in repr(caught.value.request.headers)  # type: ignore[union-attr]
    assert KEY not in str(caught.value.request.headers)  # type: ignore[union-attr]


def test_the_error_body_is_capped() -> None:
    huge = b"<html>" + b"x" * (10 * 1024 * 1024)

    def proxy_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, content=huge, headers={"content-type": "text/html"})

    http = httpx.Client(transport=recording_transport([], proxy_page))
    with pytest.raises(breeze_blue.InternalServerError) as caught:
        BreezeBlue(api_key=KEY, http_client=http).history.download_audio("hist_1")
    assert caught.value.status_code == 502
    assert "HTML" in caught.value.message
    assert len(caught.value.message) < 300


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
        (httpx.ConnectTimeout("slow"), APITimeoutError),
        (httpx.RemoteProtocolError("garbled"), APIConnectionError),
    ],
)
def test_transport_failures_are_typed_and_chained(
    raised: httpx.TransportError, expected: type[Exception]
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise raised

    http = httpx.Client(transport=recording_transport([], fail))
    with pytest.raises(expected) as caught:
        BreezeBlue(api_key=KEY, http_client=http).history.download_audio("hist_1")
    assert caught.value.__cause__ is raised


# --- ownership of the HTTP client -----------------------------------------------------


def test_a_users_http_client_is_never_closed_nor_changed() -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(
        transport=recording_transport(seen),
        headers={"user-agent": "my-app/1.0"},
        timeout=3.0,
    )
    with BreezeBlue(api_key=KEY, http_client=http) as client:
        client.history.download_audio("hist_1").read()
    assert not http.is_closed
    assert http.headers["user-agent"] == "my-app/1.0"
    assert "xi-api-key" not in http.headers
    assert http.timeout == httpx.Timeout(3.0)
    assert seen[0].headers["user-agent"] == "my-app/1.0"
    assert seen[0].extensions["timeout"]["read"] == 3.0
    http.close()


def test_the_clients_own_pool_is_closed() -> None:
    client = BreezeBlue(api_key=KEY)
    client.close()
    assert client._http.is_closed


def test_http_client_must_be_an_httpx_client() -> None:
    with pytest.raises(TypeError, match=r"httpx\.Client"):
        BreezeBlue(api_key=KEY, http_client=object())  # type: ignore[arg-type]


def test_audio_refuses_a_second_read() -> None:
    audio = make_client([]).history.download_audio("hist_1")
    assert audio.read() == b"ID3audio"
    with pytest.raises(BreezeBlueError, match="already been read"):
        audio.read()

"""End to end against the reference server: what cassettes cannot show."""

from __future__ import annotations

import hashlib
import os
import runpy
import tracemalloc
from pathlib import Path

import httpx
import pytest

from breeze_blue import (
    APIConnectionError,
    AuthenticationError,
    BreezeBlue,
    BreezeBlueError,
    NotFoundError,
    save,
)
from breeze_blue.testing import TEST_API_KEY, Ready, ReferenceServer, tone_wav

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_the_documentation_example_runs_verbatim(
    server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREEZE_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("BREEZE_BASE_URL", server.url)
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    assert (tmp_path / "history.mp3").read_bytes() == tone_wav()
    assert os.listdir(tmp_path) == ["history.mp3"]
    assert [r.path for r in server.requests] == ["/v1/history/hist_01haudio/audio"]


def test_multi_megabyte_save_matches_the_source(
    server: ReferenceServer, client: BreezeBlue, tmp_path: Path
) -> None:
    server.add("hist_big", Ready(media_type="audio/flac", size=24 * 1024 * 1024 + 3))
    path = save(client.history.download_audio("hist_big"), tmp_path / "big.flac")
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    item = server.items["hist_big"]
    assert isinstance(item, Ready)
    assert digest.hexdigest() == item.sha256("hist_big")
    assert path.stat().st_size == 24 * 1024 * 1024 + 3


def test_a_download_cut_mid_body_leaves_the_destination_untouched(
    client: BreezeBlue, tmp_path: Path
) -> None:
    destination = tmp_path / "history.mp3"
    destination.write_bytes(b"the previous, complete file")
    audio = client.history.download_audio("hist_cut")
    with pytest.raises(APIConnectionError, match=r"incomplete|complete message body"):
        save(audio, destination)
    assert destination.read_bytes() == b"the previous, complete file"
    assert sorted(os.listdir(tmp_path)) == ["history.mp3"]


def test_iterating_a_cut_download_by_hand_raises(client: BreezeBlue) -> None:
    received = 0
    with pytest.raises(APIConnectionError):  # noqa: PT012 (the failure is mid-iteration)
        for chunk in client.history.download_audio("hist_cut").iter_bytes():
            received += len(chunk)
    assert 0 < received < 1024 * 1024


def test_the_connection_is_released_when_the_audio_is_closed(
    server: ReferenceServer, client: BreezeBlue
) -> None:
    for _ in range(3):
        with client.history.download_audio("hist_large") as audio:
            first = next(audio.iter_bytes())
            assert first
        assert audio.closed
    # The pool is still usable after abandoned bodies.
    assert client.history.download_audio("hist_mpeg").read()


def test_key_from_the_environment_and_a_wrong_key(
    server: ReferenceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREEZE_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("BREEZE_BASE_URL", server.url)
    with BreezeBlue() as client:
        assert client.history.download_audio("hist_wav").read()
    with (
        BreezeBlue(api_key="bb_wrong", base_url=server.url) as client,
        pytest.raises(AuthenticationError),
    ):
        client.history.download_audio("hist_wav")
    assert [r.api_key_valid for r in server.requests] == [True, False]


@pytest.mark.parametrize(
    "history_item_id", ["../x", "a/b", "a?b", "a#b", "%2e%2e", "../../v1/user", "ünï"]
)
def test_awkward_ids_reach_the_server_as_one_segment(
    server: ReferenceServer, client: BreezeBlue, history_item_id: str
) -> None:
    with pytest.raises(NotFoundError):
        client.history.download_audio(history_item_id)
    (request,) = server.requests
    assert request.history_item_id == history_item_id


@pytest.mark.parametrize(
    ("history_item_id", "error"),
    [("", ValueError), (" ", ValueError), (None, TypeError), (123, TypeError), ("..", ValueError)],
)
def test_bad_ids_send_nothing(
    server: ReferenceServer, client: BreezeBlue, history_item_id: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        client.history.download_audio(history_item_id)  # type: ignore[arg-type]
    assert server.requests == []


@pytest.mark.parametrize(
    ("bad_key", "error"),
    [
        ("", BreezeBlueError),
        ("  ", ValueError),
        ("abc\r\nX-Evil: 1", ValueError),
        ("clé", ValueError),
    ],
)
def test_bad_keys_send_nothing(
    server: ReferenceServer, bad_key: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        BreezeBlue(api_key=bad_key, base_url=server.url)
    assert server.requests == []


def test_a_missing_folder_fails_clearly_and_creates_nothing(
    client: BreezeBlue, tmp_path: Path
) -> None:
    audio = client.history.download_audio("hist_mpeg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(audio, tmp_path / "no" / "such" / "folder" / "a.mp3")
    assert os.listdir(tmp_path) == []
    assert audio.closed


def test_a_users_own_http_client_works_end_to_end(server: ReferenceServer) -> None:
    with httpx.Client() as http:
        client = BreezeBlue(api_key=TEST_API_KEY, base_url=server.url, http_client=http)
        assert client.history.download_audio("hist_opus").content_type == "audio/opus"
        client.close()
        assert not http.is_closed
        assert client.history.download_audio("hist_opus").read()


def test_the_reference_server_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ReferenceServer(host="0.0.0.0")


def test_saving_a_large_download_does_not_buffer_it(
    server: ReferenceServer, client: BreezeBlue, tmp_path: Path
) -> None:
    server.add("hist_32mib", Ready(media_type="audio/mpeg", size=32 * 1024 * 1024))
    tracemalloc.start()
    try:
        save(client.history.download_audio("hist_32mib"), tmp_path / "big.mp3")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "big.mp3").stat().st_size == 32 * 1024 * 1024
    # The writer thread's queue (AHEAD batches of up to 1 MiB, one more being written),
    # the chunk being received, and the reference server (same process) holding a chunk or
    # two: bounded, and a quarter of the body.
    assert peak < 8 * 1024 * 1024, peak

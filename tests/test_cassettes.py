"""Replays of responses recorded from the reference server (``make cassettes``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from breeze_blue import (
    APIError,
    AsyncBreezeBlue,
    AuthenticationError,
    BadRequestError,
    BreezeBlue,
    GenerationFailedError,
    GenerationNotReadyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from breeze_blue.testing import TEST_API_KEY, Ready, default_items, tone_wav

from ._cassettes import CASES, CASSETTES, RECORDING_KEY_HEADER, cassette_vcr
from ._scripted import fetch

# Nothing listens on the discard port: a request that escaped its cassette fails loudly.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def replay_client() -> BreezeBlue:
    # One recorded answer per cassette: retrying would ask for a second one.
    return BreezeBlue(api_key=TEST_API_KEY, base_url=NOWHERE, max_retries=0)


def client_of(kind: str) -> Any:
    """A replaying client of either kind."""
    cls = BreezeBlue if kind == "sync" else AsyncBreezeBlue
    return cls(api_key=TEST_API_KEY, base_url=NOWHERE, max_retries=0)


def replay(name: str) -> Any:
    """Replay one cassette; any request it does not hold fails."""
    return cassette_vcr("none").use_cassette(f"{name}.yaml", allow_playback_repeats=False)


def test_every_case_has_a_cassette_and_nothing_else_is_there() -> None:
    recorded = {path.stem for path in CASSETTES.glob("*.yaml")}
    assert recorded == {case.name for case in CASES}


def test_the_docs_example_item_replays_as_playable_wav(replay_client: BreezeBlue) -> None:
    with replay("docs_example"):
        audio = replay_client.history.download_audio("hist_01haudio")
        assert audio.content_type == "audio/wav"
        assert audio.filename == "hist_01haudio.wav"
        assert audio.api_key_id is not None
        assert audio.api_key_id.startswith("key_")
        assert audio.content_length == len(tone_wav())
        body = audio.read()
    assert body == tone_wav()
    assert body[:4] == b"RIFF"
    assert audio.closed


@pytest.mark.parametrize(
    ("subtype", "extension"),
    [
        ("mpeg", "mp3"),
        ("wav", "wav"),
        ("flac", "flac"),
        ("aac", "aac"),
        ("opus", "opus"),
        ("pcm", "pcm"),
    ],
)
def test_each_media_type(kind: str, tmp_path: Path, subtype: str, extension: str) -> None:
    item_id = f"hist_{subtype}"
    item = default_items()[item_id]
    assert isinstance(item, Ready)
    with replay(f"media_{subtype}"):
        # Saved into a folder: the name comes from the recorded content-disposition.
        path = fetch(kind, client_of(kind), item_id, dest=tmp_path)
    assert isinstance(path, Path)
    assert path.name == f"{item_id}.{extension}"
    body = path.read_bytes()
    assert len(body) == item.length
    assert hashlib.sha256(body).hexdigest() == item.sha256(item_id)


ERROR_ROWS = [
    ("error_400_invalid_request", "hist_invalid", BadRequestError, 400, "INVALID_REQUEST", None),
    (
        "error_401_unauthenticated",
        "hist_01haudio",
        AuthenticationError,
        401,
        "UNAUTHENTICATED",
        None,
    ),
    (
        "error_403_permission_denied",
        "hist_forbidden",
        PermissionDeniedError,
        403,
        "PERMISSION_DENIED",
        None,
    ),
    (
        "error_404_resource_not_found",
        "hist_never_existed",
        NotFoundError,
        404,
        "RESOURCE_NOT_FOUND",
        None,
    ),
    (
        "error_409_generation_not_ready",
        "hist_running",
        GenerationNotReadyError,
        409,
        "GENERATION_NOT_READY",
        2.0,
    ),
    (
        "error_422_generation_failed",
        "hist_failed",
        GenerationFailedError,
        422,
        "GENERATION_FAILED",
        None,
    ),
    ("error_429_rate_limited", "hist_rate_limited", RateLimitError, 429, "RATE_LIMITED", 7.0),
    ("error_500_internal_error", "hist_internal", InternalServerError, 500, "INTERNAL_ERROR", None),
    (
        "error_503_service_unavailable",
        "hist_unavailable",
        InternalServerError,
        503,
        "SERVICE_UNAVAILABLE",
        30.0,
    ),
]


@pytest.mark.parametrize(
    ("cassette", "item_id", "error_class", "status", "code", "retry_after"),
    ERROR_ROWS,
    ids=[row[0] for row in ERROR_ROWS],
)
def test_error_catalogue(
    kind: str,
    cassette: str,
    item_id: str,
    error_class: type[APIError],
    status: int,
    code: str,
    retry_after: float | None,
) -> None:
    with replay(cassette), pytest.raises(error_class) as caught:
        fetch(kind, client_of(kind), item_id)
    err = caught.value
    assert type(err) is error_class
    assert err.status_code == status
    assert err.code == code
    assert err.request_id is not None
    assert err.request_id.startswith("req_")
    assert code in str(err)
    assert err.request_id in str(err)
    assert getattr(err, "retry_after", None) == retry_after


def test_not_ready_with_an_http_date_gives_seconds_from_now(replay_client: BreezeBlue) -> None:
    with (
        replay("error_409_generation_not_ready_http_date"),
        pytest.raises(GenerationNotReadyError) as caught,
    ):
        replay_client.history.download_audio("hist_running_date")
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 365 * 24 * 3600  # the recorded date is in 2099


def test_no_cassette_holds_an_api_key() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text()
        assert TEST_API_KEY not in text, path
        for interaction in yaml.safe_load(text)["interactions"]:
            headers = {name.lower() for name in interaction["request"]["headers"]}
            assert RECORDING_KEY_HEADER not in headers, path

"""Bad input, tried as a new user would: a clear typed error, no request when the input is
invalid, and nothing left on disk."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest

from breeze_blue import (
    BreezeBlue,
    BreezeBlueError,
    NotFoundError,
    save,
)
from breeze_blue.testing import TEST_API_KEY, ReferenceServer

# (id, what happens): an exception class raised before any request, or the API error the
# server answers because the id travelled intact as one path segment.
IDS: list[tuple[object, type[Exception], bool]] = [
    ("", ValueError, False),
    (" ", ValueError, False),
    (None, TypeError, False),
    (123, TypeError, False),
    (b"hist_01haudio", TypeError, False),
    ("x" * 10_000, ValueError, False),
    ("..", ValueError, False),
    ("a/b", NotFoundError, True),
    ("../../v1/user", NotFoundError, True),
    ("hist?x=1", NotFoundError, True),
    ("hist#f", NotFoundError, True),
    ("%2e%2e", NotFoundError, True),
    ("hist_ünïcødé_音声", NotFoundError, True),
    ("hist\x07bell", ValueError, False),  # the spec's pattern forbids control characters
    ("hist\u00a0nbsp", NotFoundError, True),
]


@pytest.mark.parametrize(
    ("history_item_id", "error", "sent"), IDS, ids=[repr(i[0])[:30] for i in IDS]
)
def test_ids(
    server: ReferenceServer,
    client: BreezeBlue,
    history_item_id: Any,
    error: type[Exception],
    sent: bool,
) -> None:
    with pytest.raises(error) as caught:
        client.history.download_audio(history_item_id)
    assert str(caught.value)
    if sent:
        (request,) = server.requests
        assert request.history_item_id == history_item_id
        assert request.path.count("/") == 4  # /v1/history/{one segment}/audio
    else:
        assert server.requests == []
        assert "history_item_id" in str(caught.value)


KEYS: list[tuple[object, type[Exception]]] = [
    ("", BreezeBlueError),
    ("   ", ValueError),
    ("abc\r\nX-Evil: 1", ValueError),
    ("clé-secrète", ValueError),
    ("key\x00", ValueError),
    (12345, TypeError),
]


@pytest.mark.parametrize(("api_key", "error"), KEYS, ids=[repr(k[0]) for k in KEYS])
def test_keys(server: ReferenceServer, api_key: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        BreezeBlue(api_key=api_key, base_url=server.url)
    message = str(caught.value)
    assert "api_key" in message or "BREEZE_API_KEY" in message
    if isinstance(api_key, str) and api_key.strip():
        assert api_key not in message
    assert server.requests == []


def test_whitespace_in_the_environment_names_the_variable(
    server: ReferenceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREEZE_API_KEY", f"{TEST_API_KEY}\n")
    with pytest.raises(ValueError, match="BREEZE_API_KEY"):
        BreezeBlue(base_url=server.url)


class FailingWriter(io.RawIOBase):
    """A file object whose disk is full."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_save_into_a_missing_folder(client: BreezeBlue, tmp_path: Path) -> None:
    audio = client.history.download_audio("hist_mpeg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(audio, tmp_path / "missing" / "a.mp3")
    assert os.listdir(tmp_path) == []
    assert audio.closed


@pytest.mark.parametrize("name", ["downloads/", f"downloads{os.sep}"])
def test_save_into_a_missing_folder_named_with_a_trailing_slash(
    client: BreezeBlue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # Path("downloads/") is Path("downloads"): without a check, a file of that name.
    monkeypatch.chdir(tmp_path)
    audio = client.history.download_audio("hist_mpeg")
    with pytest.raises(FileNotFoundError, match=r"folder 'downloads.' does not exist"):
        save(audio, name)
    assert os.listdir(tmp_path) == []
    assert audio.closed
    (tmp_path / "downloads").mkdir()
    saved = save(client.history.download_audio("hist_mpeg"), name)
    assert saved.parent == Path("downloads")


def test_save_bytes_into_a_directory_has_no_name_to_use(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="directory"):
        save(b"RIFF", tmp_path)
    assert os.listdir(tmp_path) == []


def test_save_into_a_read_only_folder(
    client: BreezeBlue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI runs as root, which ignores folder permissions: the refusal is simulated.
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if Path(path).parent == tmp_path and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    audio = client.history.download_audio("hist_mpeg")
    with pytest.raises(PermissionError):
        save(audio, tmp_path / "a.mp3")
    assert os.listdir(tmp_path) == []
    assert audio.closed


def test_save_into_a_file_object_whose_write_fails(client: BreezeBlue, tmp_path: Path) -> None:
    audio = client.history.download_audio("hist_mpeg")
    with pytest.raises(OSError, match="No space left"):
        save(audio, FailingWriter())
    assert audio.closed
    assert os.listdir(tmp_path) == []


def test_save_into_a_file_object(client: BreezeBlue) -> None:
    sink = io.BytesIO()
    assert save(client.history.download_audio("hist_01haudio"), sink) is None
    assert sink.getvalue()[:4] == b"RIFF"

"""``save()``: exact bytes, atomic replacement, safe names, sane permissions, flat memory."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from breeze_blue import APIConnectionError, Audio, BreezeBlue, save
from breeze_blue.testing import Ready, ReferenceServer, tone_wav

from ._scripted import FullDisk, writer_threads

MiB = 1024 * 1024
OLD = b"the old content, which must survive any failure\n"


def listing(folder: Path) -> set[str]:
    """Every name in ``folder``, hidden ones included."""
    return set(os.listdir(folder))


def chunks_then(exc: BaseException, first: Iterable[bytes]) -> Iterator[bytes]:
    """Yield ``first``, then raise ``exc``: a stream that breaks off midway."""
    yield from first
    raise exc


class FsPath:
    """A minimal ``os.PathLike`` that is not a ``pathlib.Path``."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __fspath__(self) -> str:
        return str(self._path)


# --- exact bytes, return value, path types -------------------------------------------------

PAYLOAD = bytes(range(256)) * 5000  # 1.2 MiB: more than one write buffer


@pytest.mark.parametrize(
    ("make_audio", "expected"),
    [
        pytest.param(lambda: b"", b"", id="empty-bytes"),
        pytest.param(lambda: PAYLOAD, PAYLOAD, id="bytes"),
        pytest.param(lambda: bytearray(PAYLOAD), PAYLOAD, id="bytearray"),
        pytest.param(lambda: memoryview(PAYLOAD), PAYLOAD, id="memoryview"),
        pytest.param(
            lambda: memoryview(b"xx" + PAYLOAD + b"yy")[2:-2], PAYLOAD, id="memoryview-slice"
        ),
        pytest.param(
            lambda: (PAYLOAD[i : i + 4096] for i in range(0, len(PAYLOAD), 4096)),
            PAYLOAD,
            id="generator",
        ),
        pytest.param(
            lambda: [b"", PAYLOAD[:10], b"", PAYLOAD[10 : 3 * MiB], PAYLOAD[3 * MiB :]],
            PAYLOAD,
            id="list-with-empty-and-large-chunks",
        ),
        pytest.param(
            lambda: [bytearray(b"ab"), memoryview(b"cd"), b"ef"],
            b"abcdef",
            id="list-of-mixed-buffers",
        ),
        pytest.param(lambda: [], b"", id="empty-list"),
    ],
)
@pytest.mark.parametrize("path_type", [str, Path, FsPath], ids=["str", "Path", "PathLike"])
def test_writes_exact_bytes_and_returns_path(
    tmp_path: Path,
    make_audio: Callable[[], Any],
    expected: bytes,
    path_type: Callable[[Path], Any],
) -> None:
    target = tmp_path / "out.mp3"

    result = save(make_audio(), path_type(target))

    assert isinstance(result, Path)
    assert result == target
    assert target.read_bytes() == expected
    assert listing(tmp_path) == {"out.mp3"}


def test_overwrites_existing_file_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.mp3"
    target.write_bytes(OLD * 1000)

    save(b"new", target)

    assert target.read_bytes() == b"new"
    assert listing(tmp_path) == {"out.mp3"}


# --- atomicity ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [RuntimeError("stream broke"), KeyboardInterrupt(), OSError(errno.ENOSPC, "disk full")],
    ids=["RuntimeError", "KeyboardInterrupt", "OSError-ENOSPC"],
)
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_failing_stream_leaves_destination_untouched(
    tmp_path: Path, exc: BaseException, existing: bool
) -> None:
    target = tmp_path / "out.mp3"
    neighbour = tmp_path / "neighbour.txt"
    neighbour.write_bytes(b"unrelated")
    if existing:
        target.write_bytes(OLD)
    before = listing(tmp_path)
    # Enough written before the failure that the temp file really holds data.
    first = [b"\x01" * (2 * MiB), b"\x02" * 1000]

    with pytest.raises(type(exc)) as raised:
        save(chunks_then(exc, first), target)

    assert raised.value is exc
    assert listing(tmp_path) == before  # no temporary file, hidden or not
    assert neighbour.read_bytes() == b"unrelated"
    if existing:
        assert target.read_bytes() == OLD
    else:
        assert not target.exists()


def test_a_failed_write_stops_the_writer_thread_before_the_file_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FullDisk(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        save((b"x" * (600 * 1024) for _ in range(20)), tmp_path / "a.bin")
    assert writer_threads() == []
    assert set(disk.closed) == {disk.writes}  # nothing was written once the file closed
    assert disk.writes <= 3 + 2  # the failing write, and what began before the error came back
    assert list(tmp_path.iterdir()) == []


def _failing(name: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, f"injected failure in os.{name}")

    return fail


@pytest.mark.parametrize("step", ["fsync", "replace"])
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_failure_after_writing_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, existing: bool
) -> None:
    target = tmp_path / "out.mp3"
    if existing:
        target.write_bytes(OLD)
    before = listing(tmp_path)
    monkeypatch.setattr(os, step, _failing(step))

    with pytest.raises(PermissionError, match=f"os.{step}"):
        save(b"new content", target)

    monkeypatch.undo()
    assert listing(tmp_path) == before
    if existing:
        assert target.read_bytes() == OLD
    else:
        assert not target.exists()


@pytest.mark.live
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_cut_download_raises_and_leaves_destination_untouched(
    tmp_path: Path, server: ReferenceServer, client: BreezeBlue, existing: bool
) -> None:
    target = tmp_path / "cut.mp3"
    if existing:
        target.write_bytes(OLD)
    before = listing(tmp_path)
    audio = client.history.download_audio("hist_cut")
    assert audio.content_length == MiB

    with pytest.raises(APIConnectionError):
        save(audio, target)

    assert audio.closed
    assert listing(tmp_path) == before
    if existing:
        assert target.read_bytes() == OLD
    else:
        assert not target.exists()
    # The first answer and max_retries (2) attempts to pick it up again, all cut.
    assert [r.history_item_id for r in server.requests] == ["hist_cut"] * 3


# --- directory destinations -----------------------------------------------------------------


@pytest.mark.live
def test_directory_uses_server_filename(tmp_path: Path, client: BreezeBlue) -> None:
    audio = client.history.download_audio("hist_01haudio")
    assert audio.filename == "hist_01haudio.wav"

    result = save(audio, tmp_path)

    assert result == tmp_path / "hist_01haudio.wav"
    assert result.read_bytes() == tone_wav()
    assert listing(tmp_path) == {"hist_01haudio.wav"}
    assert audio.closed


@pytest.mark.live
@pytest.mark.parametrize(
    ("item_id", "media_type", "expected_name"),
    [
        ("hist_x", "audio/flac", "hist_x.flac"),
        ("hist_x", "audio/mpeg", "hist_x.mp3"),
        ("hist_x", "audio/wav", "hist_x.wav"),
        ("hist_x", "audio/opus", "hist_x.opus"),
        ("hist_x", "application/octet-stream", "hist_x.bin"),
        # A hostile id is reduced to a bare name too.
        ("../../hist_evil", "audio/flac", "hist_evil.flac"),
    ],
)
def test_directory_without_usable_filename_uses_id_and_media_type(
    tmp_path: Path,
    server: ReferenceServer,
    client: BreezeBlue,
    item_id: str,
    media_type: str,
    expected_name: str,
) -> None:
    body = b"audio bytes for " + item_id.encode()
    # "../../" reduces to nothing, so the content-disposition name is unusable.
    server.add(item_id, Ready(media_type=media_type, body=body, filename="../../"))
    folder = tmp_path / "inner" / "folder"
    folder.mkdir(parents=True)
    audio = client.history.download_audio(item_id)
    assert audio.filename is None

    result = save(audio, folder)

    assert result == folder / expected_name
    assert result.read_bytes() == body
    assert listing(folder) == {expected_name}
    assert listing(tmp_path / "inner") == {"folder"}
    assert listing(tmp_path) == {"inner"}


@pytest.mark.live
@pytest.mark.parametrize(
    ("hostile", "expected_name"),
    [
        ("../../evil.mp3", "evil.mp3"),
        ("..\\..\\evil.mp3", "evil.mp3"),
        ("/etc/evil.mp3", "evil.mp3"),
        ("sub/dir/evil.mp3", "evil.mp3"),
        ("..", None),  # nothing left: falls back to the id
        (".hidden.mp3", "hidden.mp3"),
    ],
)
def test_directory_never_writes_outside_for_hostile_filenames(
    tmp_path: Path,
    server: ReferenceServer,
    client: BreezeBlue,
    hostile: str,
    expected_name: str | None,
) -> None:
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    server.add("hist_hostile", Ready(media_type="audio/mpeg", body=b"EVIL", filename=hostile))
    audio = client.history.download_audio("hist_hostile")

    result = save(audio, folder)

    name = expected_name or "hist_hostile.mp3"
    assert result == folder / name
    assert result.read_bytes() == b"EVIL"
    assert listing(folder) == {name}
    assert listing(tmp_path / "a") == {"b"}
    assert listing(tmp_path) == {"a"}
    assert result.resolve().parent == folder.resolve()


@pytest.mark.parametrize(
    "make_audio",
    [
        pytest.param(lambda: b"data", id="bytes"),
        pytest.param(lambda: bytearray(b"data"), id="bytearray"),
        pytest.param(lambda: memoryview(b"data"), id="memoryview"),
        pytest.param(lambda: iter([b"data"]), id="iterator"),
        pytest.param(lambda: [b"data"], id="list"),
    ],
)
def test_raw_bytes_to_directory_is_value_error(
    tmp_path: Path, make_audio: Callable[[], Any]
) -> None:
    (tmp_path / "keep").write_bytes(b"k")

    with pytest.raises(ValueError, match="directory"):
        save(make_audio(), tmp_path)

    assert listing(tmp_path) == {"keep"}


# --- missing or unwritable folders --------------------------------------------------------


@pytest.mark.parametrize(
    "relative", ["missing/out.mp3", "missing/deeper/out.mp3"], ids=["one-level", "two-levels"]
)
def test_missing_parent_is_file_not_found(tmp_path: Path, relative: str) -> None:
    with pytest.raises(FileNotFoundError):
        save(b"data", tmp_path / relative)

    assert listing(tmp_path) == set()


def test_permission_error_creating_temp_propagates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only folder, simulated: root (as in CI) ignores real folder permissions.
    real_open = os.open
    target = tmp_path / "out.mp3"
    target.write_bytes(OLD)

    def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).parent == tmp_path and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)

    with pytest.raises(PermissionError):
        save(b"new", target)

    monkeypatch.undo()
    assert listing(tmp_path) == {"out.mp3"}
    assert target.read_bytes() == OLD


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize(
    ("mask", "expected_mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)]
)
def test_new_file_permissions_follow_umask(tmp_path: Path, mask: int, expected_mode: int) -> None:
    old_mask = os.umask(mask)
    try:
        result = save([b"a", b"b"], tmp_path / "out.mp3")
    finally:
        os.umask(old_mask)

    assert stat.S_IMODE(result.stat().st_mode) == expected_mode


# --- wrong types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_audio",
    [
        pytest.param(lambda: ["text"], id="list-of-str"),
        pytest.param(lambda: iter([b"ok", "text"]), id="str-after-bytes"),
        pytest.param(lambda: (c for c in [b"x" * (2 * MiB), "late str"]), id="str-after-2MiB"),
        pytest.param(lambda: [b"ok", 123], id="int-chunk"),
        pytest.param(lambda: "text", id="str-audio"),
    ],
)
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
def test_non_bytes_chunk_is_type_error_and_leaves_nothing(
    tmp_path: Path, make_audio: Callable[[], Any], existing: bool
) -> None:
    target = tmp_path / "out.mp3"
    if existing:
        target.write_bytes(OLD)
    before = listing(tmp_path)

    with pytest.raises(TypeError):
        save(make_audio(), target)

    assert listing(tmp_path) == before
    if existing:
        assert target.read_bytes() == OLD
    else:
        assert not target.exists()


@pytest.mark.parametrize("path", [123, None, b"out.mp3", 1.5, ["out.mp3"]])
def test_wrong_path_type_is_type_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Any
) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(TypeError):
        save(b"data", path)

    assert listing(tmp_path) == set()


# --- closing the Audio ------------------------------------------------------------------------


def _ok(tmp_path: Path) -> Any:
    return tmp_path / "ok.mp3"


@pytest.mark.live
@pytest.mark.parametrize(
    ("item_id", "make_path", "error"),
    [
        pytest.param("hist_01haudio", _ok, None, id="success"),
        pytest.param("hist_01haudio", lambda p: p, None, id="success-directory"),
        pytest.param("hist_cut", _ok, APIConnectionError, id="cut"),
        pytest.param(
            "hist_01haudio", lambda p: p / "missing" / "x", FileNotFoundError, id="no-dir"
        ),
        pytest.param("hist_01haudio", lambda p: 123, TypeError, id="bad-path-type"),
        pytest.param("hist_01haudio", lambda p: "", ValueError, id="empty-path"),
    ],
)
def test_audio_is_closed_on_success_and_failure(
    tmp_path: Path,
    client: BreezeBlue,
    item_id: str,
    make_path: Callable[[Path], Any],
    error: type[BaseException] | None,
) -> None:
    audio = client.history.download_audio(item_id)
    assert isinstance(audio, Audio)
    assert not audio.closed

    if error is None:
        save(audio, make_path(tmp_path))
    else:
        with pytest.raises(error):
            save(audio, make_path(tmp_path))

    assert audio.closed


# --- size and memory ----------------------------------------------------------------------


@pytest.mark.live
def test_large_live_save_is_exact(
    tmp_path: Path, server: ReferenceServer, client: BreezeBlue
) -> None:
    target = tmp_path / "big.mp3"

    result = save(client.history.download_audio("hist_large"), target)

    assert result == target
    assert target.stat().st_size == 8 * MiB
    digest = hashlib.sha256()
    with target.open("rb") as file:
        for block in iter(lambda: file.read(MiB), b""):
            digest.update(block)
    item = server.items["hist_large"]
    assert isinstance(item, Ready)
    assert digest.hexdigest() == item.sha256("hist_large")
    assert listing(tmp_path) == {"big.mp3"}


def test_memory_stays_flat_for_a_64_mib_stream(tmp_path: Path) -> None:
    block = b"\xa5" * MiB
    count = 64

    def stream() -> Iterator[bytes]:
        for _ in range(count):
            yield block

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = save(stream(), tmp_path / "huge.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.stat().st_size == count * MiB
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB"


# --- names near the filesystem's limit ------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "a" * 250 + ".mp3",  # 254 bytes
        "\U0001f3b5" * 62,  # 62 four-byte characters: 248 bytes, a valid name
        "\u00e9" * 125 + ".mp3",  # 254 bytes of two-byte characters
    ],
    ids=["ascii-254", "emoji-248", "latin-254"],
)
def test_long_but_valid_names_can_be_saved(tmp_path: Path, name: str) -> None:
    if len(name.encode()) > os.pathconf(tmp_path, "PC_NAME_MAX"):
        pytest.skip("name longer than this filesystem allows")
    target = tmp_path / name

    result = save(b"data", target)

    assert result.read_bytes() == b"data"
    assert listing(tmp_path) == {name}


def test_a_batch_is_written_whole_however_little_each_writev_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from breeze_blue._files.sinks import FileSink  # noqa: PLC0415

    real_writev = os.writev
    calls: list[int] = []

    def stingy(fd: int, buffers: list[memoryview]) -> int:
        calls.append(len(buffers))
        first = bytes(buffers[0])[:7]  # a short write, cut inside the first buffer
        return real_writev(fd, [first])

    monkeypatch.setattr("breeze_blue._files.sinks.os.writev", stingy)
    chunks = [b"alpha-", b"", b"bravo-charlie-", b"d", b"echo" * 5]
    path = tmp_path / "out.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        FileSink(fd).write_batch(chunks)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(chunks)
    assert calls[0] == 4  # the empty chunk is no buffer


def test_many_tiny_chunks_are_saved_whole(tmp_path: Path) -> None:
    # More chunks than one writev takes: the batch is joined into one write instead.
    chunks = [bytes([i % 256]) for i in range(300_000)]
    path = save(iter(chunks), tmp_path / "tiny.bin")
    assert path.read_bytes() == b"".join(chunks)

"""The public surface, pinned: what ``breeze_blue`` exports, its signatures, and its layers.

A change here is a change users see: it must be made on purpose, with this file.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import breeze_blue

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "breeze_blue"

EXPORTED = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncAudio",
    "AsyncBreezeBlue",
    "AsyncHistory",
    "Audio",
    "AuthenticationError",
    "BadRequestError",
    "BreezeBlue",
    "BreezeBlueError",
    "DefaultAioHttpClient",
    "DownloadReport",
    "DownloadResult",
    "GenerationFailedError",
    "GenerationNotReadyError",
    "History",
    "IncompleteDownloadError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "__version__",
    "asave",
    "save",
]

# The signature that runs: the base class's, generic over the HTTP client and the sleep.
# What type checkers and the API reference see is each client's own, with the concrete types
# (declared under TYPE_CHECKING): tests/test_docstrings.py pins those, and keeps them in step.
CLIENT_INIT = (
    "(self, api_key: 'str | None' = None, *, base_url: 'str | httpx.URL | None' = None, "
    "timeout: 'float | httpx.Timeout | None' = None, max_retries: 'int' = 2, "
    "max_connections: 'int | None' = None, http_client: 'HttpT | None' = None, "
    "allow_insecure_http: 'bool' = False, sleep: 'SleepT | None' = None, "
    "clock: 'Callable[[], float] | None' = None) -> 'None'"
)
DOWNLOAD = "(self, history_item_id: 'str', *, wait: 'bool' = False, wait_timeout: 'float' = 300.0)"
MANY = (
    "(self, ids: 'Iterable[str]', directory: 'str | os.PathLike[str]', *, "
    "concurrency: 'int' = 8, overwrite: 'bool' = False, wait: 'bool' = False, "
    "wait_timeout: 'float' = 300.0, on_item: 'Callable[[DownloadResult], object] | None' = None, "
    "shard: 'tuple[int, int] | None' = None) -> 'DownloadReport'"
)
SAVE = "(audio: '{source}', path: 'str | os.PathLike[str] | Writable', *, progress: 'Progress | None' = None) -> 'Path | None'"  # noqa: E501

SIGNATURES = {
    "BreezeBlue.__init__": CLIENT_INIT,
    "AsyncBreezeBlue.__init__": CLIENT_INIT,
    "BreezeBlue.with_options": (
        "(self, *, api_key: 'str' = UNSET, base_url: 'str | httpx.URL' = UNSET, "
        "timeout: 'float | httpx.Timeout' = UNSET, max_retries: 'int' = UNSET, "
        "allow_insecure_http: 'bool' = UNSET) -> 'Self'"
    ),
    "History.download_audio": DOWNLOAD + " -> 'Audio'",
    "AsyncHistory.download_audio": DOWNLOAD + " -> 'AsyncAudio'",
    # The same signature on both clients, as the issue asked.
    "History.download_many": MANY,
    "AsyncHistory.download_many": MANY,
    "save": SAVE.format(source="AudioSource"),
    "asave": SAVE.format(source="AsyncAudioSource"),
    "Audio.iter_bytes": "(self, chunk_size: 'int | None' = None) -> 'Iterator[bytes]'",
    "Audio.read": "(self) -> 'bytes'",
    "AsyncAudio.aiter_bytes": "(self, chunk_size: 'int | None' = None) -> 'AsyncIterator[bytes]'",
    "AsyncAudio.read": "(self) -> 'bytes'",
    "DefaultAioHttpClient.__init__": "(self, **kwargs: 'Any') -> 'None'",
    "APIError.__init__": (
        "(self, message: 'str', *, status_code: 'int', code: 'str | None' = None, "
        "request_id: 'str | None' = None, headers: 'httpx.Headers | None' = None, "
        "request: 'httpx.Request | None' = None) -> 'None'"
    ),
}

MEMBERS = {
    "BreezeBlue": ["base_url", "close", "max_retries", "with_options"],
    "AsyncBreezeBlue": ["aclose", "base_url", "max_retries", "with_options"],
    "Audio": [
        "api_key_id",
        "close",
        "closed",
        "content_length",
        "content_type",
        "filename",
        "headers",
        "history_item_id",
        "iter_bytes",
        "read",
    ],
    "AsyncAudio": [
        "aclose",
        "aiter_bytes",
        "api_key_id",
        "closed",
        "content_length",
        "content_type",
        "filename",
        "headers",
        "history_item_id",
        "read",
    ],
    "History": ["download_audio", "download_many"],
    "AsyncHistory": ["download_audio", "download_many"],
    "DownloadReport": ["failed", "ok", "saved", "skipped"],  # and its fields, below
    "DownloadResult": ["error", "media_type", "ok", "path", "size"],
}

FIELDS = {
    "DownloadReport": ["results", "bytes", "elapsed", "rate_limited"],
    "DownloadResult": [
        "history_item_id",
        "status",
        "path",
        "size",
        "media_type",
        "error",
    ],
}


def resolve(dotted: str) -> object:
    obj: object = breeze_blue
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_all_is_pinned() -> None:
    assert sorted(breeze_blue.__all__) == EXPORTED
    for name in EXPORTED:
        assert getattr(breeze_blue, name) is not None


def test_public_signatures_are_pinned() -> None:
    for dotted, expected in SIGNATURES.items():
        assert str(inspect.signature(resolve(dotted))) == expected, dotted  # type: ignore[arg-type]


def test_the_aiohttp_client_without_its_extra_says_how_to_install_it() -> None:
    """Without httpx-aiohttp the name still imports; making one raises, naming the extra."""
    script = (
        "import sys\n"
        "sys.modules['httpx_aiohttp'] = None  # as if not installed: importing it fails\n"
        "import httpx\n"
        "from breeze_blue import DefaultAioHttpClient\n"
        "assert issubclass(DefaultAioHttpClient, httpx.AsyncClient)\n"
        "try:\n"
        "    DefaultAioHttpClient()\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == (
        "DefaultAioHttpClient needs the aiohttp extra: pip install 'breeze-blue[aiohttp]'"
    )


def test_public_members_are_pinned() -> None:
    for name, members in MEMBERS.items():
        cls = getattr(breeze_blue, name)
        assert sorted(m for m in dir(cls) if not m.startswith("_")) == members, name


def test_report_fields_are_pinned() -> None:
    for name, fields in FIELDS.items():
        cls = getattr(breeze_blue, name)
        assert [f.name for f in dataclasses.fields(cls)] == fields, name


def test_the_init_file_shows_the_whole_api_in_one_screen() -> None:
    assert len((PACKAGE / "__init__.py").read_text().splitlines()) <= 100


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "testing" not in p.parts)


def imported_names(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from module import name`` in ``path``."""
    tree = ast.parse(path.read_text())
    return [
        ("." * node.level + (node.module or ""), alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ] + [
        (alias.name, "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]


def test_no_module_imports_another_modules_underscore_names() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module} import {name}"
        for path in modules()
        for module, name in imported_names(path)
        if name.startswith("_") and name not in {"__version__", "annotations"}
    ]
    assert offenders == []


def test_only_the_api_module_imports_the_generated_package() -> None:
    importers = [
        path.name
        for path in modules()
        if (
            "_breeze_blue_api" in path.read_text()
            and any(module.startswith("_breeze_blue_api") for module, _ in imported_names(path))
        )
        or 'import_module("_breeze_blue_api' in path.read_text()
    ]
    assert importers == ["_api.py"]


def test_the_core_does_no_io() -> None:
    forbidden = {"socket", "ssl", "threading", "asyncio", "concurrent", "io", "shutil", "tempfile"}
    for path in sorted((PACKAGE / "_core").glob("*.py")):
        roots = {module.lstrip(".").split(".")[0] for module, _ in imported_names(path)}
        assert not roots & forbidden, (path.name, roots & forbidden)
        source = path.read_text()
        assert "open(" not in source.replace("def open(", ""), path.name
        uses_os = [
            n.attr
            for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "os"
        ]
        assert set(uses_os) <= {"environ"}, (path.name, uses_os)


def test_file_writing_knows_nothing_of_http() -> None:
    for path in sorted((PACKAGE / "_files").glob("*.py")):
        roots = {module.lstrip(".").split(".")[0] for module, _ in imported_names(path)}
        assert "httpx" not in roots, path.name


def test_the_typing_examples_pass_mypy_strict() -> None:
    # tests/typing/ uses the public API as a user would; assert_type pins what it infers.
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "tests/typing"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr

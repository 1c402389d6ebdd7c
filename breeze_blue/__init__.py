"""Breeze Blue: the Python SDK for the Breeze Blue text-to-speech API.

Examples:
    >>> from pathlib import Path
    >>> from breeze_blue import BreezeBlue, save
    >>> client = BreezeBlue()  # reads BREEZE_API_KEY
    >>> audio = client.history.download_audio("hist_01haudio")
    >>> save(audio, Path("history.wav"))
    PosixPath('history.wav')

``AsyncBreezeBlue`` and ``asave`` are the same for asyncio.
"""

from typing import TYPE_CHECKING, Any

from ._audio import AsyncAudio, Audio
from ._client import BreezeBlue, History
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BreezeBlueError,
    GenerationFailedError,
    GenerationNotReadyError,
    IncompleteDownloadError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from ._report import DownloadReport, DownloadResult
from ._save import save
from ._version import __version__

if TYPE_CHECKING:
    from ._aiohttp import DefaultAioHttpClient
    from ._asave import asave
    from ._async_client import AsyncBreezeBlue, AsyncHistory

# The asyncio side is imported when first used: asyncio alone would double the cost of
# `import breeze_blue` for the many programs that never touch it.
_LAZY = {
    "AsyncBreezeBlue": "._async_client",
    "AsyncHistory": "._async_client",
    "asave": "._asave",
    "DefaultAioHttpClient": "._aiohttp",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib  # noqa: PLC0415

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'breeze_blue' has no attribute {name!r}")


__all__ = [
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

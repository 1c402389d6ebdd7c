"""Breeze Blue: the Python SDK for the Breeze Blue text-to-speech API.

Example:
    >>> from pathlib import Path
    >>> from breeze_blue import BreezeBlue, save
    >>> client = BreezeBlue()  # reads BREEZE_API_KEY
    >>> audio = client.history.download_audio("hist_01haudio")
    >>> save(audio, Path("history.mp3"))
    PosixPath('history.mp3')

``AsyncBreezeBlue`` and ``asave`` are the same for asyncio.
"""

from ._async_client import AsyncBreezeBlue, AsyncHistory
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
from ._save import asave, save
from ._version import __version__

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

"""Breeze Blue: the Python SDK for the Breeze Blue text-to-speech API.

Example:
    >>> from pathlib import Path
    >>> from breeze_blue import BreezeBlue, save
    >>> client = BreezeBlue()  # reads BREEZE_API_KEY
    >>> audio = client.history.download_audio("hist_01haudio")
    >>> save(audio, Path("history.mp3"))
    PosixPath('history.mp3')
"""

from ._audio import Audio
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
from ._save import save
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
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
    "save",
]

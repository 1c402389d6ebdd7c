"""A reference Breeze Blue server for your own tests and demos, on loopback only.

Standard library only; nothing here is imported by ``import breeze_blue``. The pytest
fixtures ``breeze_blue_server`` and ``breeze_blue_client`` start it for a test.

Examples:
    >>> from breeze_blue import BreezeBlue
    >>> from breeze_blue.testing import TEST_API_KEY, Ready, ReferenceServer
    >>> with ReferenceServer() as server:
    ...     server.add("hist_mine", Ready(media_type="audio/wav", body=b"RIFF...."))
    ...     client = BreezeBlue(api_key=TEST_API_KEY, base_url=server.url)
    ...     assert client.history.download_audio("hist_mine").read() == b"RIFF...."
"""

from ._faults import (
    ChangeValidator,
    Drop,
    Fault,
    Hangup,
    IgnoreRange,
    PartialContent,
    Redirect,
    Stall,
    Trickle,
)
from ._items import (
    AUDIO_MEDIA_TYPES,
    ErrorReply,
    Item,
    Ready,
    default_items,
    failed,
    pattern_bytes,
    running,
    tone_wav,
)
from ._limits import RateLimit
from ._server import TEST_API_KEY, RecordedRequest, ReferenceServer, api_key_id

__all__ = [
    "AUDIO_MEDIA_TYPES",
    "TEST_API_KEY",
    "ChangeValidator",
    "Drop",
    "ErrorReply",
    "Fault",
    "Hangup",
    "IgnoreRange",
    "Item",
    "PartialContent",
    "RateLimit",
    "Ready",
    "RecordedRequest",
    "Redirect",
    "ReferenceServer",
    "Stall",
    "Trickle",
    "api_key_id",
    "default_items",
    "failed",
    "pattern_bytes",
    "running",
    "tone_wav",
]

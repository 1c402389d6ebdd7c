"""The one door to the generated low-level client (``_breeze_blue_api``).

Nothing else in ``breeze_blue`` imports the generated package. What comes through here is
what the spec decides: the operation's request path (its id encoding included) and the
error envelope's shape. A change to ``openapi.yaml`` reaches
the facade in this one place.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from types import ModuleType
from typing import Any

__all__ = ["audio_path", "read_envelope"]


# The generated package is imported on first use, not with breeze_blue: it pulls in attrs
# and its models, which would add a third to `import breeze_blue`'s own cost.
@cache
def _history() -> ModuleType:
    return importlib.import_module("_breeze_blue_api.api.history")


@cache
def _models() -> ModuleType:
    return importlib.import_module("_breeze_blue_api.models")


def audio_path(history_item_id: str) -> str:
    """The download's request path, the id percent-encoded as exactly one path segment."""
    path = _history().download_history_audio_path(history_item_id)
    assert isinstance(path, str)
    return path


def read_envelope(body: bytes) -> tuple[str | None, str | None, str | None]:
    """``(code, message, request_id)`` from an error body; ``None`` for what is not there.

    Never raises: a body that is not the spec's envelope gives three ``None``.
    """
    try:
        data: Any = json.loads(body)
        # The generated model trusts its input (it would read a list of pairs as a dict).
        if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
            return None, None, None
        detail = _models().ErrorEnvelope.from_dict(data).error
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None, None, None
    # The code is any string (the spec's ErrorCode is an extensible enum): an unknown one is
    # kept as it came, and the exception class is then chosen by the HTTP status.
    code = detail.code
    message = detail.message if isinstance(detail.message, str) else None
    request_id = detail.request_id if isinstance(detail.request_id, str) else None
    return (
        code if isinstance(code, str) else None,
        message,
        request_id,
    )

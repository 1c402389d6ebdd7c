"""Shared by every Python program of the matrix: the expectations, hashing, the output.

A program only says how its generated client downloads and how it reads an error.
``typed`` in an outcome says the code was read through the type the generated client gives
(no dict access into raw JSON, no parse by hand).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from enum import Enum
from typing import Any, TypedDict

BASE: str = os.environ["BREEZE_BASE_URL"]
KEY: str = os.environ["BREEZE_API_KEY"]
with open(os.environ["INTEROP_EXPECTED"]) as _f:
    EXPECTED: dict[str, Any] = json.load(_f)


class Outcome(TypedDict):
    status: int
    code: object
    typed: bool
    how: str


def bytes_of(value: object) -> dict[str, Any]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data, kind = bytes(value), type(value).__name__
    elif isinstance(value, str):
        data, kind = value.encode(), f"str of {len(value)} chars"
    elif hasattr(value, "payload"):  # openapi-python-client's File
        data, kind = value.payload.read(), "File"
    else:
        return {"kind": type(value).__name__}
    return {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data), "kind": kind}


def plain(code: object) -> object:
    """The code as the program sees it: a str (a str enum's value) or the type's name."""
    if isinstance(code, Enum):
        code = code.value
    return code if isinstance(code, str) else f"<{type(code).__name__}>"


def matrix(
    download: Callable[[str], object],
    error: Callable[[str, str | None], Outcome],
    notes: list[str] | None = None,
) -> None:
    out: dict[str, Any] = {"downloads": {}, "errors": {}, "notes": notes or []}

    def attempt(f: Callable[[], Any]) -> Any:
        try:
            return f()
        except Exception as exc:
            return {"fail": f"raised {type(exc).__name__}: {str(exc)[:120]}"}

    for item_id in EXPECTED["downloads"]:
        out["downloads"][item_id] = attempt(lambda i=item_id: bytes_of(download(i)))
    for item_id in EXPECTED["errors"]:
        out["errors"][item_id] = attempt(lambda i=item_id: error(i, KEY))
    out["unauth"] = attempt(lambda: error(EXPECTED["unauth"]["item"], None))
    print(json.dumps(out))

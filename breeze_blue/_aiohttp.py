"""``DefaultAioHttpClient``: ``AsyncBreezeBlue`` over aiohttp, through ``httpx-aiohttp``.

The ``aiohttp`` extra (``pip install 'breeze-blue[aiohttp]'``). Loaded only when the name
is first used, so neither ``import breeze_blue`` nor a program that never asks for it pays
for aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from ._core.options import DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT

__all__ = ["DefaultAioHttpClient"]

_INSTALL_HINT = "DefaultAioHttpClient needs the aiohttp extra: pip install 'breeze-blue[aiohttp]'"

try:
    from httpx_aiohttp import HttpxAiohttpClient
except ImportError:  # the extra is not installed: the name still exists, and says why
    HttpxAiohttpClient = None  # type: ignore[assignment,misc]


# The stand-in comes first and the real class last, and type checkers skip the stand-in
# (``not TYPE_CHECKING``): the API reference is read statically (griffe), which evaluates
# neither condition and keeps the last definition of a name, so mypy and the reference both
# see the real class, its docstring and its signature. At run time exactly one runs.
if not TYPE_CHECKING and HttpxAiohttpClient is None:

    class DefaultAioHttpClient(httpx.AsyncClient):
        """Stands in for the aiohttp client while the ``aiohttp`` extra is not installed."""

        def __init__(self, **kwargs: Any) -> None:
            raise RuntimeError(_INSTALL_HINT)

else:

    class DefaultAioHttpClient(HttpxAiohttpClient):
        """An ``httpx.AsyncClient`` whose connections are aiohttp's, for ``AsyncBreezeBlue``.

        Choose it when one program runs many downloads at once on asyncio: aiohttp's
        connection handling costs less CPU per request than httpx's own async transport.
        It takes ``httpx.AsyncClient``'s arguments; ``timeout`` and ``limits`` default to
        the SDK's own (60 s, 10 s to connect; 20 connections). Given to an
        ``AsyncBreezeBlue``, it is closed when that client is closed.

        It needs the ``aiohttp`` extra (``pip install 'breeze-blue[aiohttp]'``): without
        it, the name still imports, and making one raises a ``RuntimeError`` saying so.

        Examples:
            >>> from breeze_blue import AsyncBreezeBlue, DefaultAioHttpClient
            >>> async with AsyncBreezeBlue(http_client=DefaultAioHttpClient()) as client:
            ...     audio = await client.history.download_audio("hist_01haudio")
        """

        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
            kwargs.setdefault(
                "limits",
                httpx.Limits(
                    max_connections=DEFAULT_MAX_CONNECTIONS,
                    max_keepalive_connections=DEFAULT_MAX_CONNECTIONS,
                ),
            )
            super().__init__(**kwargs)

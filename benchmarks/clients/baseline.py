"""Import the SDK and build its client, download nothing: the memory floor of a process.

Usage: ``baseline.py sdk|sdk_async|sdk_async_aiohttp BASE_URL API_KEY``. The memory target
is relative: a ``save()`` of any size may use at most 16 MiB more than the process that only
imports what ``sdk_save.py`` imports and builds the same client (``sdk``). ``sdk_async`` and
``sdk_async_aiohttp`` are the same for ``sdk_asave.py`` with each backend: its imports, and an
``AsyncBreezeBlue`` built and closed inside a running event loop, as that client is.
"""

import sys


def main() -> None:
    """Build and close one client."""
    mode, base_url, api_key = sys.argv[1:4]
    if mode == "sdk":
        from _timing import timed  # noqa: PLC0415 (the measured imports)

        from breeze_blue import BreezeBlue, save  # noqa: F401, PLC0415

        BreezeBlue(api_key=api_key, base_url=base_url).close()
    elif mode in ("sdk_async", "sdk_async_aiohttp"):
        import asyncio  # noqa: PLC0415 (the measured imports)

        import httpx  # noqa: PLC0415
        from _timing import timed  # noqa: F401, PLC0415

        from breeze_blue import AsyncBreezeBlue, asave  # noqa: F401, PLC0415

        async def build() -> None:
            http: httpx.AsyncClient | None = None
            if mode == "sdk_async_aiohttp":
                from breeze_blue import DefaultAioHttpClient  # noqa: PLC0415

                http = DefaultAioHttpClient()
            await AsyncBreezeBlue(api_key=api_key, base_url=base_url, http_client=http).aclose()

        asyncio.run(build())
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()

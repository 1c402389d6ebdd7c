"""Import a library and build its client, download nothing: the memory floor of a process.

Usage: ``baseline.py sdk|sdk_async|httpx BASE_URL API_KEY``. Issue 4's memory target is
relative: a 512 MiB ``save()`` may use at most 16 MiB more than the SDK process that only
imports and builds a client (the ``sdk`` mode here, with the same imports as ``sdk_save.py``).
``sdk_async`` is the same for ``asave()`` (target 5): the imports of ``sdk_asave.py`` and an
``AsyncBreezeBlue`` built and closed inside a running event loop, as that client is.
"""

import sys


def main() -> None:
    """Build and close one client."""
    mode, base_url, api_key = sys.argv[1:4]
    if mode == "sdk":
        from breeze_blue import BreezeBlue, save  # noqa: F401, PLC0415 (the measured import)

        BreezeBlue(api_key=api_key, base_url=base_url).close()
    elif mode == "sdk_async":
        import asyncio  # noqa: PLC0415 (the measured import)

        from breeze_blue import AsyncBreezeBlue, asave  # noqa: F401, PLC0415

        async def build() -> None:
            await AsyncBreezeBlue(api_key=api_key, base_url=base_url).aclose()

        asyncio.run(build())
    elif mode == "httpx":
        import httpx  # noqa: PLC0415 (the measured import)

        httpx.Client(timeout=60).close()
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()

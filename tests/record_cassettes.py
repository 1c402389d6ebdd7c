"""Record every cassette from the bundled reference server: ``make cassettes``.

Cassettes are never written by hand; this is the only thing that writes them.
"""

from __future__ import annotations

from breeze_blue import APIError, BreezeBlue
from breeze_blue.testing import TEST_API_KEY, ReferenceServer

from ._cassettes import CASES, CASSETTES, cassette_vcr


def main() -> None:
    """Start the reference server, record one cassette per case, stop the server."""
    CASSETTES.mkdir(parents=True, exist_ok=True)
    recorder = cassette_vcr("all")
    with ReferenceServer() as server:
        for case in CASES:
            key = TEST_API_KEY if case.valid_key else "bb_not_a_valid_key"
            with (
                BreezeBlue(api_key=key, base_url=server.url, max_retries=0) as client,
                recorder.use_cassette(f"{case.name}.yaml"),
            ):
                try:
                    client.history.download_audio(case.history_item_id).read()
                except APIError as err:
                    outcome = f"{err.status_code} {err.code}"
                else:
                    outcome = "200"
            print(f"recorded {case.name}.yaml ({outcome})")


if __name__ == "__main__":
    main()

"""What the cassettes hold, shared by the recorder (``make cassettes``) and the replay tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import vcr

CASSETTES = Path(__file__).parent / "cassettes"
# Any key the reference server accepts; filtered out before anything is written.
RECORDING_KEY_HEADER = "xi-api-key"


@dataclass(frozen=True)
class Case:
    """One recorded download: which item, and whether the key was valid."""

    name: str
    history_item_id: str
    valid_key: bool = True


CASES = (
    Case("docs_example", "hist_01haudio"),
    *(
        Case(f"media_{subtype}", f"hist_{subtype}")
        for subtype in ("mpeg", "wav", "flac", "aac", "opus", "pcm")
    ),
    Case("error_400_invalid_request", "hist_invalid"),
    Case("error_401_unauthenticated", "hist_01haudio", valid_key=False),
    Case("error_403_permission_denied", "hist_forbidden"),
    Case("error_404_resource_not_found", "hist_never_existed"),
    Case("error_409_generation_not_ready", "hist_running"),
    Case("error_409_generation_not_ready_http_date", "hist_running_date"),
    Case("error_422_generation_failed", "hist_failed"),
    Case("error_429_rate_limited", "hist_rate_limited"),
    Case("error_500_internal_error", "hist_internal"),
    Case("error_503_service_unavailable", "hist_unavailable"),
)


def cassette_vcr(record_mode: str) -> vcr.VCR:
    """The one VCR configuration for recording and replaying.

    Matching ignores host and port: cassettes are recorded from a reference server on a
    random loopback port and replayed against an address where nothing listens, so a
    request that escaped the cassette fails instead of reaching a server.
    """
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=record_mode,
        match_on=["method", "path", "query"],
        filter_headers=[RECORDING_KEY_HEADER],
        decode_compressed_response=False,
    )

"""How to test your own code against the Breeze Blue reference server (runs as is)."""

from pathlib import Path

from breeze_blue import BreezeBlue, GenerationFailedError, NotFoundError, save
from breeze_blue.testing import Ready, ReferenceServer, failed


def fetch_narration(client: BreezeBlue, history_item_id: str, folder: Path) -> Path | None:
    """Your code: save a narration, or return None when there is none."""
    try:
        audio = client.history.download_audio(history_item_id, wait=True)
    except (NotFoundError, GenerationFailedError):
        return None
    return save(audio, folder)


def test_saves_a_narration_that_is_still_generating(
    breeze_blue_server: ReferenceServer, breeze_blue_client: BreezeBlue, tmp_path: Path
) -> None:
    breeze_blue_server.add(
        "hist_intro", Ready(media_type="audio/wav", body=b"RIFF....WAVE"), running_polls=2
    )
    path = fetch_narration(breeze_blue_client, "hist_intro", tmp_path)
    assert path is not None
    assert path.read_bytes() == b"RIFF....WAVE"
    assert path.name == "hist_intro.wav"
    assert len(breeze_blue_server.requests) == 3  # two polls, then the audio


def test_missing_and_failed_narrations(
    breeze_blue_server: ReferenceServer, breeze_blue_client: BreezeBlue, tmp_path: Path
) -> None:
    breeze_blue_server.add("hist_broken", failed())
    assert fetch_narration(breeze_blue_client, "hist_broken", tmp_path) is None
    assert fetch_narration(breeze_blue_client, "hist_nowhere", tmp_path) is None

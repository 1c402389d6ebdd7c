"""Contains endpoint functions for accessing the API"""

from urllib.parse import quote


def download_history_audio_path(history_item_id: str) -> str:
    """Request path of GET /v1/history/{history_item_id}/audio

    The path, relative to the client's base URL, that the
    `download_history_audio` module requests. Each path parameter is
    percent-encoded as exactly one path segment, as that module encodes it:
    quote(str(value), safe="").

    Args:
        history_item_id (str): History item identifier returned by generation responses or GET
            /v1/history.

    Returns:
        str: the request path.
    """
    return "/v1/history/{history_item_id}/audio".format(
        history_item_id=quote(str(history_item_id), safe=""),
    )

"""openapi-python-client: the detailed call returns Response[...] with .parsed typed."""

from __future__ import annotations

from client.api.history import download_history_audio
from client.client import AuthenticatedClient
from client.models.error_envelope import ErrorEnvelope
from common import BASE, KEY, Outcome, matrix, plain


def api(key: str) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE, token=key, prefix="", auth_header_name="xi-api-key")


authed = api(KEY)
# The generated function requires an AuthenticatedClient: "no key" is an empty one.
anonymous = api("")


def download(item_id: str) -> object:
    response = download_history_audio.sync_detailed(item_id, client=authed)
    if isinstance(response.parsed, ErrorEnvelope) or response.parsed is None:
        return {"status": int(response.status_code), "parsed": repr(response.parsed)[:80]}
    return response.parsed


def error(item_id: str, key: str | None) -> Outcome:
    response = download_history_audio.sync_detailed(item_id, client=authed if key else anonymous)
    parsed = response.parsed
    if isinstance(parsed, ErrorEnvelope):
        code = parsed.error.code
        return {
            "status": int(response.status_code),
            "code": plain(code),
            "typed": True,
            "how": f"response.parsed.error.code is {type(code).__name__}",
        }
    return {
        "status": int(response.status_code),
        "code": None,
        "typed": False,
        "how": f"response.parsed is {type(parsed).__name__}",
    }


matrix(download, error)

"""openapi-generator python: errors raise ApiException whose .data is the deserialized model."""

from __future__ import annotations

from client import ApiClient, Configuration, HistoryApi
from client.exceptions import ApiException
from client.models.error_envelope import ErrorEnvelope
from common import BASE, KEY, Outcome, matrix, plain


def api(key: str | None) -> HistoryApi:
    config = Configuration(host=BASE, api_key={"ApiKeyAuth": key} if key else None)
    # urllib3's default Retry honours Retry-After on 429/503: 3 silent retries sleeping
    # 7 s / 30 s each before the error is raised (111 s for the matrix). Not wanted here.
    config.retries = 0
    return HistoryApi(ApiClient(config))


authed = api(KEY)


def download(item_id: str) -> object:
    return authed.download_history_audio(item_id)


def error(item_id: str, key: str | None) -> Outcome:
    try:
        (authed if key else api(None)).download_history_audio(item_id)
    except ApiException as exc:
        envelope = exc.data
        if not isinstance(envelope, ErrorEnvelope):
            return {
                "status": exc.status,
                "code": None,
                "typed": False,
                "how": f"ApiException.data is {type(envelope).__name__}",
            }
        code = envelope.error.code
        return {
            "status": exc.status,
            "code": plain(code),
            "typed": True,
            "how": f"exc.data.error.code is {type(code).__name__}",
        }
    return {"status": 200, "code": None, "typed": False, "how": "no error"}


matrix(
    download,
    error,
    [
        "urllib3 retries 429/503 after Retry-After by default (up to ~111 s here): "
        "Configuration.retries = 0"
    ],
)

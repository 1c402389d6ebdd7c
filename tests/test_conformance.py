"""Conformance: the bundled reference server answers as ``openapi.yaml`` says it does.

Schemathesis reads the spec, generates requests for its operation (the spec's examples,
the coverage phase's boundary and negative cases, then Hypothesis fuzzing in positive and
negative mode), sends them to a :class:`ReferenceServer` on loopback and runs all of its
checks on every response: the status code, the content type and the response headers are
documented, JSON error bodies validate against ``ErrorEnvelope``, schema-violating requests
are rejected, schema-valid ones are not, and the API key is actually enforced.

The key is configured for the ``ApiKeyAuth`` scheme, so requests reach the real behaviour
while Schemathesis can still leave it out or spoil it on purpose. Generated history item
ids are random strings (``404``/``400``) or, half of the time, ids from the catalogue; the
spec's example request is also sent to every catalogue item. ``hist_large`` (8 MiB)
and ``hist_cut`` (drops the connection mid-body, a fault rather than spec behaviour) are
never asked for.

Methods the spec does not declare are probed too: they must get the JSON envelope in a
``405`` with ``Allow: GET``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import schemathesis
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.failure_codes import (
    AcceptedNegativeData,
    Failure,
    ServerError,
)

from breeze_blue.testing import TEST_API_KEY, Ready, ReferenceServer

SPEC = Path(__file__).parent.parent / "openapi.yaml"
AUDIO_PATH = "/v1/history/{history_item_id}/audio"

RANGED = "hist_ranged"
RANGED_ITEM = Ready(media_type="audio/opus", size=4 * 1024 + 17, ranges=True)

# The default catalogue without hist_large and hist_cut, plus an item that answers Range.
CATALOGUE = (
    "hist_01haudio",
    "hist_mpeg",
    "hist_wav",
    "hist_flac",
    "hist_aac",
    "hist_opus",
    "hist_pcm",
    "hist_running",
    "hist_running_date",
    "hist_failed",
    "hist_forbidden",
    "hist_rate_limited",
    "hist_internal",
    "hist_unavailable",
    RANGED,
)
# Items that answer 500 / 503 on purpose: documented responses, not server bugs.
DELIBERATE_SERVER_ERRORS = {"hist_internal", "hist_unavailable"}
# What a schema-valid request may get: Schemathesis' default plus 416 (range beyond the end)
# and 422 (generation failed), documented answers about one item's state. 400 stays a rejection.
VALID_REQUEST_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "416", "422", "429", "5xx"]

schema = schemathesis.openapi.from_path(
    SPEC,
    config=schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"ApiKeyAuth": {"api_key": TEST_API_KEY}}},
            "phases": {"stateful": {"enabled": False}},
            "checks": {"positive_data_acceptance": {"expected-statuses": VALID_REQUEST_STATUSES}},
        }
    ),
)
OPERATION = schema[AUDIO_PATH]["GET"]


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Half of the generated ids are real catalogue items; negative ids stay as generated."""
    value = path_parameters.get("history_item_id")
    if not (isinstance(value, str) and 1 <= len(value) <= 256):
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(CATALOGUE).map(lambda item: {**path_parameters, "history_item_id": item}),
    )


@schema.hook
def before_add_examples(
    context: schemathesis.HookContext, examples: list[schemathesis.Case]
) -> None:
    """Send the spec's example request to every catalogue item, with and without its headers.

    The example carries ``Range: bytes=1000-`` and a stale ``If-Range`` (a ranged item
    answers 200 with the whole audio); without ``If-Range`` a ranged item answers 206.
    """
    if not examples:
        return
    template = examples[0]

    def variant(item: str, *dropped: str, **headers: str) -> schemathesis.Case:
        # derive(keep_auth=True) keeps the configured key, so ignored_auth still probes it.
        case = template.derive(keep_auth=True)
        case.path_parameters["history_item_id"] = item
        for name in dropped:
            case.headers.pop(name, None)
        case.headers.update(headers)
        return case

    for item in CATALOGUE:
        examples.append(variant(item))
        examples.append(variant(item, "If-Range"))
        examples.append(variant(item, "Range", "If-Range"))
    examples.append(variant(RANGED, "If-Range", Range=f"bytes={RANGED_ITEM.length}-"))


@schema.hook
def filter_failure(
    context: schemathesis.HookContext,
    failure: Failure,
    case: schemathesis.Case,
    response: schemathesis.Response,
) -> bool:
    """Keep every failure except the ones the spec or HTTP itself allows."""
    item = unquote(str(case.path_parameters.get("history_item_id", "")))
    if isinstance(failure, ServerError):
        return item not in DELIBERATE_SERVER_ERRORS
    if isinstance(failure, AcceptedNegativeData):
        # Only Range/If-Range (or the key, whose absence gets 401) can be negated when the
        # path is not: RFC 9110 has a server ignore a Range it cannot use, so 200 is right.
        meta = case.meta
        return meta is None or meta.is_negative_at(ParameterLocation.PATH)
    return True


@pytest.fixture(scope="module")
def reference_server() -> Iterator[ReferenceServer]:
    with ReferenceServer() as server:
        server.add(RANGED, RANGED_ITEM)
        yield server


@schema.parametrize()
@settings(max_examples=80, derandomize=True, database=None, deadline=None)
def test_server_conforms_to_spec(
    reference_server: ReferenceServer, case: schemathesis.Case
) -> None:
    case.call_and_validate(base_url=reference_server.url)


def download(server: ReferenceServer, item: str, **headers: str) -> schemathesis.Response:
    """GET the item's audio with a valid key; every Schemathesis check must pass."""
    case = OPERATION.Case(path_parameters={"history_item_id": item}, headers=headers)
    # The key passed here (not in the case) counts as configured auth, so the
    # ignored_auth check also retries without it and with a wrong one.
    return case.call_and_validate(base_url=server.url, headers={"xi-api-key": TEST_API_KEY})


def ranged_bytes() -> bytes:
    return b"".join(RANGED_ITEM.chunks(RANGED))


def test_range_from_offset_gets_206(reference_server: ReferenceServer) -> None:
    response = download(reference_server, RANGED, Range="bytes=10-")
    length = RANGED_ITEM.length
    assert response.status_code == 206
    assert response.headers["content-range"] == [f"bytes 10-{length - 1}/{length}"]
    assert response.headers["content-type"] == [RANGED_ITEM.media_type]
    assert response.content == ranged_bytes()[10:]


def test_range_with_matching_if_range_gets_206(reference_server: ReferenceServer) -> None:
    etag = RANGED_ITEM.etag(RANGED)
    response = download(reference_server, RANGED, Range="bytes=10-19", **{"If-Range": etag})
    assert response.status_code == 206
    assert response.headers["etag"] == [etag]
    assert response.content == ranged_bytes()[10:20]


def test_unsatisfiable_range_gets_416(reference_server: ReferenceServer) -> None:
    length = RANGED_ITEM.length
    response = download(reference_server, RANGED, Range=f"bytes={length}-")
    assert response.status_code == 416
    assert response.headers["content-range"] == [f"bytes */{length}"]
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize("item", ["hist\u00a0missing", "hist\u200bmissing", "hist_ünï"])
def test_schema_valid_unknown_id_gets_404(reference_server: ReferenceServer, item: str) -> None:
    response = download(reference_server, item)
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "QUERY"])
def test_undeclared_method_gets_a_json_405(reference_server: ReferenceServer, method: str) -> None:
    response = httpx.request(
        method,
        f"{reference_server.url}/v1/history/hist_01haudio/audio",
        headers={"xi-api-key": TEST_API_KEY},
        trust_env=False,
    )
    assert response.status_code == 405
    assert "GET" in response.headers.get("allow", "")
    assert response.headers["content-type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)

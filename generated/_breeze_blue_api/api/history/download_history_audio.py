from http import HTTPStatus
from io import BytesIO
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    history_item_id: str,
    *,
    range_: str | Unset = UNSET,
    if_range: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(range_, Unset):
        headers["Range"] = range_

    if not isinstance(if_range, Unset):
        headers["If-Range"] = if_range

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/history/{history_item_id}/audio".format(
            history_item_id=quote(str(history_item_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | File | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 206:
        response_206 = File(payload=BytesIO(response.content))

        return response_206

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorEnvelope.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorEnvelope.from_dict(response.json())

        return response_409

    if response.status_code == 416:
        response_416 = ErrorEnvelope.from_dict(response.json())

        return response_416

    if response.status_code == 422:
        response_422 = ErrorEnvelope.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorEnvelope.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | File]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    history_item_id: str,
    *,
    client: AuthenticatedClient,
    range_: str | Unset = UNSET,
    if_range: str | Unset = UNSET,
) -> Response[ErrorEnvelope | File]:
    """Download history audio

     Download the audio for a completed history item.

    Large downloads can be resumed: when the response carries `Accept-Ranges: bytes` and
    a validator (`ETag` or `Last-Modified`), ask for the rest with `Range` and `If-Range`.
    The audio may be served from another host through a redirect; clients send the API
    key to the API's own origin only.

    Args:
        history_item_id (str): History item identifier returned by generation responses or GET
            /v1/history.
        range_ (str | Unset): Ask for part of the audio, as `bytes=START-` or `bytes=START-END`
            (RFC 9110); a value the server cannot use is ignored and the whole audio comes with `200`.
        if_range (str | Unset): The `ETag` or `Last-Modified` value of the copy being resumed.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | File]
    """

    kwargs = _get_kwargs(
        history_item_id=history_item_id,
        range_=range_,
        if_range=if_range,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    history_item_id: str,
    *,
    client: AuthenticatedClient,
    range_: str | Unset = UNSET,
    if_range: str | Unset = UNSET,
) -> ErrorEnvelope | File | None:
    """Download history audio

     Download the audio for a completed history item.

    Large downloads can be resumed: when the response carries `Accept-Ranges: bytes` and
    a validator (`ETag` or `Last-Modified`), ask for the rest with `Range` and `If-Range`.
    The audio may be served from another host through a redirect; clients send the API
    key to the API's own origin only.

    Args:
        history_item_id (str): History item identifier returned by generation responses or GET
            /v1/history.
        range_ (str | Unset): Ask for part of the audio, as `bytes=START-` or `bytes=START-END`
            (RFC 9110); a value the server cannot use is ignored and the whole audio comes with `200`.
        if_range (str | Unset): The `ETag` or `Last-Modified` value of the copy being resumed.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | File
    """

    return sync_detailed(
        history_item_id=history_item_id,
        client=client,
        range_=range_,
        if_range=if_range,
    ).parsed


async def asyncio_detailed(
    history_item_id: str,
    *,
    client: AuthenticatedClient,
    range_: str | Unset = UNSET,
    if_range: str | Unset = UNSET,
) -> Response[ErrorEnvelope | File]:
    """Download history audio

     Download the audio for a completed history item.

    Large downloads can be resumed: when the response carries `Accept-Ranges: bytes` and
    a validator (`ETag` or `Last-Modified`), ask for the rest with `Range` and `If-Range`.
    The audio may be served from another host through a redirect; clients send the API
    key to the API's own origin only.

    Args:
        history_item_id (str): History item identifier returned by generation responses or GET
            /v1/history.
        range_ (str | Unset): Ask for part of the audio, as `bytes=START-` or `bytes=START-END`
            (RFC 9110); a value the server cannot use is ignored and the whole audio comes with `200`.
        if_range (str | Unset): The `ETag` or `Last-Modified` value of the copy being resumed.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | File]
    """

    kwargs = _get_kwargs(
        history_item_id=history_item_id,
        range_=range_,
        if_range=if_range,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    history_item_id: str,
    *,
    client: AuthenticatedClient,
    range_: str | Unset = UNSET,
    if_range: str | Unset = UNSET,
) -> ErrorEnvelope | File | None:
    """Download history audio

     Download the audio for a completed history item.

    Large downloads can be resumed: when the response carries `Accept-Ranges: bytes` and
    a validator (`ETag` or `Last-Modified`), ask for the rest with `Range` and `If-Range`.
    The audio may be served from another host through a redirect; clients send the API
    key to the API's own origin only.

    Args:
        history_item_id (str): History item identifier returned by generation responses or GET
            /v1/history.
        range_ (str | Unset): Ask for part of the audio, as `bytes=START-` or `bytes=START-END`
            (RFC 9110); a value the server cannot use is ignored and the whole audio comes with `200`.
        if_range (str | Unset): The `ETag` or `Last-Modified` value of the copy being resumed.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | File
    """

    return (
        await asyncio_detailed(
            history_item_id=history_item_id,
            client=client,
            range_=range_,
            if_range=if_range,
        )
    ).parsed

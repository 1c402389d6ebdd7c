"""Unit tests for the exception hierarchy and ``parse_error``.

The responses are built by hand, so every status, header and body (good, broken or hostile)
can be tried without a server.
"""

from __future__ import annotations

import json
import pickle
import time
import traceback
from email.utils import formatdate

import httpx
import pytest

import breeze_blue
from breeze_blue._core.envelope import MAX_ERROR_BODY, parse_error
from breeze_blue._errors import (
    ERRORS_BY_CODE,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BreezeBlueError,
    GenerationFailedError,
    GenerationNotReadyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    error_class_for,
)

URL = "https://api.breeze.blue/v1/history/x/audio"
SECRET = "sk_secret_123"


def make_request(headers: httpx.Headers | dict[str, str] | None = None) -> httpx.Request:
    return httpx.Request("GET", URL, headers=headers or {"xi-api-key": SECRET})


def make_response(
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    request: httpx.Request | None = None,
) -> httpx.Response:
    return httpx.Response(
        status, headers=headers or {}, content=body, request=request or make_request()
    )


def envelope(code: object, message: object, request_id: object = None) -> bytes:
    detail: dict[str, object] = {"code": code, "message": message}
    if request_id is not None:
        detail["request_id"] = request_id
    return json.dumps({"error": detail}).encode()


def parse(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> APIError:
    return parse_error(make_response(status, body, headers), body)


# (status, code, class): the error catalogue of the API description.
CATALOGUE = [
    (400, "INVALID_REQUEST", BadRequestError),
    (401, "UNAUTHENTICATED", AuthenticationError),
    (403, "PERMISSION_DENIED", PermissionDeniedError),
    (404, "RESOURCE_NOT_FOUND", NotFoundError),
    (409, "GENERATION_NOT_READY", GenerationNotReadyError),
    (422, "GENERATION_FAILED", GenerationFailedError),
    (429, "RATE_LIMITED", RateLimitError),
    (500, "INTERNAL_ERROR", InternalServerError),
    (503, "SERVICE_UNAVAILABLE", InternalServerError),
]

# The class each status gives when the body says nothing useful.
BY_STATUS = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, GenerationNotReadyError),
    (422, GenerationFailedError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (599, InternalServerError),
    (402, APIError),
    (405, APIError),
    (410, APIError),
    (418, APIError),
    (451, APIError),
]

ALL_API_ERRORS = [
    APIError,
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    GenerationNotReadyError,
    GenerationFailedError,
    RateLimitError,
    InternalServerError,
]

RETRYING = [
    (409, "GENERATION_NOT_READY", GenerationNotReadyError),
    (429, "RATE_LIMITED", RateLimitError),
    (500, "INTERNAL_ERROR", InternalServerError),
    (503, "SERVICE_UNAVAILABLE", InternalServerError),
]


# ---------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code", "cls"), CATALOGUE)
def test_catalogue_row_maps_to_its_class(status: int, code: str, cls: type[APIError]) -> None:
    body = envelope(code, "Something specific went wrong.", "req_01hcatalogue")
    err = parse(status, body, {"content-type": "application/json"})
    assert type(err) is cls
    assert isinstance(err, APIError)
    assert isinstance(err, BreezeBlueError)
    assert err.status_code == status
    assert err.code == code
    assert type(err.code) is str  # not the generated enum
    assert err.message == "Something specific went wrong."
    assert err.request_id == "req_01hcatalogue"


@pytest.mark.parametrize(("status", "code", "cls"), CATALOGUE)
def test_str_names_code_message_status_and_request_id(
    status: int, code: str, cls: type[APIError]
) -> None:
    err = parse(status, envelope(code, "The details.", "req_01hstr"))
    text = str(err)
    assert code in text
    assert "The details." in text
    assert str(status) in text
    assert "req_01hstr" in text
    clone = pickle.loads(pickle.dumps(err))  # errors cross process pools
    assert type(clone) is type(err)
    assert str(clone) == text
    # repr names the class and the same fields.
    assert cls.__name__ in repr(err)
    assert code in repr(err)
    assert "req_01hstr" in repr(err)


def test_catalogue_covers_every_known_code() -> None:
    # The facade's table against the spec's known codes: tests/test_spec.py.
    assert {code for _, code, _ in CATALOGUE} == set(ERRORS_BY_CODE)


@pytest.mark.parametrize(("status", "code", "cls"), CATALOGUE)
def test_facade_table_agrees_with_the_catalogue(
    status: int, code: str, cls: type[APIError]
) -> None:
    assert ERRORS_BY_CODE[code] is cls
    assert error_class_for(status, code) is cls
    assert error_class_for(status, None) is cls


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "RATE_LIMITED", RateLimitError),
        (500, "RESOURCE_NOT_FOUND", NotFoundError),
        (404, "GENERATION_NOT_READY", GenerationNotReadyError),
        (418, "UNAUTHENTICATED", AuthenticationError),
        (503, "INVALID_REQUEST", BadRequestError),
    ],
)
def test_known_code_wins_over_status(status: int, code: str, cls: type[APIError]) -> None:
    err = parse(status, envelope(code, "m"))
    assert type(err) is cls
    assert err.status_code == status
    assert err.code == code


@pytest.mark.parametrize(("status", "cls"), BY_STATUS)
def test_unknown_code_maps_by_status(status: int, cls: type[APIError]) -> None:
    err = parse(status, envelope("BRAND_NEW", "A code from the future.", "req_new"))
    assert type(err) is cls
    assert err.code == "BRAND_NEW"
    assert err.message == "A code from the future."
    assert err.request_id == "req_new"
    assert "BRAND_NEW" in str(err)


def test_unknown_code_on_404_is_not_found() -> None:
    err = parse(404, envelope("BRAND_NEW", "gone"))
    assert isinstance(err, NotFoundError)
    assert err.code == "BRAND_NEW"


def test_unknown_code_on_418_is_plain_api_error() -> None:
    err = parse(418, envelope("TEAPOT", "short and stout"))
    assert type(err) is APIError
    assert err.status_code == 418


@pytest.mark.parametrize("code", ["invalid_request", "Invalid_Request", " INVALID_REQUEST"])
def test_codes_are_matched_exactly(code: str) -> None:
    # A code is an opaque string: a near miss is an unknown code, mapped by status.
    err = parse(418, envelope(code, "m"))
    assert type(err) is APIError
    assert err.code == code


# ---------------------------------------------------------------------------------------
# Retry-After
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code", "cls"), RETRYING)
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("  30  ", 30.0),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),
    ],
)
def test_retry_after(
    status: int, code: str, cls: type[APIError], header: str, expected: float
) -> None:
    err = parse(status, envelope(code, "wait"), {"Retry-After": header})
    assert type(err) is cls
    assert isinstance(err, GenerationNotReadyError | RateLimitError | InternalServerError)
    assert err.retry_after == pytest.approx(expected)


@pytest.mark.parametrize(("status", "code", "cls"), RETRYING)
def test_retry_after_http_date_in_the_future(status: int, code: str, cls: type[APIError]) -> None:
    header = formatdate(time.time() + 120, usegmt=True)
    err = parse(status, envelope(code, "wait"), {"retry-after": header})
    assert type(err) is cls
    assert isinstance(err, GenerationNotReadyError | RateLimitError | InternalServerError)
    assert err.retry_after is not None
    assert 100.0 < err.retry_after <= 120.0


@pytest.mark.parametrize(("status", "code", "cls"), RETRYING)
@pytest.mark.parametrize("header", [None, "", "soon", "-5", "inf", "nan", "1e400"])
def test_retry_after_absent_or_garbage_is_none(
    status: int, code: str, cls: type[APIError], header: str | None
) -> None:
    headers = {} if header is None else {"retry-after": header}
    err = parse(status, envelope(code, "wait"), headers)
    assert type(err) is cls
    assert isinstance(err, GenerationNotReadyError | RateLimitError | InternalServerError)
    assert err.retry_after is None


@pytest.mark.parametrize(("status", "cls"), [(409, GenerationNotReadyError), (429, RateLimitError)])
def test_retry_after_read_for_a_bad_body_too(status: int, cls: type[APIError]) -> None:
    err = parse(status, b"<html>slow down</html>", {"retry-after": "12"})
    assert type(err) is cls
    assert isinstance(err, GenerationNotReadyError | RateLimitError)
    assert err.retry_after == 12.0


def test_retry_after_on_502_by_status() -> None:
    err = parse(502, b"", {"retry-after": "4"})
    assert type(err) is InternalServerError
    assert err.retry_after == 4.0


@pytest.mark.parametrize(("status", "cls"), [(404, NotFoundError), (418, APIError)])
def test_every_api_error_reads_retry_after(status: int, cls: type[APIError]) -> None:
    err = parse(status, envelope("BRAND_NEW", "m"), {"retry-after": "5"})
    assert type(err) is cls
    assert err.retry_after == 5.0
    assert parse(status, envelope("BRAND_NEW", "m")).retry_after is None
    assert APIError("m", status_code=status).retry_after is None


@pytest.mark.parametrize("cls", ALL_API_ERRORS)
def test_retry_after_http_date_survives_pickling(cls: type[APIError]) -> None:
    # Measured when the response arrived: a copy made later must not measure it again.
    header = formatdate(time.time() + 120, usegmt=True)
    err = cls("wait", status_code=503, headers=httpx.Headers({"retry-after": header}))
    assert err.retry_after is not None
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is cls
    assert clone.retry_after == err.retry_after
    assert clone.headers["retry-after"] == header


# ---------------------------------------------------------------------------------------
# Bodies that are not a valid envelope
# ---------------------------------------------------------------------------------------

BAD_BODIES = {
    "empty": b"",
    "whitespace": b"  \r\n\t ",
    "html": b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
    "plain text": b"upstream connect error or disconnect/reset before headers",
    "truncated json": b'{"error": {"code": "RESOURCE_NOT_FOUND", "mess',
    "json list": b'[{"error": {"code": "INVALID_REQUEST", "message": "m"}}]',
    "json empty list": b"[]",
    "json number": b"5",
    "json huge number": b"1e400",
    "json int too long": b"9" * 5000,
    "json null": b"null",
    "json true": b"true",
    "json string": b'"error"',
    "json empty object": b"{}",
    "error is null": b'{"error": null}',
    "error is string": b'{"error": "oops"}',
    "error is number": b'{"error": 5}',
    "error is list": b'{"error": []}',
    "error is empty object": b'{"error": {}}',
    "missing message": b'{"error": {"code": "BRAND_NEW"}}',
    "missing code": b'{"error": {"message": "no code"}}',
    "other envelope": b'{"detail": "Not Found"}',
    "non-string code and message": b'{"error": {"code": 5, "message": ["x"]}}',
    "null code and message": b'{"error": {"code": null, "message": null}}',
    "object code and message": b'{"error": {"code": {}, "message": {}}}',
    "deeply nested list": b"[" * 100_000 + b"]" * 100_000,
    "deeply nested object": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "deep inside envelope": (
        b'{"error": {"code": "X", "message": "m", "extra": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}"
    ),
    "invalid utf-8": b"\xff\xfe\xfa\x80{",
    "invalid utf-8 in json": b'{"error": {"code": "X", "message": "\xff\xfe"}}',
    "latin-1 text": "Dienst nicht verfügbar".encode("latin-1"),
    "nul bytes": b"\x00" * 64,
    "utf-16 garbage": "not json".encode("utf-16"),
    "max size junk": b"x" * MAX_ERROR_BODY,
}


@pytest.mark.parametrize(("status", "cls"), BY_STATUS)
@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_body_gives_the_status_class_and_a_readable_message(
    status: int, cls: type[APIError], body: bytes
) -> None:
    err = parse(status, body)  # must not raise JSONDecodeError/ValueError/KeyError/...
    assert type(err) is cls
    assert err.status_code == status
    assert err.code is None or type(err.code) is str
    assert isinstance(err.message, str)
    assert err.message.strip()
    assert "None" not in err.message
    assert str(status) in str(err)
    # Bounded: a 64 KiB page must not become a 64 KiB message.
    assert len(err.message) <= 300
    assert len(str(err)) <= 400


@pytest.mark.parametrize("status", [400, 404, 418, 503])
def test_html_body_is_described_not_quoted(status: int) -> None:
    body = b"<html><head><title>Oops</title></head><body>" + b"x" * 5000 + b"</body></html>"
    for headers in ({"content-type": "text/html; charset=utf-8"}, {}):
        err = parse(status, body, headers)
        assert "HTML" in err.message
        assert "<html>" not in err.message
        assert str(status) in err.message


def test_html_content_type_wins_even_for_text_not_starting_with_a_tag() -> None:
    err = parse(502, b"Bad gateway, see <a href=/>home</a>", {"Content-Type": "TEXT/HTML"})
    assert "HTML" in err.message
    assert "<a" not in err.message


@pytest.mark.parametrize("body", [b"", b"   ", b"\n\n"])
def test_empty_body_says_so(body: bytes) -> None:
    err = parse(503, body)
    assert type(err) is InternalServerError
    assert "empty" in err.message.lower()
    assert "503" in err.message
    assert "Service Unavailable" in err.message


def test_text_body_is_quoted_collapsed_and_capped() -> None:
    words = " ".join(f"word{i}\n\t" for i in range(500))
    err = parse(502, words.encode())
    assert "word0 word1 word2" in err.message
    assert "\n" not in err.message
    assert "\t" not in err.message
    assert "word499" not in err.message  # capped


def test_truncated_json_message_shows_the_start_of_the_body() -> None:
    err = parse(404, b'{"error": {"code": "RESOURCE_NOT_FOUND", "mess')
    assert type(err) is NotFoundError
    assert err.code is None
    assert "RESOURCE_NOT_FOUND" in err.message  # quoted from the raw body, for debugging


def test_unknown_reason_phrase_still_readable() -> None:
    err = parse(599, b"")
    assert "599" in err.message
    assert err.message.strip()


def test_invalid_utf8_is_replaced_not_raised() -> None:
    err = parse(500, b"caf\xe9 \xff broken")
    assert "caf" in err.message
    assert "broken" in err.message
    str(err).encode("utf-8")  # printable to any UTF-8 log


RL_BAD_MESSAGE = b'{"error": {"code": "RATE_LIMITED", "message": 5}}'
RL_NULL_MESSAGE = b'{"error": {"code": "RATE_LIMITED", "message": null}}'
GF_EXTRA = b'{"error": {"code": "GENERATION_FAILED", "message": "m", "extra": [1]}, "x": 2}'


@pytest.mark.parametrize(
    ("body", "status", "cls", "code", "message"),
    [
        # a usable code with an unusable message: the code still picks the class
        (RL_BAD_MESSAGE, 400, RateLimitError, "RATE_LIMITED", None),
        (RL_NULL_MESSAGE, 400, RateLimitError, "RATE_LIMITED", None),
        # a usable message with an unusable code: the status picks the class
        (b'{"error": {"code": 404, "message": "gone"}}', 404, NotFoundError, None, "gone"),
        (b'{"error": {"code": ["X"], "message": "gone"}}', 404, NotFoundError, None, "gone"),
        # unknown extra fields are ignored
        (GF_EXTRA, 422, GenerationFailedError, "GENERATION_FAILED", "m"),
    ],
)
def test_partly_valid_envelopes(
    body: bytes, status: int, cls: type[APIError], code: str | None, message: str | None
) -> None:
    err = parse(status, body)
    assert type(err) is cls
    assert err.code == code
    if message is None:
        assert err.message.strip()
        assert str(status) in err.message
    else:
        assert err.message == message


@pytest.mark.parametrize("request_id", [5, None, ["r"], {"id": "r"}])
def test_non_string_request_id_is_dropped(request_id: object) -> None:
    body = json.dumps(
        {"error": {"code": "RESOURCE_NOT_FOUND", "message": "m", "request_id": request_id}}
    ).encode()
    err = parse(404, body)
    assert type(err) is NotFoundError
    assert err.request_id is None
    assert "request_id" not in str(err)


def test_request_id_falls_back_to_the_header() -> None:
    err = parse(404, envelope("RESOURCE_NOT_FOUND", "m"), {"x-request-id": "req_from_header"})
    assert err.request_id == "req_from_header"
    assert "req_from_header" in str(err)


def test_request_id_from_header_for_a_bad_body() -> None:
    err = parse(502, b"<html></html>", {"X-Request-Id": "req_proxy"})
    assert err.request_id == "req_proxy"
    assert "req_proxy" in str(err)


def test_envelope_request_id_wins_over_the_header() -> None:
    body = envelope("RESOURCE_NOT_FOUND", "m", "req_from_body")
    err = parse(404, body, {"x-request-id": "req_from_header"})
    assert err.request_id == "req_from_body"


def test_no_request_id_anywhere() -> None:
    err = parse(404, envelope("RESOURCE_NOT_FOUND", "m"))
    assert err.request_id is None
    assert str(err) == "RESOURCE_NOT_FOUND: m (status 404)"


def test_error_keeps_the_response_headers() -> None:
    err = parse(429, envelope("RATE_LIMITED", "m"), {"retry-after": "3", "x-limit": "10"})
    assert isinstance(err.headers, httpx.Headers)
    assert err.headers["x-limit"] == "10"
    assert err.headers["retry-after"] == "3"


def test_parse_error_returns_a_raisable_error() -> None:
    err = parse(404, envelope("RESOURCE_NOT_FOUND", "m"))
    with pytest.raises(NotFoundError, match="RESOURCE_NOT_FOUND: m"):
        raise err
    with pytest.raises(BreezeBlueError):
        raise err


@pytest.mark.parametrize(("code", "message"), [("", ""), ("BRAND_NEW", ""), ("BRAND_NEW", "   ")])
def test_blank_envelope_message_still_gives_a_readable_message(code: str, message: str) -> None:
    # BUG: envelope.py falls back to describing the body only when message is None;
    # an envelope with "message": "" gives err.message == "" and str(err) == " (status 400)".
    err = parse(400, envelope(code, message))
    assert type(err) is BadRequestError
    assert err.message.strip()
    assert not str(err).startswith(" ")


def test_json_list_of_pairs_is_not_an_envelope() -> None:
    # BUG: the generated ErrorEnvelope.from_dict calls dict() on any JSON value, so a list
    # of [key, value] pairs passes as an envelope and its code picks the class.
    body = b'[["error", {"code": "RATE_LIMITED", "message": "from a list"}]]'
    err = parse(400, body)
    assert type(err) is BadRequestError
    assert err.code is None


def test_lone_surrogate_in_message_is_still_printable() -> None:
    # BUG: JSON may spell a lone surrogate ("\ud800"); it reaches err.message as is, and
    # str(err).encode("utf-8") (what a UTF-8 log handler does) raises UnicodeEncodeError.
    err = parse(500, b'{"error": {"code": "INTERNAL_ERROR", "message": "bad \\ud800 text"}}')
    assert type(err) is InternalServerError
    str(err).encode("utf-8")
    repr(err).encode("utf-8")


@pytest.mark.parametrize(
    "body",
    [
        b"\x1b[2J\x1b[31mYOUR ACCOUNT IS LOCKED\x1b[0m",
        b"before\x00after",
        b'{"error": {"code": "INTERNAL_ERROR", "message": "a\\u001b[2Jb"}}',
    ],
)
def test_message_has_no_control_characters(body: bytes) -> None:
    # BUG (low): server-sent control characters (terminal escapes, NUL) reach the message
    # as is; envelope.py:_describe_body collapses whitespace but keeps other controls.
    err = parse(500, body)
    assert not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in str(err)), repr(str(err))


# ---------------------------------------------------------------------------------------
# The API key never leaks
# ---------------------------------------------------------------------------------------

LEAK_CASES = [
    (status, body)
    for status, code, _ in CATALOGUE
    for body in (envelope(code, "m", "req_1"), b"", b"<html>x</html>", b'{"error":')
] + [(418, envelope("BRAND_NEW", "m")), (502, b"")]


def all_text(err: APIError) -> str:
    parts = [
        str(err),
        repr(err),
        str(err.args),
        repr(err.headers),
        str(err.headers),
        "".join(traceback.format_exception(err)),
    ]
    assert err.request is not None
    parts += [repr(err.request.headers), str(err.request.headers), repr(err.request)]
    parts += [repr(value) for value in vars(err).values()]
    parts += [f"{key}: {value}" for key, value in err.request.headers.items()]
    return "\n".join(parts)


@pytest.mark.parametrize(("status", "body"), LEAK_CASES)
def test_api_key_appears_nowhere(status: int, body: bytes) -> None:
    err = parse(status, body)
    assert SECRET not in str(err)
    assert SECRET not in repr(err)
    assert err.request is not None
    assert SECRET not in repr(err.request.headers)
    assert SECRET not in str(err.request.headers)
    assert SECRET not in all_text(err)
    # The header is still there, visibly redacted, so a reader knows a key was sent.
    assert "xi-api-key" in err.request.headers
    assert err.request.headers["xi-api-key"] != SECRET


def test_redacted_request_keeps_method_url_and_other_headers() -> None:
    request = make_request({"xi-api-key": SECRET, "user-agent": "breeze-blue-test/1"})
    response = make_response(404, envelope("RESOURCE_NOT_FOUND", "m"), request=request)
    err = parse_error(response, envelope("RESOURCE_NOT_FOUND", "m"))
    assert err.request is not None
    assert err.request.method == "GET"
    assert str(err.request.url) == URL
    assert err.request.headers["user-agent"] == "breeze-blue-test/1"
    assert SECRET not in all_text(err)


def test_redaction_does_not_touch_the_caller_request() -> None:
    request = make_request()
    response = make_response(401, envelope("UNAUTHENTICATED", "m"), request=request)
    err = parse_error(response, envelope("UNAUTHENTICATED", "m"))
    assert err.request is not request
    assert request.headers["xi-api-key"] == SECRET


@pytest.mark.parametrize("name", ["xi-api-key", "XI-API-KEY", "Xi-Api-Key"])
def test_api_key_redacted_whatever_the_header_case(name: str) -> None:
    request = make_request(httpx.Headers([(name, SECRET)]))
    err = parse_error(make_response(403, b"", request=request), b"")
    assert SECRET not in all_text(err)


def test_api_key_redacted_when_the_header_repeats() -> None:
    request = make_request(httpx.Headers([("xi-api-key", SECRET), ("XI-API-KEY", SECRET)]))
    err = parse_error(make_response(401, b"", request=request), b"")
    assert SECRET not in all_text(err)
    assert err.request is not None
    assert err.request.headers.get_list("xi-api-key") == ["[redacted]"]


def test_request_without_a_key_is_kept_as_is() -> None:
    request = httpx.Request("GET", URL, headers={"accept": "audio/*"})
    err = parse_error(make_response(401, b"", request=request), b"")
    assert err.request is not None
    assert "xi-api-key" not in err.request.headers
    assert err.request.headers["accept"] == "audio/*"


# ---------------------------------------------------------------------------------------
# The hierarchy
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_API_ERRORS)
def test_every_api_error_class_is_an_api_error(cls: type[APIError]) -> None:
    assert issubclass(cls, APIError)
    assert issubclass(cls, BreezeBlueError)
    assert issubclass(cls, Exception)
    assert not issubclass(cls, APIConnectionError)


@pytest.mark.parametrize("cls", ALL_API_ERRORS)
def test_every_api_error_class_is_exported(cls: type[APIError]) -> None:
    assert getattr(breeze_blue, cls.__name__) is cls


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (GenerationNotReadyError, APIError),
        (RateLimitError, APIError),
        (InternalServerError, APIError),
        (APIConnectionError, BreezeBlueError),
        (APITimeoutError, APIConnectionError),
        (APITimeoutError, BreezeBlueError),
        (BreezeBlueError, Exception),
    ],
)
def test_subclassing(cls: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(cls, parent)


@pytest.mark.parametrize("cls", [GenerationNotReadyError, RateLimitError, InternalServerError])
def test_retrying_errors_subclass_api_error_directly(cls: type[APIError]) -> None:
    # No private base class: the reference shows each class's bases.
    assert cls.__bases__ == (APIError,)
    assert cls.__mro__[1] is APIError
    assert not any(base.__name__.startswith("_") for base in cls.__mro__)


def test_connection_errors_are_not_api_errors() -> None:
    assert not issubclass(APIConnectionError, APIError)
    assert not issubclass(APITimeoutError, APIError)
    assert breeze_blue.APIConnectionError is APIConnectionError
    assert breeze_blue.APITimeoutError is APITimeoutError
    assert breeze_blue.BreezeBlueError is BreezeBlueError


def test_connection_error_defaults_and_request() -> None:
    request = make_request()
    err = APIConnectionError(request=request)
    assert str(err) == "Connection error."
    assert err.request is request
    timeout = APITimeoutError()
    assert str(timeout) == "Request timed out."
    assert timeout.request is None
    with pytest.raises(APIConnectionError):
        raise APITimeoutError(request=request)


def test_connection_error_chains_its_cause() -> None:
    cause = httpx.ConnectError("refused")

    def fail() -> None:
        try:
            raise cause
        except httpx.ConnectError as exc:
            raise APIConnectionError("could not connect") from exc

    with pytest.raises(APIConnectionError) as info:
        fail()
    assert info.value.__cause__ is cause
    assert str(info.value) == "could not connect"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"status_code": 500}, "boom (status 500)"),
        ({"status_code": 404, "code": "X"}, "X: boom (status 404)"),
        ({"status_code": 404, "request_id": "r1"}, "boom (status 404, request_id r1)"),
        (
            {"status_code": 429, "code": "Y", "request_id": "r2"},
            "Y: boom (status 429, request_id r2)",
        ),
    ],
)
def test_api_error_str(kwargs: dict[str, object], expected: str) -> None:
    err = APIError("boom", **kwargs)  # type: ignore[arg-type]
    assert str(err) == expected
    assert err.message == "boom"
    assert isinstance(err.headers, httpx.Headers)
    assert err.request is None


def test_api_error_repr() -> None:
    err = NotFoundError("gone", status_code=404, code="RESOURCE_NOT_FOUND", request_id="r")
    assert repr(err) == (
        "NotFoundError(status_code=404, code='RESOURCE_NOT_FOUND', message='gone', request_id='r')"
    )

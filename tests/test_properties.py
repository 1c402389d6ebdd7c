"""Property tests (Hypothesis) for the SDK's parsers: any input in, a value out, never a crash.

Every function here reads bytes a server, a proxy or a CDN chose. The properties say what
the result must look like for *any* input (``None`` or a documented, well-formed value, or
the typed error), and pin a few exact answers for well-formed inputs.

The runs are derandomized (the same examples on every run and every machine) and sized so
the whole file takes a few seconds.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import PurePosixPath, PureWindowsPath

import httpx
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from breeze_blue._core.envelope import parse_error
from breeze_blue._core.flow import RetryPolicy, backoff_delay, server_delay
from breeze_blue._core.parsing import parse_content_disposition, parse_retry_after, safe_filename
from breeze_blue._core.resume import continues, resume_headers
from breeze_blue._errors import ERRORS_BY_CODE, APIError, error_class_for


def props(max_examples: int) -> settings:
    """Deterministic settings: same examples everywhere, no example database, no deadline."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None)


# A fixed "now": 2025-06-15T15:06:40Z.
NOW = 1_750_000_000.0


def at(instant: float):
    """A ``now`` callable frozen at ``instant``."""
    return lambda: instant


# ---------------------------------------------------------------------------------------
# Shared strategies
# ---------------------------------------------------------------------------------------

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
FULL_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# Any datetime Python can represent, whole seconds (an HTTP-date has no fractions).
whole_second_datetimes = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(microsecond=0))


def clock(d: datetime) -> str:
    return f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"


# The three forms of RFC 9110 section 5.6.7, formatted by hand (``strftime`` depends on the
# locale and the libc). ``year`` replaces the datetime's year, to write years none can hold.


def imf_fixdate(d: datetime, year: int | None = None) -> str:
    yyyy = f"{d.year:04d}" if year is None else str(year)
    return f"{DAYS[d.weekday()]}, {d.day:02d} {MONTHS[d.month - 1]} {yyyy} {clock(d)} GMT"


def rfc850_date(d: datetime, year: int | None = None) -> str:
    yy = f"{d.year % 100:02d}" if year is None else str(year)
    return f"{FULL_DAYS[d.weekday()]}, {d.day:02d}-{MONTHS[d.month - 1]}-{yy} {clock(d)} GMT"


def asctime_date(d: datetime, year: int | None = None) -> str:
    yyyy = f"{d.year:04d}" if year is None else str(year)
    return f"{DAYS[d.weekday()]} {MONTHS[d.month - 1]} {d.day:2d} {clock(d)} {yyyy}"


date_formats = st.sampled_from([imf_fixdate, rfc850_date, asctime_date])
http_dates = st.builds(lambda d, fmt: fmt(d), whole_second_datetimes, date_formats)

# Years no datetime can hold: 0, negative, five digits and far more.
out_of_range_years = st.one_of(
    st.integers(-(10**6), 0),
    st.integers(10_000, 10**6),
    st.integers(-(10**30), 10**30),
)
out_of_range_dates = st.builds(
    lambda d, fmt, year: fmt(d, year), whole_second_datetimes, date_formats, out_of_range_years
)

# IMF-fixdate-like strings with impossible fields and odd zones.
odd_dates = st.builds(
    "{}, {:02d} {} {} {:02d}:{:02d}:{:02d} {}".format,
    st.sampled_from(DAYS),
    st.integers(0, 99),
    st.sampled_from([*MONTHS, "Foo", ""]),
    st.one_of(st.integers(-(10**6), 10**6), st.integers(-(10**30), 10**30)),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.one_of(
        st.sampled_from(["GMT", "UTC", "UT", "EST", "PDT", "Z", "-0000", "+0000", "", "XYZ"]),
        st.builds("{}{:04d}".format, st.sampled_from("+-"), st.integers(0, 9999)),
    ),
)

# Token soup: the pieces an HTTP-date is made of, in any order and number.
date_token_soup = st.lists(
    st.one_of(
        st.sampled_from(DAYS + FULL_DAYS + MONTHS + ["GMT", "-0000", "+2359", "-2400", "AM"]),
        st.integers(-(10**20), 10**20).map(str),
        st.builds("{}:{}:{}".format, *[st.integers(-5, 100)] * 3),
        st.builds("{}:{}".format, st.integers(0, 99), st.integers(0, 99)),
        st.text(alphabet=",:-+. 0123456789", max_size=6),
    ),
    max_size=8,
).map(" ".join)

DIGITS = "0123456789"
ALNUM = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def ascii_text(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


# RFC 9110 delta-seconds (plus the fractions the SDK also accepts): [0-9]{1,15}(.[0-9]{1,9})?
delta_seconds = st.builds(
    "{}{}".format,
    ascii_text(DIGITS, 1, 15),
    st.just("") | ascii_text(DIGITS, 1, 9).map(".{}".format),
)

numbers_as_text = st.one_of(
    st.integers().map(str),
    st.integers(max_value=-1).map(str),
    st.integers(min_value=10**15, max_value=10**400).map(str),
    st.integers(4_250, 4_400).map(lambda n: "9" * n),  # past int()'s default digit limit
    st.floats().map(repr),
    st.floats().map(str),
    st.decimals().map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-0", "0.", ".5", "1_000", "0x10", "1e3"]),
)

retry_after_values = st.one_of(
    st.text(),
    delta_seconds,
    numbers_as_text,
    http_dates,
    out_of_range_dates,
    odd_dates,
    date_token_soup,
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["", " ", "\t", "\u00a0", "\n"]),
        st.one_of(delta_seconds, http_dates),
        st.sampled_from(["", " ", "\t", "\u3000", "x"]),
    ),
)

# Header values as a server could put them on the wire (RFC 9110 field-value, with the
# obs-text that h11 accepts), and as bytes anyone could hand to httpx.
wire_field_values = st.binary(max_size=60).map(
    lambda raw: bytes(b for b in raw if b in b"\t " or 0x21 <= b <= 0x7E or b >= 0x80).strip()
)
any_header_bytes = st.one_of(
    st.binary(max_size=40),
    wire_field_values,
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


def header_bytes_from_text(values: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Encode generated text as header bytes (UTF-8, lone surrogates kept as raw bytes)."""
    return values.map(lambda s: s.encode("utf-8", "surrogatepass"))


def is_finite_non_negative(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value >= 0


# ---------------------------------------------------------------------------------------
# 1. parse_retry_after
# ---------------------------------------------------------------------------------------


@props(400)
@given(text=retry_after_values, now=st.sampled_from([NOW, 0.0, 784111777.0, 4e9]))
def test_parse_retry_after_never_raises(text: str, now: float) -> None:
    result = parse_retry_after(text, now=at(now))
    assert result is None or is_finite_non_negative(result), result


@props(100)
@given(text=delta_seconds, pad=st.sampled_from(["", " ", "\t", "  \t "]))
def test_parse_retry_after_delta_seconds_is_the_number(text: str, pad: str) -> None:
    assert parse_retry_after(pad + text + pad, now=at(NOW)) == float(text)


@props(300)
@given(d=whole_second_datetimes)
@example(d=datetime(1994, 11, 6, 8, 49, 37))  # RFC 9110's own example
@example(d=datetime(2050, 1, 1))
@example(d=datetime(50, 1, 1))  # "..., 01 Jan 0050 00:00:00 GMT" is long past
def test_parse_retry_after_imf_fixdate_is_seconds_until_then(d: datetime) -> None:
    """An IMF-fixdate means that instant: the wait is the time until it, or 0 if past."""
    expected = max(0.0, d.replace(tzinfo=UTC).timestamp() - NOW)
    result = parse_retry_after(imf_fixdate(d), now=at(NOW))
    assert result is not None, imf_fixdate(d)
    assert math.isclose(result, expected, rel_tol=0, abs_tol=1e-6), (imf_fixdate(d), result)


# ---------------------------------------------------------------------------------------
# 2. server_delay
# ---------------------------------------------------------------------------------------


@props(300)
@given(
    milliseconds=st.none() | header_bytes_from_text(retry_after_values) | any_header_bytes,
    retry_after=st.none() | header_bytes_from_text(retry_after_values) | any_header_bytes,
)
def test_server_delay_never_raises_and_milliseconds_win(
    milliseconds: bytes | None, retry_after: bytes | None
) -> None:
    raw = [(b"retry-after-ms", milliseconds), (b"retry-after", retry_after)]
    headers = httpx.Headers([(name, value) for name, value in raw if value is not None])
    result = server_delay(headers, now=at(NOW))
    assert result is None or is_finite_non_negative(result), result

    # What the server asked for in milliseconds, read the way any client would.
    ms_text = headers.get("retry-after-ms")
    try:
        asked_ms = float(ms_text.strip()) if ms_text is not None else None
    except ValueError:
        asked_ms = None
    if asked_ms is not None and math.isfinite(asked_ms) and asked_ms >= 0:
        assert result == asked_ms / 1000.0
    else:
        assert result == parse_retry_after(headers.get("retry-after"), now=at(NOW))


@props(100)
@given(value=st.floats(min_value=0, max_value=1e300), retry_after=retry_after_values)
def test_server_delay_numeric_milliseconds_win(value: float, retry_after: str) -> None:
    headers = httpx.Headers(
        [
            (b"retry-after-ms", repr(value).encode()),
            (b"retry-after", retry_after.encode("utf-8", "surrogatepass")),
        ]
    )
    assert server_delay(headers, now=at(NOW)) == value / 1000.0


# ---------------------------------------------------------------------------------------
# 3. backoff_delay
# ---------------------------------------------------------------------------------------

unit_interval = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
policies = st.one_of(
    st.just(RetryPolicy()),
    st.builds(
        lambda initial, cap: RetryPolicy(backoff_initial=initial, backoff_max=cap),
        st.floats(min_value=0.001, max_value=10.0),
        st.floats(min_value=0.001, max_value=600.0),
    ),
)


@props(300)
@given(policy=policies, r=unit_interval, retry=st.integers(0, 60))
def test_backoff_delay_is_base_less_up_to_a_quarter(
    policy: RetryPolicy, r: float, retry: int
) -> None:
    jittered = RetryPolicy(
        backoff_initial=policy.backoff_initial,
        backoff_max=policy.backoff_max,
        random=lambda: r,
    )
    base = min(policy.backoff_max, policy.backoff_initial * 2**retry)
    delay = backoff_delay(jittered, retry)
    assert 0.75 * base <= delay <= base
    assert delay <= policy.backoff_max


@props(100)
@given(r=unit_interval, retry=st.integers(61, 10**9))
@example(r=0.5, retry=10_000)
def test_backoff_delay_huge_retry_counts_stay_capped(r: float, retry: int) -> None:
    """A client configured with many retries must keep waiting ``backoff_max``, not crash."""
    policy = RetryPolicy(random=lambda: r)
    delay = backoff_delay(policy, retry)
    assert math.isfinite(delay)
    assert 0.75 * policy.backoff_max <= delay <= policy.backoff_max


# ---------------------------------------------------------------------------------------
# 4. parse_content_disposition and safe_filename
# ---------------------------------------------------------------------------------------

WINDOWS_DEVICES = ["CON", "PRN", "AUX", "NUL", "COM1", "LPT9", "COM\u00b9", "CONIN$", "conout$"]
name_pieces = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            *[".", "..", "/", "\\", ":", "\x00", "\x1b[31m", " ", "\u3000", "\u200b", "\u202e"],
            *["C:", "\\\\?\\", "//", "~", "%2F", "%00", "a.mp3", ".mp3", "\ud800", "e\u0301"],
            *WINDOWS_DEVICES,
        ]
    ),
)
file_names = st.one_of(
    st.text(),
    st.lists(name_pieces, max_size=8).map("".join),
    # Long names, to exercise shortening (and device names that then need a prefix).
    st.builds(
        lambda head, body, n, tail: head + body * n + tail,
        st.sampled_from(["", ".", " ", "a", *[f"{d}." for d in WINDOWS_DEVICES], "CON "]),
        st.sampled_from(["a", "é", "\u4e2d", "\U0001f600", "ab.", ". ", "x "]),
        st.integers(40, 260),
        st.sampled_from(["", ".mp3", ".", " ", ".a-very-long-extension-indeed", ". x"]),
    ),
)


def assert_safe_name(name: object) -> None:
    if name is None:
        return
    assert isinstance(name, str)
    assert name
    assert not set(name) & {"/", "\\", ":", "\x00"}, name
    assert all(unicodedata.category(ch)[0] != "C" for ch in name), name
    assert not name.startswith("."), name
    assert not name[0].isspace(), name
    assert not name.endswith("."), name
    assert not name[-1].isspace(), name
    assert len(name.encode("utf-8")) <= 200, (len(name.encode("utf-8")), name)
    assert PurePosixPath(name).name == name
    assert PureWindowsPath(name).name == name


@props(300)
@given(name=file_names)
@example(name="CON." + "a" * 196)  # 200 bytes: the device-name prefix must still fit
def test_safe_filename_is_a_bare_safe_name(name: str) -> None:
    assert_safe_name(safe_filename(name))


CHARSETS = [
    "UTF-8",
    "utf-8",
    "iso-8859-1",
    "ISO-8859-15",
    "us-ascii",
    "utf-16",
    "utf-32",
    "utf-7",
    "cp1252",
    "shift_jis",
    "punycode",
    "idna",
    "unicode_escape",
    "raw_unicode_escape",
    "undefined",
    "rot13",
    "base64",
    "hex",
    "zlib",
    "mbcs",
    "",
    "x-unknown",
]


def percent_encode(data: bytes, keep_plain: bool) -> str:
    return "".join(
        chr(b) if keep_plain and 0x30 <= b <= 0x7A and chr(b).isalnum() else f"%{b:02X}"
        for b in data
    )


ext_values = st.builds(
    lambda charset, lang, value: f"{charset}'{lang}'{value}",
    st.one_of(st.sampled_from(CHARSETS), ascii_text(ALNUM + "!#$%&+^_`{}~-", 0, 12)),
    st.sampled_from(["", "en", "de-CH", "x"]),
    st.one_of(
        st.builds(percent_encode, st.binary(max_size=30), st.booleans()),
        st.builds(
            percent_encode,
            file_names.map(lambda s: s.encode("utf-8", "surrogatepass")),
            st.booleans(),
        ),
        st.text(max_size=20),
    ),
)


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


disposition_params = st.tuples(
    st.sampled_from(["filename", "filename*", "FILENAME", "FileName*", "name", "size", "x"]),
    st.sampled_from(["=", " = ", "="]),
    st.one_of(
        file_names.map(quote),
        file_names,
        ext_values,
        ext_values.map(quote),
        st.text(alphabet="\"\\;= %'\x00\t", max_size=10),
    ),
).map("".join)

dispositions = st.one_of(
    st.text(),
    st.builds(
        lambda kind, params, sep: kind + "".join(sep + p for p in params),
        st.sampled_from(["attachment", "inline", "", "ATTACHMENT", "form-data", "x y"]),
        st.lists(disposition_params, max_size=4),
        st.sampled_from([";", "; ", " ;", ";\t"]),
    ),
)


@props(300)
@given(header=dispositions)
@example(header='attachment; filename="CON.' + "a" * 300 + '"')
def test_parse_content_disposition_gives_a_safe_name_or_none(header: str) -> None:
    assert_safe_name(parse_content_disposition(header))


@props(100)
@given(name=file_names)
def test_parse_content_disposition_filename_is_safe_filename(name: str) -> None:
    """A plain quoted ``filename`` gives exactly what :func:`safe_filename` makes of it."""
    header = "attachment; filename=" + quote(name)
    assert parse_content_disposition(header) == safe_filename(name)


@props(100)
@given(extended=file_names, plain=file_names, charset=st.sampled_from(["UTF-8", "utf-8", ""]))
def test_parse_content_disposition_extended_filename_wins(
    extended: str, plain: str, charset: str
) -> None:
    """``filename*`` wins over ``filename`` whenever it leaves a usable name."""
    encoded = percent_encode(extended.encode("utf-8", "surrogatepass"), keep_plain=True)
    header = f"attachment; filename={quote(plain)}; filename*={charset}''{encoded}"
    has_surrogates = any(unicodedata.category(ch) == "Cs" for ch in extended)
    chosen = None if has_surrogates else safe_filename(extended)
    expected = chosen if chosen is not None else safe_filename(plain)
    assert parse_content_disposition(header) == expected


# ---------------------------------------------------------------------------------------
# 5. parse_error
# ---------------------------------------------------------------------------------------

SECRET = "sk_prop_secret"
AUDIO_URL = "https://api.breeze.blue/v1/history/x/audio"

json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
codes = st.one_of(st.sampled_from(sorted(ERRORS_BY_CODE)), st.text(max_size=30), json_junk)
envelopes = st.one_of(
    st.fixed_dictionaries(
        {"error": st.fixed_dictionaries({"code": codes, "message": json_junk | st.text()})},
        optional={"extra": json_junk},
    ).flatmap(
        lambda envelope: st.fixed_dictionaries(
            {"error": st.just(envelope["error"])},
            optional={"request_id": json_junk | st.text(max_size=300)},
        ).map(lambda e: {**envelope, "error": {**envelope["error"], **e}})
    ),
    st.fixed_dictionaries({"error": json_junk}),
    st.dictionaries(st.text(max_size=10), json_junk, max_size=4),
    json_junk,
)
bodies = st.one_of(
    st.binary(max_size=600),
    envelopes.map(lambda e: json.dumps(e, allow_nan=True).encode()),
    envelopes.map(lambda e: json.dumps(e, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.text(max_size=800).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [b"", b"   ", b"<html><body>502 Bad Gateway</body></html>", b"\x1b[2J", b"[" * 100_000]
    ),
)
content_types = st.one_of(
    st.sampled_from(
        ["application/json", "text/html; charset=utf-8", "text/plain", "", "TEXT/HTML"]
    ).map(str.encode),
    any_header_bytes,
)


def error_response(status: int, body: bytes, content_type: bytes | None) -> httpx.Response:
    request = httpx.Request("GET", AUDIO_URL, headers={"xi-api-key": SECRET})
    headers = [] if content_type is None else [(b"content-type", content_type)]
    return httpx.Response(status, content=body, headers=headers, request=request)


def assert_presentable(err: object, status: int) -> None:
    assert isinstance(err, APIError)
    assert err.status_code == status
    text = str(err)
    assert text.isprintable(), text
    text.encode("utf-8")
    assert len(text) < 1000, len(text)
    assert SECRET not in text
    assert SECRET not in repr(err)
    assert err.request is not None
    assert SECRET not in str(err.request.headers.raw)


@props(250)
@given(
    status=st.integers(300, 599),
    body=bodies,
    content_type=st.none() | content_types,
)
def test_parse_error_always_gives_a_presentable_api_error(
    status: int, body: bytes, content_type: bytes | None
) -> None:
    assume(SECRET.encode() not in body)
    err = parse_error(error_response(status, body, content_type), body)
    assert_presentable(err, status)


@props(150)
@given(
    status=st.integers(300, 599),
    code=st.sampled_from(sorted(ERRORS_BY_CODE)) | st.text(max_size=20),
    message=st.text(max_size=100),
    request_id=st.none() | ascii_text(ALNUM, 1, 40).map("req_{}".format),
)
def test_parse_error_envelope_code_picks_the_class(
    status: int, code: str, message: str, request_id: str | None
) -> None:
    detail = {"code": code, "message": message}
    if request_id is not None:
        detail["request_id"] = request_id
    body = json.dumps({"error": detail}).encode()
    err = parse_error(error_response(status, body, b"application/json"), body)
    assert_presentable(err, status)
    if code in ERRORS_BY_CODE:
        assert type(err) is ERRORS_BY_CODE[code]
        assert err.code == code
    else:
        assert type(err) is error_class_for(status, None)
    assert err.request_id == request_id


@props(100)
@given(status=st.integers(300, 599), request_id=wire_field_values)
@example(status=500, request_id=b"req\tone")
@example(status=429, request_id=b"\x9b2J")  # latin-1 0x9b is CSI, a C1 terminal escape
@example(status=503, request_id=b"r" * 2000)
def test_parse_error_request_id_header_is_presentable(status: int, request_id: bytes) -> None:
    """``x-request-id`` is server text too: it must not make the message unprintable."""
    body = b"<html>Bad Gateway</html>"
    request = httpx.Request("GET", AUDIO_URL, headers={"xi-api-key": SECRET})
    response = httpx.Response(
        status, content=body, headers=[(b"x-request-id", request_id)], request=request
    )
    assert_presentable(parse_error(response, body), status)


# ---------------------------------------------------------------------------------------
# 6. resume_headers and continues
# ---------------------------------------------------------------------------------------

digits = st.one_of(
    st.integers(0, 10**13).map(str),
    st.integers(0, 10**40).map(str),
    st.integers(4_250, 4_400).map(lambda n: "1" * n),  # past int()'s default digit limit
)
content_ranges = st.one_of(
    st.builds(
        "{}{}{}-{}/{}".format,
        st.sampled_from(["bytes ", "bytes  ", "bytes\t", "Bytes ", "bytes=", " bytes "]),
        digits,
        st.sampled_from(["", "0", "-"]),
        digits,
        digits | st.just("*"),
    ).map(str.encode),
    any_header_bytes,
)
validators = st.one_of(
    st.sampled_from([b'"v1"', b'W/"v1"', b'"v2"', b"", b"Sun, 06 Nov 1994 08:49:37 GMT"]),
    any_header_bytes,
)


def maybe(name: bytes, values: st.SearchStrategy[bytes]) -> st.SearchStrategy[list]:
    return st.one_of(st.just([]), values.map(lambda v: [(name, v)]))


original_headers = st.builds(
    lambda *parts: httpx.Headers([pair for part in parts for pair in part]),
    maybe(b"accept-ranges", st.sampled_from([b"bytes", b" Bytes ", b"none"]) | any_header_bytes),
    maybe(b"etag", validators),
    maybe(b"last-modified", validators),
    maybe(b"content-length", digits.map(str.encode) | any_header_bytes),
)
offsets = st.one_of(st.integers(-10, 10**13), st.integers(min_value=-(2**70), max_value=2**70))


@props(300)
@given(original=original_headers, offset=offsets)
def test_resume_headers_ask_for_the_rest_or_nothing(original: httpx.Headers, offset: int) -> None:
    asked = resume_headers(original, offset)
    assert isinstance(asked, dict)
    if asked:
        assert set(asked) == {"range", "if-range"}
        assert asked["range"] == f"bytes={offset}-"
        assert offset > 0
        assert original["accept-ranges"].strip().lower() == "bytes"
        assert asked["if-range"]
        assert asked["if-range"] in {
            original.get("etag", "").strip(),
            original.get("last-modified"),
        }


@props(300)
@given(
    original=original_headers,
    status=st.sampled_from([200, 206, 206, 206, 416, 500]) | st.integers(100, 599),
    content_range=st.none() | content_ranges,
    validator=st.none() | validators,
    offset=offsets,
)
@example(  # a start no int() will read
    original=httpx.Headers(),
    status=206,
    content_range=b"bytes 0-" + b"1" * 4301 + b"/*",
    validator=None,
    offset=0,
)
@example(  # a content-length no int() will read
    original=httpx.Headers({"content-length": "1" * 4301}),
    status=206,
    content_range=b"bytes 0-1/*",
    validator=None,
    offset=0,
)
def test_continues_only_for_a_206_starting_at_offset(
    original: httpx.Headers,
    status: int,
    content_range: bytes | None,
    validator: bytes | None,
    offset: int,
) -> None:
    headers = []
    if content_range is not None:
        headers.append((b"content-range", content_range))
    if validator is not None:
        headers.append((b"etag", validator))
    response = httpx.Response(status, headers=headers)
    result = continues(original, response, offset)
    assert isinstance(result, bool)
    if result:
        assert status == 206
        start = re.match(r"bytes\s+([0-9]+)-", response.headers["content-range"].strip())
        assert start is not None
        assert (start[1].lstrip("0") or "0") == str(offset)


@props(100)
@given(
    total=st.integers(2, 10**12),
    data=st.data(),
    etag=ascii_text(ALNUM, 1, 20).map('"{}"'.format),
)
def test_continues_accepts_the_matching_rest(total: int, data: st.DataObject, etag: str) -> None:
    offset = data.draw(st.integers(1, total - 1))
    original = httpx.Headers({"accept-ranges": "bytes", "etag": etag, "content-length": str(total)})
    assert resume_headers(original, offset) == {"range": f"bytes={offset}-", "if-range": etag}
    response = httpx.Response(
        206, headers={"content-range": f"bytes {offset}-{total - 1}/{total}", "etag": etag}
    )
    assert continues(original, response, offset)
    # Off by one byte, or another version of the audio: not a continuation.
    assert not continues(original, response, offset + 1)
    assert not continues(original, response, offset - 1)
    changed = httpx.Response(
        206, headers={"content-range": f"bytes {offset}-{total - 1}/{total}", "etag": '"other"'}
    )
    assert not continues(original, changed, offset)
